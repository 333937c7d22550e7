"""The console blueprint and what every page shares: the sign-in guard, security headers,
template helpers, error pages, and the runtime's sessions and float reading.

Each page module (``views``, ``record_views``, ``payout_views``, ``project_views``,
``funding_views``, ``impact_views``, ``simulator_views``) adds its routes to ``bp``; ``console.routes`` gathers them.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, render_template, request
from flask import session as web_session
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from console import SESSION_LIFETIME, csrf, login_manager
from console.auth import LoginThrottle
from console.display import mask_phone
from console.forms import ConfirmForm
from core.localtime import display_zone
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


def console_zone() -> ZoneInfo:
    """The time zone console pages show times in (CONSOLE_TIMEZONE, else DEFAULT_COUNTRY's)."""
    settings = current_app.extensions["kazi"].settings
    return display_zone(settings.console_timezone, settings.default_country)


def float_reading(session: Session) -> FloatReading | None:
    """The latest recorded disbursement float with its alert state (None before any)."""
    runtime = current_app.extensions["kazi"]
    provider = balance_provider(runtime)
    return latest_reading(session, provider, runtime.settings.payout_float_alert_minor)


def throttle() -> LoginThrottle:
    """The failed-login counter, kept in the shared store so every process agrees."""
    runtime = current_app.extensions["kazi"]
    return LoginThrottle(runtime.store, ip_limit=runtime.settings.login_failures_per_ip)


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


def show_phone(number: str | None) -> str:
    """A phone number as the signed-in operator may see it: masked for viewers."""
    masked = current_user.is_authenticated and current_user.masks_phones
    return mask_phone(number) if masked else (number or "")


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def money(amount_minor: int, currency: str) -> str:
        return Money(int(amount_minor), currency).format()

    zone = console_zone()

    def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(fmt) if moment else ""

    # formdata=None: the sign-out form never reads the request, so an error page for a
    # body we refused (413) does not read it again and fail.
    return {
        "show_phone": show_phone,
        "money": money,
        "local_time": local_time,
        "zone_name": zone.key,
        "logout_form": ConfirmForm(formdata=None),
    }


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> Any:
    log.info("console: CSRF refused on %s: %s", request.path, error.description)
    message = "This form expired or did not come from the console. Reload the page and try again."
    return render_template("console/error.html", code=400, message=message), 400


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    code = error.code or 500
    return render_template("console/error.html", code=code, message=error.description), code


def trusted(svgs: dict[str, str]) -> dict[str, Markup]:
    """Chart SVGs as page markup."""
    # console.charts escapes every label and title it is given, so its output goes
    # into pages as markup rather than being escaped a second time.
    return {name: Markup(svg) for name, svg in svgs.items()}
