"""The demo: a funded requester, an operator login, projects of short tasks, four workers,
and an impact cohort who answered the income surveys (``demo.impact_seed``).

Each worker earns in their country's wallet: the Kenyans in KES, the Ugandan
(+256772000004) in UGX, paid out as MTN MoMo, the Haitian in HTG. The Ugandan also
holds KES from earlier work (``also_earns``), so their earnings screen shows two
balances and their withdrawal asks which wallet to draw on.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from console.models import OperatorRole
from console.services import create_operator, operator_by_email, reset_password
from core.db import utcnow
from core.money import Money
from demo.impact_seed import seed_impact_cohort
from payouts.rails import payable_currencies, wallet_currency
from tasks.assignment import get_next_task
from tasks.funding import record_deposit
from tasks.models import Deposit, DepositChannel, Project, Requester, Task, TaskType
from tasks.projects import ProjectSpec, TaskSpec, add_tasks, create_project
from tasks.requesters import create_requester, rotate_api_key
from tasks.snapshots import refresh_snapshot
from tasks.submission import submit_answer
from workers import services as workers
from workers.models import Worker

DEMO_DATA = Path(__file__).with_name("demo_data.json")
DEMO_WORKER_PIN = "1234"
#: Answers each new demo worker has already given, so their wallet holds enough to try a
#: withdrawal at once (8 reviews at KES 1.50 = KES 12, above M-Pesa's KES 10 minimum).
DEMO_HISTORY_ANSWERS = 8
DEMO_SECONDS_PER_ANSWER = 20
#: The demo requester's recorded deposit: the demo projects' budgets (KES 7,000) and
#: KES 13,000 more to try creating a project through the API.
DEMO_DEPOSIT = Money(2_000_000, "KES")
DEMO_DEPOSIT_REFERENCE = "DEMO-BANK-0001"
#: The deposits that fund the demo's projects in other currencies (their budgets exactly).
DEMO_OTHER_DEPOSITS = {
    "UGX": (Money(300_000, "UGX"), "DEMO-BANK-UGX-0001"),
    "HTG": (Money(1_500_000, "HTG"), "DEMO-BANK-HTG-0001"),
}


@dataclass(frozen=True)
class DemoCredentials:
    """What the demo prints: fresh secrets on every run, the old ones stop working."""

    api_key: str
    operator_email: str
    operator_password: str
    projects: list[tuple[int, str, int]]  # id, name, number of tasks
    worker_phones: list[str]


def seed_demo(session: Session, settings: Settings) -> DemoCredentials:
    """Create the demo data, or refresh its secrets if it already exists (idempotent)."""
    data = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    requester, api_key = _demo_requester(session, data["requester"])
    _demo_deposit(session, requester, DEMO_DEPOSIT, DEMO_DEPOSIT_REFERENCE)
    for amount, reference in DEMO_OTHER_DEPOSITS.values():
        _demo_deposit(session, requester, amount, reference)
    email = data["operator"]
    operator = operator_by_email(session, email)
    if operator is None:
        _, password = create_operator(session, email, OperatorRole.ADMIN)
    else:
        password = reset_password(session, operator)
    payable = payable_currencies(settings)
    projects = [_demo_project(session, requester, spec, payable) for spec in data["projects"]]
    phones = [_demo_worker(session, settings, spec) for spec in data["workers"]]
    _demo_rote_bot(session, data["rote_bot"])
    first = workers.by_phone(session, phones[0])
    if first is not None and first.pin_hash:
        seed_impact_cohort(session, settings, utcnow(), first.pin_hash)
    for project_id, _, _ in projects:
        # The demo's answers have results to download at once, not after the refresh job.
        refresh_snapshot(session, session.get_one(Project, project_id), utcnow())
    return DemoCredentials(api_key, email, password, projects, phones)


def _demo_requester(session: Session, name: str) -> tuple[Requester, str]:
    existing = session.scalars(select(Requester).where(Requester.name == name)).first()
    if existing is None:
        return create_requester(session, name)
    return existing, rotate_api_key(session, existing)


def _demo_deposit(session: Session, requester: Requester, amount: Money, reference: str) -> None:
    """A bank transfer that funds the demo, recorded once (by the seed, not an operator)."""
    recorded = select(Deposit.id).where(Deposit.reference == reference)
    if session.scalar(recorded) is None:
        record_deposit(
            session,
            requester_id=requester.id,
            amount=amount,
            channel=DepositChannel.BANK,
            reference=reference,
            recorded_by=None,
            needs_approval=False,
            note="demo seed",
        )


def _demo_project(
    session: Session, requester: Requester, spec: dict, payable: frozenset[str]
) -> tuple[int, str, int]:
    existing = session.scalars(
        select(Project).where(Project.requester_id == requester.id, Project.name == spec["name"])
    ).first()
    if existing is not None:
        return existing.id, existing.name, len(spec["tasks"])
    project = create_project(
        session,
        requester,
        ProjectSpec(
            name=spec["name"],
            task_type=TaskType(spec["task_type"]),
            instructions=spec["instructions"],
            options=spec["options"],
            reward=Money(**spec["reward"]),
            budget=Money(**spec["budget"]),
            answers_per_task=spec["answers_per_task"],
            gold_rate=spec["gold_rate"],
            min_accuracy=spec["min_accuracy"],
            languages=spec["languages"],
            countries=spec["countries"],
            priority=spec["priority"],
        ),
        payable_currencies=payable,
    )
    count = add_tasks(session, project, (TaskSpec(**task) for task in spec["tasks"]))
    return project.id, project.name, count


def _demo_worker(session: Session, settings: Settings, spec: dict) -> str:
    worker = workers.by_phone(session, spec["msisdn"])
    if worker is None:
        now = utcnow()
        worker = workers.contact(session, spec["msisdn"], default_language=spec["language"])
        worker.country = spec["country"]
        workers.record_consent(worker, True, now)
        workers.set_pin(worker, DEMO_WORKER_PIN, now)
        workers.mark_qualified(worker, now)  # demo workers start with tasks, not the quiz
        session.flush()
        _demo_history(session, worker, wallet_currency(settings, worker.country))
        if spec.get("also_earns"):
            _demo_history(session, worker, spec["also_earns"])
    else:
        workers.mark_qualified(worker, utcnow())
    return worker.msisdn


def _demo_rote_bot(session: Session, phone: str) -> None:
    """A worker who always picks the last option, answered until the spam checks suspend them.

    The console then shows a suspended worker (reason, flags, the Reinstate form).
    """
    if workers.by_phone(session, phone) is not None:
        return
    now = utcnow()
    bot = workers.contact(session, phone, default_language="en")
    workers.record_consent(bot, True, now)
    workers.set_pin(bot, DEMO_WORKER_PIN, now)
    workers.mark_qualified(bot, now)
    session.flush()
    clock = now - timedelta(seconds=DEMO_SECONDS_PER_ANSWER * 40)
    for _ in range(40):
        view = get_next_task(session, bot, clock, rng=random.Random(bot.id))
        if view is None or not view.options:
            return
        clock += timedelta(seconds=DEMO_SECONDS_PER_ANSWER)
        submit_answer(session, bot, view.task_id, view.options[-1], clock)


def _demo_history(session: Session, worker: Worker, currency: str) -> None:
    """Answer a few tasks as this worker through the real services, paid as usual."""
    clock = utcnow() - timedelta(seconds=DEMO_SECONDS_PER_ANSWER * DEMO_HISTORY_ANSWERS)
    for _ in range(DEMO_HISTORY_ANSWERS):
        rng = random.Random(worker.id)
        view = get_next_task(session, worker, clock, rng=rng, currencies={currency})
        if view is None:
            return
        clock += timedelta(seconds=DEMO_SECONDS_PER_ANSWER)
        gold = session.get_one(Task, view.task_id).gold_answer
        submit_answer(session, worker, view.task_id, gold or view.options[0], clock)
