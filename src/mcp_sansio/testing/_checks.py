"""Well-formedness of what a server sends: statuses, error codes, bodies, SSE frames.

These checks hold for any request, even garbage: every answer is a status the
transport specification uses, a refusal carries a JSON-RPC error whose code fits its
status, a JSON body parses, a 202 is empty, a 405 says what is allowed, and every
SSE event is one ``message`` event carrying one JSON-RPC message.
"""

from __future__ import annotations

import json
from typing import Any, Final

from mcp_sansio import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CAPABILITY,
    PARSE_ERROR,
    SESSION_NOT_FOUND,
    UNSUPPORTED_VERSION,
    SendResponse,
)

from ._wire import kind_of, parse_sse

__all__ = ["STATUS_CODES", "response_problem", "json_body", "event_problem", "header"]

_CLIENT_ERROR = frozenset({INVALID_REQUEST})
# The statuses a Streamable HTTP server answers with, and the JSON-RPC error codes that go with each.
STATUS_CODES: Final[dict[int, frozenset[int]]] = {
    400: frozenset(
        {PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, HEADER_MISMATCH, MISSING_CAPABILITY, UNSUPPORTED_VERSION}
    ),
    403: _CLIENT_ERROR,
    404: frozenset({SESSION_NOT_FOUND, METHOD_NOT_FOUND}),
    405: _CLIENT_ERROR,
    406: _CLIENT_ERROR,
    409: _CLIENT_ERROR,
    410: _CLIENT_ERROR,
    413: _CLIENT_ERROR,
    415: _CLIENT_ERROR,
    421: _CLIENT_ERROR,
    429: _CLIENT_ERROR,
    431: _CLIENT_ERROR,
    503: frozenset({INTERNAL_ERROR}),
}


def header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The value of header ``name`` (names compared case-insensitively), or None."""
    return next((value for key, value in headers if key.lower() == name), None)


def json_body(response: SendResponse) -> Any:
    """The parsed JSON body of ``response`` (None when it has none)."""
    return json.loads(response.body) if response.body else None


def _error_problem(status: int, body: Any) -> str | None:
    if kind_of(body) != "response" or not isinstance(body.get("error"), dict):
        return f"a {status} must carry a JSON-RPC error, got {body!r:.120}"
    error = body["error"]
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not isinstance(error.get("message"), str):
        return f"a JSON-RPC error needs an integer code and a string message, got {error!r:.120}"
    if code not in STATUS_CODES[status]:
        allowed = ", ".join(str(c) for c in sorted(STATUS_CODES[status]))
        return f"HTTP {status} with JSON-RPC error {code}: the specification pairs {status} with {allowed}"
    return None


def response_problem(response: SendResponse) -> str | None:
    """Why ``response`` is not a well-formed answer of a Streamable HTTP server, or None."""
    status, headers = response.status, response.headers
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers):
        return "header names and values must be strings"
    if status not in (200, 202) and status not in STATUS_CODES:
        return f"HTTP {status} is not a status this transport answers with"
    if status == 202:
        return "a 202 must have an empty body" if response.body else None
    if status == 405 and header(headers, "allow") is None:
        return "a 405 must say which methods are allowed (Allow header)"
    if not response.body:
        return None
    if (header(headers, "content-type") or "").split(";")[0].strip() != "application/json":
        return f"a body needs Content-Type application/json, got {header(headers, 'content-type')!r}"
    try:
        body = json_body(response)
    except ValueError as exc:
        return f"the body is not JSON: {exc}"
    if status != 200:
        return _error_problem(status, body)
    messages = body if isinstance(body, list) else [body]
    if not messages or any(kind_of(m) != "response" for m in messages):
        return f"a 200 must carry JSON-RPC responses, got {body!r:.120}"
    return None


def event_problem(frame: bytes, expected_id: str | None) -> tuple[str | None, Any]:
    """Why an SSE frame is malformed (or None), and the JSON-RPC message it carries."""
    try:
        event = parse_sse(frame)
    except ValueError as exc:
        return f"malformed SSE event: {exc}", None
    if event.id != expected_id:
        return f"SSE event id {event.id!r} where {expected_id!r} was due", None
    try:
        message = json.loads(event.data)
    except ValueError:
        return f"SSE event data is not JSON: {event.data!r:.80}", None
    if kind_of(message) == "invalid":
        return f"SSE event data is not a JSON-RPC message: {message!r:.80}", None
    return None, message
