"""A local server that speaks the Telegram Bot API, for driving the real python-telegram-bot client.

Point `telegram.Bot(token, base_url=fake.base_url, base_file_url=fake.file_base_url)` (or
`ApplicationBuilder().base_url(...).base_file_url(...)`) at a started `FakeTelegram`. It serves the methods the bot
calls and refuses what Telegram refuses, with Telegram's error texts: a wrong token (401), texts over 4,096 UTF-16
units after HTML parsing, HTML tdlib cannot parse, webhooks that are not https, getUpdates beside a webhook or another
poll (409), files over the upload and download limits. A method the bot never calls answers 404.

One job per module:

- `server`: `FakeTelegram` itself: routes, the token check, faults, webhook delivery, start and stop;
- `methods`: the Bot API methods the bot calls (getUpdates long polling among them);
- `builders`: the updates tests push to play a customer (`push_text`, `push_photo`, `push_callback`, ...);
- `state`: what the fake knows (chats, messages, files, the update queue) and the views tests read of it;
- `entities`: Telegram's text rules (HTML as tdlib parses it, UTF-16 lengths);
- `wire`: the Bot API's request and answer format.
"""

from __future__ import annotations

from .entities import ParseError, parse_entities, utf16_len
from .methods import SEND_METHODS
from .server import FakeTelegram

__all__ = ["SEND_METHODS", "FakeTelegram", "ParseError", "parse_entities", "utf16_len"]
