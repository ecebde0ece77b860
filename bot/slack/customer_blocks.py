"""What customer profiles, search results, the thread header's customer line and the customer modals look like.

Everything a customer controls (names, usernames, message texts) and everything staff typed into a note passes
through ``slack_text.escape`` here. Every message stays within Block Kit's limits: at most 50 blocks, sections of at
most 3,000 characters, buttons' values of at most 2,000.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.activity import LEFT_CONTACT, VIEWED, summarize_views
from bot.slack.blocks import channel_name, identity_note, permalink, who
from bot.slack.text import SECTION_LIMIT, escape
from bot.usecases.crm import CustomerCard, Earlier, MergeOutcome, Profile

PROFILE = "crm_profile"  # value "customer:<id>" or "conversation:<id>"
EARLIER = "crm_earlier"  # value: a conversation id
NOTE = "crm_note"
CONTACT = "crm_contact"
TAGS = "crm_tags"
STAGE = "crm_stage"  # a select in the block "crm:<customer id>"
MERGE = "crm_merge"  # value "<keep>:<other>"
MERGE_CANCEL = "crm_merge_cancel"
HISTORY_MORE = "history_more"  # value: JSON {"q": query, "m": …, "a": …, "p": …}
ACTION_IDS = (PROFILE, EARLIER, NOTE, CONTACT, TAGS, STAGE, MERGE, MERGE_CANCEL, HISTORY_MORE)

NOTE_VIEW = "crm_note_view"
CONTACT_VIEW = "crm_contact_view"
TAGS_VIEW = "crm_tags_view"

SNIPPET_CHARS = 240
TIMELINE_TEXT_CHARS = 300
TIMELINE_LINES = 10  # lines of a profile's timeline (a run of page views reads as one)
_ROLES = {
    "inbound": "customer",
    "outbound": "reply",
    "note": "note",
    "auto": "auto-reply",
    "contact": "contact attempt",
}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75]},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _sections(lines: Sequence[str], *, limit: int = SECTION_LIMIT - 100) -> list[dict[str, Any]]:
    """Lines packed into as few sections as fit (a section holds 3,000 characters)."""
    blocks: list[dict[str, Any]] = []
    chunk: list[str] = []
    for line in lines:
        line = line[:limit]
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > limit:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    return blocks


def when(moment: datetime | None) -> str:
    """A date Slack shows in the reader's own time zone (UTC as the fallback text)."""
    if moment is None:
        return "never"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short}} {{time}}|{fallback}>"


def day(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{moment.strftime('%Y-%m-%d')}>"


def thread_link(team_url: str, slack_channel: str | None, thread_ts: str | None, label: str = "thread") -> str:
    if not slack_channel or not thread_ts:
        return label
    return f"<{permalink(team_url, slack_channel, thread_ts)}|{label}>"


def snippet(text: str, terms: Sequence[str], *, width: int = SNIPPET_CHARS) -> str:
    """The part of the text around its first match (the start when nothing matches), escaped.

    Matches are not set in bold: Slack only honours ``*`` at word boundaries, and a Korean match is usually inside
    a word (``환불`` in ``환불이``), where the asterisks would show.
    """
    flat = " ".join(text.split())
    if not flat:
        return "_(no text)_"
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    first = re.search("|".join(re.escape(t) for t in words), flat, re.IGNORECASE) if words else None
    start = max(0, first.start() - width // 4) if first else 0
    if start and " " in flat[max(0, start - 15) : start]:  # start at a word when one begins nearby
        start = flat.rindex(" ", max(0, start - 15), start) + 1
    end = min(len(flat), start + width)
    return ("…" if start > 0 else "") + escape(flat[start:end]) + ("…" if end < len(flat) else "")


# --- the thread header -------------------------------------------------------------------------------------


def header_blocks(conversation_id: int, customer_id: int, earlier: int) -> list[dict[str, Any]]:
    """The customer line of a conversation's first message: how many conversations came before, and buttons to
    open the profile, write a note or log a contact attempt, and list the earlier conversations."""
    value = f"conversation:{conversation_id}"
    count = f"{earlier} earlier conversation{'s' if earlier != 1 else ''}" if earlier else "first conversation"
    buttons = [
        _button("Customer", PROFILE, value),
        _button("Add note", NOTE, value),
        _button("Log contact", CONTACT, value),
    ]
    if earlier:
        buttons.append(_button(f"Earlier conversations ({earlier})", EARLIER, str(conversation_id)))
    return [
        _context(f"*Customer* #{customer_id} · {count}"),
        {"type": "actions", "block_id": f"customer:{conversation_id}", "elements": buttons},
    ]


# --- profiles ----------------------------------------------------------------------------------------------


def _stage_select(customer_id: int, stages: Sequence[str], current: str) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": s[:75]}, "value": s[:150]} for s in stages[:100]]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": STAGE,
        "placeholder": {"type": "plain_text", "text": "Stage"},
        "options": options,
    }
    initial = next((o for o in options if o["value"] == current), None)
    if initial is not None:
        select["initial_option"] = initial
    return select


def _first_line(text: str | None) -> str:
    line = (text or "").split("\n", 1)[0].strip()
    return line if len(line) <= TIMELINE_TEXT_CHARS else line[: TIMELINE_TEXT_CHARS - 1] + "…"


def _timeline_lines(entries: Sequence[Any]) -> list[str]:
    """Newest first; consecutive views fold into one line ("viewed /pricing 3×, then /signup")."""
    lines: list[str] = []
    k = 0
    while k < len(entries) and len(lines) < TIMELINE_LINES:
        if entries[k].kind != VIEWED:
            lines.append(_timeline_line(entries[k]))
            k += 1
            continue
        run = [entries[k]]
        while k + len(run) < len(entries) and entries[k + len(run)].kind == VIEWED:
            run.append(entries[k + len(run)])
        views = summarize_views([_first_line(e.text) for e in reversed(run)])
        lines.append(f"• {when(run[0].created_at)} · customer · {escape(views or 'viewed pages')}")
        k += len(run)
    return lines


def _timeline_line(entry: Any) -> str:
    detail: Mapping[str, Any] = entry.detail or {}
    by = f"<@{entry.actor}>" if re.fullmatch(r"[UW][A-Z0-9]+", entry.actor or "") else escape(entry.actor)
    text = " ".join((entry.text or "").split())
    if len(text) > TIMELINE_TEXT_CHARS:
        text = text[: TIMELINE_TEXT_CHARS - 1] + "…"
    if entry.kind == "note":
        what = f"note: {escape(text)}"
    elif entry.kind == "contact":
        what = f"{escape(str(detail.get('method', 'contact')))}: {escape(text)}"
    elif entry.kind == "stage":
        what = f"stage: {escape(str(detail.get('from')))} → {escape(str(detail.get('to')))}"
    elif entry.kind == "tags":
        changes = [f"+{t}" for t in detail.get("added") or []] + [f"−{t}" for t in detail.get("removed") or []]
        what = f"tags: {escape(' '.join(changes))}"
    elif entry.kind == "merge":
        what = f"merged customer #{detail.get('from')} into this one"
    elif entry.kind == "erase":
        what = "personal data erased"
    elif entry.kind == LEFT_CONTACT:
        what = f"left an address to be answered at: {escape(_first_line(entry.text))}"
    else:
        what = escape(entry.kind)
    return f"• {when(entry.created_at)} · {by} · {what}"


def profile_blocks(profile: Profile, team_url: str) -> list[dict[str, Any]]:
    """A customer's profile: who, where from, their conversations, tags, stage, timeline, and what can be done."""
    c = profile.customer
    title = f"{who(c.name, c.username)} · customer #{c.id}"
    if profile.asked_for != c.id:
        title += f" (#{profile.asked_for} was merged into this customer)"
    facts = f"*Stage:* {escape(profile.stage)}   *Tags:* {escape(', '.join(profile.tags)) or 'none'}"
    facts += f"   *Customer since:* {day(c.created_at)}"
    if profile.asked_about:  # the tags of their conversations (bot.store.tags)
        facts += "   *Asked about:* " + ", ".join(f"{escape(tag)} ({n})" for tag, n in profile.asked_about)
    if c.erased_at is not None:
        facts += f"   *Personal data erased* {day(c.erased_at)}"
    blocks: list[dict[str, Any]] = [_section(title), _context(facts)]

    identity_lines = ["*Identities*"]
    for i in profile.identities:
        line = f"• {channel_name(i.channel)}: {escape(i.display_name)}"
        if i.username:
            line += f" (@{escape(i.username)})"
        line += identity_note(getattr(i, "verified", None), getattr(i, "email", None))
        line += f" · id `{escape(i.external_id)}`"
        identity_lines.append(line)
    blocks.extend(_sections(identity_lines))

    shown = len(profile.conversations)
    heading = f"*Conversations* ({profile.conversation_count}"
    heading += f", the last {shown} shown)" if shown < profile.conversation_count else ")"
    conversation_lines = [heading]
    for conv in profile.conversations:
        status = "open" if conv.status == "open" else "closed"
        category = f" · {escape(conv.category)}" if conv.category else ""
        link = thread_link(team_url, conv.slack_channel, conv.thread_ts, "thread")
        conversation_lines.append(
            f"• {day(conv.opened_at)} · {channel_name(conv.channel)} · {status}{category} · {link}"
        )
    if not profile.conversations:
        conversation_lines.append("_none yet_")
    blocks.extend(_sections(conversation_lines))

    timeline_lines = ["*Timeline* (notes, contact attempts, changes; newest first)"]
    timeline_lines += _timeline_lines(profile.timeline) or ["_nothing yet_"]
    blocks.extend(_sections(timeline_lines))

    value = f"customer:{c.id}"
    blocks.append(
        {
            "type": "actions",
            "block_id": f"crm:{c.id}",
            "elements": [
                _stage_select(c.id, profile.stages, profile.stage),
                _button("Add note", NOTE, value),
                _button("Log contact", CONTACT, value),
                _button("Tags", TAGS, value),
            ],
        }
    )
    return blocks[:50]


def card_line(card: CustomerCard, team_url: str) -> str:
    channels = ", ".join(channel_name(c) for c in card.channels) or "no channel"
    line = f"{who(card.name, card.username)} · #{card.id} · {channels} · {escape(card.stage)}"
    line += f" · {card.conversations} conversation{'s' if card.conversations != 1 else ''}"
    if card.last_thread:
        line += f" · last {thread_link(team_url, *card.last_thread, label='thread')}"
    if card.last_at:
        line += f" {when(card.last_at)}"
    return line


def cards_blocks(intro: str, cards: Sequence[CustomerCard], team_url: str) -> list[dict[str, Any]]:
    """Several customers, each with a button that opens their profile."""
    blocks: list[dict[str, Any]] = [_section(intro)]
    for card in cards[:45]:
        block = _section(card_line(card, team_url))
        block["accessory"] = _button("Profile", PROFILE, f"customer:{card.id}")
        blocks.append(block)
    return blocks


def earlier_blocks(earlier: Earlier, team_url: str) -> list[dict[str, Any]]:
    """The conversations a customer had before this one, each with a link to its thread."""
    if not earlier.conversations:
        return [_section("This is the customer's first conversation.")]
    shown = len(earlier.conversations)
    lines = [f"*{earlier.total} earlier conversation{'s' if earlier.total != 1 else ''}*"]
    if shown < earlier.total:
        lines[0] += f" (the last {shown})"
    for conv in earlier.conversations:
        about = snippet(earlier.first_messages.get(conv.id, ""), (), width=120)
        category = f" · {escape(conv.category)}" if conv.category else ""
        link = thread_link(team_url, conv.slack_channel, conv.thread_ts, "thread")
        lines.append(f"• {day(conv.opened_at)}{category} · {link}\n   >{about}")
    blocks = _sections(lines)
    blocks.append(
        {
            "type": "actions",
            "block_id": f"earlier:{earlier.customer_id}",
            "elements": [_button("Customer profile", PROFILE, f"customer:{earlier.customer_id}")],
        }
    )
    return blocks


def merge_preview_blocks(keep: CustomerCard, other: CustomerCard, team_url: str) -> list[dict[str, Any]]:
    text = (
        f"Merge {who(other.name, other.username)} (#{other.id}) *into* {who(keep.name, keep.username)} "
        f"(#{keep.id})?\nEvery identity, conversation, note and tag of #{other.id} moves to #{keep.id}; "
        f"#{other.id} will open #{keep.id}'s profile from now on. The merge is recorded."
    )
    return [
        _section(text),
        _section(f"• {card_line(keep, team_url)}\n• {card_line(other, team_url)}"),
        {
            "type": "actions",
            "block_id": "crm_merge",
            "elements": [
                _button("Merge", MERGE, f"{keep.id}:{other.id}", "danger"),
                _button("Cancel", MERGE_CANCEL, "cancel"),
            ],
        },
    ]


def merged_blocks(outcome: MergeOutcome) -> list[dict[str, Any]]:
    c = outcome.counts
    text = (
        f"Merged {who(outcome.other.name, outcome.other.username)} (#{outcome.other.id}) into "
        f"{who(outcome.keep.name, outcome.keep.username)} (#{outcome.keep.id}): {c.identities} identities, "
        f"{c.conversations} conversations, {c.activities} timeline entries and {c.tags} tags moved."
    )
    return [
        _section(text),
        {
            "type": "actions",
            "block_id": "crm_merged",
            "elements": [_button("Customer profile", PROFILE, f"customer:{outcome.keep.id}")],
        },
    ]
