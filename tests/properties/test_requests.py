"""Whatever arrives, the core answers with a well-formed HTTP response (hypothesis, with the testing kit).

The strategies are the ones users get from :mod:`mcp_sansio.testing.strategies`: raw
requests with hostile header sets and bodies, and JSON values that are valid or subtly
invalid JSON-RPC messages or well-formed MCP requests of either era.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_sansio import (
    CancelRequest,
    DeliverResponse,
    Output,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    SessionClosed,
    StartStream,
)
from mcp_sansio.testing._checks import response_problem
from mcp_sansio.testing.strategies import (
    RawRequest,
    header_sets,
    http_requests,
    invalid_jsonrpc_messages,
    json_values,
    jsonrpc_messages,
    mcp_requests,
)
from tests.apps import demo_app
from tests.conftest import HEAD, make_harness, stateless_meta

KNOWN = (SendResponse, StartStream, SendEvent, ResumeStream, RunHandler, DeliverResponse, CancelRequest, SessionClosed)
METHODS = ["initialize", "ping", "tools/list", "tools/call", "resources/read", "prompts/get", "server/discover",
           "subscriptions/listen", "logging/setLevel", "completion/complete", "notifications/initialized",
           "notifications/cancelled", "nope"]
APP = demo_app()
BODIES = (
    jsonrpc_messages(METHODS)
    | invalid_jsonrpc_messages()
    | st.lists(jsonrpc_messages(METHODS), max_size=3)
    | json_values()
    | mcp_requests(APP, "handshake").map(lambda m: m.body(7))
    | mcp_requests(APP, "stateless").map(lambda m: m.body("s", stateless_meta()))
)


def check_well_formed(outputs: list[Output]) -> None:
    assert outputs, "the core must always say what to do"
    for output in outputs:
        assert isinstance(output, KNOWN), output
        if isinstance(output, SendResponse):
            assert response_problem(output) is None, (response_problem(output), output)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(raw=http_requests(session_ids=["session1"]))
def test_arbitrary_requests_get_a_well_formed_answer(raw: RawRequest) -> None:
    harness = make_harness(APP)
    assert harness.initialize() == "session1"
    check_well_formed(harness.run(harness.server.receive(raw.head(), raw.body)))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, extra=header_sets(session_ids=["session1"], max_size=4), with_session=st.booleans())
def test_arbitrary_json_messages_get_a_well_formed_answer(
    body: Any, extra: list[tuple[str, str]], with_session: bool
) -> None:
    harness = make_harness(APP)
    session = harness.initialize("2025-03-26")
    base = list(HEAD)
    if with_session:
        base.append(("mcp-session-id", session))
    outputs = harness.request("POST", None, extra, raw=json.dumps(body).encode(), base=base)
    check_well_formed(outputs)
    # Every handler the core asks for can be finished, and then the exchange answers exactly once.
    for output in outputs:
        if isinstance(output, RunHandler):
            call = output.call
            finished = harness.run(output.exchange.complete(call, None if call.streaming else "done"))
            assert finished
