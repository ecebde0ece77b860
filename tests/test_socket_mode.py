"""Socket Mode: with SLACK_APP_TOKEN set, Slack's events, clicks and commands arrive over a WebSocket."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from bot.slack.blocks import CLAIM
from tests.conftest import INBOX, STAFF, BotFactory
from tests.fakes.slack_requests import action_body, command_body, event_body, message_event

CHAT = 31337


async def test_socket_mode_carries_replies_clicks_and_commands(bot_factory: BotFactory) -> None:
    async with bot_factory(SLACK_APP_TOKEN="xapp-test") as bot:
        async with bot.http.post(bot.events_url, data=b"{}") as response:
            assert response.status == 404  # no public endpoint for Slack in Socket Mode
        assert bot.slack.calls_to("apps.connections.open"), "the bot asked Slack for a Socket Mode URL"

        bot.telegram.push_text(CHAT, "hello over sockets")
        thread = await bot.thread_for(CHAT)
        assert thread[0] == INBOX

        event = message_event(thread[0], STAFF, "answered over a socket", thread_ts=thread[1])
        ack = await bot.slack.socket_send("events_api", json.loads(event_body(event)))
        assert ack["envelope_id"].startswith("env-")
        await bot.telegram.wait_for(lambda: bot.telegram.sent_texts(CHAT) == ["answered over a socket"], timeout=10)

        conversation_id = await bot.conversation_id_for(CHAT)
        click = json.loads(parse_qs(action_body(CLAIM, str(conversation_id), user="U0NEW").decode())["payload"][0])
        await bot.slack.socket_send("interactive", click)
        conversation = await bot.rt.service.conversation(conversation_id)
        assert conversation is not None and conversation.holder == STAFF  # the reply claimed it first
        await bot.slack.wait_for(lambda: any(e["user"] == "U0NEW" for e in bot.slack.ephemerals))
        assert f"<@{STAFF}> already holds" in bot.slack.ephemerals[-1]["text"]

        form = {k: v[0] for k, v in parse_qs(command_body("/history", "sockets").decode()).items()}
        ack = await bot.slack.socket_send("slash_commands", form)
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "hello over sockets" in json.dumps(ack["payload"])
