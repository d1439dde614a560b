"""Requests wrong in exactly one way, and the status and error code the specification gives each.

Each mutation starts from a request the server would serve (a ``ping`` in a live
session, a ``server/discover`` in 2026-07-28, a GET or a DELETE of a live session)
and breaks one rule, so the answer is determined: 405 for a method the endpoint does
not serve, 406 for an Accept that leaves out a type, 415 for a Content-Type other
than JSON, 403/421 for a foreign Origin/Host (when the configuration checks them),
404 for an unknown session, 400 with -32700, -32600, -32602, -32020 or -32022 for
bodies and stateless headers, 413/431 for the limits. Nothing in them changes state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mcp_sansio import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    SESSION_NOT_FOUND,
    UNSUPPORTED_VERSION,
    Config,
)

from ._wire import Header, dumps

__all__ = ["Mutation", "mutations"]

Parts = tuple[str, list[Header], bytes]


@dataclass(frozen=True, slots=True)
class Mutation:
    """One way to break a well-formed request, and what the server must answer.

    Attributes:
        name: What is wrong, in words.
        target: What it breaks: ``post`` (in a session), ``stateless``, ``get`` or ``delete``.
        status: The HTTP status the server must answer with.
        codes: The JSON-RPC error codes its body may carry (empty: any, or no body).
        apply: Turns (method, headers, body) into the broken request.
    """

    name: str
    target: str
    status: int
    codes: frozenset[int]
    apply: Callable[[Parts], Parts]

    def __repr__(self) -> str:
        return f"Mutation({self.name!r})"


def _set(name: str, value: str | None) -> Callable[[Parts], Parts]:
    def apply(parts: Parts) -> Parts:
        method, headers, body = parts
        kept = [(k, v) for k, v in headers if k != name]
        return method, kept if value is None else [*kept, (name, value)], body

    return apply


def _add(name: str, value: str) -> Callable[[Parts], Parts]:
    return lambda parts: (parts[0], [*parts[1], (name, value)], parts[2])


def _body(body: bytes) -> Callable[[Parts], Parts]:
    return lambda parts: (parts[0], parts[1], body)


def _method(method: str) -> Callable[[Parts], Parts]:
    return lambda parts: (method, parts[1], b"")


def _meta(change: Callable[[dict[str, Any]], None]) -> Callable[[Parts], Parts]:
    def apply(parts: Parts) -> Parts:
        body = json.loads(parts[2])
        change(body["params"])
        return parts[0], parts[1], dumps(body)

    return apply


def _future_version(parts: Parts) -> Parts:
    method, headers, body = _set("mcp-protocol-version", "2099-01-01")(parts)
    value = json.loads(body)
    value["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01"
    return method, headers, dumps(value)


def _mcp(*codes: int) -> frozenset[int]:
    return frozenset(codes)


_BAD: Final = _mcp(INVALID_REQUEST)


def _common(config: Config, target: str) -> list[Mutation]:
    """Head rules every POST shares, whatever the era."""
    out: list[tuple[str, int, frozenset[int], Callable[[Parts], Parts]]] = [
        ("PUT instead of POST", 405, _BAD, _method("PUT")),
        ("Accept without text/event-stream", 406, _BAD, _set("accept", "application/json")),
        ("Accept without application/json", 406, _BAD, _set("accept", "text/event-stream")),
        ("Content-Type text/plain", 415, _BAD, _set("content-type", "text/plain")),
        ("a body that is not JSON", 400, _mcp(PARSE_ERROR), _body(b'{"jsonrpc": "2.0", ')),
        ("Content-Length beyond the body limit", 413, _BAD, _set("content-length", str(config.max_body_size + 1))),
    ]
    if config.max_body_size <= 1 << 20:
        out.append(("a body beyond the body limit", 413, _BAD, _body(b" " * (config.max_body_size + 1))))
    if config.max_header_count <= 256:
        many = lambda p: (p[0], p[1] + [(f"x-h{i}", "1") for i in range(config.max_header_count)], p[2])  # noqa: E731
        out.append(("more headers than the limit", 431, _BAD, many))
    if (config.validate_loopback or config.allowed_origins) and "http://evil.example" not in config.allowed_origins:
        out.append(("a foreign Origin", 403, _BAD, _set("origin", "http://evil.example")))
    if config.validate_loopback or config.allowed_hosts:
        if "evil.example" not in config.allowed_hosts:
            out.append(("a foreign Host", 421, _BAD, _set("host", "evil.example")))
        out.append(("no Host", 400, _BAD, _set("host", None)))
        out.append(("two Host headers", 400, _BAD, _add("host", "localhost")))
    return [Mutation(name, target, status, codes, apply) for name, status, codes, apply in out]


def mutations(config: Config) -> list[Mutation]:
    """Every mutation whose answer ``config`` determines."""
    return [
        *_common(config, "post"),
        *_common(config, "stateless"),
        Mutation("an unknown Mcp-Session-Id", "post", 404, _mcp(SESSION_NOT_FOUND), _set("mcp-session-id", "nope")),
        Mutation("no Mcp-Session-Id", "post", 400, _BAD, _set("mcp-session-id", None)),
        Mutation("two Mcp-Session-Id headers", "post", 400, _BAD, _add("mcp-session-id", "other")),
        Mutation(
            "MCP-Protocol-Version 2099-01-01",
            "post",
            400,
            _mcp(INVALID_PARAMS),
            _set("mcp-protocol-version", "2099-01-01"),
        ),
        Mutation("no _meta", "stateless", 400, _mcp(INVALID_PARAMS), _meta(lambda p: p.pop("_meta"))),
        Mutation(
            "MCP-Protocol-Version unlike _meta",
            "stateless",
            400,
            _mcp(HEADER_MISMATCH),
            _set("mcp-protocol-version", "2025-11-25"),
        ),
        Mutation(
            "no MCP-Protocol-Version", "stateless", 400, _mcp(HEADER_MISMATCH), _set("mcp-protocol-version", None)
        ),
        Mutation("no Mcp-Method", "stateless", 400, _mcp(HEADER_MISMATCH), _set("mcp-method", None)),
        Mutation("Mcp-Method unlike the body", "stateless", 400, _mcp(HEADER_MISMATCH), _set("mcp-method", "ping")),
        Mutation("protocol version 2099-01-01", "stateless", 400, _mcp(UNSUPPORTED_VERSION), _future_version),
        Mutation("a batch", "stateless", 400, _BAD, lambda p: (p[0], p[1], b"[" + p[2] + b"]")),
        Mutation("GET without a session", "stateless", 405, _BAD, _method("GET")),
        Mutation("DELETE without a session", "stateless", 405, _BAD, _method("DELETE")),
        Mutation("GET without text/event-stream", "get", 406, _BAD, _set("accept", "application/json")),
        Mutation(
            "GET with MCP-Protocol-Version 2099-01-01", "get", 400, _BAD, _set("mcp-protocol-version", "2099-01-01")
        ),
        Mutation("a malformed Last-Event-ID", "get", 400, _BAD, _set("last-event-id", "a b")),
        Mutation("a Last-Event-ID of no stream", "get", 400, _BAD, _set("last-event-id", "nostream-1")),
        Mutation("GET of an unknown session", "get", 404, _mcp(SESSION_NOT_FOUND), _set("mcp-session-id", "nope")),
        Mutation(
            "DELETE of an unknown session", "delete", 404, _mcp(SESSION_NOT_FOUND), _set("mcp-session-id", "nope")
        ),
        Mutation("DELETE without a session", "delete", 405, _BAD, _set("mcp-session-id", None)),
    ]
