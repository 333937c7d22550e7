"""send_sms stores the message and the job sends it once through the provider."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import Message
from gateway.outbound import send_sms
from kazi.app import build_kazi_runtime
from tests.conftest import make_settings
from tests.support.embedded import console_sms, in_process_jobs


def test_send_sms_goes_out_once_after_commit(committed_url: str) -> None:
    runtime = build_kazi_runtime(make_settings(database_url=committed_url))
    with runtime.sessions.begin() as session:
        message = send_sms(
            session, phone="0711000001", body="Habari! Kazi mpya.", provider="console"
        )
    assert in_process_jobs(runtime).drain(timeout=10)
    with runtime.sessions() as session:
        stored = session.scalars(select(Message).where(Message.id == message.id)).one()
    assert stored.phone == "+254711000001"
    assert stored.status == "accepted" and stored.provider_message_id is not None
    assert stored.provider_message_id.startswith("console-")
    outbox = console_sms(runtime).outbox
    assert [(m.to, m.body) for m in outbox] == [("+254711000001", "Habari! Kazi mpya.")]
    # Running the job again (rq re-delivery) must not send a second time.
    from gateway.jobs import send_message

    with runtime.activated():
        send_message(message.id)
    assert len(outbox) == 1
    runtime.engine.dispose()
