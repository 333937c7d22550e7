"""Requester funding through the services: deposits, maker-checker, credit, budgets drawn and returned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from console.models import Operator, OperatorRole
from core.db import utcnow
from core.errors import Conflict
from core.money import Money
from ledger import services as ledger
from ledger.models import AccountKind
from tasks.assignment import expire_due, get_next_task
from tasks.errors import DepositRefused, InsufficientFunding, InvalidTaskSpec, UnpayableCurrency
from tasks.funding import (
    FundingBalance,
    balances,
    decide_deposit,
    grant_credit,
    record_deposit,
    return_unspent,
)
from tasks.models import DepositChannel, DepositStatus, Project, ProjectStatus, Requester, TaskType
from tasks.projects import (
    ProjectSpec,
    TaskSpec,
    add_tasks,
    create_project,
    set_project_status,
    top_up_budget,
)
from tasks.review import review_answer
from tasks.submission import submit_answer
from tests.tasks import factories
from tests.tasks.factories import PAYABLE

KES = "KES"


def kes(amount: int) -> Money:
    return Money(amount, KES)


def spec(budget_minor: int, currency: str = KES, **overrides: Any) -> ProjectSpec:
    values: dict[str, Any] = dict(
        name="Reviews",
        task_type=TaskType.SINGLE_CHOICE,
        instructions="Pick one",
        options=["A", "B", "C"],
        reward=Money(100, currency),
        budget=Money(budget_minor, currency),
        answers_per_task=1,
        gold_rate=0.0,
        min_seconds_per_answer=0.0,
    )
    values.update(overrides)
    return ProjectSpec(**values)


def deposit(session: Session, requester: Requester, amount: int, **overrides: Any) -> Any:
    values: dict[str, Any] = dict(
        requester_id=requester.id,
        amount=kes(amount),
        channel=DepositChannel.MPESA,
        reference="QK12ABC3DE",
        recorded_by=None,
        needs_approval=False,
    )
    values.update(overrides)
    return record_deposit(session, **values)


def funding_of(session: Session, requester: Requester) -> FundingBalance:
    (balance,) = balances(session, requester.id)
    return balance


def figures(balance: FundingBalance) -> tuple[int, int, int, int]:
    """(funded, committed, spent, available)."""
    return balance.funded, balance.committed, balance.spent, balance.available


def test_a_recorded_deposit_funds_the_requester_and_a_project_draws_from_it(
    session: Session,
) -> None:
    requester, _ = factories.requester(session)
    assert balances(session, requester.id) == []
    deposit(session, requester, 50_000)
    assert figures(funding_of(session, requester)) == (50_000, 0, 0, 50_000)
    project = create_project(session, requester, spec(30_000), payable_currencies=PAYABLE)
    assert project.budget_minor == 30_000
    assert figures(funding_of(session, requester)) == (50_000, 30_000, 0, 20_000)
    budget = ledger.project_budget(session, project.id, KES)
    assert ledger.balance(session, budget) == kes(30_000)


def test_a_budget_beyond_the_funding_is_refused_naming_the_shortfall(session: Session) -> None:
    requester, _ = factories.requester(session)
    deposit(session, requester, 20_000)
    with pytest.raises(InsufficientFunding) as refused, session.begin_nested():
        create_project(session, requester, spec(30_000), payable_currencies=PAYABLE)
    assert refused.value.http_status == 402
    assert refused.value.details == [
        {"currency": KES, "available": 20_000, "needed": 30_000, "shortfall": 10_000}
    ]
    assert "KES 200.00 available, KES 300.00 needed" in refused.value.message
    assert figures(funding_of(session, requester)) == (20_000, 0, 0, 20_000)


def test_an_unfunded_requester_may_still_create_a_project_without_budget(
    session: Session,
) -> None:
    requester, _ = factories.requester(session)
    project = create_project(session, requester, spec(0), payable_currencies=PAYABLE)
    assert project.budget_minor == 0
    with pytest.raises(InsufficientFunding):
        top_up_budget(session, project, kes(1))


def test_a_wage_no_payout_rail_pays_is_refused_naming_the_currency(session: Session) -> None:
    requester, _ = factories.requester(session)
    ugx = spec(0, "UGX")
    with pytest.raises(UnpayableCurrency, match="UGX") as refused:
        create_project(session, requester, ugx, payable_currencies={"KES"})
    assert refused.value.http_status == 422
    assert refused.value.details == [{"field": "reward", "currency": "UGX"}]
    # The same project is fine the day a rail pays UGX.
    assert create_project(session, requester, ugx, payable_currencies={"KES", "UGX"}).id


def test_top_up_draws_more_and_refuses_beyond_closed_or_in_another_currency(
    session: Session,
) -> None:
    requester, _ = factories.requester(session)
    deposit(session, requester, 10_000)
    project = create_project(session, requester, spec(4_000), payable_currencies=PAYABLE)
    top_up_budget(session, project, kes(5_000))
    assert project.budget_minor == 9_000
    assert funding_of(session, requester).available == 1_000
    with pytest.raises(InsufficientFunding) as refused:
        top_up_budget(session, project, kes(1_001))
    assert refused.value.details[0]["shortfall"] == 1
    with pytest.raises(InvalidTaskSpec, match="pays in KES"):
        top_up_budget(session, project, Money(100, "UGX"))
    with pytest.raises(InvalidTaskSpec, match="positive"):
        top_up_budget(session, project, kes(0))
    set_project_status(session, project, ProjectStatus.CLOSED)
    with pytest.raises(Conflict, match="closed"):
        top_up_budget(session, project, kes(100))


def test_maker_checker_the_money_counts_once_another_admin_approves(
    session: Session, make_admins: tuple[int, int]
) -> None:
    maker, checker = make_admins
    requester, _ = factories.requester(session)
    pending = deposit(session, requester, 70_000, recorded_by=maker, needs_approval=True)
    assert pending.status is DepositStatus.PENDING
    balance = funding_of(session, requester)
    assert (balance.funded, balance.available, balance.pending) == (0, 0, 70_000)
    with pytest.raises(InsufficientFunding), session.begin_nested():
        create_project(session, requester, spec(100), payable_currencies=PAYABLE)
    with pytest.raises(DepositRefused, match="another admin"):
        decide_deposit(session, pending.id, approve=True, decided_by=maker, now=utcnow())
    decide_deposit(session, pending.id, approve=True, decided_by=checker, now=utcnow())
    assert (pending.status, pending.decided_by) == (DepositStatus.APPROVED, checker)
    balance = funding_of(session, requester)
    assert (balance.funded, balance.available, balance.pending) == (70_000, 70_000, 0)
    with pytest.raises(Conflict, match="already approved"):
        decide_deposit(session, pending.id, approve=True, decided_by=checker, now=utcnow())
    postings = ledger.totals_by_kind(
        session, [ledger.requester_funding(session, requester.id, KES).id]
    )
    assert postings == {ledger.DEPOSIT: 70_000}  # approved once, credited once


def test_a_rejected_deposit_never_counts_and_frees_its_reference(
    session: Session, make_admins: tuple[int, int]
) -> None:
    maker, checker = make_admins
    requester, _ = factories.requester(session)
    wrong = deposit(session, requester, 7_000, recorded_by=maker, needs_approval=True)
    decide_deposit(session, wrong.id, approve=False, decided_by=checker, now=utcnow())
    assert wrong.status is DepositStatus.REJECTED
    assert balances(session, requester.id) == []  # nothing counts, nothing waits
    corrected = deposit(session, requester, 70_000, recorded_by=maker, needs_approval=True)
    assert corrected.reference == wrong.reference


@pytest.mark.parametrize("again", ["QK12ABC3DE", " qk12abc3de ", "qk12ABC3DE"])
def test_a_payment_reference_is_recorded_once(session: Session, again: str) -> None:
    requester, _ = factories.requester(session)
    other, _ = factories.requester(session, "Other")
    deposit(session, requester, 5_000)
    with pytest.raises(DepositRefused, match="already recorded"):
        deposit(session, other, 5_000, reference=again)
    assert balances(session, other.id) == []
    with pytest.raises(DepositRefused, match="reference"):
        deposit(session, other, 5_000, reference="   ")


def test_a_credit_line_lets_funding_go_below_zero_down_to_its_limit(session: Session) -> None:
    requester, _ = factories.requester(session)
    deposit(session, requester, 10_000)
    grant_credit(session, requester_id=requester.id, limit=kes(5_000), granted_by=None)
    assert funding_of(session, requester).available == 15_000
    create_project(session, requester, spec(14_000), payable_currencies=PAYABLE)
    balance = funding_of(session, requester)
    assert (balance.balance, balance.credit_used, balance.available) == (-4_000, 4_000, 1_000)
    assert balance.to_dict()["credit"] == {
        "limit": {"amount": 5_000, "currency": KES},
        "used": {"amount": 4_000, "currency": KES},
    }
    with pytest.raises(InsufficientFunding), session.begin_nested():
        create_project(session, requester, spec(1_001), payable_currencies=PAYABLE)
    # The latest grant is the one in force: lowering it stops new commitments.
    grant_credit(session, requester_id=requester.id, limit=kes(0), granted_by=None)
    assert funding_of(session, requester).available == -4_000
    with pytest.raises(DepositRefused):
        grant_credit(session, requester_id=requester.id, limit=kes(-1), granted_by=None)


def _answered(session: Session, project: Project, *, held: bool = False) -> Any:
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None and view.project_id == project.id
    seconds = 0.5 if held else 10
    return submit_answer(session, worker, view.task_id, "A", now + timedelta(seconds=seconds))


def test_closing_returns_the_unspent_unpromised_budget_and_keeps_the_promises(
    session: Session,
) -> None:
    requester, _ = factories.requester(session)
    deposit(session, requester, 100_000)
    project = create_project(session, requester, spec(10_000), payable_currencies=PAYABLE)
    add_tasks(session, project, [TaskSpec(text=t) for t in ("t1", "t2", "t3")])
    _answered(session, project)  # paid: 100
    held = factories.worker(session)
    view = get_next_task(session, held, utcnow())  # reserved: 100 promised
    assert view is not None
    set_project_status(session, project, ProjectStatus.CLOSED)
    session.refresh(project)
    assert (project.budget_minor, project.paid_minor, project.reserved_count) == (200, 100, 1)
    balance = funding_of(session, requester)
    assert figures(balance) == (100_000, 100, 100, 99_800)
    assert balance.funded - balance.committed - balance.spent == balance.balance
    # The reserved answer still gets paid from what the project kept ...
    submit_answer(session, held, view.task_id, "B", utcnow() + timedelta(seconds=10))
    assert figures(funding_of(session, requester)) == (100_000, 0, 200, 99_800)
    assert return_unspent(session, project.id) is None  # nothing left to return
    budget = ledger.project_budget(session, project.id, KES)
    assert ledger.balance(session, budget).amount == 0


def test_a_promise_released_after_closing_goes_back_to_the_funding(session: Session) -> None:
    requester, _ = factories.requester(session)
    deposit(session, requester, 1_000)
    project = create_project(
        session, requester, spec(1_000, min_seconds_per_answer=5), payable_currencies=PAYABLE
    )
    add_tasks(session, project, [TaskSpec(text=t) for t in ("t1", "t2")])
    held = _answered(session, project, held=True)  # too fast: held for review, promised
    late = factories.worker(session)
    assert get_next_task(session, late, utcnow()) is not None  # reserved, then abandoned
    set_project_status(session, project, ProjectStatus.CLOSED)
    assert funding_of(session, requester).available == 800
    # The reservation lapses: its promise is released, and returned.
    assert expire_due(session, utcnow() + timedelta(hours=1)) == 1
    assert funding_of(session, requester).available == 900
    # The held answer is rejected: its promise too.
    review_answer(session, held.assignment_id, accept=False, now=utcnow())
    balance = funding_of(session, requester)
    assert figures(balance) == (1_000, 0, 0, 1_000)
    session.refresh(project)
    assert project.budget_minor == 0


def test_budgets_funded_before_requester_funding_existed_count_as_funded(
    session: Session,
) -> None:
    requester, _ = factories.requester(session)
    project = create_project(session, requester, spec(0), payable_currencies=PAYABLE)
    # How migration 0007's code funded a budget: straight from the outside world.
    ledger.transfer(
        session,
        kind=ledger.LEGACY_PROJECT_FUNDING,
        reference=f"funding:project:{project.id}",
        source=ledger.get_account(session, AccountKind.FUNDING, KES),
        destination=ledger.project_budget(session, project.id, KES),
        amount=kes(5_000),
    )
    project.budget_minor = 5_000
    session.flush()
    assert figures(funding_of(session, requester)) == (5_000, 5_000, 0, 0)
    set_project_status(session, project, ProjectStatus.CLOSED)
    # Closing gives the old budget to the requester's funding, like any other.
    assert figures(funding_of(session, requester)) == (5_000, 0, 0, 5_000)


@pytest.fixture
def make_admins(session: Session) -> tuple[int, int]:
    """Two console admins' ids: a maker and a checker."""
    rows = [
        Operator(email=f"{name}@example.org", password_hash="x", role=OperatorRole.ADMIN)
        for name in ("maker", "checker")
    ]
    session.add_all(rows)
    session.flush()
    return rows[0].id, rows[1].id
