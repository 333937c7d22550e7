"""The operators' web console: sign-in, dashboard, message log, workers, and ``/metrics``.

``init_app`` sets up Flask-Login and CSRF protection. CSRF is checked only on the
console's own forms (its blueprint calls ``csrf.protect()``): provider webhooks and the
JSON API authenticate by token or signature and must never be refused for a missing
form token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()

#: A console sign-in ends this long after it began, however busy the operator is.
SESSION_LIFETIME = timedelta(hours=8)


def init_app(app: Flask) -> None:
    """Attach sign-in and CSRF protection to the app (the factory calls this once)."""
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # the console blueprint checks its own requests
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed session
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.login_message = "Sign in to continue."
    # "basic", not "strong": operators on mobile data change address often, and a
    # changed password already ends every other sign-in (see ``ConsoleUser.get_id``).
    login_manager.session_protection = "basic"
    from console import auth  # noqa: F401  # registers the user loader
