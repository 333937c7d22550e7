from __future__ import annotations

import pytest

from gateway.delivery import FINAL, INITIAL, TRANSITIONS, DeliveryStatus, advance, is_final
from gateway.errors import IllegalTransition

S = DeliveryStatus


def test_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(DeliveryStatus)


def test_every_state_is_reachable_from_an_initial_state() -> None:
    seen = set(INITIAL)
    frontier = list(INITIAL)
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(DeliveryStatus)


def test_every_non_final_state_has_an_exit_and_finals_have_none() -> None:
    for status in DeliveryStatus:
        assert bool(TRANSITIONS[status]) != is_final(status), status


def test_every_non_final_state_can_reach_a_final_state() -> None:
    for start in set(DeliveryStatus) - FINAL:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()] - seen:
                seen.add(nxt)
                frontier.append(nxt)
        assert seen & FINAL, start


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        (S.QUEUED, S.ACCEPTED, S.ACCEPTED),
        (S.ACCEPTED, S.SENT, S.SENT),
        (S.SENT, S.DELIVERED, S.DELIVERED),
        (S.SENT, S.UNDELIVERED, S.UNDELIVERED),
        (S.QUEUED, S.ERRORED, S.ERRORED),
        (S.ERRORED, S.QUEUED, S.QUEUED),  # the retry
        (S.ERRORED, S.FAILED, S.FAILED),  # retries exhausted
        (S.QUEUED, S.DELIVERED, S.DELIVERED),  # report overtook the send response
        (S.QUEUED, S.SENDING, S.SENDING),  # the send job's claim
        (S.ERRORED, S.SENDING, S.SENDING),  # the retry's claim
        (S.SENDING, S.ACCEPTED, S.ACCEPTED),
        (S.SENDING, S.ERRORED, S.ERRORED),
        (S.SENDING, S.DELIVERED, S.DELIVERED),  # a report while the job still records
        (S.ACCEPTED, S.SENDING, S.ACCEPTED),  # never claimed again once the provider has it
        (S.DELIVERED, S.SENDING, S.DELIVERED),
        # Stale and duplicate reports: deliberate no-ops.
        (S.DELIVERED, S.SENT, S.DELIVERED),
        (S.SENT, S.ACCEPTED, S.SENT),
        (S.ACCEPTED, S.QUEUED, S.ACCEPTED),
        (S.ACCEPTED, S.ERRORED, S.ACCEPTED),
        (S.SENT, S.SENT, S.SENT),
        (S.DELIVERED, S.FAILED, S.DELIVERED),  # first verdict stands
        (S.UNDELIVERED, S.DELIVERED, S.UNDELIVERED),
        (S.RECEIVED, S.RECEIVED, S.RECEIVED),
    ],
)
def test_advance(current: S, reported: S, expected: S) -> None:
    assert advance(current, reported) is expected


@pytest.mark.parametrize(
    ("current", "reported"),
    [(S.QUEUED, S.RECEIVED), (S.DELIVERED, S.RECEIVED), (S.RECEIVED, S.DELIVERED)],
)
def test_mixing_inbound_and_outbound_raises(current: S, reported: S) -> None:
    with pytest.raises(IllegalTransition):
        advance(current, reported)


def test_final_states_never_move_and_nothing_moves_backwards() -> None:
    order = [S.QUEUED, S.ACCEPTED, S.SENT]
    for current in DeliveryStatus:
        for reported in DeliveryStatus:
            try:
                result = advance(current, reported)
            except IllegalTransition:
                assert S.RECEIVED in (current, reported)
                continue
            if is_final(current):
                assert result is current
            if current in order and result in order:
                assert order.index(result) >= order.index(current)


def test_stored_strings_are_accepted_and_unknown_values_refused() -> None:
    assert advance("sent", "delivered") is S.DELIVERED
    with pytest.raises(ValueError):
        advance(S.SENT, "teleported")
