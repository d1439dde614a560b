"""Who a request comes from: a handshake session, or a stateless (2026-07-28) client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._auth import Principal
from ._fastinit import fast_init
from ._session import LOG_LEVELS, SessionRecord

__all__ = ["Peer"]


@fast_init
@dataclass(frozen=True, slots=True)
class Peer:
    """The client behind one exchange, whatever the era.

    Attributes:
        session_id: The handshake session's id; None for a stateless request.
        protocol_version: The revision the request is served under.
        capabilities: The client's declared capabilities.
        log_level: The minimum level of ``notifications/message`` to send; None means
            every level for a handshake session and none at all for a stateless request.
        stateless: Whether the request is served under the stateless revision.
        server_info: ``serverInfo``, echoed in every stateless result's ``_meta``.
        principal: Who sent the request, with authorization on; None with it off.
    """

    session_id: str | None
    protocol_version: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    log_level: str | None = None
    stateless: bool = False
    server_info: dict[str, Any] = field(default_factory=dict)
    principal: Principal | None = None

    @classmethod
    def of_session(cls, record: SessionRecord, principal: Principal | None = None) -> Peer:
        """The peer of a handshake session (``principal``: who sent this request)."""
        return cls(
            record.id, record.protocol_version, record.client_capabilities, record.log_level, principal=principal
        )

    def wants_log(self, level: str) -> bool:
        """Whether a ``notifications/message`` at ``level`` may be sent."""
        if self.log_level is None:
            return not self.stateless
        return LOG_LEVELS.index(level) >= LOG_LEVELS.index(self.log_level)

    def has_capability(self, name: str) -> bool:
        """Whether the client declared capability ``name``."""
        return isinstance(self.capabilities.get(name), dict)
