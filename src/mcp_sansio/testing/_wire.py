"""What a conforming client puts on the wire, and how to read what comes back.

Requests: the headers every POST carries, the session headers of the handshake
revisions, the ``_meta`` and routing headers of the stateless revision
(``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name``, ``Mcp-Param-*``).
Answers: SSE frames split into id, retry and data, and JSON-RPC messages told apart.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from mcp_sansio import STATELESS_VERSIONS, Config

__all__ = [
    "Header",
    "STATELESS",
    "META_VERSION",
    "META_CAPABILITIES",
    "META_LOG_LEVEL",
    "NAME_FIELDS",
    "ACCEPT_BOTH",
    "dumps",
    "client_host",
    "post_headers",
    "session_headers",
    "stateless_meta",
    "routing_headers",
    "param_headers",
    "header_value",
    "SseEvent",
    "parse_sse",
    "kind_of",
]

Header = tuple[str, str]
STATELESS: Final = STATELESS_VERSIONS[0]
META_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
# The body field each method's Mcp-Name header mirrors (2026-07-28).
NAME_FIELDS: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
ACCEPT_BOTH: Final = "application/json, text/event-stream"
_PLAIN: Final = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def dumps(value: Any) -> bytes:
    """Compact JSON, as a client sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def client_host(config: Config) -> str:
    """A Host header value ``config`` accepts (loopback unless only other hosts are allowed)."""
    if config.allowed_hosts and not config.validate_loopback:
        return sorted(config.allowed_hosts)[0]
    return "127.0.0.1:8000"


def post_headers(config: Config) -> list[Header]:
    """The headers of every well-formed POST: Host, Accept (both types) and Content-Type."""
    return [("host", client_host(config)), ("accept", ACCEPT_BOTH), ("content-type", "application/json")]


def session_headers(session_id: str, version: str) -> list[Header]:
    """``Mcp-Session-Id``, and ``MCP-Protocol-Version`` from 2025-06-18 on."""
    headers = [("mcp-session-id", session_id)]
    if version >= "2025-06-18":
        headers.append(("mcp-protocol-version", version))
    return headers


def stateless_meta(capabilities: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The ``_meta`` every stateless request carries, plus ``extra`` keys."""
    return {META_VERSION: STATELESS, META_CAPABILITIES: capabilities, **extra}


def header_value(value: str) -> str:
    """A routing header value: plain when it is visible ASCII without edge blanks, else Base64."""
    if value == "" or (_PLAIN.fullmatch(value) and not (value.startswith("=?base64?") and value.endswith("?="))):
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


def routing_headers(body: dict[str, Any]) -> list[Header]:
    """``MCP-Protocol-Version``, ``Mcp-Method`` and (where the method has one) ``Mcp-Name``."""
    headers = [("mcp-protocol-version", STATELESS), ("mcp-method", header_value(str(body.get("method"))))]
    field = NAME_FIELDS.get(str(body.get("method")))
    params = body.get("params")
    if field is not None and isinstance(params, dict) and isinstance(params.get(field), str):
        headers.append(("mcp-name", header_value(params[field])))
    return headers


def _mirrored(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        header = prop.get("x-mcp-header")
        if isinstance(header, str):
            found.append((header, (*path, name)))
        found += _mirrored(prop, (*path, name))
    return found


def param_headers(schema: dict[str, Any], arguments: Any) -> list[Header]:
    """The ``Mcp-Param-*`` headers mirroring ``arguments`` (properties marked ``x-mcp-header``)."""
    headers = []
    for header, path in _mirrored(schema):
        value: Any = arguments
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        headers.append((f"mcp-param-{header.lower()}", header_value(text)))
    return headers


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One Server-Sent Event, as a client reads it.

    Attributes:
        id: The ``id:`` field, or None.
        retry: The ``retry:`` field in milliseconds, or None.
        data: The ``data:`` lines joined with newlines.
    """

    id: str | None
    retry: int | None
    data: str


def parse_sse(frame: bytes) -> SseEvent:
    """Read one framed event.

    Raises:
        ValueError: the frame is not one well-formed ``message`` event.
    """
    text = frame.decode("utf-8")
    if not text.endswith("\n\n") or "\n\n" in text[:-2]:
        raise ValueError("an SSE event must be exactly one block of lines ending with a blank line")
    event_id: str | None = None
    retry: int | None = None
    data: list[str] = []
    for line in text[:-2].split("\n"):
        name, _, value = line.partition(": ")
        if name == "id":
            event_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
        elif name == "data":
            data.append(value)
        elif line not in ("event: message", "data:"):
            raise ValueError(f"unexpected SSE line {line!r}")
    return SseEvent(event_id, retry, "\n".join(data))


def kind_of(message: Any) -> str:
    """``request``, ``notification``, ``response`` or ``invalid``: what a JSON-RPC message is."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return "invalid"
    if isinstance(message.get("method"), str):
        return "request" if "id" in message else "notification"
    if "id" in message and (isinstance(message.get("result"), dict) or isinstance(message.get("error"), dict)):
        return "response"
    return "invalid"
