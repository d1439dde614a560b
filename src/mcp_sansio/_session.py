"""The session record: everything the server remembers about one handshake session.

Records are immutable values; a change is a new record saved through the store,
so the same code serves an in-memory store and a shared one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final

from ._fastinit import fast_init
from ._state import SESSION_TRANSITIONS, SessionEvent, SessionState, transition

__all__ = ["SessionRecord", "LOG_LEVELS", "STANDALONE_STREAM"]

# RFC 5424 severities, least severe first (logging/setLevel).
LOG_LEVELS: Final = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
# The key of a session's standalone (GET) stream; POST streams get random keys.
STANDALONE_STREAM: Final = "0"


@fast_init
@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One handshake session.

    Attributes:
        id: The ``Mcp-Session-Id`` value.
        protocol_version: The version negotiated by ``initialize``.
        state: Where the session is in its lifecycle.
        client_info: The client's ``clientInfo``.
        client_capabilities: The client's ``capabilities``.
        log_level: The minimum level set by ``logging/setLevel``, or None (send all).
        subscriptions: Resource URIs the client subscribed to.
        created_at: When the session was created (injected clock).
        last_seen: When the session last served a request (injected clock).
        principal: The :attr:`~mcp_sansio.Principal.key` of whoever created it, with
            authorization on: only that principal can use the session.
    """

    id: str
    protocol_version: str
    state: SessionState = SessionState.INITIALIZING
    client_info: dict[str, Any] = field(default_factory=dict)
    client_capabilities: dict[str, Any] = field(default_factory=dict)
    log_level: str | None = None
    subscriptions: frozenset[str] = frozenset()
    created_at: float = 0.0
    last_seen: float = 0.0
    principal: str | None = None

    def initialized(self) -> SessionRecord:
        """The record after ``notifications/initialized``."""
        return replace(self, state=transition(SESSION_TRANSITIONS, self.state, SessionEvent.INITIALIZED))
