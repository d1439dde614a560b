"""JSON-RPC 2.0 messages: strict parsing of request bodies and compact encoding.

Parsing never raises anything but :class:`RemoteProtocolError` (with code
-32700 for bytes that are not JSON, -32600 for JSON that is not a valid
JSON-RPC message), whatever the input.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

from ._errors import INVALID_REQUEST, PARSE_ERROR, RemoteProtocolError
from ._fastinit import fast_init
from ._json import encode_text, text_decoder

__all__ = [
    "RequestId",
    "Request",
    "Notification",
    "Response",
    "ErrorResponse",
    "Message",
    "parse_body",
    "parse_value",
    "loads",
    "parse_message",
    "dumps",
    "request_key",
]

RequestId = int | str
JSONObject = dict[str, Any]

_REQUEST_KEYS: Final = frozenset({"jsonrpc", "id", "method", "params"})
_NOTIFICATION_KEYS: Final = frozenset({"jsonrpc", "method", "params"})
_RESPONSE_KEYS: Final = frozenset({"jsonrpc", "id", "result"})
_ERROR_KEYS: Final = frozenset({"jsonrpc", "id", "error"})


@fast_init
@dataclass(frozen=True, slots=True)
class Request:
    """A JSON-RPC request: it expects exactly one response with the same id."""

    id: RequestId
    method: str
    params: JSONObject | None = None

    def to_json(self) -> JSONObject:
        """The wire form of this message."""
        out: JSONObject = {"jsonrpc": "2.0", "id": self.id, "method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class Notification:
    """A JSON-RPC notification: no id, no response."""

    method: str
    params: JSONObject | None = None

    def to_json(self) -> JSONObject:
        """The wire form of this message."""
        out: JSONObject = {"jsonrpc": "2.0", "method": self.method}
        if self.params is not None:
            out["params"] = self.params
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class Response:
    """A successful JSON-RPC response."""

    id: RequestId
    result: JSONObject

    def to_json(self) -> JSONObject:
        """The wire form of this message."""
        return {"jsonrpc": "2.0", "id": self.id, "result": self.result}


@fast_init
@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A JSON-RPC error response; ``id`` is None when the request's id was unreadable."""

    id: RequestId | None
    code: int
    message: str
    data: Any = None

    def to_json(self) -> JSONObject:
        """The wire form of this message."""
        error: JSONObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return {"jsonrpc": "2.0", "id": self.id, "error": error}


Message = Request | Notification | Response | ErrorResponse


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


_DECODE = text_decoder(json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float))


DEFAULT_MAX_DEPTH = 64


def loads(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode a body as JSON; -32700 (as RemoteProtocolError) if it is not, or nests past ``max_depth``.

    The depth limit keeps every later walk of the value (validation, encoding an answer)
    far from Python's recursion limit.
    """
    try:
        # Decode strictly first: json.loads(bytes) would guess UTF-16/32 and let surrogates through.
        text = body.decode("utf-8")
        if text.startswith("\ufeff"):  # what the utf-8-sig codec drops, without its Python-level decoder
            text = text[1:]
        value = _DECODE(text)
    except RecursionError:
        raise RemoteProtocolError("Parse error: JSON nested too deeply", code=PARSE_ERROR) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RemoteProtocolError(f"Parse error: {exc}", code=PARSE_ERROR) from None
    # Only a body with more brackets than the limit can nest past it (counting bytes is C-fast).
    deep_enough = body.count(b"[") + body.count(b"{") > max_depth
    if deep_enough and isinstance(value, (dict, list)) and _depth_exceeds(value, max_depth):
        raise RemoteProtocolError(
            f"Parse error: JSON nested too deeply (more than {max_depth} levels)", code=PARSE_ERROR
        )
    return value


def _depth_exceeds(value: dict[str, Any] | list[Any], limit: int) -> bool:
    # Iterative, so the check itself cannot overflow the stack.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _invalid(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"Invalid Request: {message}", code=INVALID_REQUEST)


def _check_id(value: Any) -> RequestId:
    # bool is an int subclass in Python; JSON true/false is never a valid id.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        # Safe to encode: loads() bounds the nesting far below the recursion limit.
        raise _invalid(f"id must be a string or an integer, got {json.dumps(value)[:40]}")
    return value


def _check_params(obj: JSONObject) -> JSONObject | None:
    params = obj.get("params")
    if params is None and "params" not in obj:
        return None
    if not isinstance(params, dict):
        raise _invalid("params must be an object")
    return params


def _check_keys(obj: JSONObject, allowed: frozenset[str], kind: str) -> None:
    if allowed.issuperset(obj):  # the common case, without building the difference
        return
    extra = obj.keys() - allowed
    if extra:
        raise _invalid(f"unexpected member(s) {sorted(extra)!r} in a {kind}")


def parse_message(obj: Any) -> Message:
    """Validate one decoded JSON value as a JSON-RPC 2.0 message.

    Raises:
        RemoteProtocolError: code -32600 naming what is wrong.
    """
    if not isinstance(obj, dict):
        raise _invalid("a message must be a JSON object")
    if obj.get("jsonrpc") != "2.0":
        raise _invalid('"jsonrpc" must be exactly "2.0"')
    if "method" in obj:
        method = obj["method"]
        if not isinstance(method, str) or not method:
            raise _invalid("method must be a non-empty string")
        if "id" in obj:
            _check_keys(obj, _REQUEST_KEYS, "request")
            return Request(_check_id(obj["id"]), method, _check_params(obj))
        _check_keys(obj, _NOTIFICATION_KEYS, "notification")
        return Notification(method, _check_params(obj))
    if "result" in obj:
        _check_keys(obj, _RESPONSE_KEYS, "response")
        if not isinstance(obj["result"], dict):
            raise _invalid("result must be an object")
        return Response(_check_id(obj.get("id")), obj["result"])
    if "error" in obj:
        _check_keys(obj, _ERROR_KEYS, "error response")
        error = obj["error"]
        if not isinstance(error, dict):
            raise _invalid("error must be an object")
        code, message = error.get("code"), error.get("message")
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(message, str):
            raise _invalid("error needs an integer code and a string message")
        rid = obj.get("id")
        return ErrorResponse(None if rid is None else _check_id(rid), code, message, error.get("data"))
    raise _invalid("a message needs a method, a result or an error")


def parse_value(value: Any, *, allow_batch: bool) -> tuple[list[Message], bool]:
    """Validate a decoded body (one message or a batch) as JSON-RPC messages.

    Raises:
        RemoteProtocolError: -32600 naming what is wrong.
    """
    if isinstance(value, list):
        if not allow_batch:
            raise _invalid("JSON-RPC batches are only accepted under protocol version 2025-03-26")
        if not value:
            raise _invalid("an empty batch")
        return [parse_message(item) for item in value], True
    return [parse_message(value)], False


def parse_body(body: bytes, *, allow_batch: bool) -> tuple[list[Message], bool]:
    """Parse an HTTP request body into JSON-RPC messages.

    Args:
        body: The raw body bytes.
        allow_batch: Whether a JSON array (a batch) is acceptable.

    Returns:
        The messages, and whether the body was a batch.

    Raises:
        RemoteProtocolError: -32700 for invalid JSON, -32600 for anything else.
    """
    return parse_value(loads(body), allow_batch=allow_batch)


def dumps(obj: Any) -> bytes:
    """Encode a JSON value compactly as UTF-8 (escaping lone surrogates, so any parsed id echoes exactly)."""
    return encode_text(obj)


def request_key(request_id: RequestId) -> str:
    """A string key that keeps ``1`` and ``"1"`` apart (they are different ids)."""
    return f"i{request_id}" if isinstance(request_id, int) else f"s{request_id}"
