"""The impact report: what Kazi's work and surveys show, for admins (console and API).

Every query takes an optional ``scope``: a select of worker ids (None: every worker), so
a partner centre's report is the same code with its workers' ids. Wages are the paid
answers' rewards (tasks), per currency; the platform fee is not posted to the ledger,
so what requesters paid beyond wages is the ``PLATFORM_FEE_PERCENT`` price each paid
answer was sold at (``tasks.reports.fair_pay`` prices a project the same way). Survey
fees are Kazi's own expense, not wages, and are left out of wages.

Sample sizes travel with every survey figure: fewer than ``SMALL_SAMPLE`` answers is
flagged so nobody reads a trend into three workers.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.money import COUNTRY_CURRENCY, decimals
from impact.models import SurveyKind, SurveyResponse
from impact.surveys import INCOME_BANDS, income_edges
from tasks.models import Assignment, AssignmentStatus, Project, Task
from tasks.quality import effective_hourly_wage
from workers.models import Worker

SMALL_SAMPLE = 10
ACTIVE_DAYS = 30
#: Scope of a report: a select of worker ids, or None for every worker.
Scope = Select[Any] | None


@dataclass(frozen=True)
class BandCount:
    """How many workers fall in one band (label in the currency's whole units)."""

    band: str
    workers: int


@dataclass(frozen=True)
class Wages:
    """Wages paid in one currency: total, per-worker median and distribution."""

    currency: str
    total_minor: int
    workers: int
    median_per_worker_minor: int
    distribution: list[BandCount]


@dataclass(frozen=True)
class HourlyWage:
    """Effective hourly wage (paid rewards per hour on task) in a country, against its floor."""

    country: str
    currency: str
    workers: int
    hours_on_task: float
    hourly_minor: int | None
    floor_minor: int | None  # LIVING_WAGE_FLOORS, when it is in this currency
    below_floor: bool | None


@dataclass(frozen=True)
class WorkerShare:
    """What reached workers of what requesters paid: wages / (wages + fees)."""

    currency: str
    wages_minor: int
    fees_minor: int
    share: float | None


@dataclass(frozen=True)
class BandChange:
    """Income band from baseline to one follow-up wave, for workers who answered both."""

    wave: int
    n: int
    up: int
    same: int
    down: int
    mean_change: float | None
    small_sample: bool


@dataclass(frozen=True)
class NewWork:
    """Share of follow-up respondents (latest wave) who started a new job or studies."""

    n: int
    job: int
    study: int
    both: int
    neither: int
    share: float | None
    small_sample: bool


@dataclass(frozen=True)
class ImpactReport:
    """The whole report, as the console page and ``GET /api/v1/impact`` show it."""

    generated_at: datetime
    active_workers_30d: int
    baseline_answered: int
    baseline_declined: int
    followups_answered: int
    wages: list[Wages]
    hourly: list[HourlyWage]
    worker_share: list[WorkerShare]
    band_changes: list[BandChange]
    new_work: NewWork
    small_sample: int = field(default=SMALL_SAMPLE)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601)."""
        out = asdict(self)
        out["generated_at"] = self.generated_at.isoformat()
        return out


def _in_scope(column: Any, scope: Scope) -> ColumnElement[bool]:
    return column.in_(scope) if scope is not None else column.is_not(None)


def _paid_answers(scope: Scope) -> Select[Any]:
    return (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(Worker, Worker.id == Assignment.worker_id)
        .where(
            Assignment.status == AssignmentStatus.ANSWERED,
            Assignment.paid.is_(True),
            _in_scope(Assignment.worker_id, scope),
        )
    )


def active_workers(session: Session, now: datetime, scope: Scope = None) -> int:
    """Workers who answered a task in the last 30 days."""
    stmt = select(func.count(func.distinct(Assignment.worker_id))).where(
        Assignment.status == AssignmentStatus.ANSWERED,
        Assignment.answered_at >= now - timedelta(days=ACTIVE_DAYS),
        _in_scope(Assignment.worker_id, scope),
    )
    return int(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class WorkerWages:
    """One worker's paid work in one currency (a CSV row's core)."""

    worker_id: int
    country: str
    currency: str
    answers: int
    wages_minor: int
    seconds: float


def worker_wages(session: Session, scope: Scope = None) -> list[WorkerWages]:
    """Each worker's paid answers, wages and time on task, per currency."""
    stmt = (
        _paid_answers(scope)
        .with_only_columns(
            Assignment.worker_id,
            Worker.country,
            Project.currency,
            func.count(),
            func.sum(Project.reward_minor),
            func.coalesce(func.sum(Assignment.seconds_taken), 0.0),
        )
        .group_by(Assignment.worker_id, Worker.country, Project.currency)
        .order_by(Assignment.worker_id, Project.currency)
    )
    return [
        WorkerWages(wid, country, currency, int(n), int(total), float(seconds or 0.0))
        for wid, country, currency, n, total, seconds in session.execute(stmt)
    ]


def wages_by_currency(rows: Iterable[WorkerWages]) -> list[Wages]:
    """Total, per-worker median and distribution (in the survey's income bands) per currency."""
    per_currency: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        per_currency[row.currency].append(row.wages_minor)
    return [
        Wages(
            currency=currency,
            total_minor=sum(amounts),
            workers=len(amounts),
            median_per_worker_minor=int(statistics.median(amounts)),
            distribution=_distribution(currency, amounts),
        )
        for currency, amounts in sorted(per_currency.items())
    ]


def _distribution(currency: str, amounts: list[int]) -> list[BandCount]:
    # The survey's income bands, so wages read against the incomes workers report.
    unit = 10 ** decimals(currency)
    edges = [e * unit for e in income_edges(currency)]
    labels = [f"under {edges[0] // unit:,}"]
    labels += [f"{lo // unit:,}-{hi // unit:,}" for lo, hi in zip(edges, edges[1:], strict=False)]
    labels += [f"over {edges[-1] // unit:,}"]
    counts = [0] * len(labels)
    for amount in amounts:
        counts[sum(amount >= edge for edge in edges)] += 1
    return [BandCount(label, count) for label, count in zip(labels, counts, strict=True)]


def hourly_wages(settings: Settings, rows: Iterable[WorkerWages]) -> list[HourlyWage]:
    """Effective hourly wage per country and currency, against its living-wage floor."""
    floors = dict(settings.living_wage_floors)
    groups: dict[tuple[str, str], list[WorkerWages]] = defaultdict(list)
    for row in rows:
        groups[(row.country, row.currency)].append(row)
    out = []
    for (country, currency), members in sorted(groups.items()):
        timed = [m for m in members if m.seconds > 0]
        seconds = sum(m.seconds for m in timed)
        wages = sum(m.wages_minor for m in timed)
        hourly = effective_hourly_wage(wages, seconds) if seconds else None
        floor = floors.get(country) if COUNTRY_CURRENCY.get(country) == currency else None
        below = None if hourly is None or floor is None else hourly < floor
        out.append(
            HourlyWage(
                country, currency, len(members), round(seconds / 3600, 1), hourly, floor, below
            )
        )
    return out


def worker_shares(session: Session, settings: Settings, scope: Scope = None) -> list[WorkerShare]:
    """Per currency, wages over wages plus the platform fee on each paid answer."""
    stmt = (
        _paid_answers(scope)
        .with_only_columns(Project.currency, Project.reward_minor, func.count())
        .group_by(Project.currency, Project.reward_minor)
    )
    wages: dict[str, int] = defaultdict(int)
    fees: dict[str, int] = defaultdict(int)
    for currency, reward, n in session.execute(stmt):
        price = reward * (100 + settings.platform_fee_percent) // 100
        wages[currency] += reward * n
        fees[currency] += (price - reward) * n
    return [
        WorkerShare(c, wages[c], fees[c], wages[c] / (wages[c] + fees[c]) if wages[c] else None)
        for c in sorted(wages)
    ]


def _responses(session: Session, kind: SurveyKind, scope: Scope) -> list[SurveyResponse]:
    stmt = select(SurveyResponse).where(
        SurveyResponse.kind == kind, _in_scope(SurveyResponse.worker_id, scope)
    )
    return list(session.scalars(stmt.order_by(SurveyResponse.worker_id, SurveyResponse.wave)))


def band_changes(
    baselines: dict[int, SurveyResponse], followups: list[SurveyResponse]
) -> list[BandChange]:
    """Income band change per follow-up wave, for workers with both answers."""
    per_wave: dict[int, list[int]] = defaultdict(list)
    for f in followups:
        base = baselines.get(f.worker_id)
        if base is None or base.income_band is None or f.income_band is None:
            continue
        if not 0 <= f.income_band < INCOME_BANDS:
            continue
        # Band indices are ordered (0 is no income, 1 under the first edge, ...), and a
        # worker's two answers are in the same currency: the difference is the change.
        per_wave[f.wave].append(f.income_band - base.income_band)
    return [
        BandChange(
            wave=wave,
            n=len(deltas),
            up=sum(d > 0 for d in deltas),
            same=sum(d == 0 for d in deltas),
            down=sum(d < 0 for d in deltas),
            mean_change=round(statistics.fmean(deltas), 2) if deltas else None,
            small_sample=len(deltas) < SMALL_SAMPLE,
        )
        for wave, deltas in sorted(per_wave.items())
    ]


def new_work(followups: list[SurveyResponse]) -> NewWork:
    """Among follow-up respondents, who started a new job or studies (latest wave each)."""
    latest: dict[int, SurveyResponse] = {}
    for f in followups:
        if f.new_work is not None:
            latest[f.worker_id] = f  # ordered by wave: the last one wins
    answers = [f.new_work for f in latest.values()]
    n = len(answers)
    moved = sum(a in ("job", "study", "both") for a in answers)
    return NewWork(
        n=n,
        job=answers.count("job"),
        study=answers.count("study"),
        both=answers.count("both"),
        neither=answers.count("none"),
        share=moved / n if n else None,
        small_sample=n < SMALL_SAMPLE,
    )


def impact_report(
    session: Session, settings: Settings, now: datetime, scope: Scope = None
) -> ImpactReport:
    """The impact report for the workers in ``scope`` (None: everyone)."""
    rows = worker_wages(session, scope)
    baseline_rows = _responses(session, SurveyKind.BASELINE, scope)
    baselines = {b.worker_id: b for b in baseline_rows if b.consent}
    followups = [f for f in _responses(session, SurveyKind.FOLLOWUP, scope) if f.consent]
    return ImpactReport(
        generated_at=now,
        active_workers_30d=active_workers(session, now, scope),
        baseline_answered=len(baselines),
        baseline_declined=len(baseline_rows) - len(baselines),
        followups_answered=len(followups),
        wages=wages_by_currency(rows),
        hourly=hourly_wages(settings, rows),
        worker_share=worker_shares(session, settings, scope),
        band_changes=band_changes(baselines, followups),
        new_work=new_work(followups),
    )


CSV_COLUMNS = (
    "worker_id",
    "country",
    "currency",
    "paid_answers",
    "wages_minor",
    "hours_on_task",
    "hourly_minor",
    "baseline_band",
    "followup_wave",
    "followup_band",
    "band_change",
    "new_work",
)


def report_csv(session: Session, scope: Scope = None) -> str:
    """One row per worker and currency: work, wages and survey bands; never a phone number."""
    rows = worker_wages(session, scope)
    baselines = {
        b.worker_id: b for b in _responses(session, SurveyKind.BASELINE, scope) if b.consent
    }
    latest: dict[int, SurveyResponse] = {}
    for f in _responses(session, SurveyKind.FOLLOWUP, scope):
        if f.consent:
            latest[f.worker_id] = f
    countries = {row.worker_id: row.country for row in rows}
    surveyed_only = (set(baselines) | set(latest)) - set(countries)
    if surveyed_only:
        found = session.execute(
            select(Worker.id, Worker.country).where(Worker.id.in_(surveyed_only))
        )
        countries.update(dict(found.tuples().all()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_csv_row(row.worker_id, row, baselines, latest, countries))
    for worker_id in sorted(surveyed_only):
        writer.writerow(_csv_row(worker_id, None, baselines, latest, countries))
    return out.getvalue()


def _csv_row(
    worker_id: int,
    row: WorkerWages | None,
    baselines: dict[int, SurveyResponse],
    latest: dict[int, SurveyResponse],
    countries: dict[int, str],
) -> list[Any]:
    base, follow = baselines.get(worker_id), latest.get(worker_id)
    base_band = base.income_band if base else None
    follow_band = follow.income_band if follow else None
    change = None if base_band is None or follow_band is None else follow_band - base_band
    hourly = None
    if row and row.seconds > 0:
        hourly = effective_hourly_wage(row.wages_minor, row.seconds)
    return [
        worker_id,
        countries.get(worker_id, ""),
        row.currency if row else "",
        row.answers if row else 0,
        row.wages_minor if row else 0,
        round(row.seconds / 3600, 2) if row else 0,
        _blank(hourly),
        _blank(base_band),
        _blank(follow.wave if follow else None),
        _blank(follow_band),
        _blank(change),
        (follow.new_work or "") if follow else "",
    ]


def _blank(value: Any) -> Any:
    return "" if value is None else value
