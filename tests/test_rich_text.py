"""Slack rich_text blocks -> mrkdwn (bot/slack/rich_text.py), and on through the parser the customer side uses."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.connectors.telegram.html import rich_to_html
from bot.slack.mrkdwn import mentioned_user_ids, parse_mrkdwn, to_plain
from bot.slack.rich_text import rich_text_to_mrkdwn


def block(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "rich_text", "block_id": "Xy1", "elements": list(elements)}]


def section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def text(value: str, **style: bool) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "text", "text": value}
    if style:
        element["style"] = style
    return element


def render(*elements: dict[str, Any]) -> str:
    return rich_text_to_mrkdwn(block(section(*elements)))


# A message as Slack's composer sends it (shape from docs.slack.dev rich_text block reference and real payloads):
# the section before a list ends its own line, list items are sections, a quote holds inline elements directly.
COMPOSED: list[dict[str, Any]] = [
    {
        "type": "rich_text",
        "block_id": "aB3dE",
        "elements": [
            section(
                text("Hi "),
                {"type": "user", "user_id": "U0OTHER"},
                text(", here is what to do "),
                {"type": "emoji", "name": "point_down", "unicode": "1f447"},
                text("\n"),
            ),
            {
                "type": "rich_text_list",
                "style": "ordered",
                "indent": 0,
                "border": 0,
                "elements": [
                    section(text("Open "), {"type": "link", "url": "https://example.com/settings", "text": "Settings"}),
                    section(text("Press "), text("Reset", bold=True)),
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "indent": 1,
                "border": 0,
                "elements": [section(text("it takes "), text("a minute", italic=True))],
            },
            {"type": "rich_text_quote", "elements": [text("You said: it froze & stopped")]},
            {"type": "rich_text_preformatted", "elements": [text("error <42>")], "border": 0},
            section(text("Thanks "), {"type": "broadcast", "range": "here"}),
        ],
    }
]


def test_a_composed_message_becomes_the_mrkdwn_slack_would_have_put_in_text() -> None:
    assert rich_text_to_mrkdwn(COMPOSED) == (
        "Hi <@U0OTHER>, here is what to do 👇\n"
        "1. Open <https://example.com/settings|Settings>\n"
        "2. Press *Reset*\n"
        "    ◦ it takes _a minute_\n"
        "&gt; You said: it froze &amp; stopped\n"
        "```error &lt;42&gt;```\n"
        "Thanks <!here>"
    )


def test_the_composed_message_reads_right_to_the_customer() -> None:
    mrkdwn = rich_text_to_mrkdwn(COMPOSED)
    assert mentioned_user_ids(mrkdwn) == {"U0OTHER"}
    assert to_plain(mrkdwn, {"U0OTHER": "Sam"}) == (
        "Hi @Sam, here is what to do 👇\n"
        "1. Open Settings (https://example.com/settings)\n"
        "2. Press Reset\n"
        "    ◦ it takes a minute\n"
        "> You said: it froze & stopped\n"
        "error <42>\n"
        "Thanks @here"
    )
    html = "".join(rich_to_html(parse_mrkdwn(mrkdwn, {"U0OTHER": "Sam"})))
    assert '<a href="https://example.com/settings">Settings</a>' in html
    assert "<b>Reset</b>" in html and "<i>a minute</i>" in html
    assert "<blockquote>You said: it froze &amp; stopped</blockquote>" in html
    assert "<pre>error &lt;42&gt;</pre>" in html


def test_block_text_is_escaped_so_it_can_neither_ping_nor_forge_a_link() -> None:
    mrkdwn = render(text("<!channel> <@U0BIZ> <https://evil.example|bank> &amp; more"))
    assert mrkdwn == "&lt;!channel&gt; &lt;@U0BIZ&gt; &lt;https://evil.example|bank&gt; &amp;amp; more"
    assert mentioned_user_ids(mrkdwn) == set()
    assert to_plain(mrkdwn) == "<!channel> <@U0BIZ> <https://evil.example|bank> &amp; more"


def test_styles_become_mrkdwn_markers_with_the_spaces_outside() -> None:
    assert render(text("bold ", bold=True), text("then "), text(" italic", italic=True)) == "*bold* then  _italic_"
    assert render(text("gone", strike=True), text(" and "), text("x = 1", code=True)) == "~gone~ and `x = 1`"
    assert render(text("all", bold=True, italic=True, strike=True)) == "*_~all~_*"
    assert render(text("loud code", bold=True, code=True)) == "*`loud code`*"
    assert to_plain(render(text("all", bold=True, italic=True, strike=True))) == "all"


def test_neighbouring_texts_of_one_style_are_wrapped_once() -> None:
    assert render(text("two ", bold=True), text("parts", bold=True), text("!")) == "*two parts*!"


def test_a_style_mrkdwn_cannot_write_at_its_spot_is_dropped_and_the_words_stay() -> None:
    assert render(text("un"), text("believ", bold=True), text("able")) == "unbelievable"
    assert render(text("glued", bold=True), text("together", italic=True)) == "gluedtogether"
    assert render(text("*starred*", bold=True)) == "*starred*"  # already a marker at its edge: left as written
    assert render(text("a `tick`", code=True)) == "a `tick`"
    assert to_plain(render(text("un"), text("believ", bold=True), text("able"))) == "unbelievable"


def test_a_style_over_several_lines_is_wrapped_line_by_line() -> None:
    assert render(text("first\nsecond\n", bold=True), text("plain")) == "*first*\n*second*\nplain"


def test_links_with_and_without_a_label() -> None:
    assert (
        render({"type": "link", "url": "https://x.example/a?b=1&c=<2>"}) == "<https://x.example/a?b=1&amp;c=&lt;2&gt;>"
    )
    assert render({"type": "link", "url": "https://x.example", "text": "https://x.example"}) == "<https://x.example>"
    assert (
        render({"type": "link", "url": "mailto:help@x.example", "text": "mail us"}) == "<mailto:help@x.example|mail us>"
    )
    bold_link = render({"type": "link", "url": "https://x.example", "text": "go", "style": {"bold": True}})
    assert bold_link == "*<https://x.example|go>*"
    assert "".join(rich_to_html(parse_mrkdwn(bold_link))) == '<b><a href="https://x.example">go</a></b>'
    assert render({"type": "link", "url": "", "text": "no target"}) == "no target"


def test_mentions_channels_groups_broadcasts_and_dates() -> None:
    assert render({"type": "user", "user_id": "U1"}) == "<@U1>"
    assert render({"type": "usergroup", "usergroup_id": "S0BILLING"}) == "<!subteam^S0BILLING>"
    assert render({"type": "channel", "channel_id": "C0INBOX"}) == "<#C0INBOX>"
    assert render(*({"type": "broadcast", "range": r} for r in ("here", "channel", "everyone"))) == (
        "<!here><!channel><!everyone>"
    )
    assert render({"type": "broadcast", "range": "planet"}) == ""
    dated = {"type": "date", "timestamp": 1700000000, "format": "{date_short}", "fallback": "Nov 14 <2023>"}
    assert render(dated) == "<!date^1700000000^{date_short}|Nov 14 &lt;2023&gt;>"
    assert to_plain(render(dated)) == "Nov 14 <2023>"
    linked = {"type": "date", "timestamp": 1700000000, "format": "{date}", "url": "https://x.example"}
    assert render(linked) == "<!date^1700000000^{date}^https://x.example>"
    assert to_plain(render(linked)) == "2023-11-14 22:13 UTC"
    assert to_plain(
        render({"type": "user", "user_id": "U1"}, text(" and "), {"type": "usergroup", "usergroup_id": "S1"})
    ) == ("@U1 and @S1")


def test_emoji_by_code_point_or_by_name() -> None:
    assert render({"type": "emoji", "name": "thumbsup", "unicode": "1f44d"}) == "👍"
    assert render({"type": "emoji", "name": "technologist", "unicode": "1f469-200d-1f4bb"}) == "👩\u200d💻"
    assert render({"type": "emoji", "name": "wave", "skin_tone": 2}) == ":wave::skin-tone-2:"
    assert render({"type": "emoji", "name": "partyparrot"}) == ":partyparrot:"
    assert render({"type": "emoji", "name": "broken", "unicode": "zz"}) == ":broken:"


def test_lists_are_numbered_or_bulleted_by_depth_with_offset_and_border() -> None:
    def items(*words: str) -> list[dict[str, Any]]:
        return [section(text(w)) for w in words]

    blocks = block(
        {"type": "rich_text_list", "style": "ordered", "elements": items("one", "two"), "offset": 2},
        {"type": "rich_text_list", "style": "ordered", "indent": 1, "elements": items("sub", "sub2")},
        {"type": "rich_text_list", "style": "ordered", "indent": 2, "elements": items("deep", "deeper", "deepest")},
        {"type": "rich_text_list", "style": "bullet", "indent": 0, "elements": items("dot")},
        {"type": "rich_text_list", "style": "bullet", "indent": 2, "elements": items("square")},
        {"type": "rich_text_list", "style": "bullet", "border": 1, "elements": items("boxed")},
    )
    assert rich_text_to_mrkdwn(blocks) == (
        "3. one\n4. two\n"
        "    a. sub\n    b. sub2\n"
        "        i. deep\n        ii. deeper\n        iii. deepest\n"
        "• dot\n"
        "        ▪ square\n"
        "&gt; • boxed"
    )


def test_quotes_and_code_blocks_keep_their_lines() -> None:
    quote = {"type": "rich_text_quote", "elements": [text("line one\nline "), text("two", bold=True), text("\n")]}
    pre = {"type": "rich_text_preformatted", "elements": [text("a = *b*\n"), text("c", bold=True)]}
    mrkdwn = rich_text_to_mrkdwn(block(quote, pre))
    assert mrkdwn == "&gt; line one\n&gt; line *two*\n```a = *b*\nc```"
    assert to_plain(mrkdwn) == "> line one\n> line two\na = *b*\nc"


def test_blocks_without_rich_text_give_nothing() -> None:
    assert rich_text_to_mrkdwn(None) == ""
    assert rich_text_to_mrkdwn([]) == ""
    assert rich_text_to_mrkdwn([{"type": "section", "text": {"type": "mrkdwn", "text": "not staff words"}}]) == ""
    assert rich_text_to_mrkdwn(block(section())) == ""
    assert rich_text_to_mrkdwn(block(section(text("")), {"type": "rich_text_preformatted", "elements": []})) == ""


def test_unknown_elements_keep_whatever_words_they_carry() -> None:
    assert render({"type": "color", "value": "#FF0000"}, text(" red")) == "#FF0000 red"
    assert render({"type": "team", "team_id": "T1"}, text("x")) == "x"
    assert render({"type": "canvas", "text": "<plan>"}) == "&lt;plan&gt;"


def test_several_rich_text_blocks_stand_one_below_the_other() -> None:
    blocks = [*block(section(text("first"))), {"type": "divider"}, *block(section(text("second")))]
    assert rich_text_to_mrkdwn(blocks) == "first\nsecond"


_WORDS = st.text(alphabet="abc 가나 12,.!?&<\n", min_size=1, max_size=12)
_STYLES = st.fixed_dictionaries({}, optional={s: st.booleans() for s in ("bold", "italic", "strike", "code")})


@given(st.lists(st.tuples(_WORDS, _STYLES), min_size=1, max_size=8))
def test_whatever_the_styles_the_customer_reads_every_word(parts: list[tuple[str, dict[str, bool]]]) -> None:
    mrkdwn = render(*(text(words, **style) for words, style in parts))
    expected = "".join(words for words, _ in parts)
    assert to_plain(mrkdwn) == expected.rstrip()
