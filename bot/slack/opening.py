"""The customer's opening words on the thread's first message.

Slack takes about one post per second per channel, and the header is the thread's first post, so the customer's
first message could only follow it a paced second later; with several new customers at once in one channel, the
last one's words waited behind every header and message before them. Quoted on the header, the words are in the
channel the moment the inquiry appears (the message itself still follows in the thread, where replies, edits and
the map of message ids work on it as on every other).
"""

from __future__ import annotations

from bot.slack.blocks import SlackPost
from bot.slack.customer_blocks import snippet

OPENING_CHARS = 300  # enough to say what it is about; the whole message follows in the thread
_MAX_BLOCKS = 50


def with_opening(post: SlackPost, words: str | None) -> SlackPost:
    """The header with the opening words quoted under its first line (escaped: they can never ping or link)."""
    if not words or not words.strip() or len(post.blocks) >= _MAX_BLOCKS:
        return post
    quoted = snippet(words, (), width=OPENING_CHARS)
    block = {"type": "section", "text": {"type": "mrkdwn", "text": f"> {quoted}"}}
    return SlackPost(text=f"{post.text}: {quoted}", blocks=[*post.blocks[:1], block, *post.blocks[1:]])
