"""The demo's impact cohort: Kenyan workers who joined months ago, did some paid work and
answered the income surveys, so the impact report (console, API) shows believable numbers.

Their work goes through the real task services (wages in the ledger); their surveys through
``impact.surveys`` (follow-up fees in the ledger). Answers are drawn from a fixed seed: a
modest drift up in income bands, a few new jobs and studies, two who declined the baseline.
Without PINs hashed one by one (slow by design), they share the first demo worker's.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from config.settings import Settings
from impact import surveys
from impact.models import SurveyKind
from tasks.assignment import get_next_task
from tasks.models import Task
from tasks.submission import submit_answer
from workers import centres
from workers import services as workers
from workers.models import Worker

COHORT = 24
COHORT_PHONE = "+2547110001{n:02d}"
#: Every other member answered a task recently: each answer runs the whole submission
#: pipeline (screening, quality, the wage), so few keep the seed quick.
WORKING_EVERY = 2
ANSWERS_EACH = 1
#: Income band at baseline (0 no income .. 5 top), weighted like a low-income cohort.
BASELINE_BANDS = (0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4)
BAND_DRIFT = (-1, 0, 0, 0, 1, 1, 2)
NEW_WORK = ("none",) * 6 + ("job", "job", "study", "both")
SOURCES = ("farming", "business", "casual", "casual", "family", "none")
#: A partner centre some of the cohort joined through (dial *384*12*501#), so the
#: console's Centres page and a centre's own impact report have something to show.
DEMO_CENTRE = {"name": "Kibera Digital Hub", "country": "KE", "registration_code": "501"}
CENTRE_EVERY = 3


def seed_impact_cohort(session: Session, settings: Settings, now: datetime, pin_hash: str) -> int:
    """Create the cohort once (a re-run finds it and does nothing); returns its size."""
    if workers.by_phone(session, COHORT_PHONE.format(n=0)) is not None:
        return COHORT
    rng = random.Random(17)
    centre = centres.create_centre(session, **DEMO_CENTRE)
    session.flush()
    for n in range(COHORT):
        worker = _member(session, COHORT_PHONE.format(n=n), now, rng, pin_hash)
        if n % CENTRE_EVERY == 0:
            worker.centre_id = centre.id
        if n % WORKING_EVERY == 0:
            _work(session, worker, now - timedelta(days=rng.randint(1, 40)), rng)
        _surveys(session, settings, worker, n, now, rng)
    return COHORT


def _member(session: Session, phone: str, now: datetime, rng: random.Random, pin: str) -> Worker:
    joined = now - timedelta(days=rng.randint(95, 210))
    worker = workers.contact(session, phone, default_language=rng.choice(("en", "sw")))
    worker.consented_at = worker.registered_at = worker.qualified_at = joined
    worker.pin_hash = pin
    session.flush()
    return worker


def _work(session: Session, worker: Worker, start: datetime, rng: random.Random) -> None:
    clock = start
    for _ in range(ANSWERS_EACH):
        view = get_next_task(session, worker, clock, rng=rng, currencies={"KES"})
        if view is None:
            return
        clock += timedelta(seconds=rng.randint(18, 70))
        gold = session.get_one(Task, view.task_id).gold_answer
        submit_answer(session, worker, view.task_id, gold or rng.choice(view.options), clock)


def _surveys(
    session: Session,
    settings: Settings,
    worker: Worker,
    n: int,
    now: datetime,
    rng: random.Random,
) -> None:
    joined = worker.registered_at
    assert joined is not None
    consent = n not in (5, 17)  # two declined the baseline
    band = rng.choice(BASELINE_BANDS)
    base = surveys.SurveyAnswers(
        SurveyKind.BASELINE,
        0,
        consent,
        "KES",
        income_source=rng.choice(SOURCES),
        income_band=band,
        hours_band=rng.randint(0, 3),
        household_size=rng.randint(1, 8),
    )
    surveys.save_response(session, worker, base, joined, None)
    fee = surveys.survey_fee(settings, "KES")
    for wave in settings.impact_followup_days:
        answered_at = joined + timedelta(days=wave + rng.randint(0, 4))
        if answered_at > now or rng.random() < 0.2:
            continue  # not due yet, or not answered (yet)
        band = max(0, min(5, band + rng.choice(BAND_DRIFT)))
        follow = surveys.SurveyAnswers(
            SurveyKind.FOLLOWUP,
            wave,
            True,
            "KES",
            income_source=rng.choice(SOURCES),
            income_band=band,
            hours_band=rng.randint(1, 4),
            new_work=rng.choice(NEW_WORK),
        )
        surveys.save_response(session, worker, follow, answered_at, fee)
