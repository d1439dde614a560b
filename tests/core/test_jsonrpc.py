"""JSON-RPC 2.0 parsing and encoding (mcp_sansio._jsonrpc)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_sansio import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorResponse,
    Notification,
    RemoteProtocolError,
    Request,
    Response,
)
from mcp_sansio._jsonrpc import dumps, parse_body, parse_message, request_key


def parse_error(body: bytes, *, allow_batch: bool = False) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        parse_body(body, allow_batch=allow_batch)
    return info.value


def invalid(obj: Any) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(obj)
    assert info.value.code == INVALID_REQUEST
    assert info.value.error_status_hint == 400
    return info.value


# --- -32700: bytes that are not JSON -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"{]",
        b"nul",
        b'{"jsonrpc":"2.0",}',
        b"{'jsonrpc':'2.0'}",
        b'{"a":1} trailing',
        b"\xff\xfe\xfd",
        b'{"jsonrpc":"2.0","method":"\xff"}',
        b'{"jsonrpc":"2.0","method":"\xc0\xaf"}',  # overlong encoding of "/"
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b'{"jsonrpc":"2.0","method":"x","params":{"a":NaN}}',
        b'{"jsonrpc":"2.0","method":"x","params":{"a":-Infinity}}',
        b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"x"}',  # beyond int digit limit
    ],
)
def test_not_json_is_parse_error(body: bytes) -> None:
    err = parse_error(body, allow_batch=True)
    assert err.code == PARSE_ERROR == -32700
    assert err.error_status_hint == 400
    assert err.message.startswith("Parse error: ")


def test_nan_message_names_the_constant() -> None:
    err = parse_error(b'{"jsonrpc":"2.0","id":NaN,"method":"x"}')
    assert err.message == "Parse error: NaN is not valid JSON"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"jsonrpc":"2.0","method":"x","params":{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    ],
    ids=["arrays", "objects", "inside-params"],
)
def test_deeply_nested_json_is_parse_error(body: bytes) -> None:
    err = parse_error(body, allow_batch=True)
    assert err.code == PARSE_ERROR
    assert err.message == "Parse error: JSON nested too deeply"


def test_lone_utf8_bom_is_tolerated() -> None:
    # RFC 8259 section 8.1: a parser MAY ignore a byte order mark.
    messages, batch = parse_body(b'\xef\xbb\xbf{"jsonrpc":"2.0","method":"x"}', allow_batch=False)
    assert messages == [Notification("x")]
    assert batch is False


def test_utf8_encoded_surrogate_is_invalid_utf8() -> None:
    err = parse_error(b'{"jsonrpc":"2.0","method":"\xed\xa0\x80"}')
    assert err.code == PARSE_ERROR


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_non_utf8_encodings_are_parse_errors(encoding: str) -> None:
    err = parse_error('{"jsonrpc":"2.0","method":"x"}'.encode(encoding))
    assert err.code == PARSE_ERROR


# --- -32600: JSON that is not a JSON-RPC message --------------------------------------


@pytest.mark.parametrize("value", [None, True, 1, 1.5, "x", [], [1]])
def test_message_must_be_an_object(value: Any) -> None:
    err = invalid(value)
    assert err.message == "Invalid Request: a message must be a JSON object"


@pytest.mark.parametrize("body", [b"null", b"1", b'"x"', b"true"])
def test_body_scalars_are_invalid_requests(body: bytes) -> None:
    err = parse_error(body)
    assert err.code == INVALID_REQUEST


@pytest.mark.parametrize("version", ["1.0", "2", 2.0, 2, None, "2.0 ", " 2.0", "2.00", ["2.0"], {"v": "2.0"}])
def test_wrong_jsonrpc_version(version: Any) -> None:
    err = invalid({"jsonrpc": version, "id": 1, "method": "ping"})
    assert err.message == 'Invalid Request: "jsonrpc" must be exactly "2.0"'


def test_missing_jsonrpc() -> None:
    err = invalid({"id": 1, "method": "ping"})
    assert err.message == 'Invalid Request: "jsonrpc" must be exactly "2.0"'


@pytest.mark.parametrize(
    "obj",
    [
        {"JSONRPC": "2.0", "id": 1, "method": "ping"},
        {"Jsonrpc": "2.0", "id": 1, "method": "ping"},
    ],
)
def test_case_mangled_jsonrpc_key(obj: dict[str, Any]) -> None:
    err = invalid(obj)
    assert err.message == 'Invalid Request: "jsonrpc" must be exactly "2.0"'


def test_case_mangled_method_key() -> None:
    err = invalid({"jsonrpc": "2.0", "id": 1, "Method": "ping"})
    assert err.message == "Invalid Request: a message needs a method, a result or an error"


def test_case_mangled_extra_key_in_request() -> None:
    err = invalid({"jsonrpc": "2.0", "id": 1, "method": "ping", "Params": {}})
    assert err.message == "Invalid Request: unexpected member(s) ['Params'] in a request"


def test_case_mangled_id_makes_an_unexpected_member_of_a_notification() -> None:
    err = invalid({"jsonrpc": "2.0", "ID": 1, "method": "ping"})
    assert err.message == "Invalid Request: unexpected member(s) ['ID'] in a notification"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"jsonrpc": "2.0", "id": 1, "method": "m", "extra": 1, "also": 2},
            "Invalid Request: unexpected member(s) ['also', 'extra'] in a request",
        ),
        (
            {"jsonrpc": "2.0", "method": "m", "result": {}},
            "Invalid Request: unexpected member(s) ['result'] in a notification",
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "m", "error": {"code": 1, "message": "x"}},
            "Invalid Request: unexpected member(s) ['error'] in a request",
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "x"}},
            "Invalid Request: unexpected member(s) ['error'] in a response",
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "result": {}, "params": {}},
            "Invalid Request: unexpected member(s) ['params'] in a response",
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "x"}, "data": 1},
            "Invalid Request: unexpected member(s) ['data'] in a error response",
        ),
    ],
)
def test_unexpected_members(obj: dict[str, Any], message: str) -> None:
    assert invalid(obj).message == message


@pytest.mark.parametrize("method", ["", 1, None, True, [], {}])
def test_method_must_be_a_non_empty_string(method: Any) -> None:
    for obj in ({"jsonrpc": "2.0", "id": 1, "method": method}, {"jsonrpc": "2.0", "method": method}):
        assert invalid(obj).message == "Invalid Request: method must be a non-empty string"


@pytest.mark.parametrize(
    ("rid", "shown"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (1.0, "1.0"),
        (1.5, "1.5"),
        ({"a": 1}, '{"a": 1}'),
        ([1], "[1]"),
    ],
)
def test_request_id_must_be_string_or_integer(rid: Any, shown: str) -> None:
    err = invalid({"jsonrpc": "2.0", "id": rid, "method": "ping"})
    assert err.message == f"Invalid Request: id must be a string or an integer, got {shown}"


def test_long_bad_id_is_truncated_in_message() -> None:
    err = invalid({"jsonrpc": "2.0", "id": list(range(100)), "method": "ping"})
    assert err.message == "Invalid Request: id must be a string or an integer, got " + json.dumps(list(range(100)))[:40]


@pytest.mark.parametrize("rid", [True, None, 1.0, {"a": 1}])
def test_response_id_must_be_string_or_integer(rid: Any) -> None:
    err = invalid({"jsonrpc": "2.0", "id": rid, "result": {}})
    assert err.message.startswith("Invalid Request: id must be a string or an integer, got ")


def test_response_without_id() -> None:
    err = invalid({"jsonrpc": "2.0", "result": {}})
    assert err.message == "Invalid Request: id must be a string or an integer, got null"


@pytest.mark.parametrize("params", [None, [], [1, 2], "x", 1, True])
def test_params_must_be_an_object(params: Any) -> None:
    for obj in (
        {"jsonrpc": "2.0", "id": 1, "method": "m", "params": params},
        {"jsonrpc": "2.0", "method": "m", "params": params},
    ):
        assert invalid(obj).message == "Invalid Request: params must be an object"


@pytest.mark.parametrize("result", [None, [], "ok", 1, True])
def test_result_must_be_an_object(result: Any) -> None:
    assert invalid({"jsonrpc": "2.0", "id": 1, "result": result}).message == (
        "Invalid Request: result must be an object"
    )


@pytest.mark.parametrize("error", [None, [], "boom", 1])
def test_error_must_be_an_object(error: Any) -> None:
    assert invalid({"jsonrpc": "2.0", "id": 1, "error": error}).message == "Invalid Request: error must be an object"


@pytest.mark.parametrize(
    "error",
    [
        {},
        {"code": 1},
        {"message": "m"},
        {"code": "1", "message": "m"},
        {"code": 1.0, "message": "m"},
        {"code": True, "message": "m"},
        {"code": 1, "message": 2},
        {"code": 1, "message": None},
    ],
)
def test_error_needs_integer_code_and_string_message(error: dict[str, Any]) -> None:
    assert invalid({"jsonrpc": "2.0", "id": 1, "error": error}).message == (
        "Invalid Request: error needs an integer code and a string message"
    )


@pytest.mark.parametrize("rid", [True, 1.5, {}])
def test_error_response_bad_id(rid: Any) -> None:
    err = invalid({"jsonrpc": "2.0", "id": rid, "error": {"code": 1, "message": "m"}})
    assert err.message.startswith("Invalid Request: id must be a string or an integer")


def test_message_without_method_result_or_error() -> None:
    for obj in ({"jsonrpc": "2.0"}, {"jsonrpc": "2.0", "id": 1}, {"jsonrpc": "2.0", "id": 1, "params": {}}):
        assert invalid(obj).message == "Invalid Request: a message needs a method, a result or an error"


# --- valid messages --------------------------------------------------------------------


def test_request_with_and_without_params() -> None:
    assert parse_message({"jsonrpc": "2.0", "id": 7, "method": "ping"}) == Request(7, "ping", None)
    assert parse_message({"jsonrpc": "2.0", "id": "a", "method": "m", "params": {"x": [1]}}) == Request(
        "a", "m", {"x": [1]}
    )


def test_request_ids_zero_negative_and_empty_string() -> None:
    assert parse_message({"jsonrpc": "2.0", "id": 0, "method": "m"}).id == 0  # type: ignore[union-attr]
    assert parse_message({"jsonrpc": "2.0", "id": -5, "method": "m"}).id == -5  # type: ignore[union-attr]
    assert parse_message({"jsonrpc": "2.0", "id": "", "method": "m"}).id == ""  # type: ignore[union-attr]


def test_notification() -> None:
    assert parse_message({"jsonrpc": "2.0", "method": "notifications/initialized"}) == Notification(
        "notifications/initialized"
    )
    assert parse_message({"jsonrpc": "2.0", "method": "n", "params": {}}) == Notification("n", {})


def test_response() -> None:
    assert parse_message({"jsonrpc": "2.0", "id": "r1", "result": {"ok": True}}) == Response("r1", {"ok": True})


def test_error_response_variants() -> None:
    assert parse_message({"jsonrpc": "2.0", "id": 3, "error": {"code": -1, "message": "no"}}) == ErrorResponse(
        3, -1, "no", None
    )
    assert parse_message(
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "p", "data": {"d": 1}}}
    ) == ErrorResponse(None, -32700, "p", {"d": 1})
    # A missing id counts as null for an error response.
    assert parse_message({"jsonrpc": "2.0", "error": {"code": 5, "message": "m"}}) == ErrorResponse(None, 5, "m")


def test_parse_body_single_and_batch() -> None:
    assert parse_body(b'{"jsonrpc":"2.0","id":1,"method":"ping"}', allow_batch=False) == (
        [Request(1, "ping")],
        False,
    )
    body = (
        b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"},{"jsonrpc":"2.0","id":2,"result":{}}]'
    )
    assert parse_body(body, allow_batch=True) == (
        [Request(1, "a"), Notification("b"), Response(2, {})],
        True,
    )
    # A single object is not a batch even where batches are allowed.
    assert parse_body(b'{"jsonrpc":"2.0","method":"n"}', allow_batch=True) == ([Notification("n")], False)


def test_batch_not_allowed() -> None:
    err = parse_error(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', allow_batch=False)
    assert err.code == INVALID_REQUEST
    assert err.message == ("Invalid Request: JSON-RPC batches are only accepted under protocol version 2025-03-26")


def test_empty_batch_is_not_allowed_even_when_batches_are() -> None:
    err = parse_error(b"[]", allow_batch=True)
    assert err.code == INVALID_REQUEST
    assert err.message == "Invalid Request: an empty batch"
    assert parse_error(b"[ ]", allow_batch=False).code == INVALID_REQUEST


def test_batch_with_an_invalid_member_fails_whole_body() -> None:
    err = parse_error(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}, 1]', allow_batch=True)
    assert err.code == INVALID_REQUEST
    assert err.message == "Invalid Request: a message must be a JSON object"


def test_nested_batch_is_invalid() -> None:
    err = parse_error(b'[[{"jsonrpc":"2.0","id":1,"method":"ping"}]]', allow_batch=True)
    assert err.code == INVALID_REQUEST


# --- big integer ids and request_key ---------------------------------------------------------


@pytest.mark.parametrize("rid", [2**53 + 1, 2**63, -(2**64) - 3, 10**400 + 7])
def test_big_integer_ids_echo_exactly(rid: int) -> None:
    body = b'{"jsonrpc":"2.0","id":' + str(rid).encode() + b',"method":"ping"}'
    [msg], _ = parse_body(body, allow_batch=False)
    assert isinstance(msg, Request)
    assert msg.id == rid
    assert type(msg.id) is int
    out = dumps(Response(msg.id, {}).to_json())
    assert out == b'{"jsonrpc":"2.0","id":' + str(rid).encode() + b',"result":{}}'


def test_id_key_keeps_int_and_string_apart() -> None:
    assert request_key(1) == "i1"
    assert request_key("1") == "s1"
    assert request_key(1) != request_key("1")
    assert request_key(-1) == "i-1"
    assert request_key("") == "s"
    assert request_key("i1") == "si1"


@given(st.one_of(st.integers(), st.text()), st.one_of(st.integers(), st.text()))
def test_id_key_is_injective(a: int | str, b: int | str) -> None:
    same = type(a) is type(b) and a == b
    assert (request_key(a) == request_key(b)) is same


# --- encoding ---------------------------------------------------------------------------


def test_to_json_wire_forms() -> None:
    assert Request(1, "m").to_json() == {"jsonrpc": "2.0", "id": 1, "method": "m"}
    assert Request("x", "m", {}).to_json() == {"jsonrpc": "2.0", "id": "x", "method": "m", "params": {}}
    assert Notification("n").to_json() == {"jsonrpc": "2.0", "method": "n"}
    assert Notification("n", {"a": 1}).to_json() == {"jsonrpc": "2.0", "method": "n", "params": {"a": 1}}
    assert Response(2, {"k": "v"}).to_json() == {"jsonrpc": "2.0", "id": 2, "result": {"k": "v"}}
    assert ErrorResponse(None, -32700, "Parse error").to_json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error"},
    }
    assert ErrorResponse(3, -32602, "bad", {"field": "x"}).to_json() == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32602, "message": "bad", "data": {"field": "x"}},
    }
    # Falsy but present data is kept.
    assert ErrorResponse(3, 1, "m", 0).to_json()["error"] == {"code": 1, "message": "m", "data": 0}


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": [1, 2], "b": "é☃😀"}) == '{"a":[1,2],"b":"é☃😀"}'.encode()
    assert dumps(ErrorResponse(None, -32700, "x").to_json()) == (
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}'
    )
    assert dumps("\u2028") == b'"\xe2\x80\xa8"'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_dumps_refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError):
        dumps({"x": value})


def test_accepted_string_id_can_be_echoed() -> None:
    [msg], _ = parse_body(b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', allow_batch=False)
    out = dumps(ErrorResponse(msg.id, -32601, "Method not found").to_json())  # type: ignore[union-attr]
    assert json.loads(out)["id"] == msg.id  # type: ignore[union-attr]


def test_out_of_range_numbers_are_parse_errors() -> None:
    # 1e400 would become inf, which no JSON response could carry back.
    with pytest.raises(RemoteProtocolError) as info:
        parse_body(b'{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1e400}}', allow_batch=False)
    assert info.value.code == -32700
    assert "out of range" in info.value.message


# --- properties -------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_parse_body_on_arbitrary_bytes_only_raises_protocol_errors(body: bytes) -> None:
    for allow_batch in (False, True):
        try:
            messages, batch = parse_body(body, allow_batch=allow_batch)
        except RemoteProtocolError as exc:
            assert exc.code in (PARSE_ERROR, INVALID_REQUEST)
            assert exc.error_status_hint == 400
        else:
            assert messages
            assert isinstance(batch, bool)


KEYS = st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error", "code", "message", "data", "x"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["2.0", "ping", "1"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=3)), children, max_size=5),
    ),
    max_leaves=20,
)
MESSAGE_LIKE = st.fixed_dictionaries(
    {"jsonrpc": st.one_of(st.just("2.0"), SCALARS)},
    optional={
        "id": st.one_of(st.integers(), st.text(max_size=3), JSON_VALUES),
        "method": st.one_of(st.sampled_from(["ping", "tools/call"]), JSON_VALUES),
        "params": JSON_VALUES,
        "result": JSON_VALUES,
        "error": st.one_of(
            st.fixed_dictionaries(
                {"code": st.integers(), "message": st.text(max_size=3)}, optional={"data": JSON_VALUES}
            ),
            JSON_VALUES,
        ),
        "extra": JSON_VALUES,
    },
)


@settings(max_examples=500)
@given(st.one_of(JSON_VALUES, MESSAGE_LIKE))
def test_parse_message_on_arbitrary_json(value: Any) -> None:
    try:
        msg = parse_message(value)
    except RemoteProtocolError as exc:
        assert exc.code == INVALID_REQUEST
        assert exc.error_status_hint == 400
        assert exc.message.startswith("Invalid Request: ")
    else:
        assert isinstance(msg, (Request, Notification, Response, ErrorResponse))
        # What was accepted re-encodes to a message that parses to the same value.
        assert parse_message(json.loads(dumps(msg.to_json()))) == msg
