"""The kit's strategies: what they generate is what they claim, checked against the core."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_sansio import App, Config
from mcp_sansio.testing import machine_for
from mcp_sansio.testing._mutations import mutations
from mcp_sansio.testing._requests import Expect
from mcp_sansio.testing.strategies import (
    McpRequest,
    invalid_jsonrpc_messages,
    mcp_requests,
    request_ids,
    tool_arguments,
)
from tests.apps import demo_app, stateless_app

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
RICH: dict[str, Any] = {
    "type": "object",
    "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
    "properties": {
        "a": {"type": "integer", "minimum": 1, "maximum": 5},
        "b": {"type": ["string", "null"]},
        "c": {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2, "uniqueItems": True},
        "d": {"enum": ["x", "y"]},
        "e": {"const": 3},
        "f": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "g": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
        "h": {"type": "string", "minLength": 2, "maxLength": 3},
        "i": {"type": "object", "additionalProperties": {"type": "integer"}},
        "j": {"$ref": "#/$defs/point"},
        "k": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        "l": {"oneOf": [{"type": "null"}]},
        "m": {"type": "object", "allOf": [{"properties": {"x": {"type": "integer"}}, "required": ["x"]}, "skip"]},
        "n": {},
        "o": {"required": ["p"], "properties": {"p": {"type": "boolean"}}},
        "q": {"type": "object"},
        "r": {"type": "array"},
        "s": {"type": "whatever"},
    },
    "required": ["a", "d"],
}


def rich_tool() -> Any:
    app = App("rich")

    @app.tool(input_schema=RICH)
    async def rich(**arguments: Any) -> str:
        return "ok"

    return app.tools["rich"]


TOOL = rich_tool()


@FAST
@given(tool_arguments(RICH))
def test_valid_arguments_pass_the_validator(arguments: dict[str, Any]) -> None:
    assert TOOL.check_arguments(arguments) is None, arguments
    assert 1 <= arguments["a"] <= 5 and arguments["d"] in ("x", "y")


@FAST
@given(tool_arguments(RICH, valid=False))
def test_invalid_arguments_fail_the_validator(arguments: dict[str, Any]) -> None:
    assert TOOL.check_arguments(arguments) is not None, arguments


def test_a_schema_without_rules_has_no_invalid_arguments() -> None:
    assert tool_arguments({"type": "object"}, valid=False).is_empty
    assert not tool_arguments({"type": "object", "$ref": "#/nowhere"}).is_empty


@FAST
@given(request=mcp_requests(demo_app(), "handshake"), version=st.sampled_from(["2024-11-05", "2025-11-25"]))
def test_handshake_requests_get_what_they_expect(request: McpRequest, version: str) -> None:
    machine = machine_for(demo_app())()
    session = machine.client.initialize(version, {})
    assert session is not None
    machine.rt.finish_conn(machine.client.request(session, [request], token=True))
    machine.client.drain()  # the machine checked the answer against request.expect


@FAST
@given(request=mcp_requests(stateless_app(), "stateless"))
def test_stateless_requests_get_what_they_expect(request: McpRequest) -> None:
    machine = machine_for(stateless_app(), eras=("stateless",))()
    conn = machine.client.stateless(request, capabilities={}, token=False, log_level="info")
    machine.rt.finish_conn(conn)
    machine.client.drain()


def test_an_app_without_handlers() -> None:
    empty = App("empty")
    assert mcp_requests(empty, calls_only=True).is_empty
    assert not mcp_requests(empty, "stateless").is_empty
    with pytest.raises(ValueError, match="era"):
        mcp_requests(empty, "modern")


@FAST
@given(value=invalid_jsonrpc_messages(), stateless=st.booleans())
def test_invalid_messages_are_refused_with_minus_32600(value: Any, stateless: bool) -> None:
    machine = machine_for(demo_app())()
    session = None if stateless else machine.client.initialize("2025-03-26", {})
    machine.client.invalid_message(value, session)


@FAST
@given(request_ids())
def test_request_ids_are_ints_or_strings(rid: Any) -> None:
    assert isinstance(rid, (int, str)) and not isinstance(rid, bool)


@pytest.mark.parametrize("config", [Config(), Config(max_body_size=400, max_header_count=20)], ids=["default", "small"])
def test_every_mutation_gets_its_answer(config: Config) -> None:
    machine = machine_for(demo_app(), config=config)()
    session = machine.client.initialize("2025-11-25", {})
    for mutation in mutations(config):
        machine.client.mutated(mutation, None if mutation.target == "stateless" else session)
    assert "Mutation('PUT instead of POST')" in repr(mutations(config))


def test_expectations_in_words() -> None:
    assert repr(Expect()) == "Expect(a result)"
    assert Expect(any_error=True).describe() == "a result or an error"
    assert Expect(is_error=True, codes=frozenset({-32602})).describe() == (
        "a result with isError: true or HTTP 200 with error -32602"
    )
    assert Expect(listen=True).describe() == "a stream that stays open"
    assert Expect(result=False).describe() == "no answer"
    ok = {"result": {}}
    assert Expect().problem(None, ok) is None
    assert Expect().problem(400, ok) == "expected a result, got a result with HTTP 400"
    assert Expect(is_error=True).problem(200, ok) == (
        "expected a result with isError: true, got a result without isError"
    )
    assert Expect.error(-32602, status=400).problem(200, {"error": {"code": -32602}}) == (
        "expected HTTP 400 with error -32602, got HTTP 200"
    )
    assert Expect(any_error=True).problem(418, {"error": {"code": 1}}) is None


def test_request_bodies() -> None:
    assert McpRequest("ping").body(1) == {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    body = McpRequest("tools/list", {}, headers=(("x", "y"),)).body("a", {"k": 1})
    assert body == {"jsonrpc": "2.0", "id": "a", "method": "tools/list", "params": {"_meta": {"k": 1}}}
    assert "headers=[('x', 'y')]" in repr(McpRequest("tools/list", {}, headers=(("x", "y"),)))


@FAST
@given(mcp_requests(demo_app(), "stateless"))
def test_stateless_requests_as_whole_posts(request: McpRequest) -> None:
    machine = machine_for(demo_app())()
    raw = request.http("r1", capabilities={"elicitation": {}})
    conn = machine.rt.send(raw.method, list(raw.headers), raw.body, session=None, modeled=False)
    machine.rt.finish_conn(conn)
    assert conn.status is not None and conn.status < 500


def test_handshake_requests_as_whole_posts() -> None:
    machine = machine_for(demo_app())()
    session = machine.client.initialize("2025-06-18", {})
    assert session is not None
    raw = McpRequest("ping").http(5, version="2025-06-18", session_id=session.id)
    assert ("mcp-protocol-version", "2025-06-18") in raw.headers
    conn = machine.rt.send(raw.method, list(raw.headers), raw.body, session=session.id, modeled=False)
    assert conn.response is not None and conn.response.body == b'{"jsonrpc":"2.0","id":5,"result":{}}'
    with pytest.raises(ValueError, match="session id"):
        McpRequest("ping").http(version="2025-06-18")
