"""Funded budgets through the requester API: balance, 402 on a shortfall, top-ups, closing."""

from __future__ import annotations

from typing import Any

from core.money import Money
from kazi.app import create_app
from tests.api.conftest import FUNDING, PROJECT, auth, new_key
from tests.conftest import make_settings

BUDGET = PROJECT["budget"]["amount"]


def _balance(client: Any, key: str) -> dict[str, Any]:
    response = client.get("/api/v1/balance", headers=auth(key))
    assert response.status_code == 200, response.json
    (kes,) = response.json["balances"]
    return kes


def _amounts(balance: dict[str, Any]) -> tuple[int, int, int, int]:
    return tuple(balance[k]["amount"] for k in ("funded", "committed", "spent", "available"))


def _create(client: Any, key: str, **overrides: Any) -> Any:
    return client.post("/api/v1/projects", json={**PROJECT, **overrides}, headers=auth(key))


def _top_up(client: Any, key: str, project_id: int, amount: int, **headers: str) -> Any:
    body = {"amount": {"amount": amount, "currency": "KES"}}
    return client.post(
        f"/api/v1/projects/{project_id}/budget", json=body, headers={**auth(key), **headers}
    )


def test_balance_shows_funded_committed_spent_and_credit(client: Any, key: str) -> None:
    assert _balance(client, key) == {
        "currency": "KES",
        "funded": FUNDING.to_dict(),
        "committed": {"amount": 0, "currency": "KES"},
        "spent": {"amount": 0, "currency": "KES"},
        "available": FUNDING.to_dict(),
        "pending_deposits": {"amount": 0, "currency": "KES"},
        "credit": {
            "limit": {"amount": 0, "currency": "KES"},
            "used": {"amount": 0, "currency": "KES"},
        },
    }
    assert _create(client, key).status_code == 201
    assert _amounts(_balance(client, key)) == (FUNDING.amount, BUDGET, 0, FUNDING.amount - BUDGET)


def test_an_unfunded_requester_has_no_balance_and_cannot_fund_a_budget(
    app: Any, client: Any
) -> None:
    key = new_key(app, "Unfunded", funding=None)
    assert client.get("/api/v1/balance", headers=auth(key)).json == {"balances": []}
    response = _create(client, key)
    assert response.status_code == 402
    assert response.json == {
        "error": {
            "code": "insufficient_funding",
            "message": "KES 0.00 available, KES 5000.00 needed: "
            "record a deposit of at least KES 5000.00 first",
            "details": [{"currency": "KES", "available": 0, "needed": BUDGET, "shortfall": BUDGET}],
        }
    }
    assert client.get("/api/v1/projects", headers=auth(key)).json == {"projects": []}
    # A project without budget needs no funding (a top-up later will).
    assert _create(client, key, budget={"amount": 0, "currency": "KES"}).status_code == 201


def test_a_budget_beyond_the_available_funding_is_402_and_creates_nothing(
    client: Any, key: str
) -> None:
    budget = {"amount": FUNDING.amount + 1, "currency": "KES"}
    response = _create(client, key, budget=budget)
    assert response.status_code == 402
    assert response.json["error"]["details"] == [
        {
            "currency": "KES",
            "available": FUNDING.amount,
            "needed": FUNDING.amount + 1,
            "shortfall": 1,
        }
    ]
    assert client.get("/api/v1/projects", headers=auth(key)).json == {"projects": []}
    assert _amounts(_balance(client, key)) == (FUNDING.amount, 0, 0, FUNDING.amount)


def test_a_wage_in_a_currency_no_rail_pays_is_422_naming_it(committed_url: str) -> None:
    # M-Pesa only: no rail pays UGX (the sandbox default would pay any currency).
    daraja = make_settings(
        database_url=committed_url, payout_provider="daraja", mpesa_consumer_key="k",
        mpesa_consumer_secret="s", mpesa_shortcode="600999", mpesa_initiator_name="api",
        mpesa_security_credential="c", public_base_url="https://kazi.example.org",
    )  # fmt: skip
    app = create_app(daraja)
    client, key = app.test_client(), new_key(app)
    ugx = {"amount": 500, "currency": "UGX"}
    response = _create(client, key, reward=ugx, budget={"amount": 0, "currency": "UGX"})
    app.extensions["kazi"].engine.dispose()
    assert response.status_code == 422
    [error] = response.json["errors"]
    assert error["field"] == "reward" and "no payout rail pays UGX" in error["problem"]


def test_top_up_adds_to_the_budget_from_the_funding(client: Any, key: str) -> None:
    pid = _create(client, key).json["id"]
    response = _top_up(client, key, pid, 100_000)
    assert response.status_code == 200
    assert response.json["budget"]["funded"] == {"amount": BUDGET + 100_000, "currency": "KES"}
    assert response.json["budget"]["ledger_balance"]["amount"] == BUDGET + 100_000
    left = FUNDING.amount - BUDGET - 100_000
    assert _balance(client, key)["available"]["amount"] == left
    beyond = _top_up(client, key, pid, left + 1)
    assert beyond.status_code == 402
    assert beyond.json["error"]["details"][0]["shortfall"] == 1


def test_top_up_is_idempotent_with_a_key(client: Any, key: str) -> None:
    pid = _create(client, key).json["id"]
    first = _top_up(client, key, pid, 10_000, **{"Idempotency-Key": "topup-1"})
    again = _top_up(client, key, pid, 10_000, **{"Idempotency-Key": "topup-1"})
    assert (first.status_code, again.status_code) == (200, 200) and again.json == first.json
    assert _balance(client, key)["committed"]["amount"] == BUDGET + 10_000  # drawn once
    other = _top_up(client, key, pid, 20_000, **{"Idempotency-Key": "topup-1"})
    assert other.status_code == 409


def test_a_refused_keyed_top_up_leaves_its_key_unused(client: Any, key: str) -> None:
    # The key is claimed before the work; a refusal must take the claim back with it, so
    # the same request is refused again instead of replaying an empty first answer.
    pid = _create(client, key).json["id"]
    body = {"amount": {"amount": 10_000, "currency": "EUR"}}  # the project pays in KES
    headers = {**auth(key), "Idempotency-Key": "topup-eur"}
    path = f"/api/v1/projects/{pid}/budget"
    first, again = (client.post(path, json=body, headers=headers) for _ in range(2))
    assert (first.status_code, again.status_code) == (422, 422), again.data
    assert again.json == first.json


def test_bad_top_ups_are_refused_with_the_documented_status(
    app: Any, client: Any, key: str
) -> None:
    pid = _create(client, key).json["id"]
    path = f"/api/v1/projects/{pid}/budget"
    bad_bodies: tuple[Any, ...] = (
        {"amount": {"amount": 0, "currency": "KES"}},
        {"amount": {"amount": 1.5, "currency": "KES"}},
        {"amount": 100},
        {"amount": {"amount": 100, "currency": "KES"}, "extra": 1},
        {},
        [],
    )
    for body in bad_bodies:
        response = client.post(path, json=body, headers=auth(key))
        assert response.status_code == 422, (body, response.json)
    wrong_currency = {"amount": {"amount": 100, "currency": "UGX"}}
    response = client.post(path, json=wrong_currency, headers=auth(key))
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"field": "amount.currency", "problem": f"project {pid} pays in KES, not UGX"}
    ]
    other = new_key(app, "Other")
    assert _top_up(client, other, pid, 100).status_code == 404
    assert _top_up(client, key, 10**9, 100).status_code == 404
    client.post(f"/api/v1/projects/{pid}/close", headers=auth(key))
    assert _top_up(client, key, pid, 100).status_code == 409


def test_closing_returns_the_unspent_budget_to_the_funding(client: Any, key: str) -> None:
    pid = _create(client, key).json["id"]
    assert _balance(client, key)["available"]["amount"] == FUNDING.amount - BUDGET
    closed = client.post(f"/api/v1/projects/{pid}/close", headers=auth(key)).json
    assert closed["budget"]["returned"] == {"amount": BUDGET, "currency": "KES"}
    assert closed["budget"]["remaining"]["amount"] == 0
    assert closed["budget"]["ledger_balance"]["amount"] == 0
    assert _amounts(_balance(client, key)) == (FUNDING.amount, 0, 0, FUNDING.amount)
    again = client.post(f"/api/v1/projects/{pid}/close", headers=auth(key))  # a retried close
    assert again.status_code == 200 and again.json["budget"]["returned"]["amount"] == BUDGET
    assert _balance(client, key)["available"] == Money(FUNDING.amount, "KES").to_dict()
