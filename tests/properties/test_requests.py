"""Whatever arrives, the core answers with a well-formed HTTP response (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_sansio import (
    HttpRequest,
    Output,
    ResumeStream,
    RunHandler,
    SendResponse,
    SessionClosed,
    StartStream,
)
from mcp_sansio._events import CancelRequest, DeliverResponse, SendEvent
from tests.apps import demo_app
from tests.conftest import HEAD, make_harness

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
methods = st.sampled_from(
    [
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/read",
        "prompts/get",
        "server/discover",
        "subscriptions/listen",
        "logging/setLevel",
        "completion/complete",
        "notifications/initialized",
        "notifications/cancelled",
        "nope",
    ]
)
messages = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0"]), "method": methods},
    optional={
        "id": st.integers() | st.text(max_size=5) | st.none(),
        "params": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["add", "count", "nope"]),
                "arguments": json_values,
                "uri": st.sampled_from(["test://text", "test://items/1", "x"]),
                "_meta": st.fixed_dictionaries(
                    {},
                    optional={
                        "io.modelcontextprotocol/protocolVersion": st.sampled_from(["2026-07-28", "2025-11-25", "v9"]),
                        "io.modelcontextprotocol/clientCapabilities": json_values,
                        "progressToken": json_values,
                    },
                ),
            },
        ),
    },
)
header_names = st.sampled_from(
    [
        "accept",
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        "origin",
        "host",
        "mcp-method",
        "mcp-name",
        "content-length",
        "x-other",
    ]
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40) | st.sampled_from(
    [
        "application/json",
        "text/event-stream",
        "application/json, text/event-stream",
        "2026-07-28",
        "2025-11-25",
        "session1",
        "s1-0",
        "0-0",
        "localhost:8000",
        "http://evil.example",
        "=?base64?YWRk?=",
        "tools/call",
    ]
)
headers = st.lists(st.tuples(header_names, header_values), max_size=8)

KNOWN = (SendResponse, StartStream, SendEvent, ResumeStream, RunHandler, DeliverResponse, CancelRequest, SessionClosed)


def check_well_formed(outputs: list[Output]) -> None:
    assert outputs, "the core must always say what to do"
    for output in outputs:
        assert isinstance(output, KNOWN), output
        if isinstance(output, SendResponse):
            assert 200 <= output.status <= 599
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in output.headers)
            if ("content-type", "application/json") in output.headers:
                payload = json.loads(output.body)
                assert isinstance(payload, (dict, list))
            elif output.status == 202:
                assert output.body == b""


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["POST", "GET", "DELETE", "PUT"]), extra=headers, body=st.binary(max_size=300))
def test_arbitrary_bytes_and_headers_get_a_well_formed_answer(
    method: str, extra: list[tuple[str, str]], body: bytes
) -> None:
    harness = make_harness(demo_app())
    session = harness.initialize()
    extra = [(k, v.replace("session1", session)) for k, v in extra]
    request = HttpRequest.build(method, "/mcp", [*HEAD, *extra])
    check_well_formed(harness.run(harness.server.receive(request, body)))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=messages | st.lists(messages, max_size=3) | json_values, extra=headers, with_session=st.booleans())
def test_arbitrary_json_messages_get_a_well_formed_answer(
    body: Any, extra: list[tuple[str, str]], with_session: bool
) -> None:
    harness = make_harness(demo_app())
    session = harness.initialize("2025-03-26")
    base = list(HEAD)
    if with_session:
        base.append(("mcp-session-id", session))
    outputs = harness.request("POST", body, extra, base=base)
    check_well_formed(outputs)
    # Every handler the core asks for can be finished, and then the exchange answers exactly once.
    for output in outputs:
        if isinstance(output, RunHandler):
            finished = harness.run(output.exchange.complete(output.call, "done"))
            assert finished
