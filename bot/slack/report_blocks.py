"""The report as a Slack message: the headline numbers, then by category and by person, each line short.

Labels and tags come from the configuration and from staff, so they are escaped; people are mentions (``<@U…>``),
which Slack shows as names without notifying anyone in a message's blocks unless they are in the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.report_figures import Figures, Report, minutes_text, share_text
from bot.slack.text import escape

SECTION_CHARS = 2900  # a section's mrkdwn holds 3,000 characters
MAX_ROWS = 15  # categories or people listed; the CSV has them all


def _rating(f: Figures) -> str:
    if f.rating_average is None:
        return f"satisfaction – ({f.surveys_asked} asked)"
    return f"satisfaction {f.rating_average:.2f}/5 ({share_text(f.response_rate)} of {f.surveys_asked} answered)"


def figures_line(f: Figures) -> str:
    return (
        f"{f.opened} opened, {f.closed} closed · first response p50 {minutes_text(f.first_response_p50)}, "
        f"p90 {minutes_text(f.first_response_p90)} · {share_text(f.within_target_share)} within target · "
        f"resolution p50 {minutes_text(f.resolution_p50)} · {_rating(f)}"
    )


def _cut(text: str) -> str:
    return text if len(text) <= SECTION_CHARS else text[: SECTION_CHARS - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def summary_text(report: Report) -> str:
    """The notification's plain text (and what a client without blocks shows)."""
    scope = report.scope if report.scope.startswith("<@") else escape(report.scope)
    return f"Report for {scope}, {report.period.label}: {figures_line(report.total)}"


def report_blocks(report: Report, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    t = report.total
    scope = report.scope if report.scope.startswith("<@") else escape(report.scope)  # a mention stays one
    title = f"*Report: {scope}, {report.period.label}*"
    head = (
        f"*{t.opened}* inquiries opened, *{t.closed}* closed\n"
        f"*First response* (business time, holds excluded): p50 *{minutes_text(t.first_response_p50)}*, "
        f"p90 *{minutes_text(t.first_response_p90)}*; *{share_text(t.within_target_share)}* within the category's "
        f"target ({t.within_target} of {t.targeted})\n"
        f"*Resolution*: p50 *{minutes_text(t.resolution_p50)}*, p90 *{minutes_text(t.resolution_p90)}*\n"
        f"*Satisfaction*: {_rating(t)}"
    )
    busiest = ", ".join(f"{h:02d}:00" for h in report.busiest_hours()) or "–"
    tags = ", ".join(f"{escape(tag)} ({n})" for tag, n in report.top_tags) or "–"
    saved = ", ".join(f"{escape(name)} ({n})" for name, n in report.saved_replies) or "–"
    more = f"*Busiest hours*: {busiest}\n*Top tags*: {tags}\n*Saved replies used*: {saved}"
    categories = [
        f"• *{escape(labels.get(k, k)) if k else '(no category)'}*: {figures_line(f)}"
        for k, f in list(report.by_category.items())[:MAX_ROWS]
    ]
    people = [
        f"• {f'<@{k}>' if k else '(nobody)'}: {figures_line(f)}" for k, f in list(report.by_person.items())[:MAX_ROWS]
    ]
    blocks: list[dict[str, Any]] = [
        _section(f"{title}\n{head}"),
        _section(more),
    ]
    if categories:
        blocks.append(_section("*By category*\n" + "\n".join(categories)))
    if people:
        blocks.append(_section("*By person*\n" + "\n".join(people)))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "The chart and the conversations (CSV) follow."}]}
    )
    return blocks
