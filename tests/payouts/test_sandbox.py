"""The sandbox provider: Daraja-shaped callbacks through the real parsers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from payouts.errors import DuplicateSubmission, InvalidPayoutRequest, ProviderRejected
from payouts.providers.base import (
    BalanceAnswer,
    CallbackKind,
    PayoutProvider,
    PayoutRequest,
    ResultStatus,
    StatusAnswer,
)
from payouts.providers.daraja import DarajaClient
from payouts.providers.daraja_parsing import EAT
from payouts.providers.sandbox import SandboxProvider

PAYLOADS = Path(__file__).parent / "payloads"
NOW = datetime(2026, 1, 15, 10, 15, 2, tzinfo=EAT)


class Outbox:
    """Stands in for the integrator's delivery (an rq job posting to our webhook)."""

    def __init__(self) -> None:
        self.sent: list[tuple[CallbackKind, dict[str, Any], float]] = []

    def __call__(self, kind: CallbackKind, body: dict[str, Any], delay: float) -> None:
        # Round-trip through JSON: the webhook receives text, not Python objects.
        self.sent.append((kind, json.loads(json.dumps(body)), delay))


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def sandbox(outbox: Outbox) -> SandboxProvider:
    return SandboxProvider(outbox, delay_seconds=1.5, now=lambda: NOW)


def request(phone: str = "+254711000111", payout_id: str = "p-1") -> PayoutRequest:
    return PayoutRequest(payout_id, phone, 5000, "KES")


def test_both_providers_have_every_protocol_member(sandbox):
    members = [n for n in vars(PayoutProvider) if not n.startswith("_")] + ["name"]
    assert {"submit", "query_status", "query_balance", "parse_callback"} <= set(members)
    for name in members:
        assert hasattr(sandbox, name), name
        assert hasattr(DarajaClient, name), name


def test_submit_is_acked_and_its_callback_parses_as_success(sandbox, outbox):
    ack = sandbox.submit(request())
    assert ack.code == "0"
    assert ack.idempotency_key == "p-1"

    ((kind, body, delay),) = outbox.sent
    assert (kind, delay) == (CallbackKind.RESULT, 1.5)
    outcome = sandbox.parse_callback(CallbackKind.RESULT, body)
    assert outcome.success
    assert outcome.idempotency_key == "p-1"
    assert outcome.provider_reference == ack.provider_reference
    assert outcome.amount_minor == 5000
    assert outcome.receipt and len(outcome.receipt) == 10
    assert outcome.completed_at == NOW
    assert outcome.recipient_phone == "254711000111"


def test_sandbox_result_has_the_shape_of_daraja_sample(sandbox, outbox):
    sandbox.submit(request())
    body = outbox.sent[0][1]
    sample = json.loads((PAYLOADS / "daraja_b2c_result_success.json").read_text())
    assert set(body["Result"]) <= set(sample["Result"])
    keys = lambda b: {p["Key"] for p in b["Result"]["ResultParameters"]["ResultParameter"]}  # noqa: E731
    assert keys(body) == keys(sample)


@pytest.mark.parametrize(
    ("phone", "code"),
    [("+254700000001", "1"), ("+254700000002", "SFC_IC0003"), ("+254700000003", "2040")],
)
def test_magic_phones_fail_with_documented_codes(phone, code, sandbox, outbox):
    sandbox.submit(request(phone))
    ((kind, body, _),) = outbox.sent
    outcome = sandbox.parse_callback(CallbackKind.RESULT, body)
    assert kind is CallbackKind.RESULT
    assert outcome.status is ResultStatus.FAILED
    assert outcome.code == code


def test_timeout_phone_times_out_then_a_status_query_finds_it_paid(sandbox, outbox):
    sandbox.submit(request("+254700000004", "p-t"))
    ((kind, body, _),) = outbox.sent
    assert kind is CallbackKind.TIMEOUT
    assert sandbox.parse_callback(CallbackKind.TIMEOUT, body).status is ResultStatus.UNKNOWN

    ack = sandbox.query_status(idempotency_key="p-t")
    kind, body, _ = outbox.sent[1]
    assert kind is CallbackKind.STATUS
    status = sandbox.parse_callback(CallbackKind.STATUS, body)
    assert status.query_id == ack.query_id
    assert status.idempotency_key == "p-t"
    assert status.status is ResultStatus.SUCCESS


def test_silent_phone_sends_nothing_until_a_status_query_finds_it_paid(sandbox, outbox):
    sandbox.submit(request("+254700000005", "p-s"))
    assert outbox.sent == []
    sandbox.query_status(idempotency_key="p-s")
    status = sandbox.parse_callback(CallbackKind.STATUS, outbox.sent[0][1])
    assert status.status is ResultStatus.SUCCESS


def test_a_failed_or_unknown_payment_is_not_proven_paid_by_a_status_query(sandbox, outbox):
    sandbox.submit(request("+254700000001", "p-f"))
    expected = {"p-f": ResultStatus.FAILED, "never-sent": ResultStatus.UNKNOWN}
    for payout_id, status_now in expected.items():
        sandbox.query_status(idempotency_key=payout_id)
        status = sandbox.parse_callback(CallbackKind.STATUS, outbox.sent[-1][1])
        assert status.status is status_now


def test_sandbox_refuses_a_reused_payout_id_like_daraja(sandbox):
    sandbox.submit(request())
    with pytest.raises(DuplicateSubmission) as caught:
        sandbox.submit(request())
    assert not isinstance(caught.value, ProviderRejected)


def test_sandbox_applies_daraja_limits(sandbox, outbox):
    with pytest.raises(InvalidPayoutRequest):
        sandbox.submit(PayoutRequest("p-small", "+254711000111", 500, "KES"))
    assert outbox.sent == []


def test_balance_drops_by_what_was_paid(sandbox, outbox):
    sandbox.submit(request())
    sandbox.query_balance()
    kind, body, _ = outbox.sent[-1]
    assert kind is CallbackKind.BALANCE
    utility = sandbox.parse_callback(CallbackKind.BALANCE, body).account("Utility")
    assert utility is not None and utility.available_minor == 100_000_000 - 5000


def test_failed_payments_do_not_reduce_the_balance(outbox):
    sandbox = SandboxProvider(outbox, utility_balance_minor=12_345)
    sandbox.submit(request("+254700000002"))
    sandbox.query_balance()
    answer = sandbox.parse_callback(CallbackKind.BALANCE, outbox.sent[-1][1])
    assert isinstance(answer, BalanceAnswer)
    utility = answer.account("Utility")
    assert utility is not None and utility.amounts_minor[:2] == (12_345, 12_345)


def test_a_shared_store_lets_another_process_find_and_refuse_a_payment(outbox: Outbox) -> None:
    from core.kvstore import MemoryStore

    store = MemoryStore()
    first = SandboxProvider(outbox, delay_seconds=0, now=lambda: NOW, store=store)
    other = SandboxProvider(outbox, delay_seconds=0, now=lambda: NOW, store=store)
    first.submit(request(phone="+254700000005", payout_id="p-shared"))
    with pytest.raises(DuplicateSubmission):
        other.submit(request(payout_id="p-shared"))
    other.query_status(idempotency_key="p-shared")
    kind, body, _ = outbox.sent[-1]
    outcome = other.parse_callback(CallbackKind.STATUS, body)
    assert kind is CallbackKind.STATUS
    assert isinstance(outcome, StatusAnswer)
    assert outcome.status is ResultStatus.SUCCESS
    assert outcome.idempotency_key == "p-shared"
    other.query_status(receipt=outcome.receipt)
    by_receipt = other.parse_callback(CallbackKind.STATUS, outbox.sent[-1][1])
    assert isinstance(by_receipt, StatusAnswer) and by_receipt.status is ResultStatus.SUCCESS
