"""Console pages over traffic: the message log (and its CSV), USSD sessions, a phone's timeline."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import SMS_PROVIDERS
from console import exports, logs, scope
from console.args import (
    choice_arg,
    date_arg,
    network_arg,
    page_arg,
    phone_arg,
    text_arg,
)
from console.blueprint import bp, console_zone, sessions, show_phone
from gateway import failure_reasons
from gateway.delivery import DeliveryStatus
from gateway.models import Direction, Message
from gateway.networks import network_choices, network_label
from workers.models import Worker


def _message_filter() -> logs.MessageFilter:
    raw_phone, phone = phone_arg()
    if raw_phone.strip() and phone is None:
        flash(f"{raw_phone!r} is not a phone number; showing every phone.", "error")
    direction = choice_arg("direction", {d.value for d in Direction})
    return logs.MessageFilter(
        phone=phone,
        direction=Direction(direction) if direction else None,
        status=choice_arg("status", {s.value for s in DeliveryStatus}),
        channel=request.args.get("channel", "").strip()[:10] or None,
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        text=text_arg("q"),
        network_codes=network_arg(),
        provider=choice_arg("provider", set(SMS_PROVIDERS)),
        zone=console_zone(),
    )


def _filter_choices() -> dict[str, Any]:
    return {
        "networks": list(network_choices()),
        "describe_failure": failure_reasons.describe,
        "network_label": network_label,
    }


@bp.get("/messages")
def messages() -> Any:
    """SMS filtered by text, phone, direction, status, network, provider and dates, newest first."""
    criteria = _message_filter()
    with sessions()() as session:
        page = logs.search_messages(session, criteria, page_arg(), within=scope.worker_ids())
    return render_template(
        "console/messages.html",
        page=page,
        criteria=criteria,
        args=request.args.to_dict(),
        statuses=[s.value for s in DeliveryStatus],
        directions=[d.value for d in Direction],
        providers=SMS_PROVIDERS,
        csv_limit=exports.CSV_LIMIT,
        **_filter_choices(),
    )


@bp.get("/messages.csv")
def messages_csv() -> Any:
    """The messages the same filter shows, as CSV (up to CSV_LIMIT rows, newest first)."""
    criteria = _message_filter()
    zone = console_zone()
    within = scope.worker_ids()

    def lines() -> Any:
        with sessions()() as session:
            stmt = logs.message_query(criteria, within=within).limit(exports.CSV_LIMIT)
            rows = session.scalars(stmt.execution_options(yield_per=1000))
            yield from exports.messages_csv(rows, show_phone, zone)

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="kazi-messages.csv"'},
    )


@bp.get("/ussd/sessions")
def ussd_sessions() -> Any:
    """USSD sessions filtered by phone, screen text, outcome, network and dates, newest first."""
    raw_phone, phone = phone_arg()
    if raw_phone.strip() and phone is None:
        flash(f"{raw_phone!r} is not a phone number; showing every phone.", "error")
    criteria = logs.UssdFilter(
        phone=phone,
        text=text_arg("q"),
        outcome=choice_arg("outcome", set(logs.USSD_OUTCOMES)),
        network_codes=network_arg(),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        zone=console_zone(),
    )
    with sessions()() as session:
        page = logs.search_ussd_sessions(session, criteria, page_arg(), within=scope.worker_ids())
    return render_template(
        "console/ussd_sessions.html",
        page=page,
        args=request.args.to_dict(),
        outcomes=logs.USSD_OUTCOMES,
        **_filter_choices(),
    )


@bp.get("/timeline")
def timeline() -> Any:
    """One phone's SMS and USSD sessions, newest first.

    The phone comes from the search box, or from a message, session or worker id: links
    use ids so that pages shown to viewers never carry a full number, even in their URLs.
    """
    with sessions()() as session:
        phone = _timeline_phone(session)
        if phone is None:
            flash("Give a phone number to see its timeline.", "error")
            return redirect(url_for("console.messages"))
        owner = session.scalar(select(Worker.id).where(Worker.msisdn == phone))
        if scope.centre_id() is not None and not scope.may_see_worker(session, owner):
            abort(404, "No such phone among your centre's workers.")
        items = logs.timeline(session, phone)
        return render_template("console/timeline.html", phone=phone, items=items)


def _timeline_phone(session: Session) -> str | None:
    for name, model, column in (
        ("message_id", Message, "phone"),
        ("ussd_id", logs.UssdSession, "phone"),
        ("worker_id", Worker, "msisdn"),
    ):
        value = request.args.get(name, "")
        if value.isdigit() and len(value) <= 18:
            row = session.get(model, int(value))
            return getattr(row, column) if row is not None else None
    return phone_arg()[1]
