"""The access-control sweep: every route of the URL map demands its credential.

``CREDENTIALS`` names, per route prefix (the longest one wins), what a caller must
show; ``CONSOLE_ROLES`` names the least console role of every console page. A route
that no entry covers fails the sweep, so a new route cannot ship without deciding
who may call it. Each credential is then proven: a call without it is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from console.models import OperatorRole
from kazi.app import create_app
from tests.conftest import make_settings

AT_TOKEN = "at-token-sweep-0123456789"
MPESA_TOKEN = "mpesa-token-sweep-0123456789"
METRICS_TOKEN = "metrics-token-sweep-0123456789"

PUBLIC = "public"
CREDENTIALS: dict[str, str] = {
    "/healthz": PUBLIC,
    "/readyz": PUBLIC,
    "/metrics": "metrics_token",  # open when METRICS_TOKEN is unset (configurable)
    "/static/": PUBLIC,
    "/webhooks/africastalking/": "at_token",
    "/webhooks/twilio/": "twilio_signature",
    "/webhooks/console/": "at_token",  # the console provider's reports, in AT's form
    "/webhooks/payouts/": "mpesa_token",
    "/webhooks/payouts/momo": "momo_token",  # MTN's callback is unsigned: our URL token
    "/webhooks/payouts/airtime": "at_token",
    "/api/v1/openapi.json": PUBLIC,  # the API's own description
    "/api/v1/impact": "operator_token",  # OPERATOR_API_TOKEN; requester keys never open it
    "/api/v1/": "api_key",
    "/verify/": PUBLIC,  # a work record by its code (rate-limited per address)
    "/console/login": PUBLIC,
    "/console/static/": PUBLIC,
    "/console/": "operator_login",
}

V, OP, A = OperatorRole.VIEWER, OperatorRole.OPERATOR, OperatorRole.ADMIN
#: The least role each console page needs (every signed-in operator is at least a viewer).
CONSOLE_ROLES: dict[str, OperatorRole] = {
    "console.dashboard": V,
    "console.logout": V,
    "console.messages": V,
    "console.messages_csv": V,
    "console.ussd_sessions": V,
    "console.timeline": V,
    "console.ussd": V,
    "console.workers": V,
    "console.worker": V,
    "console.payouts": V,
    "console.projects": V,
    "console.audit": A,
    "console.centres": A,
    "console.create_centre": A,
    "console.assign_operator_centre": A,
    "console.assign_worker_centre": A,
    "console.funding": A,
    "console.impact": V,
    "console.impact_csv": V,
    "console.grant_funding_credit": A,
    "console.record_funding_deposit": A,
    "console.approve_funding_deposit": A,
    "console.reject_funding_deposit": A,
    "console.mark_payout_paid": A,
    "console.resolve_payout_contradiction": A,
    "console.resume_payout_rail": A,
    "console.reinstate_worker": OP,
    "console.unlock_worker_pin": OP,
    "console.mark_payout_failed": A,
    "console.ask_payout_status": OP,
    "console.retry_payout": OP,
    "console.check_payout_float": OP,
    "console.reconcile_payouts": OP,
    "console.accept_answer": OP,
    "console.reject_answer": OP,
    "console.block_worker": OP,
    "console.unblock_worker": OP,
    "console.broadcast_form": OP,
    "console.send_broadcast": OP,
    "console.broadcast_progress": OP,
    "console.simulator": OP,
    "console.simulator_inbox": OP,
    "console.simulator_sms": OP,
    "console.simulator_ussd": OP,
    "console.simulator_ussd_end": OP,
}
_BELOW = {OP: V, A: OP}


@pytest.fixture
def locked(committed_url: str) -> Iterator[Flask]:
    """The app with every credential configured."""
    settings = make_settings(
        database_url=committed_url,
        at_webhook_token=AT_TOKEN,
        twilio_auth_token="twilio-token-sweep-0123456789",
        mpesa_webhook_token=MPESA_TOKEN,
        momo_webhook_token="momo-token-sweep-0123456789",
        metrics_token=METRICS_TOKEN,
        public_base_url="https://kazi.example.org",
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["kazi"].engine.dispose()


def _credential(path: str) -> str | None:
    matches = [prefix for prefix in CREDENTIALS if path == prefix or path.startswith(prefix)]
    return CREDENTIALS[max(matches, key=len)] if matches else None


def _routes(app: Flask) -> list[tuple[Rule, str, str]]:
    """Every (rule, method, concrete path) of the app; ids are 1, names 'x'."""
    out = []
    for rule in app.url_map.iter_rules():
        values = {
            name: 1 if isinstance(rule._converters[name], IntegerConverter) else "x"
            for name in rule.arguments
        }
        path = app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method, path))
    return out


def test_every_route_has_an_entry(locked: Flask) -> None:
    missing = [rule.rule for rule, _, _ in _routes(locked) if _credential(rule.rule) is None]
    assert missing == [], f"routes with no credential entry in CREDENTIALS: {missing}"
    console = {r.endpoint for r, _, _ in _routes(locked) if _credential(r.rule) == "operator_login"}
    assert console == set(CONSOLE_ROLES), (
        f"console pages without a role in CONSOLE_ROLES: {sorted(console - set(CONSOLE_ROLES))}; "
        f"stale entries: {sorted(set(CONSOLE_ROLES) - console)}"
    )


def _refused(response: object, credential: str) -> bool:
    status = getattr(response, "status_code", 0)
    if credential == "operator_login":
        location = getattr(response, "headers", {}).get("Location", "")
        return status == 302 and "/console/login" in location
    return status in (401, 403)


def test_each_route_refuses_a_call_without_its_credential(locked: Flask) -> None:
    client = locked.test_client()
    token = _csrf(client, "/console/login")  # so console POSTs reach the sign-in check
    checked = 0
    for rule, method, path in _routes(locked):
        credential = _credential(rule.rule)
        assert credential is not None, rule.rule
        if credential == PUBLIC:
            continue
        data = {"csrf_token": token} if credential == "operator_login" else {}
        response = client.open(path, method=method, data=data)
        assert _refused(response, credential), (method, path, response.status_code)
        if credential in ("at_token", "mpesa_token"):
            wrong = client.open(path + "?token=wrong", method=method)
            assert wrong.status_code == 403, (method, path)
        checked += 1
    assert checked >= 40


def test_public_routes_answer_without_credentials(locked: Flask) -> None:
    client = locked.test_client()
    for path in ("/healthz", "/api/v1/openapi.json", "/console/login"):
        assert client.get(path).status_code == 200, path
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 401
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200


def test_metrics_is_open_when_no_token_is_configured(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 200


def _csrf(client: FlaskClient, path: str) -> str:
    from tests.console.conftest import csrf_token

    return csrf_token(client, path)


@pytest.fixture
def role_client(locked: Flask) -> Callable[[OperatorRole], tuple[FlaskClient, str]]:
    from console.services import create_operator
    from tests.console.conftest import sign_in

    def make(role: OperatorRole) -> tuple[FlaskClient, str]:
        with locked.extensions["kazi"].sessions.begin() as session:
            operator, password = create_operator(session, f"{role}@sweep.example.org", role)
            email = operator.email
        client = locked.test_client()
        assert sign_in(client, email, password).status_code == 302
        return client, _csrf(client, "/console/")

    return make


def test_each_console_page_demands_its_role(
    locked: Flask, role_client: Callable[[OperatorRole], tuple[FlaskClient, str]]
) -> None:
    clients = {role: role_client(role) for role in (V, OP, A)}
    for rule, method, path in _routes(locked):
        needed = CONSOLE_ROLES.get(rule.endpoint)
        if needed is None or rule.endpoint == "console.logout":
            continue
        if needed in _BELOW:
            client, token = clients[_BELOW[needed]]
            below = client.open(path, method=method, data={"csrf_token": token})
            assert below.status_code == 403, (method, path, "as", _BELOW[needed])
        client, token = clients[needed]
        allowed = client.open(path, method=method, data={"csrf_token": token})
        assert allowed.status_code not in (401, 403), (method, path, "as", needed)
        assert allowed.status_code < 500, (method, path, allowed.status_code)
