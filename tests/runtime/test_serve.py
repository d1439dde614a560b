"""The request sequence of Runtime.serve: path, stopping, head checks, body limit, then the core."""

from __future__ import annotations

import json

import pytest

from mcp_sansio import Config, CountSessions
from tests.apps import demo_app
from tests.runtime.conftest import Body, FakeTransport, build_request, make_server, running

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
BODY = json.dumps(INITIALIZE).encode()


async def test_wrong_path_is_404_and_the_connection_stays_usable() -> None:
    async with running(demo_app()) as h:
        served = await h.serve(build_request("POST", target="/elsewhere"), Body([BODY]))
    assert served.result is True
    assert served.transport.status == 404
    assert served.body.pulled == 0


async def test_query_string_does_not_change_the_path() -> None:
    async with running(demo_app()) as h:
        served = await h.serve(build_request("POST", target="/mcp?x=1"), Body([BODY]))
    assert served.result is True
    assert served.transport.status == 200
    assert served.transport.header("mcp-session-id") == "session1"


async def test_a_stopping_runtime_refuses_with_503_and_closes_the_connection() -> None:
    async with running(demo_app()) as h:
        h.runtime.shutdown()
        served = await h.serve(build_request("POST"), Body([BODY]))
    assert served.result is False
    assert served.transport.status == 503
    assert served.body.pulled == 0
    assert ("connection", "close") in served.transport.response.headers  # type: ignore[union-attr]


async def test_a_runtime_that_is_not_running_refuses_with_503() -> None:
    from mcp_sansio_runtime import Runtime

    runtime = Runtime(make_server(demo_app()))
    transport = FakeTransport()
    body = Body([BODY])
    assert await runtime.serve(build_request("POST"), body, transport) is True
    assert transport.status == 503
    assert body.pulled == 0


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param(
            "GET",
            [("host", "127.0.0.1:8000"), ("accept", "application/json"), ("mcp-session-id", "session1")],
            406,
            id="get-without-event-stream",
        ),
        pytest.param(
            "POST",
            [
                ("host", "127.0.0.1:8000"),
                ("accept", "application/json, text/event-stream"),
                ("content-type", "text/plain"),
            ],
            415,
            id="post-wrong-content-type",
        ),
        pytest.param(
            "POST",
            [
                ("host", "127.0.0.1:8000"),
                ("accept", "application/json, text/event-stream"),
                ("content-type", "application/json"),
                ("content-length", "1000000"),
            ],
            413,
            id="post-declared-too-large",
        ),
        pytest.param("PUT", [("host", "127.0.0.1:8000")], 405, id="put"),
    ],
)
async def test_a_head_refused_by_the_core_is_answered_before_any_body_byte(
    method: str, headers: list[tuple[str, str]], status: int
) -> None:
    async with running(demo_app(), Config(max_body_size=1000)) as h:
        served = await h.serve(build_request(method, base=headers), Body([BODY, BODY]))
    assert served.transport.status == status
    assert served.body.pulled == 0
    assert served.transport.calls == ["send_response"]


async def test_a_body_outgrowing_the_limit_is_413_and_reading_stops_at_the_chunk_that_crossed_it() -> None:
    padded = BODY + b" " * (320 - len(BODY))  # a valid initialize, were it read whole
    chunks = [padded[i : i + 40] for i in range(0, 320, 40)]  # 40, 80, 120 crosses 100, ...
    async with running(demo_app(), Config(max_body_size=100)) as h:
        served = await h.serve(build_request("POST"), Body(chunks))
        sessions = h.runtime.store.execute(CountSessions())
    assert served.result is False
    assert served.transport.status == 413
    assert served.body.pulled == 3
    assert sessions == 0  # nothing reached the core


async def test_a_body_exactly_at_the_limit_is_read_whole() -> None:
    padded = BODY + b" " * (200 - len(BODY))
    chunks = [padded[i : i + 50] for i in range(0, 200, 50)]
    async with running(demo_app(), Config(max_body_size=200)) as h:
        served = await h.serve(build_request("POST"), Body(chunks))
    assert served.result is True
    assert served.body.pulled == 4
    assert served.transport.status == 200


async def test_initialize_answers_json_with_the_session_id() -> None:
    async with running(demo_app()) as h:
        served = await h.serve(build_request("POST"), Body([BODY[:10], BODY[10:]]))
    assert served.result is True
    assert served.body.pulled == 2
    transport = served.transport
    assert transport.calls == ["send_response"]
    assert transport.status == 200
    assert transport.header("content-type") == "application/json"
    assert transport.header("mcp-session-id") == "session1"
    answer = transport.json()
    assert answer["id"] == 0
    assert answer["result"]["protocolVersion"] == "2025-11-25"
    assert answer["result"]["serverInfo"] == {"name": "demo", "version": "1.2.3"}
