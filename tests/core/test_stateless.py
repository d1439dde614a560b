"""The stateless revision (2026-07-28) through Server.receive: era, validation, envelopes, streams."""

from __future__ import annotations

import base64
import json
from collections.abc import Generator
from typing import Any

import pytest

from mcp_sansio import (
    App,
    Config,
    EndStream,
    HttpRequest,
    LocalProtocolError,
    MemoryStore,
    RemoteProtocolError,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
    StartStream,
    ToolError,
    run_plan,
)
from mcp_sansio._exchange import sse_headers
from mcp_sansio._jsonrpc import dumps
from mcp_sansio._peer import Peer
from mcp_sansio._sse import frame_event
from tests.apps import demo_app, stateless_app, tools_only_app
from tests.conftest import (
    HEAD,
    META_CAPABILITIES,
    META_LOG_LEVEL,
    META_SERVER_INFO,
    META_VERSION,
    STATELESS,
    Harness,
    body_of,
    make_harness,
    only_response,
    post_stateless,
    routing_headers,
    stateless_meta,
    stateless_request,
)

SUPPORTED = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
JSON = (("content-type", "application/json"),)
DEMO_INFO = {"name": "demo", "version": "1.2.3"}
STATELESS_INFO = {"name": "stateless", "version": "2.0.0"}
DEMO_CAPABILITIES = {
    "logging": {},
    "completions": {},
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
}


def error_of(outputs: list[Any], status: int) -> dict[str, Any]:
    """The JSON-RPC error body of a single refused response, checking its status and content type."""
    response = only_response(outputs)
    assert response.status == status, response
    assert response.headers == JSON
    body = json.loads(response.body)
    assert body["jsonrpc"] == "2.0"
    return body


def result_of(outputs: list[Any]) -> dict[str, Any]:
    response = only_response(outputs)
    assert response.status == 200, response
    assert response.headers == JSON
    body = json.loads(response.body)
    assert "error" not in body, body
    return body["result"]


def run_handler(outputs: list[Any]) -> RunHandler:
    handlers = [o for o in outputs if isinstance(o, RunHandler)]
    assert len(handlers) == 1, outputs
    return handlers[0]


def collect(plan: Generator[Any, Any, Any], store: MemoryStore) -> tuple[Any, list[Any]]:
    """Run a plan, recording every store command it yields."""
    commands: list[Any] = []
    try:
        command = next(plan)
        while True:
            commands.append(command)
            command = plan.send(store.execute(command))
    except StopIteration as stop:
        return stop.value, commands


@pytest.fixture
def stateless() -> Harness:
    return make_harness(stateless_app())


# -- which era serves a POST -----------------------------------------------------------


def test_stateless_meta_without_header_is_served_statelessly(harness: Harness) -> None:
    # Handshake would answer "Mcp-Session-Id header is required" (-32600); the stateless path wants the header.
    body = stateless_request("tools/list", rid=3)
    out = harness.post(body, headers=[("mcp-method", "tools/list")])
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32020, "message": "Header mismatch: the MCP-Protocol-Version header is required"},
    }


@pytest.mark.parametrize("version", [STATELESS, "v999.0.0", "2099-01-01"])
def test_non_handshake_header_without_meta_is_stateless(harness: Harness, version: str) -> None:
    out = harness.post(
        {"jsonrpc": "2.0", "id": "x", "method": "tools/list", "params": {}},
        headers=[("mcp-protocol-version", version), ("mcp-method", "tools/list")],
    )
    body = error_of(out, 400)
    assert body["id"] == "x"
    assert body["error"]["code"] == -32602
    assert body["error"]["message"] == (
        "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion, "
        "io.modelcontextprotocol/clientCapabilities"
    )


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_handshake_header_without_meta_is_handshake(harness: Harness, version: str) -> None:
    out = harness.post(
        {"jsonrpc": "2.0", "id": 4, "method": "tools/list"},
        headers=[("mcp-protocol-version", version), ("mcp-method", "tools/list")],
    )
    body = error_of(out, 400)
    assert body["error"] == {"code": -32600, "message": "Bad Request: Mcp-Session-Id header is required"}
    assert body["id"] is None


def test_meta_without_protocol_version_and_no_header_is_handshake(harness: Harness) -> None:
    body = {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": {META_CAPABILITIES: {}}}}
    assert error_of(harness.post(body), 400)["error"]["code"] == -32600


def test_handshake_initialize_still_works_beside_stateless(harness: Harness) -> None:
    assert result_of(post_stateless(harness, stateless_request("tools/list")))["resultType"] == "complete"
    out = harness.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"},
            },
        },
        headers=[("mcp-protocol-version", "2025-11-25")],
    )
    response = only_response(out)
    assert response.status == 200
    assert dict(response.headers)["mcp-session-id"] == "session1"
    assert json.loads(response.body)["result"]["protocolVersion"] == "2025-11-25"
    session = harness.store.session_ids()
    assert session == ["session1"]
    # The handshake session's results have no stateless envelope.
    listed = body_of(harness.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, "session1"))["result"]
    assert set(listed) == {"tools"}


def test_session_id_is_ignored_on_stateless_requests_and_never_minted(harness: Harness) -> None:
    out = post_stateless(harness, stateless_request("server/discover"), extra=[("mcp-session-id", "no-such-session")])
    response = only_response(out)
    assert response.status == 200
    assert response.headers == JSON
    assert harness.store.session_ids() == []
    # An existing session is not touched either: the stateless request is not routed to it.
    session = harness.initialize()
    out = post_stateless(harness, stateless_request("tools/list"), extra=[("mcp-session-id", session)])
    assert only_response(out).headers == JSON
    assert harness.store.session_ids() == [session]


def test_stateless_requests_yield_no_store_commands(harness: Harness) -> None:
    for body in (
        stateless_request("server/discover"),
        stateless_request("tools/list"),
        stateless_request("tools/call", {"name": "count", "arguments": {"n": 1}}),
        stateless_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}}),
        stateless_request("nope/nope"),
    ):
        headers = [*HEAD, *routing_headers(body)]
        plan = harness.server.receive(HttpRequest.build("POST", "/mcp", headers), json.dumps(body).encode())
        _, commands = collect(plan, harness.store)
        assert commands == []


# -- validation order and codes --------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        (None, [META_VERSION, META_CAPABILITIES]),
        ({}, [META_VERSION, META_CAPABILITIES]),
        ({"_meta": "nope"}, [META_VERSION, META_CAPABILITIES]),
        ({"_meta": {META_CAPABILITIES: {}}}, [META_VERSION]),
        ({"_meta": {META_VERSION: STATELESS}}, [META_CAPABILITIES]),
    ],
)
def test_missing_meta_or_its_keys_is_invalid_params(harness: Harness, params: Any, missing: list[str]) -> None:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 41, "method": "tools/list"}
    if params is not None:
        body["params"] = params
    out = harness.post(body, headers=[("mcp-protocol-version", STATELESS), ("mcp-method", "tools/list")])
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 41,
        "error": {"code": -32602, "message": f"Invalid params: _meta must carry {', '.join(missing)}"},
    }


@pytest.mark.parametrize(
    "meta",
    [{META_VERSION: 20260728, META_CAPABILITIES: {}}, {META_VERSION: STATELESS, META_CAPABILITIES: ["sampling"]}],
)
def test_meta_values_of_the_wrong_type_are_invalid_params(harness: Harness, meta: dict[str, Any]) -> None:
    body = stateless_request("tools/list", rid="t", meta=meta)
    body_json = error_of(post_stateless(harness, body), 400)
    assert body_json["id"] == "t"
    assert body_json["error"] == {
        "code": -32602,
        "message": "Invalid params: _meta protocolVersion must be a string and clientCapabilities an object",
    }


@pytest.mark.parametrize(
    ("header", "meta_version"), [(STATELESS, "v999.0.0"), ("2025-11-25", STATELESS), ("x", STATELESS)]
)
def test_header_and_meta_versions_must_match(harness: Harness, header: str, meta_version: str) -> None:
    body = stateless_request("tools/list", rid=7, meta={META_VERSION: meta_version, META_CAPABILITIES: {}})
    out = post_stateless(harness, body, replace={"mcp-protocol-version": header})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {
            "code": -32020,
            "message": f"Header mismatch: MCP-Protocol-Version {header!r} does not match "
            f"_meta protocolVersion {meta_version!r}",
        },
    }


@pytest.mark.parametrize("version", ["v999.0.0", "2025-11-25", "1900-01-01"])
def test_unsupported_version_names_the_supported_ones(harness: Harness, version: str) -> None:
    body = stateless_request("tools/list", rid=8, meta={META_VERSION: version, META_CAPABILITIES: {}})
    out = post_stateless(harness, body, replace={"mcp-protocol-version": version})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 8,
        "error": {
            "code": -32022,
            "message": "Unsupported protocol version",
            "data": {"supported": SUPPORTED, "requested": version},
        },
    }
    discovered = result_of(post_stateless(harness, stateless_request("server/discover")))
    assert discovered["supportedVersions"] == SUPPORTED


def test_validation_precedence(harness: Harness) -> None:
    # Missing _meta keys beat a header mismatch.
    body = stateless_request("tools/list", meta={META_VERSION: "v1"})
    out = post_stateless(harness, body, replace={"mcp-protocol-version": "v2", "mcp-method": "wrong"})
    assert error_of(out, 400)["error"]["code"] == -32602
    # A header mismatch beats an unsupported version.
    body = stateless_request("tools/list", meta={META_VERSION: "v1", META_CAPABILITIES: {}})
    out = post_stateless(harness, body, replace={"mcp-protocol-version": "v2", "mcp-method": "wrong"})
    assert error_of(out, 400)["error"]["code"] == -32020
    # An unsupported version beats bad routing headers.
    out = post_stateless(harness, body, replace={"mcp-protocol-version": "v1", "mcp-method": "wrong"})
    assert error_of(out, 400)["error"]["code"] == -32022
    # Routing headers are checked before the method is looked up.
    out = post_stateless(harness, stateless_request("nope/nope"), replace={"mcp-method": "other"})
    assert error_of(out, 400)["error"]["code"] == -32020


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Header mismatch: the Mcp-Method header is required"),
        (
            "prompts/list",
            "Header mismatch: Mcp-Method header value 'prompts/list' does not match body method 'tools/list'",
        ),
        ("TOOLS/LIST", "Header mismatch: Mcp-Method header value 'TOOLS/LIST' does not match body method 'tools/list'"),
        (
            "tools/list/",
            "Header mismatch: Mcp-Method header value 'tools/list/' does not match body method 'tools/list'",
        ),
    ],
)
def test_mcp_method_must_equal_the_body_method(harness: Harness, header: str | None, message: str) -> None:
    out = post_stateless(harness, stateless_request("tools/list", rid=9), replace={"mcp-method": header})
    assert error_of(out, 400) == {"jsonrpc": "2.0", "id": 9, "error": {"code": -32020, "message": message}}


@pytest.mark.parametrize("name", ["mcp-method", "MCP-METHOD", "Mcp-Method"])
def test_header_names_are_case_insensitive(harness: Harness, name: str) -> None:
    body = stateless_request("tools/list")
    out = harness.post(body, headers=[("MCP-Protocol-Version", STATELESS), (name, "tools/list")])
    assert result_of(out)["resultType"] == "complete"


NAMED = [
    ("tools/call", {"name": "add", "arguments": {"a": 1}}, "name", "add"),
    ("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}, "name", "greet"),
    ("resources/read", {"uri": "test://text"}, "uri", "test://text"),
]


@pytest.mark.parametrize(("method", "params", "field", "value"), NAMED)
def test_mcp_name_is_required(harness: Harness, method: str, params: dict[str, Any], field: str, value: str) -> None:
    out = post_stateless(harness, stateless_request(method, params, rid=10), replace={"mcp-name": None})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 10,
        "error": {"code": -32020, "message": f"Header mismatch: the Mcp-Name header is required for {method}"},
    }


@pytest.mark.parametrize(("method", "params", "field", "value"), NAMED)
def test_mcp_name_must_match(harness: Harness, method: str, params: dict[str, Any], field: str, value: str) -> None:
    out = post_stateless(harness, stateless_request(method, params, rid=11), replace={"mcp-name": "wrong_name"})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 11,
        "error": {
            "code": -32020,
            "message": f"Header mismatch: Mcp-Name header value 'wrong_name' does not match body {field} {value!r}",
        },
    }


@pytest.mark.parametrize(("method", "params", "field", "value"), NAMED)
def test_mcp_name_accepts_trimmed_and_base64_values(
    harness: Harness, method: str, params: dict[str, Any], field: str, value: str
) -> None:
    encoded = f"=?base64?{base64.b64encode(value.encode()).decode()}?="
    for header in (f"  {value}  ", f"\t{value}", encoded, f" {encoded} "):
        out = post_stateless(harness, stateless_request(method, params), replace={"mcp-name": header})
        assert isinstance(out[0], RunHandler), (header, out)


@pytest.mark.parametrize(
    "header",
    [
        "=?base64?Z3JlZXQ?=",  # "greet" without its padding
        "=?base64?Z3Jl!!ZXQ=?=",  # outside the alphabet
        "=?base64?Z3Jl ZXQ=?=",  # a space inside
        "=?base64?/w==?=",  # valid Base64, but not UTF-8
    ],
)
def test_mcp_name_with_bad_base64_is_refused(harness: Harness, header: str) -> None:
    body = stateless_request("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}, rid=12)
    out = post_stateless(harness, body, replace={"mcp-name": header})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 12,
        "error": {"code": -32020, "message": f"Header mismatch: header value {header!r} is not valid Base64"},
    }


@pytest.mark.parametrize("header", ["Z3JlZXQ=", "=?BASE64?Z3JlZXQ=?=", "=?base64?Z3JlZXQ=", "?base64?Z3JlZXQ=?="])
def test_values_without_the_exact_sentinel_are_literals(harness: Harness, header: str) -> None:
    body = stateless_request("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}})
    assert error_of(post_stateless(harness, body, replace={"mcp-name": header}), 400)["error"]["code"] == -32020
    # ...and a body value equal to the literal matches it.
    app = App("literal")
    app.prompt(name=header)(demo_app().prompts["greet"].fn)
    other = make_harness(app)
    body = stateless_request("prompts/get", {"name": header, "arguments": {"name": "Ada"}})
    assert isinstance(post_stateless(other, body)[0], RunHandler)


def test_header_values_outside_visible_ascii_are_refused(harness: Harness) -> None:
    body = stateless_request("prompts/get", {"name": "gréet"}, rid=13)
    out = post_stateless(harness, body, replace={"mcp-name": "gréet".encode("latin-1")})
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": 13,
        "error": {
            "code": -32020,
            "message": "Header mismatch: header value contains characters outside visible ASCII, space and tab",
        },
    }


def test_mcp_name_is_not_required_for_other_methods(harness: Harness) -> None:
    for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "server/discover"):
        assert result_of(post_stateless(harness, stateless_request(method)))["resultType"] == "complete"


# -- which methods exist -----------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "tasks/get",
        "tasks/list",
        "unknown/method",
        "notifications/initialized",
    ],
)
def test_removed_and_unknown_methods_are_404(harness: Harness, method: str) -> None:
    params = {"uri": "test://text", "level": "info", "protocolVersion": "2025-11-25"}
    out = post_stateless(harness, stateless_request(method, params, rid="r1"))
    assert error_of(out, 404) == {
        "jsonrpc": "2.0",
        "id": "r1",
        "error": {"code": -32601, "message": f"Method not found: {method}"},
    }


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("prompts/list", {}),
        ("prompts/get", {"name": "greet"}),
        ("resources/list", {}),
        ("resources/templates/list", {}),
        ("resources/read", {"uri": "test://text"}),
    ],
)
def test_methods_of_an_empty_registry_part_are_404(method: str, params: dict[str, Any]) -> None:
    harness = make_harness(tools_only_app())
    out = post_stateless(harness, stateless_request(method, params, rid=2))
    assert error_of(out, 404)["error"] == {"code": -32601, "message": f"Method not found: {method}"}
    assert result_of(post_stateless(harness, stateless_request("tools/list")))["tools"][0]["name"] == "ping_tool"


def test_an_empty_app_still_offers_discover_completion_and_listen() -> None:
    harness = make_harness(App("empty"))
    for method in ("tools/list", "tools/call"):
        out = post_stateless(harness, stateless_request(method, {"name": "x"}))
        assert error_of(out, 404)["error"]["code"] == -32601
    discovered = result_of(post_stateless(harness, stateless_request("server/discover")))
    assert discovered["capabilities"] == {"logging": {}, "completions": {}}
    completion = result_of(
        post_stateless(
            harness,
            stateless_request(
                "completion/complete",
                {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}},
            ),
        )
    )
    assert completion == {
        "completion": {"values": [], "total": 0, "hasMore": False},
        "resultType": "complete",
        "_meta": {META_SERVER_INFO: {"name": "empty", "version": "0.1.0"}},
    }
    out = post_stateless(
        harness, stateless_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    )
    assert isinstance(out[0], StartStream)


def test_templates_alone_offer_the_resource_methods() -> None:
    app = App("templates")
    app.resource_template("t://{x}")(demo_app().templates[0].fn)
    harness = make_harness(app)
    assert result_of(post_stateless(harness, stateless_request("resources/list")))["resources"] == []
    listed = result_of(post_stateless(harness, stateless_request("resources/templates/list")))
    assert listed["resourceTemplates"] == [{"uriTemplate": "t://{x}", "name": "item"}]


# -- other message shapes and HTTP methods ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "_meta": stateless_meta()}},
        {"jsonrpc": "2.0", "method": "notifications/initialized", "params": {"_meta": stateless_meta()}},
        {"jsonrpc": "2.0", "method": "notifications/whatever"},
    ],
)
def test_notifications_are_accepted(harness: Harness, body: dict[str, Any]) -> None:
    out = harness.post(body, headers=[("mcp-protocol-version", STATELESS)])
    assert out == [SendResponse(202)]


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "no"}},
    ],
)
def test_responses_are_refused(harness: Harness, body: dict[str, Any]) -> None:
    out = harness.post(body, headers=[("mcp-protocol-version", STATELESS)])
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid Request: clients do not send responses in 2026-07-28"},
    }


@pytest.mark.parametrize("batch", [[], [stateless_request("tools/list")]])
def test_batches_are_refused(harness: Harness, batch: list[Any]) -> None:
    out = harness.post(batch, headers=routing_headers(stateless_request("tools/list")))
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid Request: batches are not part of 2026-07-28"},
    }


def test_malformed_request_objects_get_a_json_rpc_error(harness: Harness) -> None:
    out = harness.post({"jsonrpc": "2.0", "id": 1, "method": 5}, headers=[("mcp-protocol-version", STATELESS)])
    assert error_of(out, 400)["error"]["code"] == -32600


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_without_session_are_405(harness: Harness, method: str) -> None:
    response = only_response(harness.request(method, None, [("mcp-protocol-version", STATELESS)]))
    assert response.status == 405
    assert response.headers == (("content-type", "application/json"), ("allow", "GET, POST, DELETE"))
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32600,
            "message": f"Method Not Allowed: {method} needs a handshake session (Mcp-Session-Id)",
        },
    }


def test_get_with_session_and_stateless_header_is_400(harness: Harness) -> None:
    session = harness.initialize()
    out = harness.request("GET", None, [("mcp-session-id", session), ("mcp-protocol-version", STATELESS)])
    body = error_of(out, 400)
    assert body["error"]["code"] == -32600
    assert body["error"]["data"] == {
        "supported": ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"],
        "requested": STATELESS,
    }


def test_default_id_sources_are_random() -> None:
    server = Server(demo_app())
    store = MemoryStore()
    body = stateless_request("tools/call", {"name": "count", "arguments": {"n": 1}})
    request = HttpRequest.build("POST", "/mcp", [*HEAD, *routing_headers(body)])
    start = run_plan(server.receive(request, json.dumps(body).encode()), store)[0]
    assert isinstance(start, StartStream)
    assert len(start.stream) == 16 and int(start.stream, 16) >= 0
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}},
    }
    response = only_response(
        run_plan(server.receive(HttpRequest.build("POST", "/mcp", HEAD), json.dumps(init).encode()), store)
    )
    assert len(dict(response.headers)["mcp-session-id"]) == 32


# -- results: envelope and cache hints ---------------------------------------------------


def test_discover_result_shape(harness: Harness) -> None:
    out = post_stateless(harness, stateless_request("server/discover", rid="discover-1"))
    assert body_of(out) == {
        "jsonrpc": "2.0",
        "id": "discover-1",
        "result": {
            "supportedVersions": SUPPORTED,
            "capabilities": DEMO_CAPABILITIES,
            "resultType": "complete",
            "_meta": {META_SERVER_INFO: DEMO_INFO},
            "ttlMs": 0,
            "cacheScope": "private",
        },
    }


def test_discover_reports_instructions_and_app_cache_hints() -> None:
    harness = make_harness(App("i", "9", instructions="Use the tools.", cache_ttl_ms=3600000, cache_scope="public"))
    result = result_of(post_stateless(harness, stateless_request("server/discover")))
    assert result == {
        "supportedVersions": SUPPORTED,
        "capabilities": {"logging": {}, "completions": {}},
        "instructions": "Use the tools.",
        "resultType": "complete",
        "_meta": {META_SERVER_INFO: {"name": "i", "version": "9"}},
        "ttlMs": 3600000,
        "cacheScope": "public",
    }


def test_discover_and_initialize_report_the_same_instructions() -> None:
    app = demo_app()
    app.instructions = "Use the tools."
    harness = make_harness(app)
    session_result = body_of(
        harness.post(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "c", "version": "1"},
                },
            }
        )
    )["result"]
    assert session_result["instructions"] == "Use the tools."
    assert result_of(post_stateless(harness, stateless_request("server/discover")))["instructions"] == "Use the tools."


def test_discover_works_without_client_info_and_with_it(harness: Harness) -> None:
    meta = stateless_meta({"sampling": {}}, **{"io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"}})
    result = result_of(post_stateless(harness, stateless_request("server/discover", meta=meta)))
    assert result["_meta"] == {META_SERVER_INFO: DEMO_INFO}


@pytest.mark.parametrize(
    ("method", "key", "names"),
    [
        ("tools/list", "tools", ["lookup", "confirm", "count"]),
        ("prompts/list", "prompts", ["greet"]),
        ("resources/list", "resources", ["test://plain", "test://cached"]),
        ("resources/templates/list", "resourceTemplates", ["test://items/{id}"]),
    ],
)
def test_lists_carry_result_type_and_app_cache_hints(
    stateless: Harness, method: str, key: str, names: list[str]
) -> None:
    result = result_of(post_stateless(stateless, stateless_request(method)))
    assert set(result) == {key, "resultType", "_meta", "ttlMs", "cacheScope"}
    assert [
        item.get("name") if key in ("tools", "prompts") else item.get("uri", item.get("uriTemplate"))
        for item in result[key]
    ] == names
    assert (result["resultType"], result["ttlMs"], result["cacheScope"]) == ("complete", 1000, "public")
    assert result["_meta"] == {META_SERVER_INFO: STATELESS_INFO}


def test_every_page_carries_the_cache_hints() -> None:
    app = App("paged", cache_ttl_ms=7, cache_scope="public")
    for i in range(3):
        app.tool(name=f"t{i}")(demo_app().tools["add"].fn)
    harness = make_harness(app, Config(page_size=2))
    first = result_of(post_stateless(harness, stateless_request("tools/list")))
    assert [t["name"] for t in first["tools"]] == ["t0", "t1"]
    assert (first["ttlMs"], first["cacheScope"]) == (7, "public")
    second = result_of(post_stateless(harness, stateless_request("tools/list", {"cursor": first["nextCursor"]})))
    assert [t["name"] for t in second["tools"]] == ["t2"]
    assert "nextCursor" not in second
    assert (second["ttlMs"], second["cacheScope"]) == (7, "public")
    bad = body_of(post_stateless(harness, stateless_request("tools/list", {"cursor": "??"}, rid=5)))
    assert bad == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": -32602, "message": "Invalid params: unknown cursor '??'"},
    }


@pytest.mark.parametrize(
    ("uri", "value", "content", "ttl", "scope"),
    [
        (
            "test://cached",
            "cached",
            {"uri": "test://cached", "text": "cached", "mimeType": "text/plain"},
            60000,
            "private",
        ),
        ("test://plain", "plain", {"uri": "test://plain", "text": "plain", "mimeType": "text/plain"}, 1000, "public"),
        ("test://items/7", "7", {"uri": "test://items/7", "text": "7"}, 5, "public"),
    ],
)
def test_resource_reads_carry_their_own_cache_hints(
    stateless: Harness, uri: str, value: str, content: dict[str, Any], ttl: int, scope: str
) -> None:
    run = run_handler(post_stateless(stateless, stateless_request("resources/read", {"uri": uri}, rid=3)))
    assert run.call.cache == (ttl, scope)
    out = stateless.run(run.exchange.complete(run.call, value))
    assert body_of(out) == {
        "jsonrpc": "2.0",
        "id": 3,
        "result": {
            "contents": [content],
            "ttlMs": ttl,
            "cacheScope": scope,
            "resultType": "complete",
            "_meta": {META_SERVER_INFO: STATELESS_INFO},
        },
    }


def test_handshake_resource_reads_have_no_cache_hints(stateless: Harness) -> None:
    session = stateless.initialize()
    run = run_handler(
        stateless.post(
            {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "test://cached"}}, session
        )
    )
    out = stateless.run(run.exchange.complete(run.call, "cached"))
    assert body_of(out)["result"] == {
        "contents": [{"uri": "test://cached", "text": "cached", "mimeType": "text/plain"}]
    }


def test_tool_call_results_have_no_cache_hints(harness: Harness) -> None:
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "add", "arguments": {"a": 1}})))
    assert run.call.kwargs == {"a": 1}
    assert run.call.answers == {}
    out = harness.run(run.exchange.complete(run.call, "3"))
    response = only_response(out)
    assert response.headers == JSON
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "content": [{"type": "text", "text": "3"}],
            "resultType": "complete",
            "_meta": {META_SERVER_INFO: DEMO_INFO},
        },
    }


def test_prompt_results_have_no_cache_hints(harness: Harness) -> None:
    body = stateless_request("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}})
    run = run_handler(post_stateless(harness, body))
    out = harness.run(run.exchange.complete(run.call, "Hello Ada!"))
    assert body_of(out)["result"] == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Hello Ada!"}}],
        "description": "Greets someone.",
        "resultType": "complete",
        "_meta": {META_SERVER_INFO: DEMO_INFO},
    }


def test_a_result_meta_from_the_handler_is_kept(harness: Harness) -> None:
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "add", "arguments": {"a": 1}})))
    value = {"content": [{"type": "text", "text": "x"}], "_meta": {"app/key": 1}, "resultType": "complete"}
    result = body_of(harness.run(run.exchange.complete(run.call, value)))["result"]
    assert result["_meta"] == {"app/key": 1, META_SERVER_INFO: DEMO_INFO}


def test_stateless_tool_errors(harness: Harness) -> None:
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "fail"})))
    result = body_of(harness.run(run.exchange.fail(run.call, ToolError("it broke"))))["result"]
    assert result == {
        "content": [{"type": "text", "text": "it broke"}],
        "isError": True,
        "resultType": "complete",
        "_meta": {META_SERVER_INFO: DEMO_INFO},
    }
    # A protocol error a handler raises keeps its HTTP status on the stateless path.
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "fail"}, rid=2)))
    exc = RemoteProtocolError("Not Found: gone", error_status_hint=404, code=-32601)
    assert error_of(harness.run(run.exchange.fail(run.call, exc)), 404) == {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {"code": -32601, "message": "Not Found: gone"},
    }
    # A local error stays 200 with an internal-error body.
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "fail"}, rid=3)))
    response = only_response(harness.run(run.exchange.fail(run.call, LocalProtocolError("oops"))))
    assert response.status == 200
    assert json.loads(response.body)["error"] == {"code": -32603, "message": "oops"}


def test_unknown_tool_and_missing_resource(harness: Harness) -> None:
    body = stateless_request("tools/call", {"name": "nope"}, rid=4)
    assert body_of(post_stateless(harness, body)) == {
        "jsonrpc": "2.0",
        "id": 4,
        "error": {"code": -32602, "message": "Unknown tool: 'nope'"},
    }
    body = stateless_request("resources/read", {"uri": "test://none"}, rid=5)
    out = post_stateless(harness, body)
    assert only_response(out).status == 200
    assert body_of(out) == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": -32602, "message": "Resource not found: test://none", "data": {"uri": "test://none"}},
    }
    session = harness.initialize()
    handshake = body_of(
        harness.post({"jsonrpc": "2.0", "id": 6, "method": "resources/read", "params": {"uri": "test://none"}}, session)
    )
    assert handshake["error"] == {
        "code": -32002,
        "message": "Resource not found: test://none",
        "data": {"uri": "test://none"},
    }


# -- mirrored parameters (Mcp-Param-*) -----------------------------------------------------


def lookup(arguments: dict[str, Any], headers: list[tuple[str, str | bytes]], rid: Any = 1) -> dict[str, Any]:
    return {
        "body": stateless_request("tools/call", {"name": "lookup", "arguments": arguments}, rid=rid),
        "extra": headers,
    }


@pytest.mark.parametrize(
    ("arguments", "headers"),
    [
        ({"region": "eu-west"}, [("mcp-param-region", "eu-west")]),
        ({"region": "eu-west"}, [("MCP-PARAM-REGION", "  eu-west ")]),
        ({"region": "Hello, 世界"}, [("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?=")]),
        ({"region": " padded "}, [("mcp-param-region", "=?base64?IHBhZGRlZCA=?=")]),
        ({"region": "line1\nline2"}, [("mcp-param-region", "=?base64?bGluZTEKbGluZTI=?=")]),
        ({"region": "=?base64?literal?="}, [("mcp-param-region", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=")]),
        ({"region": "Hello"}, [("mcp-param-region", "=?base64?SGVsbG8=?=")]),
        ({"region": "SGVsbG8="}, [("mcp-param-region", "SGVsbG8=")]),
        ({"region": "=?base64?SGVsbG8="}, [("mcp-param-region", "=?base64?SGVsbG8=")]),
        ({"count": 42}, [("mcp-param-count", "42")]),
        ({"count": 42}, [("mcp-param-count", "42.0")]),
        ({"ratio": 42.0}, [("mcp-param-ratio", "42")]),
        ({"ratio": 42}, [("mcp-param-ratio", "4.2e1")]),
        ({"count": -3}, [("mcp-param-count", "-3")]),
        ({"ratio": 0.5}, [("mcp-param-ratio", "0.50")]),
        ({"verbose": True}, [("mcp-param-verbose", "true")]),
        ({"verbose": False}, [("mcp-param-verbose", "false")]),
        ({"target": {"zone": "z1"}}, [("mcp-param-zone", "z1")]),
        ({"target": {}}, []),
        ({}, []),
        ({"plain": "x"}, []),
        ({"note": None}, []),
        ({"note": 5}, [("mcp-param-note", "5")]),
        ({"note": [1]}, [("mcp-param-note", "[1]")]),
        ({}, [("mcp-param-region", "eu")]),  # a header without a value is not checked
        ({"region": "eu"}, [("mcp-param-region", "eu"), ("mcp-param-undeclared", "anything")]),
    ],
)
def test_mirrored_parameters_accepted(stateless: Harness, arguments: dict[str, Any], headers: list[Any]) -> None:
    call = lookup(arguments, headers)
    out = post_stateless(stateless, call["body"], extra=call["extra"])
    assert isinstance(out[0], RunHandler), out
    assert out[0].call.kwargs == arguments


@pytest.mark.parametrize(
    ("arguments", "headers", "message"),
    [
        ({"region": "eu"}, [], "the Mcp-Param-Region header is required when region is given"),
        ({"count": 0}, [], "the Mcp-Param-Count header is required when count is given"),
        ({"verbose": False}, [], "the Mcp-Param-Verbose header is required when verbose is given"),
        ({"target": {"zone": "z1"}}, [], "the Mcp-Param-Zone header is required when target.zone is given"),
        (
            {"region": "eu"},
            [("mcp-param-region", "us")],
            "Mcp-Param-Region header value 'us' does not match argument region",
        ),
        (
            {"region": "eu"},
            [("mcp-param-region", "EU")],
            "Mcp-Param-Region header value 'EU' does not match argument region",
        ),
        (
            {"count": 42},
            [("mcp-param-count", "42.5")],
            "Mcp-Param-Count header value '42.5' does not match argument count",
        ),
        (
            {"count": 42},
            [("mcp-param-count", "forty-two")],
            "Mcp-Param-Count header value 'forty-two' does not match argument count",
        ),
        ({"count": 42}, [("mcp-param-count", "")], "Mcp-Param-Count header value '' does not match argument count"),
        ({"note": 5}, [("mcp-param-note", "5.0")], "Mcp-Param-Note header value '5.0' does not match argument note"),
        (
            {"verbose": True},
            [("mcp-param-verbose", "True")],
            "Mcp-Param-Verbose header value 'True' does not match argument verbose",
        ),
        (
            {"verbose": True},
            [("mcp-param-verbose", "1")],
            "Mcp-Param-Verbose header value '1' does not match argument verbose",
        ),
        (
            {"verbose": False},
            [("mcp-param-verbose", "true")],
            "Mcp-Param-Verbose header value 'true' does not match argument verbose",
        ),
        (
            {"target": {"zone": "z1"}},
            [("mcp-param-zone", "z2")],
            "Mcp-Param-Zone header value 'z2' does not match argument target.zone",
        ),
        (
            {"region": "Hello"},
            [("mcp-param-region", "=?base64?SGVsbG8?=")],
            "header value '=?base64?SGVsbG8?=' is not valid Base64",
        ),
        (
            {"region": "Hello"},
            [("mcp-param-region", "=?base64?SGVs!!!bG8=?=")],
            "header value '=?base64?SGVs!!!bG8=?=' is not valid Base64",
        ),
        (
            {"region": "Hello"},
            [("mcp-param-region", "SGVsbG8=")],
            "Mcp-Param-Region header value 'SGVsbG8=' does not match argument region",
        ),
        (
            {"region": "é"},
            [("mcp-param-region", "é".encode("latin-1"))],
            "header value contains characters outside visible ASCII, space and tab",
        ),
    ],
)
def test_mirrored_parameters_refused(
    stateless: Harness, arguments: dict[str, Any], headers: list[Any], message: str
) -> None:
    call = lookup(arguments, headers, rid="p")
    out = post_stateless(stateless, call["body"], extra=call["extra"])
    assert error_of(out, 400) == {
        "jsonrpc": "2.0",
        "id": "p",
        "error": {"code": -32020, "message": f"Header mismatch: {message}"},
    }


def test_invalid_arguments_are_a_tool_error_before_the_headers_are_checked(stateless: Harness) -> None:
    call = lookup({"count": "many"}, [])
    result = result_of(post_stateless(stateless, call["body"]))
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("Invalid arguments for tool 'lookup':")


def test_mirrored_integer_comparison_is_exact_for_big_integers(stateless: Harness) -> None:
    call = lookup({"count": 9007199254740993}, [("mcp-param-count", "9007199254740992")])
    out = post_stateless(stateless, call["body"], extra=call["extra"])
    assert error_of(out, 400)["error"]["code"] == -32020


def test_mirrored_integer_beyond_float_range_is_refused_not_crashing(stateless: Harness) -> None:
    call = lookup({"count": 10**400}, [("mcp-param-count", "1")])
    out = post_stateless(stateless, call["body"], extra=call["extra"])
    assert error_of(out, 400)["error"]["code"] == -32020


def test_non_ascii_whitespace_around_a_mirrored_value_is_refused(stateless: Harness) -> None:
    call = lookup({"region": "Hello"}, [("mcp-param-region", b"\xa0Hello")])
    out = post_stateless(stateless, call["body"], extra=call["extra"])
    assert error_of(out, 400)["error"]["code"] == -32020


# -- logging ---------------------------------------------------------------------------------


def test_no_logs_without_a_log_level(harness: Harness) -> None:
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "chatty"})))
    assert run.exchange.peer.log_level is None
    for level in ("debug", "info", "emergency"):
        assert harness.run(run.exchange.log(1, level, "hello", None)) == []
    assert only_response(harness.run(run.exchange.complete(run.call, "done"))).status == 200


def test_logs_at_or_above_the_requested_level(harness: Harness) -> None:
    body = stateless_request("tools/call", {"name": "chatty"}, meta=stateless_meta(**{META_LOG_LEVEL: "warning"}))
    run = run_handler(post_stateless(harness, body))
    assert run.exchange.peer.log_level == "warning"
    assert harness.run(run.exchange.log(1, "info", "quiet", None)) == []
    out = harness.run(run.exchange.log(1, "warning", "loud", "app"))
    data = (
        b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","data":"loud","logger":"app"}}'
    )
    assert out == [
        StartStream(None, "s1", sse_headers(None)),
        SendEvent(None, "s1", 1, frame_event(data)),
    ]
    final = harness.run(run.exchange.complete(run.call, "done"))
    assert [type(o) for o in final] == [SendEvent, EndStream]
    assert final[1] == EndStream(None, "s1", 2)
    # After the response, a log has nowhere to go: stateless requests have no GET stream.
    assert harness.run(run.exchange.log(1, "error", "late", None)) == []


@pytest.mark.parametrize("level", ["loud", "INFO", 3, ""])
def test_invalid_log_level_is_invalid_params(harness: Harness, level: Any) -> None:
    body = stateless_request("tools/list", rid=9, meta=stateless_meta(**{META_LOG_LEVEL: level}))
    assert error_of(post_stateless(harness, body), 400) == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": -32602, "message": f"Invalid params: unknown logLevel {level!r}"},
    }


@pytest.mark.parametrize(
    ("peer", "level", "wanted"),
    [
        (Peer(None, STATELESS, stateless=True), "emergency", False),
        (Peer(None, STATELESS, log_level="info", stateless=True), "debug", False),
        (Peer(None, STATELESS, log_level="info", stateless=True), "info", True),
        (Peer(None, STATELESS, log_level="info", stateless=True), "error", True),
        (Peer("s", "2025-11-25"), "debug", True),
        (Peer("s", "2025-11-25", log_level="error"), "warning", False),
        (Peer("s", "2025-11-25", log_level="error"), "critical", True),
    ],
)
def test_peer_wants_log(peer: Peer, level: str, wanted: bool) -> None:
    assert peer.wants_log(level) is wanted


def test_peer_capabilities_must_be_objects() -> None:
    peer = Peer(None, STATELESS, {"sampling": {}, "roots": True, "elicitation": None}, stateless=True)
    assert peer.has_capability("sampling") is True
    assert peer.has_capability("roots") is False
    assert peer.has_capability("elicitation") is False
    assert peer.has_capability("experimental") is False


def test_the_stateless_peer_of_a_request(harness: Harness) -> None:
    meta = stateless_meta({"sampling": {}}, **{"io.modelcontextprotocol/clientInfo": {"name": "c"}})
    run = run_handler(post_stateless(harness, stateless_request("tools/call", {"name": "chatty"}, meta=meta)))
    assert run.exchange.peer == Peer(None, STATELESS, {"sampling": {}}, None, stateless=True, server_info=DEMO_INFO)
    assert run.exchange.session_id is None
    assert run.exchange.cancel_on_disconnect is True
    session = harness.initialize()
    handshake = run_handler(
        harness.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "chatty"}}, session)
    )
    assert handshake.exchange.cancel_on_disconnect is False


# -- streaming tools -----------------------------------------------------------------------


def test_streaming_tool_has_no_ids_no_priming_and_no_store(harness: Harness) -> None:
    meta = stateless_meta(progressToken="tok")
    body = stateless_request("tools/call", {"name": "count", "arguments": {"n": 2}}, rid=7, meta=meta)
    headers = [*HEAD, *routing_headers(body), ("mcp-session-id", "ignored"), ("last-event-id", "s1-0")]
    plan = harness.server.receive(HttpRequest.build("POST", "/mcp", headers), json.dumps(body).encode())
    outputs, commands = collect(plan, harness.store)
    assert commands == []
    start = outputs[0]
    assert start == StartStream(None, "s1", sse_headers(None), None, None)
    assert start.headers == (
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache, no-transform"),
        ("x-accel-buffering", "no"),
    )
    run = run_handler(outputs)
    assert run.call.streaming is True
    assert run.call.progress_token == "tok"
    sent: list[Any] = []
    for chunk in ("1", "2"):
        out, commands = collect(run.exchange.chunk(run.call, chunk), harness.store)
        assert commands == []
        sent += out
    out, commands = collect(run.exchange.complete(run.call, None), harness.store)
    assert commands == []
    sent += out
    progress = {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {
            "progressToken": "tok",
            "progress": 1,
            "message": "1",
            "_meta": {"io.github.mcp-sansio/chunk": {"type": "text", "text": "1"}},
        },
    }
    final = {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {
            "content": [{"type": "text", "text": "1"}, {"type": "text", "text": "2"}],
            "resultType": "complete",
            "_meta": {META_SERVER_INFO: DEMO_INFO},
        },
    }
    assert sent[0] == SendEvent(None, "s1", 1, frame_event(dumps(progress)))
    assert [type(o) for o in sent] == [SendEvent, SendEvent, SendEvent, EndStream]
    assert sent[2] == SendEvent(None, "s1", 3, frame_event(dumps(final)))
    assert sent[3] == EndStream(None, "s1", 3)
    for event in sent[:3]:
        assert event.data.startswith(b"event: message\ndata: ")
        assert b"id:" not in event.data and b"retry:" not in event.data
    assert harness.store.session_ids() == []


def test_streaming_tool_without_token_or_log_level_sends_only_the_result(harness: Harness) -> None:
    body = stateless_request("tools/call", {"name": "count", "arguments": {"n": 2}}, rid=8)
    outputs = post_stateless(harness, body)
    assert isinstance(outputs[0], StartStream)
    run = run_handler(outputs)
    assert harness.run(run.exchange.chunk(run.call, "1")) == []
    final = harness.run(run.exchange.complete(run.call, None))
    assert [type(o) for o in final] == [SendEvent, EndStream]
    assert final[0].seq == 1


def test_streaming_tool_with_log_level_sends_log_messages(harness: Harness) -> None:
    meta = stateless_meta(**{META_LOG_LEVEL: "info"})
    run = run_handler(
        post_stateless(harness, stateless_request("tools/call", {"name": "count", "arguments": {"n": 1}}, meta=meta))
    )
    out = harness.run(run.exchange.chunk(run.call, "1"))
    message = {
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {
            "level": "info",
            "logger": "tool/count",
            "data": {"requestId": 1, "chunk": {"type": "text", "text": "1"}},
        },
    }
    assert out == [SendEvent(None, "s1", 1, frame_event(dumps(message)))]


def test_stateless_exchange_refuses_server_requests(harness: Harness) -> None:
    run = run_handler(
        post_stateless(harness, stateless_request("tools/call", {"name": "chatty"}, capabilities={"sampling": {}}))
    )
    with pytest.raises(LocalProtocolError, match="no server-to-client requests"):
        harness.run(run.exchange.server_request(1, "sampling/createMessage", {}))
    # close_stream is for resumable handshake streams only.
    assert harness.run(run.exchange.close_stream(1)) == []


def test_progress_on_the_stateless_path(harness: Harness) -> None:
    body = stateless_request("tools/call", {"name": "chatty"}, rid=4, meta=stateless_meta(progressToken=9))
    run = run_handler(post_stateless(harness, body))
    out = harness.run(run.exchange.progress(run.call, 0.5, None, None))
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 9, "progress": 0.5}}
    assert out == [StartStream(None, "s1", sse_headers(None)), SendEvent(None, "s1", 1, frame_event(dumps(progress)))]
    with pytest.raises(LocalProtocolError, match="progress must increase"):
        harness.run(run.exchange.progress(run.call, 0.5, None, None))


def test_a_failing_resource_handler_is_an_internal_error(harness: Harness) -> None:
    run = run_handler(post_stateless(harness, stateless_request("resources/read", {"uri": "test://text"}, rid=6)))
    out = harness.run(run.exchange.fail(run.call, ValueError("disk on fire")))
    response = only_response(out)
    assert response.status == 200
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": 6,
        "error": {"code": -32603, "message": "Internal error: ValueError: disk on fire"},
    }


# -- the helpers of _stateless directly ---------------------------------------------------------------


def test_stateless_meta_capabilities() -> None:
    from mcp_sansio._stateless_rules import StatelessMeta

    meta = StatelessMeta(STATELESS, {"sampling": {}, "roots": None}, None, None)
    assert meta.has_capability("sampling") is True
    assert meta.has_capability("roots") is False
    assert meta.has_capability("elicitation") is False


def test_header_paths_skip_odd_schemas() -> None:
    from mcp_sansio._http import Headers
    from mcp_sansio._stateless_rules import check_param_headers

    schema = {
        "type": "object",
        "properties": {
            "anything": True,
            "numbered": {"type": "string", "x-mcp-header": 5},
            "listed": {"type": ["integer", "null"], "x-mcp-header": "Listed"},
            "deep": {"properties": {"deeper": {"properties": {"leaf": {"x-mcp-header": "Leaf"}}}}},
        },
    }
    arguments = {"anything": 1, "numbered": "x", "listed": 3, "deep": {"deeper": {"leaf": "v"}}}
    check_param_headers(Headers([("mcp-param-listed", "3"), ("mcp-param-leaf", "v")]), schema, arguments)
    # A type list is compared as text: "3.0" is not "3".
    with pytest.raises(RemoteProtocolError) as info:
        check_param_headers(Headers([("mcp-param-listed", "3.0"), ("mcp-param-leaf", "v")]), schema, arguments)
    assert info.value.code == -32020
    with pytest.raises(RemoteProtocolError, match=r"Mcp-Param-Leaf header is required when deep\.deeper\.leaf"):
        check_param_headers(Headers([("mcp-param-listed", "3")]), schema, arguments)
    check_param_headers(Headers([]), schema, {"deep": "not an object"})


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("plain", "plain"),
        ("  spaced\t", "spaced"),
        ("a b\tc", "a b\tc"),
        ("=?base64??=", ""),
        ("=?base64?w6k=?=", "é"),
        ("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", "=?base64?literal?="),
    ],
)
def test_decode_header_value(raw: str, decoded: str) -> None:
    from mcp_sansio._stateless_rules import decode_header_value

    assert decode_header_value(raw) == decoded


@pytest.mark.parametrize("raw", ["a\nb", "tab\x7f", "é", "=?base64?w6k?=", "=?base64?_-8=?="])
def test_decode_header_value_refusals(raw: str) -> None:
    from mcp_sansio._stateless_rules import decode_header_value

    with pytest.raises(RemoteProtocolError) as info:
        decode_header_value(raw)
    assert (info.value.code, info.value.error_status_hint) == (-32020, 400)
