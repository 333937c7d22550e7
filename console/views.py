"""The console blueprint: sign-in and sign-out, the guard on every page, and the dashboard."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from console import SESSION_LIFETIME, charts, csrf, login_manager, queries, ussd_analytics
from console.auth import ConsoleUser, LoginThrottle, role_required
from console.display import mask_phone
from console.forms import ConfirmForm, LoginForm
from console.models import OperatorRole
from console.services import authenticate, recent_audit, record_audit
from core.db import utcnow
from core.money import Money
from payouts.float_balance import FloatReading, latest_reading
from payouts.rails import balance_provider

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)
log = logging.getLogger("kazi.console")

#: Where the session keeps when the operator signed in, for the absolute time-out.
SIGNED_IN_AT_KEY = "console_signed_in_at"

#: Pages anyone may open: the sign-in form and the stylesheet.
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static"})


def sessions() -> sessionmaker[Session]:
    """The database session factory of this app's runtime."""
    return current_app.extensions["kazi"].sessions


def float_reading(session: Session) -> FloatReading | None:
    """The latest recorded disbursement float with its alert state (None before any)."""
    runtime = current_app.extensions["kazi"]
    provider = balance_provider(runtime)
    return latest_reading(session, provider, runtime.settings.payout_float_alert_minor)


def throttle() -> LoginThrottle:
    """The failed-login counter, kept in the shared store so every process agrees."""
    return LoginThrottle(current_app.extensions["kazi"].store)


@bp.before_request
def _guard() -> Any:
    # Every console page needs a signed-in operator and every form a CSRF token;
    # declaring it once here means a new page cannot forget either.
    csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated and _sign_in_expired():
        logout_user()
        flash("Your sign-in expired. Sign in again.", "info")
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _sign_in_expired() -> bool:
    signed_in_at = web_session.get(SIGNED_IN_AT_KEY)
    return not isinstance(signed_in_at, int | float) or (
        time.time() - signed_in_at > SESSION_LIFETIME.total_seconds()
    )


#: Console pages load nothing from elsewhere and run no script (bar the simulator's own file);
#: charts are inline SVG.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


#: The simulator alone runs a script: its own file, talking only to the console.
SCRIPTED_ENDPOINTS = frozenset({"console.simulator"})
SCRIPT_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint in SCRIPTED_ENDPOINTS:
        response.headers["Content-Security-Policy"] = SCRIPT_CSP
    if request.endpoint != "console.static":
        # Pages show phone numbers and money: no shared or back-button caches.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def show_phone(number: str | None) -> str:
        masked = current_user.is_authenticated and current_user.masks_phones
        return mask_phone(number) if masked else (number or "")

    def money(amount_minor: int, currency: str) -> str:
        return Money(int(amount_minor), currency).format()

    return {"show_phone": show_phone, "money": money, "logout_form": ConfirmForm()}


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> Any:
    log.info("console: CSRF refused on %s: %s", request.path, error.description)
    message = "This form expired or did not come from the console. Reload the page and try again."
    return render_template("console/error.html", code=400, message=message), 400


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    code = error.code or 500
    return render_template("console/error.html", code=code, message=error.description), code


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
        charts=_trusted(svg),
        totals={name: sum(values) for name, values in traffic.items()},
        answers_total=sum(answers),
        delivery=delivery,
        costs=costs,
        active=active,
        payouts=payouts,
        reading=reading,
        threshold=current_app.extensions["kazi"].settings.payout_float_alert_minor,
    )


def _trusted(svgs: dict[str, str]) -> dict[str, Markup]:
    # console.charts escapes every label and title it is given, so its output goes
    # into pages as markup rather than being escaped a second time.
    return {name: Markup(svg) for name, svg in svgs.items()}


@bp.get("/ussd")
def ussd() -> Any:
    """USSD sessions per day by outcome, drop-off by screen, and typical effort."""
    window = queries.last_7_days(utcnow())
    with sessions()() as session:
        outcomes = ussd_analytics.sessions_by_outcome(session, window)
        dropped = ussd_analytics.drop_off(session, window)
        effort = ussd_analytics.effort(session, window)
    svg = {
        "outcomes": charts.bar_chart("USSD sessions per day", window.labels(), outcomes),
        "drop_off": charts.ranked_bars("Dropped sessions by screen", dropped),
    }
    return render_template(
        "console/ussd.html",
        charts=_trusted(svg),
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


# The record, money, project and simulator pages live in their own modules on this blueprint.
from console import payout_views, project_views, record_views, simulator  # noqa: E402, F401
