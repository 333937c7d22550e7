"""Broadcast from the console: an audience with its count, a preview per language with
segments and cost, then the send, whose progress the broadcast's own page follows.

The preview is a GET (it changes nothing); sending is a POST that re-counts the same
audience and queues one broadcast per language through ``gateway.broadcast`` (batches,
the channel's rate limit, opted-out workers skipped), recorded in the audit log. The
audit entry is the broadcast's record: its page counts the messages it queued by status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import ConfirmForm
from console.models import AuditEntry, OperatorRole
from console.services import record_audit
from core.medium import count_segments, to_gsm7
from core.money import Money
from flows.i18n import LANGUAGES
from gateway import broadcast
from gateway.delivery import DeliveryStatus

#: Statuses of a message still on its way to the provider (errored: a retry is due).
WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.ERRORED)
#: Three SMS segments of plain text: a broadcast longer than that is a letter, not a notice.
MAX_BROADCAST_CHARS = 480
AUDIT_ACTION = "broadcast"
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class Draft:
    """A broadcast as the form describes it, with what is wrong with it."""

    audience: broadcast.Audience
    bodies: dict[str, str]  # language → text, as typed (stripped)
    errors: list[str] = field(default_factory=list)

    def text_for(self, language: str) -> tuple[str, bool]:
        """The text a worker speaking ``language`` gets, and whether it falls back to English."""
        own = self.bodies.get(language, "")
        return (own, False) if own else (self.bodies.get("en", ""), language != "en")


def parse_draft(values: Mapping[str, str]) -> Draft:
    """The audience filter and texts from the form; every problem named at once."""
    errors = []
    country = values.get("country", "").strip().upper()
    if country and not _COUNTRY.fullmatch(country):
        errors.append(f"Country {country[:10]!r}: give a two-letter ISO code such as KE, or none.")
        country = ""
    language = values.get("language", "").strip()
    if language and language not in LANGUAGES:
        errors.append(f"Language {language[:10]!r}: choose one of {', '.join(LANGUAGES)}, or any.")
        language = ""
    since = None
    if values.get("active_since", "").strip():
        try:
            since = datetime.combine(
                date.fromisoformat(values["active_since"].strip()), time(), UTC
            )
        except ValueError:
            errors.append("Active since: give a date as YYYY-MM-DD, or none.")
    bodies = {}
    for lang in LANGUAGES:
        text = values.get(f"body_{lang}", "").strip()
        if len(text) > MAX_BROADCAST_CHARS:
            errors.append(f"The {lang} text is over {MAX_BROADCAST_CHARS} characters.")
        bodies[lang] = text[:MAX_BROADCAST_CHARS]
    audience = broadcast.Audience(
        country=country or None,
        language=language or None,
        active_since=since,
        registered_only=values.get("registered") in ("1", "on", "y"),
    )
    return Draft(audience, bodies, errors)


@dataclass(frozen=True)
class LanguagePreview:
    """What the workers of one language would get, and what it would cost."""

    language: str
    workers: int
    text: str
    english_fallback: bool
    segments: int
    encoding: str
    cost: Money | None


def preview(
    draft: Draft, counts: dict[str, int], price: broadcast.SegmentPrice | None
) -> list[LanguagePreview]:
    """One preview per language the audience speaks."""
    out = []
    for language, workers in counts.items():
        text, fallback = draft.text_for(language)
        info = count_segments(to_gsm7(text)) if text else None
        segments = info.segments if info else 0
        cost = Money(*price.estimate(segments * workers)) if price and text else None
        out.append(
            LanguagePreview(
                language, workers, text, fallback, segments, info.encoding if info else "", cost
            )
        )
    return out


def _missing_texts(draft: Draft, counts: dict[str, int]) -> list[str]:
    return [
        f"No text for the {n} worker(s) speaking {lang}: write it, or an English one."
        for lang, n in counts.items()
        if n and not draft.text_for(lang)[0]
    ]


def _provider() -> str:
    return str(current_app.extensions["kazi"].settings.sms_provider)


@bp.get("/broadcast")
@role_required(OperatorRole.OPERATOR)
def broadcast_form() -> Any:
    """The audience filter and texts; with ``preview`` set, the count, segments and cost."""
    draft = parse_draft(request.args)
    shown = None
    total = 0
    price = None
    if request.args.get("preview") and not draft.errors:
        with sessions()() as session:
            counts = broadcast.audience_by_language(session, draft.audience)
            price = broadcast.segment_price(session, _provider())
        shown = preview(draft, counts, price)
        total = sum(counts.values())
        draft.errors.extend(_missing_texts(draft, counts))
    return render_template(
        "console/broadcast.html",
        draft=draft,
        values=request.args,
        languages=LANGUAGES,
        previews=shown,
        total=total,
        price=price,
        form=ConfirmForm(),
    ), 400 if draft.errors else 200


@bp.post("/broadcast")
@role_required(OperatorRole.OPERATOR)
def send_broadcast() -> Any:
    """Queue the broadcast, one per language of the audience, and follow its progress."""
    draft = parse_draft(request.form)
    runtime = current_app.extensions["kazi"]
    with sessions()() as session:
        counts = broadcast.audience_by_language(session, draft.audience)
    if draft.errors or _missing_texts(draft, counts) or not sum(counts.values()):
        # The preview names every problem (and shows an empty audience): back to it.
        back: dict[str, Any] = _form_args(request.form)
        return redirect(url_for("console.broadcast_form", **back))
    first: list[int] = []
    last: list[int] = []
    texts: dict[str, str] = {}
    for language in counts:
        text = draft.text_for(language)[0]
        result = broadcast.run_broadcast(
            runtime.sessions,
            body=text,
            provider=runtime.settings.sms_provider,
            audience=broadcast.for_language(draft.audience, language),
        )
        texts[language] = to_gsm7(text)  # as the outbox stores it
        if result.first_message_id is not None and result.last_message_id is not None:
            first.append(result.first_message_id)
            last.append(result.last_message_id)
    with sessions().begin() as session:
        entry = record_audit(
            session,
            operator_id=current_user.operator_id,
            action=AUDIT_ACTION,
            target=f"workers:{sum(counts.values())}",
            details={
                "audience": _describe(draft.audience),
                "recipients": counts,
                "texts": texts,
                "first_message_id": min(first) if first else None,
                "last_message_id": max(last) if last else None,
            },
            ip=request.remote_addr,
        )
        entry_id = entry.id
    flash(f"Broadcast queued for {sum(counts.values())} worker(s).", "info")
    return redirect(url_for("console.broadcast_progress", entry_id=entry_id))


def _form_args(form: Mapping[str, str]) -> dict[str, str]:
    keys = ["country", "language", "active_since", "registered"] + [
        f"body_{lang}" for lang in LANGUAGES
    ]
    return {k: form[k] for k in keys if form.get(k)} | {"preview": "1"}


def _describe(audience: broadcast.Audience) -> dict[str, Any]:
    return {
        "country": audience.country,
        "language": audience.language,
        "active_since": audience.active_since.date().isoformat() if audience.active_since else None,
        "registered_only": audience.registered_only,
    }


@bp.get("/broadcasts/<int:entry_id>")
@role_required(OperatorRole.OPERATOR)
def broadcast_progress(entry_id: int) -> Any:
    """How far a broadcast got: its messages by status (the page refreshes while it sends)."""
    with sessions()() as session:
        entry = session.get(AuditEntry, entry_id)
        if entry is None or entry.action != AUDIT_ACTION:
            abort(404, f"No broadcast {entry_id}.")
        details = dict(entry.details)
        first, last = details.get("first_message_id"), details.get("last_message_id")
        texts = list(details.get("texts", {}).values())
        by_status = (
            broadcast.broadcast_progress(session, int(first), int(last), texts)
            if first is not None and last is not None
            else {}
        )
        at = entry.at
    total = sum(by_status.values())
    waiting = sum(by_status.get(str(s), 0) for s in WAITING)
    return render_template(
        "console/broadcast_progress.html",
        entry_id=entry_id,
        at=at,
        details=details,
        by_status=by_status,
        total=total,
        done=total - waiting,
        sending=waiting > 0,
    )
