"""The stateless revision (2026-07-28): telling eras apart, request validation, result envelopes.

A dual-era server picks the era per request: a body whose ``params._meta``
carries a protocol version, or an ``MCP-Protocol-Version`` header that names no
handshake revision, is stateless; everything else (``initialize``, a session id, a
handshake header, no header) is handshake. Stateless requests are validated in the
order the specification's error codes imply: required ``_meta`` (-32602),
header and body versions equal (-32020), version supported (-32022), routing
headers equal to the body (-32020).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ._errors import HEADER_MISMATCH, INVALID_PARAMS, UNSUPPORTED_VERSION, RemoteProtocolError
from ._http import Headers
from ._session import LOG_LEVELS
from ._versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS

__all__ = [
    "META_VERSION",
    "META_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION",
    "REMOVED_METHODS",
    "CACHEABLE_METHODS",
    "StatelessMeta",
    "is_stateless",
    "validate_request",
    "supported_versions",
]

META_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION: Final = "io.modelcontextprotocol/subscriptionId"
# Handshake methods that do not exist in the stateless revision: 404 / -32601 there.
REMOVED_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "notifications/initialized",
        "notifications/roots/list_changed",
        "notifications/elicitation/complete",
        "tasks/list",
        "tasks/result",
    }
)
CACHEABLE_METHODS: Final = frozenset(
    {"server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)
_NAME_HEADER_METHODS: Final = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    # SEP-2663: the task methods route by task id.
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_BASE64_VALUE: Final = re.compile(r"=\?base64\?(.*)\?=", re.DOTALL)
_PLAIN_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")


def supported_versions() -> list[str]:
    """Every revision this dual-era server speaks, newest first (discover and -32022 agree)."""
    return [*reversed(STATELESS_VERSIONS), *reversed(HANDSHAKE_VERSIONS)]


@dataclass(frozen=True, slots=True)
class StatelessMeta:
    """What a stateless request says about its client."""

    protocol_version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None
    log_level: str | None

    def has_capability(self, name: str) -> bool:
        """Whether the client declared capability ``name``."""
        return isinstance(self.capabilities.get(name), dict)


def _meta_of(body: object) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    params = body.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta if isinstance(meta, dict) else None


def is_stateless(headers: Headers, body: object) -> bool:
    """Whether a POST is served under the stateless revision (see the module docstring)."""
    meta = _meta_of(body)
    if meta is not None and META_VERSION in meta:
        return True
    version = headers.get("mcp-protocol-version")
    return version is not None and version not in HANDSHAKE_VERSIONS


def _mismatch(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"Header mismatch: {message}", code=HEADER_MISMATCH)


def decode_header_value(raw: str) -> str:
    """A routing header's value: trimmed, with ``=?base64?...?=`` decoded strictly.

    Raises:
        RemoteProtocolError: -32020 for invalid characters or invalid Base64.
    """
    value = raw.strip(" \t")
    if not _PLAIN_VALUE.fullmatch(value):
        raise _mismatch("header value contains characters outside visible ASCII, space and tab")
    encoded = _BASE64_VALUE.fullmatch(value)
    if encoded is None:
        return value
    try:
        return base64.b64decode(encoded.group(1), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _mismatch(f"header value {value!r} is not valid Base64") from None


def validate_request(headers: Headers, body: dict[str, Any]) -> StatelessMeta:
    """Check a stateless request's ``_meta`` and routing headers against its body.

    Raises:
        RemoteProtocolError: -32602, -32020 or -32022 (HTTP 400), in that order of precedence.
    """
    header_version = headers.get("mcp-protocol-version")
    meta = _meta_of(body)
    if meta is None or META_VERSION not in meta or META_CAPABILITIES not in meta:
        missing = [k for k in (META_VERSION, META_CAPABILITIES) if meta is None or k not in meta]
        raise RemoteProtocolError(f"Invalid params: _meta must carry {', '.join(missing)}", code=INVALID_PARAMS)
    version, capabilities = meta[META_VERSION], meta[META_CAPABILITIES]
    if not isinstance(version, str) or not isinstance(capabilities, dict):
        raise RemoteProtocolError(
            "Invalid params: _meta protocolVersion must be a string and clientCapabilities an object",
            code=INVALID_PARAMS,
        )
    if header_version is None:
        raise _mismatch("the MCP-Protocol-Version header is required")
    if header_version != version:
        raise _mismatch(f"MCP-Protocol-Version {header_version!r} does not match _meta protocolVersion {version!r}")
    if version not in STATELESS_VERSIONS:
        raise RemoteProtocolError(
            "Unsupported protocol version",
            code=UNSUPPORTED_VERSION,
            data={"supported": supported_versions(), "requested": version},
        )
    _check_routing(headers, body)
    level = meta.get(META_LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise RemoteProtocolError(f"Invalid params: unknown logLevel {level!r}", code=INVALID_PARAMS)
    info = meta.get(META_CLIENT_INFO)
    return StatelessMeta(version, capabilities, info if isinstance(info, dict) else None, level)


def _check_routing(headers: Headers, body: dict[str, Any]) -> None:
    method = body.get("method")
    header_method = headers.get("mcp-method")
    if header_method is None:
        raise _mismatch("the Mcp-Method header is required")
    if decode_header_value(header_method) != method:
        raise _mismatch(f"Mcp-Method header value {header_method!r} does not match body method {method!r}")
    field_name = _NAME_HEADER_METHODS.get(str(method))
    if field_name is None:
        return
    params = body.get("params") or {}
    expected = params.get(field_name)
    if field_name == "taskId" and not isinstance(expected, str):
        return  # nothing to route by: dispatch answers (-32601 where tasks are not offered, else -32602)
    header_name = headers.get("mcp-name")
    if header_name is None:
        raise _mismatch(f"the Mcp-Name header is required for {method}")
    if decode_header_value(header_name) != expected:
        raise _mismatch(f"Mcp-Name header value {header_name!r} does not match body {field_name} {expected!r}")


def _header_paths(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...], str]]:
    """(header name, property path, type) for every ``x-mcp-header`` property reachable via ``properties``."""
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        header = prop.get("x-mcp-header")
        if isinstance(header, str):
            found.append((header, (*path, name), str(prop.get("type", "string"))))
        found += _header_paths(prop, (*path, name))
    return found


def check_param_headers(headers: Headers, input_schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Validate ``Mcp-Param-*`` headers against the tool arguments they mirror.

    Raises:
        RemoteProtocolError: -32020 when a mirrored value is missing, malformed or different.
    """
    for header, path, kind in _header_paths(input_schema):
        value: Any = arguments
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        raw = headers.get(f"mcp-param-{header.lower()}")
        if value is None:
            continue
        if raw is None:
            raise _mismatch(f"the Mcp-Param-{header} header is required when {'.'.join(path)} is given")
        decoded = decode_header_value(raw)
        if not _same_value(decoded, value, kind):
            raise _mismatch(f"Mcp-Param-{header} header value {raw!r} does not match argument {'.'.join(path)}")


_NUMBER: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _same_value(header: str, value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return header == ("true" if value else "false")
    if isinstance(value, (int, float)) and kind in ("integer", "number"):
        # Numerically (42.0 equals 42) and exactly: Decimal neither rounds big integers nor overflows.
        if not _NUMBER.fullmatch(header):
            return False
        try:
            return Decimal(header) == Decimal(value)
        except InvalidOperation:
            return False
    return header == str(value)
