"""Daraja callback parsing as data tables: payloads as they arrive, expected parse."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from payouts.errors import BadCallback, InvalidPayoutRequest
from payouts.providers.base import PayoutRequest, ResultStatus
from payouts.providers.daraja_parsing import (
    EAT,
    classify_result_code,
    parse_b2c_result,
    parse_balance_result,
    parse_queue_timeout,
    parse_status_result,
)

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"daraja_{name}.json").read_text())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "b2c_result_success",
            {
                "status": ResultStatus.SUCCESS,
                "code": "0",
                "idempotency_key": "mw-payout-000000000042-a1",
                "provider_reference": "AG_20260115_0000aaaabbbbccccdddd",
                "receipt": "UAF0000XY1",
                "amount_minor": 5000,
                "currency": "KES",
                "recipient_phone": "254711000111",
                "recipient_name": "JANE TEST WANJIKU",
                "completed_at": datetime(2026, 1, 15, 10, 15, 2, tzinfo=EAT),
                "float_minor": 10_495_000,
                "recipient_registered": True,
            },
        ),
        (
            "b2c_result_failure",
            {"status": ResultStatus.FAILED, "code": "2001", "amount_minor": None},
        ),
        (
            "b2c_result_failure_insufficient",
            {"status": ResultStatus.FAILED, "code": "1", "receipt": "UAF0000XY3"},
        ),
        (
            "b2c_result_failure_invalid_msisdn",
            {"status": ResultStatus.FAILED, "code": "SFC_IC0003"},
        ),
    ],
)
def test_b2c_result_payloads(name, expected):
    outcome = parse_b2c_result(load(name))
    assert {k: getattr(outcome, k) for k in expected} == expected
    assert outcome.success is (expected["status"] is ResultStatus.SUCCESS)


def test_queue_timeout_is_unknown_even_though_its_code_reads_like_a_failure():
    outcome = parse_queue_timeout(load("b2c_timeout"))
    assert classify_result_code(outcome.code) is ResultStatus.FAILED  # code 1 ...
    assert outcome.status is ResultStatus.UNKNOWN  # ... but a timeout decides nothing
    assert outcome.timed_out
    assert outcome.receipt is None
    assert outcome.idempotency_key == "mw-payout-000000000046-a1"


def test_a_timeout_body_sent_to_the_result_parser_is_still_not_a_failure():
    outcome = parse_b2c_result(load("b2c_timeout"))
    assert outcome.status is ResultStatus.UNKNOWN


def test_transaction_status_payload_names_the_payout():
    status = parse_status_result(load("transaction_status_result"))
    assert status.query_id == "mw-txstatus-000000000042-q1"
    assert status.idempotency_key == "mw-payout-000000000042-a1"
    assert status.payment_reference == "AG_20260115_0000aaaabbbbccccdddd"
    assert status.receipt == "UAF0000XY1"
    assert status.provider_status == "Completed"
    assert status.status is ResultStatus.SUCCESS
    assert status.amount_minor == 5000
    assert status.recipient_name == "JANE TEST WANJIKU"
    assert status.finalised_at == datetime(2026, 1, 15, 10, 15, 2, tzinfo=EAT)


def test_status_keys_with_spaces_are_matched_loosely():
    body = load("transaction_status_result")
    for item in body["Result"]["ResultParameters"]["ResultParameter"]:
        if item["Key"] == "OriginatorConversationID":
            item["Key"] = "Originator Conversation ID"
    assert parse_status_result(body).idempotency_key == "mw-payout-000000000042-a1"


@pytest.mark.parametrize(
    ("value", "status"),
    [("Completed", ResultStatus.SUCCESS), ("Failed", ResultStatus.FAILED),
     ("Pending", ResultStatus.UNKNOWN), ("", ResultStatus.UNKNOWN)],
)  # fmt: skip
def test_only_completed_and_failed_statuses_prove_an_outcome(value, status):
    body = load("transaction_status_result")
    for item in body["Result"]["ResultParameters"]["ResultParameter"]:
        if item["Key"] == "TransactionStatus":
            item["Value"] = value
    answer = parse_status_result(body)
    assert answer.status is status
    assert not answer.not_found  # it names the payment


def test_a_status_answer_carries_the_charge_and_a_failed_query_is_not_found():
    body = load("transaction_status_result")
    for item in body["Result"]["ResultParameters"]["ResultParameter"]:
        if item["Key"] == "DebitPartyCharges":
            item["Value"] = "Fee For B2C Payment|KES|22.40"
    assert parse_status_result(body).fee_minor == 2240
    body["Result"].update(ResultCode=2032, ResultParameters=None)
    answer = parse_status_result(body)
    assert answer.not_found and answer.status is ResultStatus.UNKNOWN


def test_a_configuration_code_is_flagged_and_the_charges_account_read():
    result = parse_b2c_result(load("b2c_result_success"))
    assert result.charges_account_minor == -4500 and not result.configuration_error
    failure = parse_b2c_result(load("b2c_result_failure"))
    assert failure.code == "2001" and failure.configuration_error


def test_account_balance_payload():
    balance = parse_balance_result(load("account_balance_result"))
    assert balance.success
    assert [a.name for a in balance.accounts][:3] == [
        "Working Account",
        "Float Account",
        "Utility Account",
    ]
    utility = balance.account("utility")
    assert utility is not None
    assert utility.currency == "KES"
    assert utility.amounts_minor == (10_495_000, 10_495_000, 0, 0)
    charges = balance.account("Charges Paid")
    assert charges is not None and charges.amounts_minor[0] == -4500
    assert balance.completed_at == datetime(2026, 1, 15, 11, 0, tzinfo=EAT)


def test_reference_item_as_a_list_and_a_single_parameter_are_accepted():
    body = load("b2c_result_success")
    body["Result"]["ReferenceData"]["ReferenceItem"] = [
        body["Result"]["ReferenceData"]["ReferenceItem"]
    ]
    body["Result"]["ResultParameters"]["ResultParameter"] = {
        "Key": "TransactionAmount",
        "Value": "50.00",
    }
    outcome = parse_b2c_result(body)
    assert outcome.amount_minor == 5000
    assert outcome.receipt == "UAF0000XY1"  # from the top-level TransactionID


_DELETE = object()


def _broken(path: list[str], value: Any, name: str = "b2c_result_success") -> dict[str, Any]:
    body = copy.deepcopy(load(name))
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


def _param(key: str, value: Any) -> dict[str, Any]:
    body = load("b2c_result_success")
    for item in body["Result"]["ResultParameters"]["ResultParameter"]:
        if item["Key"] == key:
            item["Value"] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "Result"),
        ({"Result": "nope"}, "Result"),
        (_broken(["Result", "ResultCode"], _DELETE), "ResultCode"),
        (_broken(["Result", "ResultCode"], True), "ResultCode"),
        (_broken(["Result", "ResultCode"], ""), "ResultCode"),
        (_broken(["Result", "OriginatorConversationID"], _DELETE), "OriginatorConversationID"),
        (_broken(["Result", "ConversationID"], None), "ConversationID"),
        (_broken(["Result", "ResultParameters", "ResultParameter"], "x"), "ResultParameter"),
        (
            _broken(["Result", "ResultParameters", "ResultParameter"], [{"Value": 1}]),
            "ResultParameter",
        ),
        (_param("TransactionAmount", "fifty"), "TransactionAmount"),
        (_param("TransactionAmount", 50.005), "TransactionAmount"),
        (
            _param("TransactionCompletedDateTime", "2026-01-15 10:15"),
            "TransactionCompletedDateTime",
        ),
    ],
)
def test_malformed_results_name_the_field(body, field):
    with pytest.raises(BadCallback) as caught:
        parse_b2c_result(body)
    assert caught.value.field == field


def test_a_success_without_any_receipt_is_malformed():
    body = load("b2c_result_success")
    body["Result"]["TransactionID"] = ""
    body["Result"]["ResultParameters"]["ResultParameter"] = [
        {"Key": "TransactionAmount", "Value": 50}
    ]
    with pytest.raises(BadCallback) as caught:
        parse_b2c_result(body)
    assert caught.value.field == "TransactionReceipt"


def test_malformed_balance_line_is_refused():
    body = load("account_balance_result")
    body["Result"]["ResultParameters"]["ResultParameter"][0]["Value"] = "Working Account"
    with pytest.raises(BadCallback) as caught:
        parse_balance_result(body)
    assert caught.value.field == "AccountBalance"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0, "success"),
        ("0", "success"),
        *[(c, "failed") for c in (1, 2, 3, 4, 8, 11, 21, 2001, 2006, 2028, 2040, 8006)],
        ("SFC_IC0003", "failed"),
        (20, "failed"),
        (26, "failed"),
        (15, "unknown"),  # duplicate detected: maybe paid by the earlier request
        (17, "unknown"),  # internal failure: a status query decides
        (9999, "unknown"),
        ("SFC_XX", "unknown"),
    ],
)
def test_result_code_classification(code, status):
    assert classify_result_code(code) == status


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"phone_e164": "0712345678"}, "phone_e164"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": True}, "amount_minor"),
        ({"amount_minor": 50.0}, "amount_minor"),
        ({"currency": "kes"}, "currency"),
    ],
)
def test_payout_request_refuses_bad_values(kwargs, field):
    values = {
        "idempotency_key": "p-1",
        "phone_e164": "+254711000111",
        "amount_minor": 5000,
        "currency": "KES",
    }
    with pytest.raises(InvalidPayoutRequest) as caught:
        PayoutRequest(**(values | kwargs))
    assert caught.value.field == field
