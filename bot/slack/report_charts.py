"""The report's chart: one PNG people would rather look at than read, drawn off the event loop.

matplotlib's Agg backend draws without a display. Category names may be Korean, so the font is the configured one
(``reports.font``: a family or a font file) or else the first installed family that has Hangul (fonts-nanum or
fonts-noto-cjk on Debian), with DejaVu Sans behind it for everything else. Drawing is serialised by a lock: the
font is set through matplotlib's global rc parameters.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.report_figures import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 1200, 900, 100  # pixels: the chart is always exactly this size
HANGUL_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic", "UnDotum")
_lock = threading.Lock()
_OPENED, _CLOSED, _P50, _P90 = "#4a90d9", "#8fbf5a", "#f0a030", "#d9534f"


@cache
def chart_font(configured: str | None) -> str | None:
    """The family to draw with: the configured one, else an installed one with Hangul; None: matplotlib's own."""
    from matplotlib import font_manager  # imported when first drawn: the bot starts without loading matplotlib

    if configured:
        if Path(configured).is_file():
            font_manager.fontManager.addfont(configured)
            return font_manager.FontProperties(fname=configured).get_name()
        return configured
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FAMILIES if name in installed), None)


def _label(key: str, labels: Mapping[str, str]) -> str:
    return labels.get(key, key) if key else "(none)"


def _draw(report: Report, labels: Mapping[str, str]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # drawn on Agg directly: no pyplot, no display
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    scope = report.scope.removeprefix("<@").removesuffix(">")  # a person's mention: their id
    figure.suptitle(f"Inquiries — {scope}, {report.period.label}", fontsize=15)
    volume, response, hours, tags = figure.subplots(2, 2).flat
    keys = list(report.by_category)[:12]
    names = [_label(k, labels) for k in keys]
    at = list(range(len(keys)))
    volume.bar([x - 0.2 for x in at], [report.by_category[k].opened for k in keys], 0.4, label="opened", color=_OPENED)
    volume.bar([x + 0.2 for x in at], [report.by_category[k].closed for k in keys], 0.4, label="closed", color=_CLOSED)
    volume.set_xticks(at, names, rotation=20, ha="right")
    volume.set_title("Opened and closed by category")
    volume.legend()
    volume.yaxis.set_major_locator(MaxNLocator(integer=True))

    def minutes(value: int | None) -> float:
        return 0.0 if value is None else value / 60

    p50 = [minutes(report.by_category[k].first_response_p50) for k in keys]
    p90 = [minutes(report.by_category[k].first_response_p90) for k in keys]
    response.bar([x - 0.2 for x in at], p50, 0.4, label="p50", color=_P50)
    response.bar([x + 0.2 for x in at], p90, 0.4, label="p90", color=_P90)
    for x, k in zip(at, keys, strict=True):
        share = report.by_category[k].within_target_share
        if share is not None:
            response.annotate(f"{share * 100:.0f}% in target", (x, max(p90[x], p50[x])), xytext=(0, 4),
                              textcoords="offset points", ha="center", va="bottom")  # fmt: skip
    response.margins(y=0.2)  # room for the share above the tallest bar
    response.set_xticks(at, names, rotation=20, ha="right")
    response.set_ylabel("minutes (business time)")
    response.set_title("First response by category")
    response.legend()

    hours.bar(range(24), report.hours, color=_OPENED)
    hours.yaxis.set_major_locator(MaxNLocator(integer=True))
    hours.set_xticks(range(0, 24, 2))
    hours.set_xlabel("hour of day")
    hours.set_title("New inquiries by hour")

    top = report.top_tags[:10][::-1]
    if top:
        tags.barh([t for t, _ in top], [n for _, n in top], color=_CLOSED)
        tags.xaxis.set_major_locator(MaxNLocator(integer=True))  # conversations: whole numbers
        tags.set_title("Top tags")
    else:
        tags.text(0.5, 0.5, "no tags in this period", ha="center", va="center", transform=tags.transAxes)
        tags.set_axis_off()
    figure.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.1, hspace=0.45, wspace=0.2)
    return figure


def render_png(report: Report, labels: Mapping[str, str], font: str | None = None) -> bytes:
    """The chart as PNG bytes, WIDTH x HEIGHT pixels (blocking: call it through ``render``)."""
    import matplotlib

    family = chart_font(font)
    with _lock, matplotlib.rc_context({"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"]}):
        figure = _draw(report, labels)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


async def render(report: Report, labels: Mapping[str, str], font: str | None = None) -> bytes:
    """Draw in a worker thread: a chart takes a few hundred milliseconds the event loop must not wait for."""
    return await asyncio.to_thread(render_png, report, labels, font)
