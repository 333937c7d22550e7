"""The Daraja client against the local emulator, over real HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import pytest

from core.kvstore import MemoryStore
from payouts.errors import (
    DuplicateSubmission,
    InvalidPayoutRequest,
    NotSent,
    OutcomeUnknown,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
)
from payouts.providers.base import CallbackKind, PayoutRequest, ResultStatus
from payouts.providers.daraja import B2C_PATH, BALANCE_PATH, STATUS_PATH
from tests.emulators.daraja import Scenario
from tests.payouts.conftest import WEBHOOK_TOKEN

PAYLOADS = Path(__file__).parent / "payloads"
DOCUMENTED_FAILURES = [1, 2, 3, 4, 8, 11, 21, 2001, 2006, 2028, 2040, 8006, "SFC_IC0003"]


def payout(payout_id: str = "kazi-payout-42-a1", amount_minor: int = 5000) -> PayoutRequest:
    return PayoutRequest(
        idempotency_key=payout_id,
        phone_e164="+254711000111",
        amount_minor=amount_minor,
        currency="KES",
        remarks="Microtask payout",
        occasion="batch-2026-01-15",
    )


def test_b2c_request_is_exactly_the_documented_body(make_client, emulator, recorder):
    client = make_client()
    ack = client.submit(payout())

    (sent,) = emulator.received(B2C_PATH)
    assert sent.body == {
        "OriginatorConversationID": "kazi-payout-42-a1",
        "InitiatorName": "testapi",
        "SecurityCredential": "c2VjdXJpdHktY3JlZGVudGlhbA==",
        "CommandID": "BusinessPayment",
        "Amount": 50,
        "PartyA": "600999",
        "PartyB": "254711000111",
        "Remarks": "Microtask payout",
        "QueueTimeOutURL": f"{recorder.url}/webhooks/payouts/b2c/timeout?token={WEBHOOK_TOKEN}",
        "ResultURL": f"{recorder.url}/webhooks/payouts/b2c/result?token={WEBHOOK_TOKEN}",
        "Occassion": "batch-2026-01-15",
    }
    documented = json.loads((PAYLOADS / "daraja_b2c_request.json").read_text())
    assert sent.body.keys() == documented.keys()
    assert type(sent.body["Amount"]) is int
    assert sent.headers["Authorization"] == f"Bearer {client.access_token()}"
    assert sent.headers["Content-Type"] == "application/json"
    assert ack.idempotency_key == "kazi-payout-42-a1"
    assert ack.provider_reference.startswith("AG_")
    assert ack.code == "0"


def test_oauth_uses_basic_auth_and_client_credentials(make_client, emulator):
    make_client().access_token()
    (call,) = emulator.received("/oauth/v1/generate")
    assert call.method == "GET"
    assert call.query == {"grant_type": "client_credentials"}
    assert (
        call.headers["Authorization"]
        == "Basic " + base64.b64encode(b"test-key:test-secret").decode()
    )


def test_one_token_is_fetched_once_and_shared_by_two_clients(make_client, emulator):
    store = MemoryStore()
    first, second = make_client(store), make_client(store)
    first.submit(payout("p-1"))
    second.submit(payout("p-2"))

    assert emulator.tokens_issued == 1
    auth = {r.headers["Authorization"] for r in emulator.received(B2C_PATH)}
    assert len(auth) == 1


def test_concurrent_first_use_mints_one_token(make_client, emulator):
    store = MemoryStore()
    clients = [make_client(store) for _ in range(8)]
    tokens: list[str] = []
    threads = [
        threading.Thread(target=lambda c=c: tokens.append(c.access_token())) for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Every extra mint would have invalidated the tokens the others were holding.
    assert emulator.tokens_issued == 1
    assert len(set(tokens)) == 1


def test_token_is_refreshed_shortly_before_expiry(make_client, emulator):
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    client = make_client(store)
    token = client.access_token()
    now[0] = 3599 - 120 - 1  # just inside the refresh margin: still cached
    assert client.access_token() == token
    now[0] = 3599 - 120 + 1  # past it: a new one, before Daraja's expiry
    assert client.access_token() != token
    assert emulator.tokens_issued == 2


def test_a_refused_token_is_refreshed_once_and_the_call_resent(make_client, emulator):
    client = make_client()
    stale = client.access_token()
    emulator.expire_token()  # e.g. another deployment minted a newer one

    client.submit(payout())

    first, second = emulator.received(B2C_PATH)
    assert first.headers["Authorization"] == f"Bearer {stale}"
    assert second.headers["Authorization"] != first.headers["Authorization"]
    assert emulator.tokens_issued == 2


def test_a_token_refused_twice_is_a_rejection_not_a_loop(make_client, emulator):
    client = make_client()
    client.access_token()
    refusal = {"requestId": "x", "errorCode": "401.002.01", "errorMessage": "Invalid Access Token"}
    emulator.force(B2C_PATH, 401, refusal)
    emulator.force(B2C_PATH, 401, refusal)
    with pytest.raises(ProviderRejected) as caught:
        client.submit(payout())
    assert caught.value.error_code == "401.002.01"
    assert len(emulator.received(B2C_PATH)) == 2


def test_wrong_consumer_secret_is_an_auth_error_and_nothing_is_sent(make_client, emulator):
    with pytest.raises(ProviderAuthError):
        make_client(consumer_secret="wrong").submit(payout())
    assert emulator.received(B2C_PATH) == []


def test_success_result_callback_is_parsed(make_client, recorder):
    client = make_client()
    ack = client.submit(payout())

    (callback,) = recorder.wait_for(1)
    assert callback.path == "/webhooks/payouts/b2c/result"
    assert callback.query == {"token": WEBHOOK_TOKEN}
    outcome = client.parse_callback(CallbackKind.RESULT, callback.body)
    assert outcome.success
    assert outcome.status is ResultStatus.SUCCESS
    assert outcome.idempotency_key == "kazi-payout-42-a1"
    assert outcome.provider_reference == ack.provider_reference
    assert outcome.amount_minor == 5000
    assert outcome.currency == "KES"
    assert outcome.receipt and outcome.receipt.startswith("UEM")
    assert outcome.recipient_phone == "254711000111"
    assert outcome.recipient_name == "JANE TEST WANJIKU"
    assert outcome.completed_at is not None and outcome.completed_at.isoformat() == (
        "2026-01-15T10:15:02+03:00"
    )


@pytest.mark.parametrize("code", DOCUMENTED_FAILURES)
def test_each_documented_failure_code_is_parsed_as_failed(code, make_client, emulator, recorder):
    emulator.scenarios["p-fail"] = Scenario(kind="failure", result_code=code)
    client = make_client()
    client.submit(payout("p-fail"))

    (callback,) = recorder.wait_for(1)
    outcome = client.parse_callback(CallbackKind.RESULT, callback.body)
    assert outcome.status is ResultStatus.FAILED
    assert not outcome.success
    assert outcome.code == str(code)
    assert outcome.idempotency_key == "p-fail"
    assert outcome.amount_minor is None


def test_duplicate_originator_id_is_surfaced_as_duplicate_not_rejection(make_client, emulator):
    client = make_client()
    client.submit(payout("p-dup"))
    with pytest.raises(DuplicateSubmission) as caught:
        client.submit(payout("p-dup"))
    # Whoever returns funds on ProviderRejected must not catch this one.
    assert not isinstance(caught.value, ProviderRejected)
    assert isinstance(caught.value, OutcomeUnknown)
    assert caught.value.error_code == "500.002.1001"


def test_system_internal_error_under_the_duplicate_code_is_unknown_not_duplicate(
    make_client, emulator
):
    client = make_client()
    client.access_token()
    emulator.force(
        B2C_PATH,
        500,
        {"requestId": "x", "errorCode": "500.002.1001", "errorMessage": "System internal error."},
    )
    with pytest.raises(ProviderUnavailable) as caught:
        client.submit(payout())
    assert not isinstance(caught.value, DuplicateSubmission)


def test_connection_refused_is_not_sent_neither_unknown_nor_rejected(make_client, emulator):
    client = make_client()
    client.access_token()  # cached: the failure is on the payment call itself
    emulator.stop()
    with pytest.raises(NotSent) as caught:
        client.submit(payout())
    # Safe to send again under the same key: not a refusal, not an unknown outcome.
    assert not isinstance(caught.value, OutcomeUnknown | ProviderRejected)


def test_a_500_after_processing_is_unknown_and_a_status_query_resolves_it(
    make_client, emulator, recorder
):
    emulator.scenarios["p-500"] = Scenario(http_status=500)
    client = make_client()
    with pytest.raises(ProviderUnavailable) as caught:
        client.submit(payout("p-500"))
    assert caught.value.status_code == 500

    # Daraja processed it anyway: treating the 500 as "failed" would pay twice.
    recorder.wait_for(1)
    ack = client.query_status(idempotency_key="p-500")
    status = client.parse_callback(CallbackKind.STATUS, recorder.wait_for(2)[1].body)
    assert status.query_id == ack.query_id
    assert status.idempotency_key == "p-500"
    assert status.status is ResultStatus.SUCCESS
    assert status.amount_minor == 5000


def test_a_slow_answer_times_out_as_unknown(make_client, emulator, recorder):
    emulator.scenarios["p-slow"] = Scenario(reply_delay=1.0)
    client = make_client(read_timeout=0.3)
    client.access_token()
    with pytest.raises(ProviderUnavailable):
        client.submit(payout("p-slow"))
    assert client.parse_callback(CallbackKind.RESULT, recorder.wait_for(1)[0].body).success


def test_a_documented_bad_request_is_a_rejection(make_client, emulator):
    with pytest.raises(ProviderRejected) as caught:
        make_client(shortcode="123456").submit(payout())
    assert caught.value.error_code == "400.002.02"
    assert caught.value.status_code == 400


def test_queue_timeout_goes_to_the_timeout_url_and_is_unknown(make_client, emulator, recorder):
    emulator.scenarios["p-queue"] = Scenario(kind="timeout")
    client = make_client()
    client.submit(payout("p-queue"))
    (callback,) = recorder.wait_for(1)
    assert callback.path == "/webhooks/payouts/b2c/timeout"
    outcome = client.parse_callback(CallbackKind.TIMEOUT, callback.body)
    assert outcome.status is ResultStatus.UNKNOWN
    assert outcome.timed_out
    assert outcome.idempotency_key == "p-queue"


def test_duplicate_callbacks_parse_to_the_same_outcome(make_client, emulator, recorder):
    emulator.scenarios["p-twice"] = Scenario(duplicates=3)
    client = make_client()
    client.submit(payout("p-twice"))
    outcomes = {client.parse_callback(CallbackKind.RESULT, c.body) for c in recorder.wait_for(3)}
    assert len(outcomes) == 1  # one key (originator id + receipt) for the integrator's dedupe


def test_no_callback_at_all_is_resolved_by_a_status_query(make_client, emulator, recorder):
    emulator.scenarios["p-silent"] = Scenario(kind="none")
    client = make_client()
    client.submit(payout("p-silent"))
    time.sleep(0.3)
    assert recorder.received == []

    client.query_status(idempotency_key="p-silent")
    status = client.parse_callback(CallbackKind.STATUS, recorder.wait_for(1)[0].body)
    assert status.status is ResultStatus.SUCCESS
    assert status.receipt


def test_a_delayed_callback_arrives_late(make_client, emulator, recorder):
    emulator.scenarios["p-late"] = Scenario(delay=0.6)
    asked = time.monotonic()
    make_client().submit(payout("p-late"))
    (late,) = recorder.wait_for(1)
    # Posted no sooner than its delay (a check after a sleep would race a busy machine).
    assert late.at - asked >= 0.6


def test_status_query_body_is_as_documented(make_client, emulator, recorder):
    client = make_client()
    client.query_status(idempotency_key="kazi-payout-42-a1")
    (sent,) = emulator.received(STATUS_PATH)
    assert sent.body == {
        "Initiator": "testapi",
        "SecurityCredential": "c2VjdXJpdHktY3JlZGVudGlhbA==",
        "CommandID": "TransactionStatusQuery",
        "OriginalConversationID": "kazi-payout-42-a1",
        "PartyA": "600999",
        "IdentifierType": "4",
        "Remarks": "Kazi payout status",
        "Occasion": "kazi-payout-42-a1",
        "QueueTimeOutURL": f"{recorder.url}/webhooks/payouts/b2c/timeout?token={WEBHOOK_TOKEN}",
        "ResultURL": f"{recorder.url}/webhooks/payouts/b2c/result?token={WEBHOOK_TOKEN}",
    }
    # Unknown to Daraja: the query's answer does not prove anything about the money.
    status = client.parse_callback(CallbackKind.STATUS, recorder.wait_for(1)[0].body)
    assert status.status is ResultStatus.UNKNOWN


def test_status_query_needs_an_id(make_client, emulator):
    with pytest.raises(InvalidPayoutRequest):
        make_client().query_status()
    assert emulator.requests == []


def test_account_balance_query_and_result(make_client, emulator, recorder):
    client = make_client(
        query_result_url=f"{recorder.url}/webhooks/payouts/b2c/result?kind=balance"
    )
    client.query_balance()
    (sent,) = emulator.received(BALANCE_PATH)
    assert sent.body["CommandID"] == "AccountBalance"
    assert sent.body["IdentifierType"] == "4"
    (callback,) = recorder.wait_for(1)
    assert callback.query == {"kind": "balance"}
    balance = client.parse_callback(CallbackKind.BALANCE, callback.body)
    assert balance.success
    utility = balance.account("Utility")
    assert utility is not None and utility.available_minor == 22_803_700


@pytest.mark.parametrize(
    ("amount_minor", "currency", "field"),
    [
        (999, "KES", "amount_minor"),  # not whole shillings
        (1050, "KES", "amount_minor"),
        (900, "KES", "amount_minor"),  # below KES 10
        (25_000_100, "KES", "amount_minor"),  # above KES 250,000
        (5000, "USD", "currency"),
    ],
)
def test_amounts_daraja_cannot_pay_are_refused_before_sending(
    amount_minor, currency, field, make_client, emulator
):
    request = PayoutRequest("p-x", "+254711000111", amount_minor, currency)
    with pytest.raises(InvalidPayoutRequest) as caught:
        make_client().submit(request)
    assert caught.value.field == field
    assert emulator.received(B2C_PATH) == []


@pytest.mark.parametrize("amount_minor", [1000, 25_000_000])
def test_limits_are_inclusive(amount_minor, make_client, emulator):
    make_client().submit(PayoutRequest("p-edge", "+254711000111", amount_minor, "KES"))
    assert emulator.received(B2C_PATH)[0].body["Amount"] == amount_minor // 100


@pytest.mark.parametrize("phone", ["+255712345678", "+25471234567", "+2547123456789"])
def test_non_kenyan_mobiles_are_refused(phone, make_client, emulator):
    with pytest.raises(InvalidPayoutRequest):
        make_client().submit(PayoutRequest("p-x", phone, 5000, "KES"))
    assert emulator.received(B2C_PATH) == []
