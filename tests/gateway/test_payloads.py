from __future__ import annotations

import pytest

from tests.gateway.payloads import FIXTURES, REFERENCE, form_pairs


def test_fixture_copies_match_reference() -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"shared reference folder not present at {REFERENCE}")
    copied = sorted(p.name for p in FIXTURES.iterdir())
    assert copied, "no fixtures copied"
    for name in copied:
        assert (FIXTURES / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def test_form_loader_splits_on_first_equals_and_keeps_empty_values() -> None:
    pairs = dict(form_pairs("at_ussd_end_notification_failed.form"))
    assert pairs["serviceCode"] == "*384*1234#"
    assert pairs["input"] == ""
    assert pairs["errorMessage"] == "Error while contacting the application: read timed out"
    assert dict(form_pairs("at_ussd_first_dial.form"))["text"] == ""
