"""Impact surveys: which one is due, the questions' coded answers, saving them, paying the fee.

The baseline is offered once, at registration; follow-ups ``IMPACT_FOLLOWUP_DAYS`` after
registration (90 and 180 by default) on the worker's next dial, at most once a local day.
Answers are codes (a band index, a word from a fixed list), kept apart from task answers
in ``impact_responses``, each with the worker's consent, its time and the survey version.
A completed follow-up pays ``IMPACT_SURVEY_FEES`` from Kazi's platform expense account,
once: the response row is unique per wave and the ledger posting carries its reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from core.jobs import enqueue
from core.kvstore import KeyValueStore
from core.localtime import zone_of_country
from core.money import Money, decimals
from impact.errors import InvalidSurveyAnswer
from impact.models import SurveyKind, SurveyResponse
from ledger import services as ledger
from workers.models import Worker

#: The questions' version, recorded with each consent: change it when a question changes.
SURVEY_VERSION = "1"
INCOME_SOURCES = ("farming", "business", "casual", "salaried", "family", "none")
NEW_WORK = ("job", "study", "both", "none")  # a new job, studies or training since joining
#: Hours of paid work last week: band index → label (flows' survey.hours_N say the same).
HOURS_BANDS = ("0", "1-10", "11-20", "21-40", "41+")
HOUSEHOLD_MAX = 30
#: Monthly income band edges in whole units of each currency: band 1 is below the first
#: edge, band 5 above the last, band 0 no income. Spaced to split the low incomes of
#: each market; a currency not listed reads KES's numbers in its own unit, so add a
#: market's edges here before launching it.
INCOME_EDGES: dict[str, tuple[int, int, int, int]] = {
    "KES": (2_000, 5_000, 10_000, 20_000),
    "UGX": (50_000, 150_000, 300_000, 600_000),
    "TZS": (50_000, 150_000, 300_000, 600_000),
    "HTG": (2_500, 6_000, 12_000, 25_000),
    "INR": (3_000, 8_000, 15_000, 30_000),
}
INCOME_BANDS = 6  # 0 = no income, 1..5 as above
#: A follow-up offered and put off ("Later") is offered again the next local day.
OFFER_KEY = "impact:offered:{worker_id}:{day}"
#: One SMS invitation per worker per wave (kept past the last wave's reach).
INVITE_KEY = "impact:invited:{worker_id}:{wave}"
INVITE_TTL_SECONDS = 400 * 86_400


@dataclass(frozen=True)
class SurveyAnswers:
    """One survey's answers as the flow collected them (None: not asked in this survey)."""

    kind: SurveyKind
    wave: int
    consent: bool
    currency: str
    income_source: str | None = None
    income_band: int | None = None
    hours_band: int | None = None
    household_size: int | None = None
    new_work: str | None = None


@dataclass(frozen=True)
class Saved:
    """What saving a survey did: its row, and the fee paid now (None: none, or paid before)."""

    response: SurveyResponse
    paid: Money | None


def income_edges(currency: str) -> tuple[int, int, int, int]:
    """The income bands' edges (whole units) in a currency."""
    return INCOME_EDGES.get(currency, INCOME_EDGES["KES"])


def band_labels(currency: str, language: str) -> dict[str, str]:
    """The edges as the band screen shows them: whole units, grouped as the language does."""
    out = {"cur": currency}
    for n, edge in enumerate(income_edges(currency), 1):
        text = f"{edge:,}"
        out[f"b{n}"] = text.replace(",", " ") if language == "fr" else text
    return out


def band_floor_minor(currency: str, band: int) -> int:
    """The lowest monthly income (minor units) of a band, for a report's distributions."""
    edges = (0, 0, *income_edges(currency))
    return edges[band] * 10 ** decimals(currency)


def survey_fee(settings: Settings, currency: str) -> Money | None:
    """The fee a completed follow-up pays in this currency (None when none is set)."""
    amount = dict(settings.impact_survey_fees).get(currency)
    return Money(amount, currency) if amount else None


def has_answered(session: Session, worker_id: int, kind: SurveyKind, wave: int) -> bool:
    """Whether the worker has a response (answered or declined) for this wave."""
    stmt = select(SurveyResponse.id).where(
        SurveyResponse.worker_id == worker_id,
        SurveyResponse.kind == kind,
        SurveyResponse.wave == wave,
    )
    return session.scalar(stmt) is not None


def due_followup(
    session: Session, worker: Worker, now: datetime, days: tuple[int, ...]
) -> int | None:
    """The follow-up wave due now (days after registration), or None.

    Only the latest wave reached is asked: a worker who was away at 90 days and dials at
    200 answers the 180-day follow-up, not both.
    """
    if worker.registered_at is None:
        return None
    reached = [d for d in days if worker.registered_at + timedelta(days=d) <= now]
    if not reached:
        return None
    wave = max(reached)
    return None if has_answered(session, worker.id, SurveyKind.FOLLOWUP, wave) else wave


def offer_followup(
    session: Session,
    store: KeyValueStore,
    worker: Worker,
    now: datetime,
    days: tuple[int, ...],
) -> int | None:
    """The wave to offer on this dial, if one is due and none was offered today (local day)."""
    wave = due_followup(session, worker, now, days)
    if wave is None:
        return None
    day = now.astimezone(zone_of_country(worker.country)).date().isoformat()
    key = OFFER_KEY.format(worker_id=worker.id, day=day)
    # Marked when offered, not when answered: "Later" or hanging up waits for tomorrow.
    first = store.set_if_absent(key, b"1", ttl_seconds=2 * 86_400)
    return wave if first else None


def check_answers(answers: SurveyAnswers) -> None:
    """Raise InvalidSurveyAnswer when a coded answer is outside its question's choices."""
    problems = []
    if answers.income_source not in (None, *INCOME_SOURCES):
        problems.append(f"income_source {answers.income_source!r}")
    if answers.income_band is not None and not 0 <= answers.income_band < INCOME_BANDS:
        problems.append(f"income_band {answers.income_band!r}")
    if answers.hours_band is not None and not 0 <= answers.hours_band < len(HOURS_BANDS):
        problems.append(f"hours_band {answers.hours_band!r}")
    if answers.household_size is not None and not 1 <= answers.household_size <= HOUSEHOLD_MAX:
        problems.append(f"household_size {answers.household_size!r}")
    if answers.new_work not in (None, *NEW_WORK):
        problems.append(f"new_work {answers.new_work!r}")
    if answers.wave < 0 or (answers.kind is SurveyKind.BASELINE) != (answers.wave == 0):
        problems.append(f"wave {answers.wave!r} for a {answers.kind}")
    if problems:
        raise InvalidSurveyAnswer("invalid survey answers: " + ", ".join(problems))


def save_response(
    session: Session, worker: Worker, answers: SurveyAnswers, now: datetime, fee: Money | None
) -> Saved:
    """Record a survey (or its refusal) once per wave; a completed follow-up earns ``fee`` once."""
    check_answers(answers)
    response = _existing(session, worker.id, answers.kind, answers.wave)
    if response is None:
        response = _insert(session, worker, answers, now)
    paid = None
    if response.consent and response.kind is SurveyKind.FOLLOWUP and fee is not None:
        # The reference names the row: a repeat (a retried hop, a second completion)
        # finds the first posting and pays nothing more.
        reference = f"survey_fee:response:{response.id}"
        posting = ledger.credit_survey_fee(
            session, worker_id=worker.id, amount=fee, reference=reference
        )
        response.fee_reference = reference
        paid = fee if posting.created else None
    return Saved(response, paid)


def _existing(
    session: Session, worker_id: int, kind: SurveyKind, wave: int
) -> SurveyResponse | None:
    stmt = select(SurveyResponse).where(
        SurveyResponse.worker_id == worker_id,
        SurveyResponse.kind == kind,
        SurveyResponse.wave == wave,
    )
    return session.scalars(stmt).first()


def _insert(
    session: Session, worker: Worker, answers: SurveyAnswers, now: datetime
) -> SurveyResponse:
    response = SurveyResponse(
        worker_id=worker.id,
        kind=answers.kind,
        wave=answers.wave,
        survey_version=SURVEY_VERSION,
        consent=answers.consent,
        consented_at=now,
        # Without consent nothing but the refusal is kept.
        income_source=answers.income_source if answers.consent else None,
        income_band=answers.income_band if answers.consent else None,
        income_currency=answers.currency if answers.consent else None,
        hours_band=answers.hours_band if answers.consent else None,
        household_size=answers.household_size if answers.consent else None,
        new_work=answers.new_work if answers.consent else None,
    )
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        # The same wave saved concurrently (a double-submitted hop): that row stands.
        found = _existing(session, worker.id, answers.kind, answers.wave)
        if found is None:
            raise
        return found
    return response


def invite_due_followups(
    session: Session, store: KeyValueStore, settings: Settings, now: datetime
) -> int:
    """Queue one SMS invitation per worker whose follow-up is due; returns how many."""
    registered = select(Worker).where(
        Worker.registered_at.is_not(None),
        Worker.registered_at <= now - timedelta(days=min(settings.impact_followup_days)),
        Worker.opted_out_at.is_(None),  # STOP means no more SMS from Kazi, surveys included
        Worker.erased_at.is_(None),
        Worker.suspended_at.is_(None),
    )
    invited = 0
    for worker in session.scalars(registered.order_by(Worker.id)):
        wave = due_followup(session, worker, now, settings.impact_followup_days)
        if wave is None:
            continue
        key = INVITE_KEY.format(worker_id=worker.id, wave=wave)
        if not store.set_if_absent(key, b"1", ttl_seconds=INVITE_TTL_SECONDS):
            continue
        # The fee is on the offer screen, in the worker's wallet currency (the payout
        # rails know it, not this domain): the SMS only says there is one.
        values = {"ussd_code": settings.ussd_service_code}
        enqueue(session, "workers.jobs.notify", worker.id, "survey.invite_sms", values, queue="sms")
        invited += 1
    return invited
