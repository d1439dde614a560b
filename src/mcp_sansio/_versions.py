"""Protocol revisions this core serves, and version negotiation."""

from __future__ import annotations

from typing import Final

__all__ = [
    "STATELESS_VERSIONS",
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE_VERSION",
    "DEFAULT_HEADERLESS_VERSION",
    "negotiate",
    "has_batches",
    "has_priming",
    "has_protocol_header",
    "has_session_tasks",
]

# Stateless revisions: version, identity and capabilities travel on every request.
STATELESS_VERSIONS: Final = ("2026-07-28",)
# Oldest first. All of these use the initialize handshake and sessions.
HANDSHAKE_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_HANDSHAKE_VERSION: Final = HANDSHAKE_VERSIONS[-1]
# The transport spec: a request without MCP-Protocol-Version is taken as 2025-03-26.
DEFAULT_HEADERLESS_VERSION: Final = "2025-03-26"


def negotiate(requested: object) -> str:
    """The version to answer ``initialize`` with: the client's if we serve it, else our newest."""
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return LATEST_HANDSHAKE_VERSION


def has_batches(version: str) -> bool:
    """JSON-RPC batches were allowed only in 2025-03-26."""
    return version == "2025-03-26"


def has_priming(version: str) -> bool:
    """2025-11-25 introduced priming events and server-closed, resumable streams (SEP-1699)."""
    return version >= "2025-11-25"


def has_protocol_header(version: str) -> bool:
    """Clients send MCP-Protocol-Version from 2025-06-18 on."""
    return version >= "2025-06-18"


def has_session_tasks(version: str) -> bool:
    """2025-11-25 brought (experimental) tasks to sessions: ``params.task``, ``tasks/get|result|list|cancel``.

    2026-07-28 dropped them from the core protocol (they live on as the tasks extension).
    """
    return version == "2025-11-25"
