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
from console.blueprint import (
    SIGNED_IN_AT_KEY,
    bp,
    console_zone,
    float_reading,
    sessions,
    throttle,
    trusted,
)
from console.forms import LoginForm
from console.models import OperatorRole
from console.services import authenticate, recent_audit, record_audit
from core.db import utcnow
from gateway import failure_reasons
from gateway import networks as networks_table


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


def chosen_range() -> str:
    """The chart range asked for (``?period=24h|7d|30d``), 24 hours when none or unknown."""
    period = request.args.get("period", "")
    return period if period in queries.RANGES else queries.DEFAULT_RANGE


@bp.get("/")
def dashboard() -> Any:
    """Traffic, delivery, cost, workers and payouts over the last 24 hours, 7 or 30 days."""
    period = chosen_range()
    window = queries.window_for(period, utcnow(), console_zone())
    with sessions()() as session:
        traffic = queries.traffic(session, window)
        answers = queries.answers(session, window)
        delivery = queries.delivery(session, window)
        costs = queries.costs(session, window)
        active = queries.active_workers(session, window)
        payouts = queries.payouts_by_status(session, since=window.since)
        reading = float_reading(session)
    labels, x_title = window.labels(), window.axis_title()
    unit = window.step
    reasons = [(failure_reasons.describe(code), code, n) for code, n in delivery.by_reason]
    networks = [(networks_table.network_label(code), n) for code, n in delivery.by_network]
    svg = {
        "traffic": charts.line_chart(
            f"Messages and USSD sessions per {unit}",
            labels,
            traffic,
            y_unit=f"messages or sessions per {unit}",
            x_title=x_title,
        ),
        "answers": charts.bar_chart(
            f"Answers per {unit}",
            labels,
            {"answers": answers},
            y_unit=f"answers per {unit}",
            x_title=x_title,
        ),
        "reasons": charts.ranked_bars(
            "Failed SMS by reason", [(words, n) for words, _, n in reasons], unit="SMS"
        ),
        "networks": charts.ranked_bars("Failed SMS by network", networks, unit="SMS"),
        "payouts": charts.ranked_bars(
            "Payouts by status",
            [(f"{p.status} ({p.amount.currency})", p.count) for p in payouts],
            unit="payouts",
        ),
    }
    return render_template(
        "console/dashboard.html",
        period=period,
        ranges=queries.RANGE_NAMES,
        since=window.since,
        unit=unit,
        charts=trusted(svg),
        totals={name: sum(values) for name, values in traffic.items()},
        answers_total=sum(answers),
        delivery=delivery,
        reasons=reasons,
        networks=networks,
        costs=costs,
        active=active,
        payouts=payouts,
        reading=reading,
        threshold=current_app.extensions["kazi"].settings.payout_float_alert_minor,
    )


@bp.get("/ussd")
def ussd() -> Any:
    """USSD sessions per bucket by outcome, drop-off by flow step, the newcomers' funnel, effort."""
    period = chosen_range()
    window = queries.window_for(period, utcnow(), console_zone())
    with sessions()() as session:
        outcomes = ussd_analytics.sessions_by_outcome(session, window)
        dropped = ussd_analytics.drop_off(session, window)
        effort = ussd_analytics.effort(session, window)
        funnel = ussd_analytics.funnel(session, window)
    svg = {
        "outcomes": charts.bar_chart(
            f"USSD sessions per {window.step}",
            window.labels(),
            outcomes,
            y_unit=f"sessions per {window.step}",
            x_title=window.axis_title(),
        ),
        "drop_off": charts.ranked_bars("Dropped sessions by flow step", dropped, unit="sessions"),
    }
    return render_template(
        "console/ussd.html",
        period=period,
        ranges=queries.RANGE_NAMES,
        unit=window.step,
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
