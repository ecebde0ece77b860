"""Tests for the pure text layer: bot/slack_text.py (customer -> Slack) and bot/telegram_text.py (staff -> Telegram)."""

from __future__ import annotations

import random
import re
import unicodedata
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.connectors.telegram.html import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    rich_to_html,
    rich_to_plain,
    split_utf16,
    utf16_len,
    visible_text,
)
from bot.slack.mrkdwn import mentioned_user_ids, parse_mrkdwn, to_plain
from bot.slack.text import (
    BLOCKS_PER_MESSAGE,
    MESSAGE_CHAR_BUDGET,
    SECTION_LIMIT,
    escape,
    split_messages,
    split_sections,
    unescape,
)


def slack_to_telegram_html(
    text: str, user_names: dict[str, str] | None = None, *, limit: int = TELEGRAM_TEXT_LIMIT
) -> list[str]:
    """What a staff reply becomes on Telegram: Slack's parser, then the Telegram renderer."""
    return rich_to_html(parse_mrkdwn(text, user_names), limit=limit)


def slack_to_telegram_plain(
    text: str, user_names: dict[str, str] | None = None, *, limit: int = TELEGRAM_TEXT_LIMIT
) -> list[str]:
    return rich_to_plain(parse_mrkdwn(text, user_names), limit=limit)


FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # ZWJ sequence: 7 code points, 11 UTF-16 units
THUMBS_DARK = "👍🏿"  # emoji + skin tone modifier
FLAG_KR = "🇰🇷"  # two regional indicators
E_ACUTE = "e\u0301"  # e + combining acute accent
ENTITY_RE = re.compile(r"&(?:amp|lt|gt);")
INJECTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<@W123|boss>",
    "<https://evil.example|click>",
    "<!subteam^S1>",
    "<!subteam^S1|@team>",
    "<#C123|general>",
    "<!date^1392734382^{date}|now>",
    "hi <!channel> & <@U1>, see <https://evil.example|your bank>",
]


# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------


def _starts_inside_cluster(piece: str) -> bool:
    """True when a piece begins with a code point that belongs to the previous grapheme."""
    first = piece[0]
    return (
        first == "\u200d"
        or unicodedata.category(first) in ("Mn", "Me", "Mc")
        or 0x1F3FB <= ord(first) <= 0x1F3FF
        or 0xFE00 <= ord(first) <= 0xFE0F
    )


def _cut_positions(pieces: list[str]) -> list[int]:
    positions, total = [], 0
    for piece in pieces[:-1]:
        total += len(piece)
        positions.append(total)
    return positions


def _assert_no_cut_inside_entity(text: str, pieces: list[str]) -> None:
    cuts = set(_cut_positions(pieces))
    for m in ENTITY_RE.finditer(text):
        assert not cuts & set(range(m.start() + 1, m.end())), f"cut inside {m.group()} at {m.start()}"


def _assert_concat_modulo_boundary_whitespace(parts: list[str], whole: str) -> None:
    """`whole` must be the parts in order, with only whitespace between them (or around them)."""
    pos = 0
    for part in parts:
        while pos < len(whole) and whole[pos].isspace() and not whole.startswith(part, pos):
            pos += 1
        assert whole.startswith(part, pos), f"part not found at {pos}: {part[:40]!r} vs {whole[pos : pos + 40]!r}"
        pos += len(part)
    assert whole[pos:].strip() == "", f"lost text at the end: {whole[pos : pos + 40]!r}"


ALLOWED_TAGS = {"b", "i", "s", "code", "pre", "a", "blockquote"}


class _WellFormed(HTMLParser):
    """Checks that tags balance and nest the way Telegram accepts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        assert not any(t in ("code", "pre") for t in self.stack), f"<{tag}> inside code: {self.stack}"
        if tag == "pre":
            assert self.stack == [], f"<pre> must stand alone, got inside {self.stack}"
        if tag in ("code", "a"):
            assert "a" not in self.stack, f"<{tag}> inside <a>"
        if tag == "blockquote":
            assert "blockquote" not in self.stack
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
            self.hrefs.append(attrs[0][1] or "")
        else:
            assert attrs == []
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an open tag"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong tag"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")


def _check_html_chunk(chunk: str) -> list[str]:
    parser = _WellFormed()
    parser.feed(chunk)
    parser.close()
    assert parser.stack == [], f"unclosed tags {parser.stack} in {chunk[-80:]!r}"
    # Raw text never carries an unescaped < > (Telegram would try to parse it as a tag).
    assert "<" not in re.sub(r"</?(?:b|i|s|code|pre|blockquote|a(?: href=\"[^\"]*\")?)>", "", chunk)
    return parser.hrefs


def _check_html_chunks(chunks: list[str], limit: int) -> list[str]:
    visibles = []
    for chunk in chunks:
        assert chunk, "empty chunk"
        _check_html_chunk(chunk)
        visible = visible_text(chunk)
        assert visible.strip(), "chunk with nothing visible"
        assert utf16_len(visible) <= limit
        visibles.append(visible)
    return visibles


# ------------------------------------------------------------------------------------------------------------
# escape / unescape
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attack", INJECTIONS)
def test_escape_neutralises_control_sequences(attack: str) -> None:
    escaped = escape(attack)
    assert "<" not in escaped and ">" not in escaped
    assert mentioned_user_ids(escaped) == set()
    assert unescape(escaped) == attack
    # Read back as if it were a Slack message, the escaped text shows literally, no mention, no link.
    assert to_plain(escaped) == attack


def test_escape_ampersand_first() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;") == "&amp;lt;"  # an entity the customer typed stays literal
    assert unescape(escape("&lt;")) == "&lt;"


def test_unescape_single_pass() -> None:
    assert unescape("&amp;lt;") == "&lt;"
    assert unescape("&amp;amp;") == "&amp;"
    assert unescape("&lt;@U1&gt; &amp; co") == "<@U1> & co"
    assert unescape("&quot; &nbsp; & &") == "&quot; &nbsp; & &"  # only Slack's three


@given(st.text())
def test_escape_unescape_round_trip(text: str) -> None:
    escaped = escape(text)
    assert unescape(escaped) == text
    assert "<" not in escaped and ">" not in escaped


# ------------------------------------------------------------------------------------------------------------
# split_sections / split_messages
# ------------------------------------------------------------------------------------------------------------


def _customer_text(length: int, seed: int) -> str:
    rng = random.Random(seed)
    words = ["hello", "안녕하세요", "refund", "&", "<b>", "a&b", "<!channel>", "환불", FAMILY, "ok", E_ACUTE, "x>y"]
    out: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(words)
        sep = rng.choice([" ", " ", " ", "\n", "\n\n", ", "])
        out.append(word + sep)
        size += len(word) + len(sep)
    return "".join(out)[:length]


@pytest.mark.parametrize("length", [3500, 40_000])
def test_split_sections_long_customer_message(length: int) -> None:
    escaped = escape(_customer_text(length, seed=length))
    pieces = split_sections(escaped)
    assert "".join(pieces) == escaped
    assert len(pieces) >= length // SECTION_LIMIT
    assert all(0 < len(p) <= SECTION_LIMIT for p in pieces)
    _assert_no_cut_inside_entity(escaped, pieces)
    assert not any(_starts_inside_cluster(p) for p in pieces)


def test_split_sections_never_cuts_an_entity_even_without_whitespace() -> None:
    escaped = escape("&" * 2000)  # 10,000 characters of &amp; with no boundary at all
    pieces = split_sections(escaped)
    assert "".join(pieces) == escaped
    assert all(len(p) <= SECTION_LIMIT and p.startswith("&amp;") and p.endswith("&amp;") for p in pieces)


def test_split_sections_short_and_empty() -> None:
    assert split_sections("") == []
    assert split_sections("hello") == ["hello"]
    assert split_sections("x" * SECTION_LIMIT) == ["x" * SECTION_LIMIT]


def test_split_sections_prefers_paragraph_then_line_then_space() -> None:
    para = "a" * 40 + "\n\n" + "b" * 30 + "\nc" + " d" * 20
    pieces = split_sections(para, limit=90)
    assert pieces[0] == "a" * 40 + "\n\n"
    line = "a" * 40 + " " + "b" * 20 + "\n" + "c" * 40
    assert split_sections(line, limit=70)[0] == "a" * 40 + " " + "b" * 20 + "\n"
    words = "aaaa bbbb cccc dddd"
    assert split_sections(words, limit=12) == ["aaaa bbbb ", "cccc dddd"]
    assert split_sections("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]


def test_split_sections_keeps_graphemes_whole() -> None:
    for unit in (FAMILY, THUMBS_DARK, FLAG_KR, E_ACUTE, "가", "\r\n"):
        text = unit * 50
        for limit in (7, 8, 11, 12, 13):
            pieces = split_sections(text, limit=limit)
            assert "".join(pieces) == text
            assert all(len(p) <= limit for p in pieces)
            if len(unit) <= limit:
                assert all(len(p) % len(unit) == 0 for p in pieces), (unit, limit)


def test_split_sections_cluster_longer_than_limit_still_splits() -> None:
    zalgo = "a" + "\u0301" * 50
    pieces = split_sections(zalgo, limit=10)
    assert "".join(pieces) == zalgo and all(len(p) <= 10 for p in pieces)


def test_split_sections_avoids_cutting_control_sequences() -> None:
    text = "see <https://e.com|the link> now"  # the space inside the label is the last one within 26
    pieces = split_sections(text, limit=26)
    assert pieces == ["see ", "<https://e.com|the link> ", "now"]


def test_split_sections_rejects_zero_limit() -> None:
    with pytest.raises(ValueError):
        split_sections("abc", limit=0)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["a", "b", " ", "\n", "&", "<", ">", "가", "😀", FAMILY, E_ACUTE, FLAG_KR, "\u200d"]),
        max_size=300,
    ),
    st.integers(min_value=6, max_value=60),
)
def test_split_sections_property(tokens: list[str], limit: int) -> None:
    escaped = escape("".join(tokens))
    pieces = split_sections(escaped, limit=limit)
    assert "".join(pieces) == escaped
    assert all(0 < len(p) <= limit for p in pieces)
    _assert_no_cut_inside_entity(escaped, pieces)


def test_split_messages_40k() -> None:
    escaped = escape(_customer_text(40_000, seed=7))
    messages = split_messages(escaped)
    assert len(messages) >= 4
    assert "".join("".join(m) for m in messages) == escaped
    for sections in messages:
        assert 1 <= len(sections) <= BLOCKS_PER_MESSAGE - 2
        assert sum(len(s) for s in sections) <= MESSAGE_CHAR_BUDGET
        assert all(len(s) <= SECTION_LIMIT for s in sections)


def test_split_messages_block_count_and_budget() -> None:
    text = "\n\n".join("p" * 9 for _ in range(100))  # 100 tiny paragraphs
    messages = split_messages(text, section_limit=11, max_blocks=5, budget=1000)
    assert all(len(m) <= 3 for m in messages)
    assert "".join("".join(m) for m in messages) == text
    tight = split_messages("word " * 200, section_limit=50, max_blocks=50, budget=120)
    assert all(sum(map(len, m)) <= 120 for m in tight)
    assert split_messages("") == []
    with pytest.raises(ValueError):
        split_messages("x", max_blocks=2)


@settings(max_examples=200)
@given(
    st.text(alphabet="ab &<>\n가😀", max_size=400),
    st.integers(min_value=6, max_value=40),
    st.integers(min_value=3, max_value=8),
    st.integers(min_value=6, max_value=120),
)
def test_split_messages_property(text: str, section_limit: int, max_blocks: int, budget: int) -> None:
    escaped = escape(text)
    messages = split_messages(escaped, section_limit=section_limit, max_blocks=max_blocks, budget=budget)
    assert "".join("".join(m) for m in messages) == escaped
    for sections in messages:
        assert 1 <= len(sections) <= max_blocks - 2
        assert sum(map(len, sections)) <= budget
        assert all(len(s) <= section_limit for s in sections)


# ------------------------------------------------------------------------------------------------------------
# mentions and to_plain
# ------------------------------------------------------------------------------------------------------------


def test_mentioned_user_ids() -> None:
    text = "hi <@U123> and <@W456|bob>, cc <@U123>; not <#C1>, <!here>, &lt;@U999&gt; or <@lower>"
    assert mentioned_user_ids(text) == {"U123", "W456"}
    assert mentioned_user_ids("nothing") == set()


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("<@U1>", "@Alice"),  # resolved through user_names
        ("<@U2|bob>", "@bob"),  # label when the id is unknown
        ("<@U3>", "@U3"),  # nothing known: the id
        ("<@U1|old-name>", "@Alice"),  # the directory wins over a stale label
        ("<@U4|>", "@U4"),
        ("<#C1|general>", "#general"),
        ("<#C1>", "#C1"),
        ("<#C1|>", "#C1"),
        ("<!here>", "@here"),
        ("<!channel>", "@channel"),
        ("<!everyone>", "@everyone"),
        ("<!here|here>", "@here"),
        ("<!subteam^S1|@team>", "@team"),
        ("<!subteam^S1>", "@S1"),
        ("<!date^1392734382^{date_pretty} at {time}|Feb 18th, 2014>", "Feb 18th, 2014"),
        ("<!date^0^{date}>", "1970-01-01 00:00 UTC"),
        ("<https://x.com|label>", "label (https://x.com)"),
        ("<https://x.com>", "https://x.com"),
        ("<https://x.com|https://x.com>", "https://x.com"),
        ("<http://example.com|example.com>", "example.com"),
        ("<mailto:a@b.com|a@b.com>", "a@b.com"),
        ("<mailto:a@b.com>", "a@b.com"),
        ("<mailto:a@b.com|write us>", "write us (a@b.com)"),
        ("<https://x.com/?a=1&amp;b=2|x &amp; y>", "x & y (https://x.com/?a=1&b=2)"),
        ("&lt;@U1&gt; &amp;lt;", "<@U1> &lt;"),  # escaped text stays text, entities unescaped once
        ("a &gt; b", "a > b"),
    ],
)
def test_to_plain_control_sequences(mrkdwn: str, expected: str) -> None:
    assert to_plain(mrkdwn, {"U1": "Alice"}) == expected


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("*bold* _it_ ~gone~ `code`", "bold it gone code"),
        ("*_bold italic_*", "bold italic"),
        ("(*x*), *y*!", "(x), y!"),
        ("snake_case_name and __init__", "snake_case_name and __init__"),
        ("2*3*4 = 24", "2*3*4 = 24"),
        ("a * b * c", "a * b * c"),
        ("*unclosed and _also", "*unclosed and _also"),
        ("**double**", "**double**"),
        ("*spans\nlines*", "*spans\nlines*"),
        ("`*not bold* _x_`", "*not bold* _x_"),
        ("```\n*raw* `x`\n```", "*raw* `x`"),
        ("```unclosed *b*", "```unclosed b"),
        ("한글*굵게*입니다", "한글*굵게*입니다"),  # Slack needs a word boundary, Hangul is a word character
        ("한글 *굵게* 입니다", "한글 굵게 입니다"),
        ("*<@U1>*", "@Alice"),
        ("&gt; quoted *b*\n&gt; more\nafter", "> quoted b\n> more\nafter"),
        ("&gt;&gt;&gt; all\nof this", "> all\n> of this"),
        ("&gt; a\n&gt;\n&gt; b", "> a\n>\n> b"),
    ],
)
def test_to_plain_formatting(mrkdwn: str, expected: str) -> None:
    assert to_plain(mrkdwn, {"U1": "Alice"}) == expected


def test_to_plain_code_block_entities_unescaped() -> None:
    assert to_plain("```\nif a &lt; b &amp;&amp; c:\n    return\n```") == "if a < b && c:\n    return"


# ------------------------------------------------------------------------------------------------------------
# Telegram: utf16 and plain splitting
# ------------------------------------------------------------------------------------------------------------


def test_utf16_len() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("안녕하세요") == 5
    assert utf16_len("😀") == 2
    assert utf16_len(FAMILY) == 11
    assert utf16_len(THUMBS_DARK) == 4
    assert utf16_len(FLAG_KR) == 4


def test_split_utf16_emoji_never_splits_surrogates() -> None:
    text = "😀" * 100
    chunks = split_utf16(text, 5)  # odd limit: at most two emoji (4 units) per chunk
    assert "".join(chunks) == text
    assert all(utf16_len(c) <= 5 for c in chunks)
    assert all(c.encode("utf-16-le") for c in chunks)  # no lone surrogate anywhere


def test_split_utf16_keeps_zwj_family_whole() -> None:
    text = FAMILY * 10
    chunks = split_utf16(text, 25)
    assert chunks == [FAMILY * 2] * 5
    assert split_utf16(THUMBS_DARK * 3, 9) == [THUMBS_DARK * 2, THUMBS_DARK]


def test_split_utf16_korean_by_words() -> None:
    text = "안녕하세요 고객님 환불 요청을 확인했습니다"
    chunks = split_utf16(text, 12)
    assert chunks == ["안녕하세요 고객님 환불", "요청을 확인했습니다"]  # 12 units fit exactly


def test_split_utf16_boundaries_and_blank() -> None:
    assert split_utf16("", 10) == []
    assert split_utf16(" \n\n  ", 10) == []
    assert split_utf16("  padded  ", 100) == ["padded"]
    text = "para one line\nline two\n\npara two"
    assert split_utf16(text, 25) == ["para one line\nline two", "para two"]
    assert split_utf16("one two three", 9) == ["one two", "three"]
    assert split_utf16("abc\u200d def", 5) == ["abc\u200d", "def"]  # no trailing space even off a boundary
    with pytest.raises(ValueError):
        split_utf16("x", 1)


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(["a", "bc", " ", "\n", "\n\n", "가", "😀", FAMILY, E_ACUTE, FLAG_KR, "\u200d"]), max_size=200
    ),
    st.integers(min_value=2, max_value=40),
)
def test_split_utf16_property(tokens: list[str], limit: int) -> None:
    text = "".join(tokens)
    chunks = split_utf16(text, limit)
    for chunk in chunks:
        assert chunk and chunk == chunk.strip()
        assert utf16_len(chunk) <= limit
    _assert_concat_modulo_boundary_whitespace(chunks, text)


def test_slack_to_telegram_plain() -> None:
    text = "*Hi* <@U1>, see <https://x.com/?a=1&amp;b=2|docs> " + "word " * 2000
    chunks = slack_to_telegram_plain(text, {"U1": "Alice"})
    assert chunks[0].startswith("Hi @Alice, see docs (https://x.com/?a=1&b=2) word")
    assert all(utf16_len(c) <= TELEGRAM_TEXT_LIMIT for c in chunks)
    _assert_concat_modulo_boundary_whitespace(chunks, to_plain(text, {"U1": "Alice"}))
    assert slack_to_telegram_plain("   ") == []


# ------------------------------------------------------------------------------------------------------------
# Telegram: HTML
# ------------------------------------------------------------------------------------------------------------


def html1(text: str, user_names: dict[str, str] | None = None) -> str:
    chunks = slack_to_telegram_html(text, user_names)
    assert len(chunks) == 1
    _check_html_chunk(chunks[0])
    return chunks[0]


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("*bold* _it_ ~s~ `code`", "<b>bold</b> <i>it</i> <s>s</s> <code>code</code>"),
        ("*bold _both_*", "<b>bold <i>both</i></b>"),
        ("snake_case_name 2*3*4 *open", "snake_case_name 2*3*4 *open"),
        ("`a < b & *c*`", "<code>a &lt; b &amp; *c*</code>"),
        ("```\nif a &lt; b &amp;&amp; c:\n  *x*\n```", "<pre>if a &lt; b &amp;&amp; c:\n  *x*</pre>"),
        ("x &lt;b&gt;not a tag&lt;/b&gt; &amp;", "x &lt;b&gt;not a tag&lt;/b&gt; &amp;"),
        ("<https://x.com|label>", '<a href="https://x.com">label</a>'),
        ("<https://x.com>", "https://x.com"),
        (
            "<https://x.com/?a=1&amp;b=2&amp;q=%22|a &amp; b>",
            '<a href="https://x.com/?a=1&amp;b=2&amp;q=%22">a &amp; b</a>',
        ),
        ('<https://x.com/"q"|q>', '<a href="https://x.com/&quot;q&quot;">q</a>'),
        ("*<https://x.com|bold link>*", '<b><a href="https://x.com">bold link</a></b>'),
        ("<mailto:a@b.com|write us>", "write us (a@b.com)"),
        ("<javascript:alert(1)|x>", "x (javascript:alert(1))"),  # only http(s) becomes an anchor
        ("<@U1> <@U2|bob> <!here> <#C1|general>", "@Alice @bob @here #general"),
        ("&gt; quoted *b*\n&gt; more\nafter", "<blockquote>quoted <b>b</b>\nmore</blockquote>\nafter"),
        ("&gt; `code` in quote", "<blockquote><code>code</code> in quote</blockquote>"),
    ],
)
def test_html_formatting(mrkdwn: str, expected: str) -> None:
    assert html1(mrkdwn, {"U1": "Alice"}) == expected


def test_html_link_href_round_trips_ampersand() -> None:
    chunk = html1("<https://shop.example/p?id=1&amp;ref=tg|상품 보기>")
    parser = _WellFormed()
    parser.feed(chunk)
    assert parser.hrefs == ["https://shop.example/p?id=1&ref=tg"]
    assert visible_text(chunk) == "상품 보기"


def test_html_blank_input() -> None:
    assert slack_to_telegram_html("") == []
    assert slack_to_telegram_html(" \n\n ") == []
    with pytest.raises(ValueError):
        slack_to_telegram_html("x", limit=1)


def test_html_split_reopens_tags() -> None:
    text = "*" + " ".join(["bold"] * 60) + "* `" + "c" * 10 + "`"
    chunks = slack_to_telegram_html(text, limit=40)
    visibles = _check_html_chunks(chunks, 40)
    assert len(chunks) > 5
    for chunk in chunks[:-1]:
        assert chunk.startswith("<b>") and chunk.endswith("</b>")
    _assert_concat_modulo_boundary_whitespace(visibles, to_plain(text))


def test_html_split_inside_pre_keeps_block_well_formed() -> None:
    code = "\n".join(f"line {i}: a &lt; b &amp;&amp; c" for i in range(40))
    chunks = slack_to_telegram_html("intro\n```\n" + code + "\n```\nbye", limit=100)
    visibles = _check_html_chunks(chunks, 100)
    assert sum("<pre>" in c for c in chunks) >= 5
    _assert_concat_modulo_boundary_whitespace(visibles, to_plain("intro\n```\n" + code + "\n```\nbye"))


def test_html_caption_limit() -> None:
    chunks = slack_to_telegram_html("사진 설명 " * 300, limit=TELEGRAM_CAPTION_LIMIT)
    _check_html_chunks(chunks, TELEGRAM_CAPTION_LIMIT)
    assert len(chunks) >= 2


def _staff_reply() -> tuple[str, list[tuple[str, str]]]:
    """About 9,000 characters of a realistic staff reply, plus the labeled links in it."""
    links = [("https://help.example.com/refund?order=123&amp;lang=ko", "환불 안내"), ("https://x.example/a_b", "docs")]
    paragraphs = []
    for i in range(45):
        paragraphs.append(
            f"*안녕하세요* <@U1>님, order #{i} update. 환불 요청은 _접수_되었고 ~취소~ 처리 중입니다 {FAMILY}. "
            f"See <{links[i % 2][0]}|{links[i % 2][1]}> or <https://status.example.com>; "
            f"use `order_id_{i}` & keep 2*3*4 literal 😀😀."
        )
        if i % 9 == 4:
            paragraphs.append(
                "```\nfor item in items:\n    if item.price &lt; 10 &amp;&amp; ok:\n        print(item)\n```"
            )
    reply = "\n\n".join(paragraphs)
    return reply, [(unescape(url), unescape(label)) for url, label in links]


def test_html_9000_character_reply() -> None:
    reply, links = _staff_reply()
    assert 8500 <= len(reply) <= 10_000
    chunks = slack_to_telegram_html(reply, {"U1": "Alice"})
    assert len(chunks) >= 2
    visibles = _check_html_chunks(chunks, TELEGRAM_TEXT_LIMIT)
    expected = to_plain(reply, {"U1": "Alice"})
    for url, label in links:  # in HTML the url sits in href, so the visible text is the label alone
        expected = expected.replace(f"{label} ({url})", label)
    _assert_concat_modulo_boundary_whitespace(visibles, expected)
    assert "<b>안녕하세요</b> @Alice님" in chunks[0]
    assert '<a href="https://help.example.com/refund?order=123&amp;lang=ko">환불 안내</a>' in chunks[0]
    assert "<code>order_id_0</code> &amp; keep 2*3*4 literal" in chunks[0]
    assert "<pre>for item in items:\n    if item.price &lt; 10 &amp;&amp; ok:" in "".join(chunks)
    # Splits land on paragraph boundaries when there are some.
    for visible in visibles[:-1]:
        assert visible.endswith("😀😀.") or visible.endswith("print(item)")


MRKDWN_TOKENS = [
    "a",
    "b",
    "word",
    " ",
    "\n",
    "\n\n",
    "*",
    "_",
    "~",
    "`",
    "```",
    "가나",
    "😀",
    FAMILY,
    "&amp;",
    "&lt;",
    "&gt;",
    "<@U1>",
    "<https://x.com>",
    "<https://y.com|yy>",
    "2",
    "(",
    ")",
    "\u200d",
    E_ACUTE,
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(MRKDWN_TOKENS), max_size=120), st.integers(min_value=2, max_value=60))
def test_html_split_property(tokens: list[str], limit: int) -> None:
    text = "".join(tokens)
    whole = slack_to_telegram_html(text, {"U1": "Alice"}, limit=100_000)
    assert len(whole) <= 1
    whole_visible = visible_text(whole[0]) if whole else ""
    chunks = slack_to_telegram_html(text, {"U1": "Alice"}, limit=limit)
    visibles = _check_html_chunks(chunks, limit)
    _assert_concat_modulo_boundary_whitespace(visibles, whole_visible)


@settings(max_examples=300)
@given(st.lists(st.sampled_from([t for t in MRKDWN_TOKENS if t not in ("&gt;", "<https://y.com|yy>")]), max_size=80))
def test_html_visible_text_matches_plain(tokens: list[str]) -> None:
    # Without quotes and labeled links the two renderings show exactly the same words.
    text = "".join(tokens)
    chunks = slack_to_telegram_html(text, {"U1": "Alice"}, limit=100_000)
    assert "".join(visible_text(c) for c in chunks) == to_plain(text, {"U1": "Alice"}).strip()


def test_visible_text() -> None:
    assert visible_text('<b>a &amp; b</b> <a href="https://x.com/?a=1&amp;b=2">link</a> &lt;3') == "a & b link <3"
