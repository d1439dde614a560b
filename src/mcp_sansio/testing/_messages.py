"""Strategies for JSON values and JSON-RPC 2.0 messages, valid and subtly invalid."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_values", "request_ids", "jsonrpc_messages", "invalid_jsonrpc_messages"]

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value (no NaN or infinities, which JSON cannot carry), kept small."""
    return _JSON


def request_ids() -> st.SearchStrategy[int | str]:
    """JSON-RPC request ids: integers and strings (``1`` and ``"1"`` are different ids)."""
    return st.integers(-(2**31), 2**31) | st.text(max_size=8)


def _params() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(["name", "uri", "arguments", "cursor", "level", "x"]), _JSON, max_size=3)


def jsonrpc_messages(methods: list[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed JSON-RPC messages: requests, notifications, results and errors.

    Args:
        methods: Method names to use (default: a few MCP methods and an unknown one).
    """
    names = st.sampled_from(methods or ["ping", "tools/list", "tools/call", "notifications/initialized", "x/y"])
    params = st.one_of(st.nothing(), _params())
    request = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": request_ids(), "method": names}, optional={"params": params}
    )
    notification = st.fixed_dictionaries({"jsonrpc": st.just("2.0"), "method": names}, optional={"params": params})
    result = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": request_ids(), "result": st.dictionaries(st.text(max_size=6), _JSON)}
    )
    error = st.fixed_dictionaries(
        {
            "jsonrpc": st.just("2.0"),
            "id": request_ids(),
            "error": st.fixed_dictionaries({"code": st.integers(-32800, -32000), "message": st.text(max_size=10)}),
        }
    )
    return request | notification | result | error


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not _DROP}


_DROP: Any = object()
_REQUEST = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def invalid_jsonrpc_messages() -> st.SearchStrategy[Any]:
    """JSON values that are *not* valid JSON-RPC 2.0 messages, each wrong in one small way.

    A server must refuse each with HTTP 400 and error -32600 (Invalid Request). None of them
    carries a ``_meta`` protocol version, so none is taken for a stateless request.
    """
    not_object: st.SearchStrategy[Any] = st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=6), st.just([])
    )
    wrong_version = st.sampled_from(["1.0", "2", 2.0, None, _DROP]).map(lambda v: _with(_REQUEST, jsonrpc=v))
    bad_method = st.sampled_from(["", 7, None, ["ping"]]).map(lambda v: _with(_REQUEST, method=v))
    bad_id = st.sampled_from([True, False, 1.5, None, [1], {"n": 1}]).map(lambda v: _with(_REQUEST, id=v))
    bad_params = st.sampled_from([[1, 2], "x", 3, True, None]).map(lambda v: _with(_REQUEST, params=v))
    extra = st.sampled_from(["foo", "result", "error", "Method"]).map(lambda k: {**_REQUEST, k: {}})
    nothing_to_do = st.just({"jsonrpc": "2.0", "id": 1})
    bad_result: st.SearchStrategy[Any] = st.sampled_from([[], "ok", 1, None]).map(
        lambda v: {"jsonrpc": "2.0", "id": 1, "result": v}
    )
    bad_error = st.sampled_from([{"code": "x", "message": "m"}, {"code": 1}, {"message": "m"}, "boom", []]).map(
        lambda v: {"jsonrpc": "2.0", "id": 1, "error": v}
    )
    single = st.one_of(
        not_object, wrong_version, bad_method, bad_id, bad_params, extra, nothing_to_do, bad_result, bad_error
    )
    return single | st.lists(single, min_size=1, max_size=2)
