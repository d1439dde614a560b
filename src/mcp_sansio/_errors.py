"""Protocol errors, each carrying the HTTP status and JSON-RPC code to answer with."""

from __future__ import annotations

from typing import Final

__all__ = [
    "PARSE_ERROR",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "INVALID_PARAMS",
    "INTERNAL_ERROR",
    "RESOURCE_NOT_FOUND",
    "SESSION_NOT_FOUND",
    "HEADER_MISMATCH",
    "MISSING_CAPABILITY",
    "UNSUPPORTED_VERSION",
    "REQUEST_CANCELLED",
    "ProtocolError",
    "RemoteProtocolError",
    "LocalProtocolError",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
# MCP-specific codes. Handshake revisions: an unknown or ended session; a missing resource.
SESSION_NOT_FOUND: Final = -32001
RESOURCE_NOT_FOUND: Final = -32002
# 2026-07-28: a routing header that disagrees with the body; an undeclared client capability;
# an unsupported protocol version.
HEADER_MISMATCH: Final = -32020
MISSING_CAPABILITY: Final = -32021
UNSUPPORTED_VERSION: Final = -32022
# Used on the wire when a request is answered after the client cancelled it; never sent by us.
REQUEST_CANCELLED: Final = -32800


class ProtocolError(Exception):
    """Base class of the errors the core raises for a request it refuses.

    Attributes:
        message: What was wrong, in words a client developer can act on.
        error_status_hint: The HTTP status to answer with.
        code: The JSON-RPC error code to put in the error body, or None for
            a bare HTTP answer (no JSON-RPC body applies, e.g. 405).
        data: Optional JSON-RPC ``error.data``.
    """

    def __init__(
        self,
        message: str,
        *,
        error_status_hint: int = 400,
        code: int | None = INVALID_REQUEST,
        data: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_status_hint = error_status_hint
        self.code = code
        self.data = data


class RemoteProtocolError(ProtocolError):
    """The peer (the MCP client) sent something the protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """The embedding code used the core's API in a way it does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_status_hint=500, code=INTERNAL_ERROR)
