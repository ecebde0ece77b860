"""Reports over the archive: a period's figures in total, by category and by person, and the conversations behind
them (the CSV). Everything is read in one read-only transaction, so the numbers agree with each other."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import BotConfig
from bot.domain.periods import ReportRequest
from bot.domain.report_figures import Figures, Report, percentile
from bot.store.database import Database
from bot.store.reports import Cell, ConversationRow, Duration, ReportStore, Scope, SurveyCell

CSV_COLUMNS = (
    "conversation_id", "opened_at", "closed_at", "status", "category", "person", "opened_in_period",
    "first_response_seconds", "within_target", "resolution_seconds", "rating", "tags",
)  # fmt: skip


@dataclass
class Built:
    """A report and the scope it was computed over (its CSV is read from the same scope)."""

    report: Report
    scope: Scope
    targets: dict[str, int]


def csv_of(rows: Iterable[ConversationRow], targets: Mapping[str, int]) -> bytes:
    """The conversations behind the numbers, one a line (UTF-8 with a BOM, so spreadsheets read Korean)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        target = targets.get(r.category or "")
        within = "" if target is None or not r.opened_in_period else (
            "yes" if r.first_response_seconds is not None and r.first_response_seconds <= target else "no")
        writer.writerow([
            r.id, r.opened_at, r.closed_at or "", r.status, r.category or "", r.person or "",
            "yes" if r.opened_in_period else "no",
            "" if r.first_response_seconds is None else r.first_response_seconds, within,
            "" if r.resolution_seconds is None else r.resolution_seconds, "" if r.rating is None else r.rating,
            r.tags,
        ])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode()


def _add_cell(figures: Figures, cell: Cell) -> None:
    figures.opened += cell.opened
    figures.closed += cell.closed
    figures.answered += cell.answered
    figures.targeted += cell.targeted
    figures.within_target += cell.within_target


def _add_survey(figures: Figures, cell: SurveyCell) -> None:
    figures.surveys_asked += cell.asked
    figures.surveys_rated += cell.rated
    figures.rating_sum += cell.rating_sum


def _durations(figures: Figures, rows: Iterable[Duration]) -> None:
    rows = list(rows)
    # By position: tens of thousands of rows, and a row's fields by name cost far more than by index.
    first = [r[2] for r in rows if r[2] is not None]  # Duration.first_response_seconds
    resolution = [r[3] for r in rows if r[3] is not None]  # Duration.resolution_seconds
    figures.first_response_p50, figures.first_response_p90 = percentile(first, 50), percentile(first, 90)
    figures.resolution_p50, figures.resolution_p90 = percentile(resolution, 50), percentile(resolution, 90)


def local_hours(buckets: Iterable[tuple[str, int]], zone: ZoneInfo) -> list[int]:
    """UTC hour buckets ("YYYY-MM-DD HH") counted into the team's hours of day."""
    hours = [0] * 24
    for bucket, count in buckets:
        at = datetime(int(bucket[:4]), int(bucket[5:7]), int(bucket[8:10]), int(bucket[11:13]), tzinfo=UTC)
        hours[at.astimezone(zone).hour] += count
    return hours


class Reports:
    def __init__(self, db: Database, config: BotConfig, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.db = db
        self.config = config
        self.clock = clock

    @property
    def zone(self) -> ZoneInfo:
        return self.config.reports.zone(self.config.business_hours)

    def targets(self) -> dict[str, int]:
        """Each category's first-response target in seconds (categories without one have none)."""
        return {k: c.first_response_minutes * 60 for k, c in self.config.categories.items() if c.first_response_minutes}

    def scope_label(self, request: ReportRequest) -> str:
        if request.category is not None:
            conf = self.config.categories.get(request.category)
            return conf.label if conf else request.category
        if request.person is not None:
            return f"<@{request.person}>"
        return "everyone"

    async def build(self, request: ReportRequest) -> Built:
        period = request.period
        targets = self.targets()
        scope = Scope(period.start, period.end, request.category, request.person, targets)
        async with self.db.reading() as tx:
            store = ReportStore(tx.conn)
            cells = await store.cells(scope)
            durations = await store.durations(scope)
            surveys = await store.survey_cells(scope)
            hours = await store.opened_by_hour(scope)
            top_tags = await store.top_tags(scope)
            saved = await store.saved_reply_uses(scope)
        report = Report(period=period, scope=self.scope_label(request), total=Figures())
        by_category: dict[str, Figures] = defaultdict(Figures)
        by_person: dict[str, Figures] = defaultdict(Figures)
        for cell in cells:
            for figures in (report.total, by_category[cell.category or ""], by_person[cell.person or ""]):
                _add_cell(figures, cell)
        for survey in surveys:
            for figures in (report.total, by_category[survey.category or ""], by_person[survey.person or ""]):
                _add_survey(figures, survey)
        _durations(report.total, durations)
        rows_by_category: dict[str, list[Duration]] = defaultdict(list)
        rows_by_person: dict[str, list[Duration]] = defaultdict(list)
        for row in durations:  # (category, person, first response, resolution)
            rows_by_category[row[0] or ""].append(row)
            rows_by_person[row[1] or ""].append(row)
        for key, figures in by_category.items():
            _durations(figures, rows_by_category[key])
        for key, figures in by_person.items():
            _durations(figures, rows_by_person[key])
        report.by_category = dict(sorted(by_category.items(), key=lambda kv: (-kv[1].opened, kv[0])))
        report.by_person = dict(sorted(by_person.items(), key=lambda kv: (-kv[1].opened, kv[0])))
        report.hours = local_hours(hours, self.zone)
        report.top_tags = top_tags
        report.saved_replies = saved
        return Built(report=report, scope=scope, targets=targets)

    async def rows(self, built: Built) -> list[ConversationRow]:
        """The conversations behind a report's numbers (read after the numbers are out: they are many)."""
        async with self.db.reading() as tx:
            return await ReportStore(tx.conn).rows(built.scope)

    async def csv(self, built: Built) -> bytes:
        return csv_of(await self.rows(built), built.targets)
