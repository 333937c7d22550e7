"""Signing in and out, roles, CSRF, throttling and the audit log, through the test client."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from console import SESSION_LIFETIME
from console.models import AuditEntry, Operator
from console.services import operator_by_email, reset_password
from kazi.app import create_app
from tests.conftest import make_settings
from tests.console.conftest import TOKEN, csrf_token, sign_in


def audit(app: Flask) -> list[tuple[str, str | None, dict]]:
    """The audit log after the fixtures' own ``operator.create`` entries."""
    with app.extensions["kazi"].sessions() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action != "operator.create").order_by(AuditEntry.id)
        )
        return [(row.action, row.target, row.details) for row in rows]


def test_every_console_page_needs_a_sign_in(app: Flask) -> None:
    client = app.test_client()
    for path in ("/console/", "/console/messages", "/console/workers", "/console/workers/1"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/console/login?next="), path
    assert client.get("/console/login").status_code == 200
    assert client.get("/console/static/console.css").status_code == 200


def test_sign_in_opens_the_dashboard_and_is_audited(app: Flask, make_operator) -> None:
    email, password = make_operator("viewer")
    client = app.test_client()
    response = sign_in(client, email.upper(), password)
    assert response.status_code == 302 and response.location == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    assert audit(app) == [("login", None, {})]
    with app.extensions["kazi"].sessions() as session:
        operator = operator_by_email(session, email)
        assert operator is not None and operator.last_login_at is not None


def test_session_cookie_is_http_only_and_same_site(app: Flask, make_operator) -> None:
    email, password = make_operator("viewer")
    response = sign_in(app.test_client(), email, password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused_and_audited_without_the_password(
    app: Flask, make_operator
) -> None:
    email, _ = make_operator("admin")
    client = app.test_client()
    response = sign_in(client, email, "wrong-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    assert audit(app) == [("login.failed", None, {"email": email})]


def test_a_deactivated_operator_cannot_sign_in(app: Flask, make_operator) -> None:
    email, password = make_operator("admin")
    with app.extensions["kazi"].sessions.begin() as session:
        operator = operator_by_email(session, email)
        assert operator is not None
        operator.active = False
    assert sign_in(app.test_client(), email, password).status_code == 401


def test_sign_in_without_csrf_token_is_refused(app: Flask, make_operator) -> None:
    email, password = make_operator("admin")
    client = app.test_client()
    response = client.post("/console/login", data={"email": email, "password": password})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    assert audit(app) == []


def test_five_failures_lock_that_email_and_address_for_a_while(app: Flask, make_operator) -> None:
    email, password = make_operator("operator")
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, email, "nope").status_code == 401
    locked = sign_in(client, email, password)  # even the right password now
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    elsewhere = app.test_client()
    response = sign_in(elsewhere, email, password, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 302


def test_a_good_sign_in_forgets_earlier_failures(app: Flask, make_operator) -> None:
    email, password = make_operator("operator")
    client = app.test_client()
    for _ in range(4):
        sign_in(client, email, "nope")
    assert sign_in(client, email, password).status_code == 302
    for _ in range(4):
        assert sign_in(app.test_client(), email, "nope").status_code == 401
    assert sign_in(app.test_client(), email, password).status_code == 302


def test_sign_out_needs_a_post_with_token_and_is_audited(app: Flask, signed_in) -> None:
    client = signed_in("viewer")
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400  # no token: still signed in
    assert client.get("/console/").status_code == 200
    response = client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert response.status_code == 302
    assert client.get("/console/").status_code == 302
    assert [action for action, _, _ in audit(app)] == ["login", "logout"]


def test_next_only_leads_inside_the_console(app: Flask, make_operator) -> None:
    email, password = make_operator("viewer")
    client = app.test_client()
    token = csrf_token(client)
    data = {"email": email, "password": password, "csrf_token": token}
    response = client.post("/console/login?next=https://evil.example/", data=data)
    assert response.location == "/console/"
    client = app.test_client()
    data["csrf_token"] = csrf_token(client)
    response = client.post("/console/login?next=/console/workers", data=data)
    assert response.location == "/console/workers"


def test_a_new_password_signs_other_browsers_out(app: Flask, signed_in) -> None:
    client = signed_in("operator")
    with app.extensions["kazi"].sessions.begin() as session:
        operator = session.scalars(select(Operator)).one()
        reset_password(session, operator)
    assert client.get("/console/").status_code == 302


def test_webhooks_and_other_posts_outside_the_console_need_no_csrf_token(app: Flask) -> None:
    # Provider webhooks authenticate by token or signature; CSRF must never refuse them.
    app.add_url_rule("/webhooks/test", "webhook_test", lambda: "ok", methods=["POST"])
    response = app.test_client().post("/webhooks/test", data={"sessionId": "x", "text": "1"})
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"


def test_viewer_cannot_block_a_worker(app: Flask, signed_in: Callable[[str], FlaskClient]) -> None:
    client = signed_in("viewer")
    token = csrf_token(client, "/console/")
    response = client.post("/console/workers/1/block", data={"reason": "x", "csrf_token": token})
    assert response.status_code == 403


def test_an_operator_created_on_the_command_line_can_sign_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["operators", "create", "--email", "Night@Example.org", "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].endswith("night@example.org (admin)")
    response = sign_in(app.test_client(), "night@example.org", lines[-1])
    assert response.status_code == 302 and response.location == "/console/"
    with app.extensions["kazi"].sessions() as session:
        created = session.scalars(select(AuditEntry)).first()
        assert (created.action, created.operator_id) == ("operator.create", None)
        assert created.details == {"email": "night@example.org", "role": "admin"}


def test_only_admins_read_the_audit_log(app: Flask, signed_in) -> None:
    assert signed_in("operator").get("/console/audit").status_code == 403
    admin = signed_in("admin")
    page = admin.get("/console/audit").get_data(as_text=True)
    assert "operator.create" in page and "operator:" in page
    assert page.count(">login<") == 2  # the operator's and the admin's sign-ins


def test_console_pages_forbid_framing_scripts_and_caching(app: Flask, signed_in) -> None:
    client = signed_in("viewer")
    for path in ("/console/login", "/console/", "/console/messages"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["Content-Security-Policy"], path
        assert "script-src" not in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    css = client.get("/console/static/console.css")
    assert css.mimetype == "text/css" and css.headers.get("Cache-Control") != "no-store"


def test_a_sign_in_ends_after_eight_hours_however_busy(app: Flask, signed_in) -> None:
    client = signed_in("operator")
    with client.session_transaction() as cookie_session:
        cookie_session["console_signed_in_at"] -= SESSION_LIFETIME.total_seconds() - 60
    assert client.get("/console/").status_code == 200
    with client.session_transaction() as cookie_session:
        cookie_session["console_signed_in_at"] -= 120
    response = client.get("/console/")
    assert response.status_code == 302 and response.location.startswith("/console/login")
    assert client.get("/console/").status_code == 302  # signed out for good


def test_deactivating_an_operator_ends_their_sign_in(app: Flask, signed_in) -> None:
    client = signed_in("operator")
    with app.extensions["kazi"].sessions.begin() as session:
        session.scalars(select(Operator)).one().active = False
    assert client.get("/console/").status_code == 302


def test_production_cookies_are_secure(committed_url: str, make_operator) -> None:
    settings = make_settings(
        env="production",
        secret_key="s" * 40,
        public_base_url="https://kazi.example.org",
        at_webhook_token="token",
        database_url=committed_url,
    )
    production = create_app(settings)
    try:
        email, password = make_operator("viewer")
        client = production.test_client()
        site = "https://kazi.example.org"
        page = client.get("/console/login", base_url=site).get_data(as_text=True)
        found = TOKEN.search(page)
        assert found, page[:500]
        data = {"email": email, "password": password, "csrf_token": found.group(1)}
        # Over HTTPS, Flask-WTF also wants a same-site Referer (browsers send one).
        refused = client.post("/console/login", base_url=site, data=data)
        assert refused.status_code == 400
        response = client.post(
            "/console/login", base_url=site, data=data, headers={"Referer": f"{site}/console/login"}
        )
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        production.extensions["kazi"].engine.dispose()
