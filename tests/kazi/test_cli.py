"""The CLI: db upgrade, demo, requesters/operators create, worker; run as an operator would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from console.models import Operator
from console.services import operator_by_email
from core.secrets import check_password
from demo.seed import DEMO_DEPOSIT, DEMO_OTHER_DEPOSITS
from kazi.app import create_app
from ledger import services as ledger
from tasks.funding import balances
from tasks.models import Deposit, Project, Task
from tasks.requesters import requester_for_key
from tests.conftest import fresh_database_url, make_settings
from workers import services as workers


@pytest.fixture
def fresh_app(db_kind: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database: the CLI must build the schema itself."""
    app = create_app(make_settings(database_url=fresh_database_url(db_kind, tmp_path, "cli")))
    yield app
    app.extensions["kazi"].engine.dispose()


def run(app: Flask, *args: str) -> list[str]:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_db_upgrade_then_demo_seeds_a_playable_demo(fresh_app: Flask) -> None:
    run(fresh_app, "db", "upgrade")
    output = run(fresh_app, "demo")
    api_key = output[-1].removeprefix("requester API key: ")
    email, password = output[-2].removeprefix("operator login: ").split(" / ")
    with fresh_app.extensions["kazi"].sessions() as session:
        requester = requester_for_key(session, api_key)
        assert requester is not None
        operator = operator_by_email(session, email)
        assert operator is not None and check_password(operator.password_hash, password)
        projects = session.scalars(
            select(Project).where(Project.requester_id == requester.id)
        ).all()
        task_types = {p.task_type.value for p in projects}
        tasks = session.scalar(select(func.count(Task.id)))
        gold = session.scalar(select(func.count(Task.id)).where(Task.gold_answer.is_not(None)))
        funding = next(b for b in balances(session, requester.id) if b.currency == "KES")
        budgets = sum(p.budget_minor for p in projects if p.currency == "KES")
        others = {p.currency: p.budget_minor for p in projects if p.currency != "KES"}
        # The Ugandan demo worker has earned UGX (their wallet), enough to withdraw, and
        # KES earlier: two wallets, so the withdrawal asks which one.
        ugandan = workers.by_phone(session, "+256772000004")
        assert ugandan is not None
        wallets = ledger.wallet_balances(session, ugandan.id)
        ugx = wallets["UGX"].amount
    assert task_types == {"single_choice", "yes_no"}
    assert tasks >= 50
    assert 0 < gold < tasks
    # The demo requester is funded by a recorded deposit, and the projects drew on it.
    assert funding.funded == DEMO_DEPOSIT.amount and funding.committed + funding.spent == budgets
    assert funding.available == DEMO_DEPOSIT.amount - budgets > 0
    assert others == {c: m.amount for c, (m, _) in DEMO_OTHER_DEPOSITS.items()}
    assert ugx >= 500  # UGX's minimum withdrawal (PAYOUT_LIMITS' default)
    assert wallets["KES"].amount >= 1_000  # M-Pesa's KES 10 minimum


def test_demo_twice_adds_nothing_and_retires_the_old_secrets(fresh_app: Flask) -> None:
    run(fresh_app, "db", "upgrade")
    first_key = run(fresh_app, "demo")[-1].removeprefix("requester API key: ")
    second_key = run(fresh_app, "demo")[-1].removeprefix("requester API key: ")
    with fresh_app.extensions["kazi"].sessions() as session:
        assert requester_for_key(session, first_key) is None
        assert requester_for_key(session, second_key) is not None
        assert session.scalar(select(func.count(Task.id))) == 100
        assert session.scalar(select(func.count(Operator.id))) == 1
        assert session.scalar(select(func.count(Deposit.id))) == 1 + len(DEMO_OTHER_DEPOSITS)


def test_create_commands_print_the_secret_on_the_last_line(fresh_app: Flask) -> None:
    run(fresh_app, "db", "upgrade")
    key = run(fresh_app, "requesters", "create", "--name", "Acme Research")[-1]
    password = run(
        fresh_app, "operators", "create", "--email", "Ops@Example.org", "--role", "viewer"
    )[-1]
    with fresh_app.extensions["kazi"].sessions() as session:
        requester = requester_for_key(session, key)
        assert requester is not None and requester.name == "Acme Research"
        operator = operator_by_email(session, "ops@example.org")
        assert operator is not None
        assert operator.role == "viewer" and check_password(operator.password_hash, password)


def test_worker_without_redis_explains_what_is_missing(fresh_app: Flask) -> None:
    result = fresh_app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL: required for `worker`" in result.output


def test_worker_refuses_unknown_queues(fresh_app: Flask) -> None:
    result = fresh_app.test_cli_runner().invoke(args=["worker", "emails"])
    assert result.exit_code != 0
    assert "unknown queue(s) emails" in result.output


def test_flows_check_passes_on_the_shipped_flows(fresh_app: Flask) -> None:
    assert run(fresh_app, "flows", "check") == ["flows: all definitions pass"]


def test_flows_check_fails_on_a_broken_flow(fresh_app: Flask, tmp_path: Path, monkeypatch) -> None:
    import flows

    broken = Path(flows.__file__).parent / "definitions"
    copy = tmp_path / "definitions"
    copy.mkdir()
    for path in broken.glob("*.toml"):
        copy.joinpath(path.name).write_text(path.read_text())
    menu = copy / "menu.toml"
    menu.write_text(menu.read_text() + '\n[nodes.orphan]\ntype = "end"\ntext = "missing.key"\n')
    monkeypatch.setattr(flows, "check_all", lambda: flows.check.check_all(flow_dir=copy))
    result = fresh_app.test_cli_runner().invoke(args=["flows", "check"])
    assert result.exit_code == 1
    assert "orphan" in result.output
