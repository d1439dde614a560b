"""State enums and their transition tables.

Theory of operation
-------------------
Two state machines carry the protocol's lifecycle rules:

* A **session** (handshake revisions only) starts ``INITIALIZING`` when the
  server answers ``initialize``, becomes ``READY`` on
  ``notifications/initialized``, and ends when the client sends DELETE or the
  session idles out (its record is then simply gone: an unknown session id and
  an ended one get the same 404).
* An **exchange** is the response to one POST that carried requests. It is
  ``PENDING`` until the core knows whether to answer with JSON (the handlers
  finished without sending anything else) or with an SSE stream (a handler
  streams, notifies or asks the client something); ``STREAMING`` once the SSE
  headers have gone out; ``DONE`` once every request in it has its response.

Every change of state goes through :func:`transition`, so an illegal one is a
:class:`LocalProtocolError` rather than a silently corrupt stream.
"""

from __future__ import annotations

import enum
from typing import Final, TypeVar

from ._errors import LocalProtocolError

__all__ = ["SessionState", "SessionEvent", "ExchangeState", "ExchangeEvent", "transition"]


class _FastEnum(enum.Enum):
    # Members are singletons compared by identity, so identity hashing is exact; Enum's own
    # __hash__ is Python code, and transition() hashes two members per state change.
    __hash__ = object.__hash__


class SessionState(_FastEnum):
    """Where a handshake session is in its lifecycle."""

    INITIALIZING = "initializing"
    READY = "ready"


class SessionEvent(_FastEnum):
    """What can happen to a session."""

    INITIALIZED = "initialized"


class ExchangeState(_FastEnum):
    """Where the response to one POST is."""

    PENDING = "pending"
    STREAMING = "streaming"
    DONE = "done"


class ExchangeEvent(_FastEnum):
    """What can happen to a POST's response."""

    START_STREAM = "start_stream"
    FINISH = "finish"


SESSION_TRANSITIONS: Final = {
    (SessionState.INITIALIZING, SessionEvent.INITIALIZED): SessionState.READY,
    # A repeated notifications/initialized is harmless; stay READY.
    (SessionState.READY, SessionEvent.INITIALIZED): SessionState.READY,
}

EXCHANGE_TRANSITIONS: Final = {
    (ExchangeState.PENDING, ExchangeEvent.START_STREAM): ExchangeState.STREAMING,
    (ExchangeState.PENDING, ExchangeEvent.FINISH): ExchangeState.DONE,
    (ExchangeState.STREAMING, ExchangeEvent.FINISH): ExchangeState.DONE,
}

S = TypeVar("S", bound=enum.Enum)
E = TypeVar("E", bound=enum.Enum)


def transition(table: dict[tuple[S, E], S], state: S, event: E) -> S:
    """The state after ``event`` in ``state``, per ``table``.

    Raises:
        LocalProtocolError: ``event`` is not allowed in ``state``.
    """
    try:
        return table[(state, event)]
    except KeyError:
        raise LocalProtocolError(f"{event.value} is not allowed in state {state.value}") from None
