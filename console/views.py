"""The console's front pages: sign-in and sign-out, the dashboard, USSD analytics, the audit log."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask_login import current_user, login_user, logout_user

from console import charts, queries, ussd_analytics
from console.auth import ConsoleUser, role_required
from console.blueprint import SIGNED_IN_AT_KEY, bp, float_reading, sessions, throttle, trusted
from console.forms import LoginForm
from console.models import OperatorRole
from console.services import authenticate, recent_audit, record_audit
from core.db import utcnow


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; five failures per email and address lock it for fifteen minutes."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("console/login.html", form=form), 400 if form.errors else 200
    email, ip = form.email.data or "", request.remote_addr
    limiter = throttle()
    if limiter.blocked(email, ip):
        flash("Too many failed sign-ins. Wait fifteen minutes and try again.", "error")
        return render_template("console/login.html", form=form), 429
    with sessions().begin() as session:
        operator = authenticate(session, email, form.password.data or "")
        record_audit(
            session,
            operator_id=operator.id if operator else None,
            action="login" if operator else "login.failed",
            details={} if operator else {"email": email.strip().lower()[:254]},
            ip=ip,
        )
        user = ConsoleUser.of(operator) if operator else None
    if user is None:
        limiter.failed(email, ip)
        flash("Wrong email or password.", "error")
        return render_template("console/login.html", form=form), 401
    limiter.succeeded(email, ip)
    login_user(user)
    web_session[SIGNED_IN_AT_KEY] = time.time()
    return redirect(_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: an absolute URL here would be an open redirect.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return url_for("console.dashboard")


@bp.post("/logout")
def logout() -> Any:
    """Sign out (a POST with a CSRF token, so another site cannot sign you out)."""
    with sessions().begin() as session:
        record_audit(
            session, operator_id=current_user.operator_id, action="logout", ip=request.remote_addr
        )
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
def dashboard() -> Any:
    """Traffic, delivery, cost, workers and payouts over the last 24 hours or 7 days."""
    period = "7d" if request.args.get("period") == "7d" else "24h"
    now = utcnow()
    window = queries.last_7_days(now) if period == "7d" else queries.last_24_hours(now)
    with sessions()() as session:
        traffic = queries.traffic(session, window)
        answers = queries.answers(session, window)
        delivery = queries.delivery(session, window)
        costs = queries.costs(session, window)
        active = queries.active_workers(session, window)
        payouts = queries.payouts_by_status(session, since=window.since)
        reading = float_reading(session)
    labels = window.labels()
    unit = "hour" if window.step == "hour" else "day"
    svg = {
        "traffic": charts.line_chart(f"Messages and USSD sessions per {unit}", labels, traffic),
        "answers": charts.bar_chart(f"Answers per {unit}", labels, {"answers": answers}),
        "reasons": charts.ranked_bars("Failures by reason", delivery.by_reason),
        "networks": charts.ranked_bars("Failures by network", delivery.by_network),
        "payouts": charts.ranked_bars(
            "Payouts by status", [(f"{p.status} ({p.amount.currency})", p.count) for p in payouts]
        ),
    }
    return render_template(
        "console/dashboard.html",
        period=period,
        unit=unit,
        charts=trusted(svg),
        totals={name: sum(values) for name, values in traffic.items()},
        answers_total=sum(answers),
        delivery=delivery,
        costs=costs,
        active=active,
        payouts=payouts,
        reading=reading,
        threshold=current_app.extensions["kazi"].settings.payout_float_alert_minor,
    )


@bp.get("/ussd")
def ussd() -> Any:
    """USSD sessions per day by outcome, drop-off by flow step, the newcomers' funnel, effort."""
    window = queries.last_7_days(utcnow())
    with sessions()() as session:
        outcomes = ussd_analytics.sessions_by_outcome(session, window)
        dropped = ussd_analytics.drop_off(session, window)
        effort = ussd_analytics.effort(session, window)
        funnel = ussd_analytics.funnel(session, window)
    svg = {
        "outcomes": charts.bar_chart("USSD sessions per day", window.labels(), outcomes),
        "drop_off": charts.ranked_bars("Dropped sessions by flow step", dropped),
    }
    return render_template(
        "console/ussd.html",
        charts=trusted(svg),
        funnel=funnel,
        totals={name: sum(values) for name, values in outcomes.items()},
        effort=effort,
    )


@bp.get("/audit")
@role_required(OperatorRole.ADMIN)
def audit() -> Any:
    """The latest audit entries with who did them (admins only)."""
    with sessions()() as session:
        entries = recent_audit(session)
    return render_template("console/audit.html", entries=entries)
