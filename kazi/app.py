"""The application factory: it wires settings, resources, blueprints and error handlers."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

import console
from api.views import bp as api_bp
from config.settings import Settings
from console.metrics import bp as metrics_bp
from console.routes import bp as console_bp
from core import redact
from core.errors import ErrorBody, KaziError
from core.runtime import Runtime, build_runtime
from core.secrets import DEV_SECRET_KEY
from gateway.conversation import install_host
from gateway.jobs import install_console_reporter
from gateway.outbound import SmsChannel
from gateway.providers.console import REPORT_PATH as CONSOLE_REPORT_PATH
from gateway.views import bp as gateway_bp
from kazi.background import start_with_first_request
from kazi.cli import register_commands
from kazi.health import bp as health_bp
from kazi.intent_host import IntentHost
from payouts.views import bp as payouts_bp
from tasks.views import bp as records_bp
from workers.notify import install_channel

log = logging.getLogger("kazi.app")

#: Webhook bodies are small forms or JSON; anything bigger is refused with 413.
MAX_REQUEST_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Kazi web app; nothing here connects, migrates or writes."""
    settings = settings or Settings.from_env()
    app = Flask("kazi")
    app.config.update(
        SECRET_KEY=settings.secret_key or DEV_SECRET_KEY,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
    )
    # Ids in URLs are 64-bit database keys; a larger number is a 404, not an overflow
    # error from the database driver.
    app.url_map.converters["int"] = DatabaseIdConverter
    redact.install()  # webhook tokens ride in query strings: keep them out of request logs
    runtime = build_kazi_runtime(settings)
    app.extensions["kazi"] = runtime
    console.init_app(app)
    _start_jobs_on_first_request(app, runtime)
    _install_console_reports(app, runtime)
    _register_blueprints(app)
    _register_error_handlers(app)
    register_commands(app)
    start_with_first_request(app, runtime)
    return app


def build_kazi_runtime(settings: Settings) -> Runtime:
    """The runtime with the domains plugged together: the intent host the gateway's
    conversations run, and the SMS channel that workers' notices go out on."""
    runtime = build_runtime(settings)
    install_host(runtime, IntentHost)
    install_channel(runtime, SmsChannel(settings.sms_provider))
    return runtime


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a positive integer that fits a BIGINT key."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def runtime_of(app: Flask) -> Runtime:
    """The runtime the factory built for ``app``."""
    return app.extensions["kazi"]


def _start_jobs_on_first_request(app: Flask, runtime: Runtime) -> None:
    """Start the embedded job runner with the first request, not in the factory: a
    restarted process then adopts the journalled jobs its predecessor left."""
    start = getattr(runtime.jobs, "start", None)
    if start is None:
        return
    started: list[bool] = []

    @app.before_request
    def _start_once() -> None:
        if not started:
            started.append(True)
            start()


def _install_console_reports(app: Flask, runtime: Runtime) -> None:
    """With CONSOLE_SMS_REPORTS, the console provider's reports reach our own webhook
    through the app's WSGI stack, as a network's would over HTTP."""
    settings = runtime.settings
    if settings.sms_provider != "console" or not settings.console_sms_reports:
        return
    token = settings.at_webhook_token
    url = CONSOLE_REPORT_PATH + (f"?{urlencode({'token': token})}" if token else "")

    def post(form: dict[str, str]) -> None:
        response = app.test_client().post(url, data=form)
        if response.status_code != 200:
            log.warning("console delivery report refused: %s", response.status_code)

    install_console_reporter(runtime, post)


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(health_bp)
    app.register_blueprint(gateway_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(payouts_bp)
    app.register_blueprint(records_bp)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(KaziError)
    def _domain_error(error: KaziError) -> tuple[Any, int]:
        log.info("%s: %s", error.code, error.message)
        return jsonify(error.to_dict()), error.http_status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Any, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        # Not an ErrorBody: werkzeug types the description as optional.
        body: dict[str, Any] = {
            "error": {"code": code, "message": error.description, "details": []}
        }
        return jsonify(body), error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Any, int]:
        log.exception("unhandled error")
        body: ErrorBody = {
            "error": {"code": "internal", "message": "internal error", "details": []}
        }
        return jsonify(body), 500
