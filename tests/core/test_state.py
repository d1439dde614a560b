"""State machines (mcp_sansio._state)."""

from __future__ import annotations

import itertools

import pytest

from mcp_sansio import INTERNAL_ERROR, ExchangeState, LocalProtocolError, ProtocolError, SessionState
from mcp_sansio._state import (
    EXCHANGE_TRANSITIONS,
    SESSION_TRANSITIONS,
    ExchangeEvent,
    SessionEvent,
    transition,
)


def test_enum_values() -> None:
    assert [s.value for s in SessionState] == ["initializing", "ready"]
    assert [e.value for e in SessionEvent] == ["initialized"]
    assert [s.value for s in ExchangeState] == ["pending", "streaming", "done"]
    assert [e.value for e in ExchangeEvent] == ["start_stream", "finish"]


def test_session_transitions() -> None:
    assert transition(SESSION_TRANSITIONS, SessionState.INITIALIZING, SessionEvent.INITIALIZED) is SessionState.READY
    # A repeated notifications/initialized is harmless.
    assert transition(SESSION_TRANSITIONS, SessionState.READY, SessionEvent.INITIALIZED) is SessionState.READY


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (ExchangeState.PENDING, ExchangeEvent.START_STREAM, ExchangeState.STREAMING),
        (ExchangeState.PENDING, ExchangeEvent.FINISH, ExchangeState.DONE),
        (ExchangeState.STREAMING, ExchangeEvent.FINISH, ExchangeState.DONE),
    ],
)
def test_exchange_transitions(state: ExchangeState, event: ExchangeEvent, after: ExchangeState) -> None:
    assert transition(EXCHANGE_TRANSITIONS, state, event) is after


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (ExchangeState.STREAMING, ExchangeEvent.START_STREAM),
        (ExchangeState.DONE, ExchangeEvent.START_STREAM),
        (ExchangeState.DONE, ExchangeEvent.FINISH),
    ],
)
def test_illegal_exchange_transitions(state: ExchangeState, event: ExchangeEvent) -> None:
    with pytest.raises(LocalProtocolError) as info:
        transition(EXCHANGE_TRANSITIONS, state, event)
    err = info.value
    assert err.message == f"{event.value} is not allowed in state {state.value}"
    assert str(err) == err.message
    assert err.error_status_hint == 500
    assert err.code == INTERNAL_ERROR == -32603
    assert err.data is None
    assert isinstance(err, ProtocolError)


def test_exchange_table_is_exactly_the_legal_moves() -> None:
    legal = {(s, e) for s, e in itertools.product(ExchangeState, ExchangeEvent) if (s, e) in EXCHANGE_TRANSITIONS}
    assert legal == {
        (ExchangeState.PENDING, ExchangeEvent.START_STREAM),
        (ExchangeState.PENDING, ExchangeEvent.FINISH),
        (ExchangeState.STREAMING, ExchangeEvent.FINISH),
    }
    # DONE is terminal.
    assert all((ExchangeState.DONE, e) not in EXCHANGE_TRANSITIONS for e in ExchangeEvent)


def test_transition_with_the_wrong_table_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match=r"^initialized is not allowed in state pending$"):
        transition(EXCHANGE_TRANSITIONS, ExchangeState.PENDING, SessionEvent.INITIALIZED)  # type: ignore[arg-type]
