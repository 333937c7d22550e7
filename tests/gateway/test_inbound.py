from __future__ import annotations

import dataclasses

import pytest

from gateway.inbound import InboundSms, new_ussd_input


@pytest.mark.parametrize(
    ("full", "seen", "expected"),
    [
        ("", None, ""),  # first hop
        ("", "", ""),
        ("1", None, "1"),
        ("1", "", "1"),
        ("5", None, "5"),  # extra segment dialled: *384*12*5#
        ("1*42", "1", "42"),
        ("1*42*2", "1*42", "2"),
        ("1*5*3", "1", "5*3"),  # a free-text answer containing "*" survives
        ("1*a#b", "1", "a#b"),
        ("1*", "1", ""),  # empty input sent
        ("1*42", "1*42", ""),  # the same hop again (provider retry)
        ("1*Habari 😀", "1", "Habari 😀"),
        # Seen text is not a prefix (lost hop, lost session store): fall back to
        # AT's convention, the last "*" segment.
        ("2*7*9", "1*4", "9"),
        ("12", "1", "12"),  # "1" is a string prefix but not an input prefix
    ],
)
def test_new_ussd_input(full: str, seen: str | None, expected: str) -> None:
    assert new_ussd_input(full, seen) == expected


def test_values_are_frozen_and_raw_is_not_compared() -> None:
    a = InboundSms("at", "1", "+254711000111", "40404", "hi", None, raw={"x": "1"})
    b = dataclasses.replace(a, raw={"x": "2"})
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.text = "changed"  # type: ignore[misc]  # frozen on purpose: the test proves it
