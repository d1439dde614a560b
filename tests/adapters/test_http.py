"""HTTP/1.1 behaviour over real sockets: every adapter, and the h11 server's own deadlines and parsing."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from mcp_sansio import Config
from mcp_sansio_h11 import Timeouts
from tests.adapters.conftest import H11_FLAVOURS, Running, start
from tests.apps import demo_app

pytestmark = pytest.mark.anyio

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


async def initialize(client: httpx.AsyncClient, url: str) -> str:
    response = await client.post(url, json=INIT, headers=HEADERS)
    assert response.status_code == 200
    session = response.headers["mcp-session-id"]
    note = await client.post(
        url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={**HEADERS, "mcp-session-id": session},
    )
    assert note.status_code == 202 and note.content == b""
    return session


async def raw_exchange(running: Running, data: bytes, read_until: bytes = b"\r\n\r\n") -> bytes:
    async with await anyio.connect_tcp(running.host, running.port) as stream:
        await stream.send(data)
        received = b""
        with anyio.move_on_after(5):
            while read_until not in received:
                try:
                    received += await stream.receive()
                except anyio.EndOfStream:
                    break
        return received


async def test_json_tool_call_over_http(running: Running) -> None:
    async with httpx.AsyncClient() as client:
        session = await initialize(client, running.url)
        response = await client.post(
            running.url,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 5}}},
            headers={**HEADERS, "mcp-session-id": session},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": "7"}]}}


async def test_streaming_tool_over_sse(running: Running) -> None:
    async with httpx.AsyncClient() as client:
        session = await initialize(client, running.url)
        body = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "count", "arguments": {"n": 3}, "_meta": {"progressToken": "p"}},
        }
        async with client.stream(
            "POST", running.url, json=body, headers={**HEADERS, "mcp-session-id": session}
        ) as response:
            assert response.headers["content-type"] == "text/event-stream"
            text = (await response.aread()).decode()
    ids = [line[4:] for line in text.splitlines() if line.startswith("id: ")]
    stream = ids[0].split("-")[0]
    assert ids == [f"{stream}-{i}" for i in range(5)]
    data = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert [d["params"]["progress"] for d in data[:3]] == [1, 2, 3]
    assert data[3]["id"] == 3 and len(data[3]["result"]["content"]) == 3


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_keep_alive_and_pipelining(running: Running) -> None:
    ping = json.dumps(INIT).encode()
    request = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(ping), ping)
    )
    async with await anyio.connect_tcp(running.host, running.port) as stream:
        await stream.send(request * 3)
        received = b""
        with anyio.fail_after(5):
            while received.count(b"HTTP/1.1 200") < 3 or not received.endswith(b"}}"):
                received += await stream.receive()
    assert received.count(b"HTTP/1.1 200 ") == 3
    assert received.count(b'"protocolVersion":"2025-11-25"') == 3


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_expect_100_continue(running: Running) -> None:
    body = json.dumps(INIT).encode()
    async with await anyio.connect_tcp(running.host, running.port) as stream:
        await stream.send(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        with anyio.fail_after(5):
            interim = await stream.receive()
        assert interim.startswith(b"HTTP/1.1 100 ")
        await stream.send(body)
        received = b""
        with anyio.fail_after(5):
            while b"}}" not in received:
                received += await stream.receive()
    assert b"HTTP/1.1 200 " in received


async def test_chunked_request_body(running: Running) -> None:
    body = json.dumps(INIT).encode()
    half = len(body) // 2
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
    received = await raw_exchange(
        running,
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
        read_until=b"}}",
    )
    assert received.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_malformed_http_gets_400_and_close(running: Running) -> None:
    received = await raw_exchange(running, b"GARBAGE\r\n\r\n", read_until=b"\n\n")
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in received.lower()


async def test_wrong_path_is_404(running: Running) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(running.url.replace("/mcp", "/other"), json=INIT, headers=HEADERS)
    assert response.status_code == 404


async def test_body_limit_while_reading(flavour: str) -> None:
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, demo_app(), Config(max_body_size=100))
        chunk = b"x" * 200
        received = await raw_exchange(
            running,
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (len(chunk), chunk),
            read_until=b"}}",
        )
        assert received.startswith(b"HTTP/1.1 413 ")
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_header_deadline_closes_slow_clients(flavour: str) -> None:
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, demo_app(), timeouts=Timeouts(header=0.2, body=0.2, idle=0.2))
        async with await anyio.connect_tcp(running.host, running.port) as stream:
            await stream.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            received = b""
            with anyio.fail_after(5):
                try:
                    while True:
                        received += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    pass
        assert received.startswith(b"HTTP/1.1 408 ")
        tg.cancel_scope.cancel()


async def test_client_reset_is_quiet(running: Running, caplog: pytest.LogCaptureFixture) -> None:
    async with httpx.AsyncClient() as client:
        session = await initialize(client, running.url)
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "count", "arguments": {"n": 2}}}
    ).encode()
    async with await anyio.connect_tcp(running.host, running.port) as stream:
        await stream.send(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Type: application/json\r\nMcp-Session-Id: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (session.encode(), len(body), body)
        )
    await anyio.sleep(0.1)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    # The server still serves.
    async with httpx.AsyncClient() as client:
        assert (await client.post(running.url, json=INIT, headers=HEADERS)).status_code == 200


async def test_clients_that_vanish_mid_response_do_not_hurt_the_server(running: Running) -> None:
    body = json.dumps(INIT).encode()
    request = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    for _ in range(20):
        # Pipelined requests, then gone before reading: the server's writes hit a closed socket.
        stream = await anyio.connect_tcp(running.host, running.port)
        await stream.send(request * 50)
        await stream.aclose()
    await anyio.sleep(0.2)
    async with httpx.AsyncClient() as client:
        assert (await client.post(running.url, json=INIT, headers=HEADERS)).status_code == 200


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_body_deadline_answers_408(flavour: str) -> None:
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, demo_app(), timeouts=Timeouts(header=5, body=0.2, idle=5))
        received = await raw_exchange(
            running,
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"',
            read_until=b"Request Timeout",
        )
        assert received.startswith(b"HTTP/1.1 408 ")
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # the ASGI server parses HTTP
async def test_idle_keep_alive_connections_are_closed_quietly(flavour: str) -> None:
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, demo_app(), timeouts=Timeouts(header=5, body=5, idle=0.2))
        async with await anyio.connect_tcp(running.host, running.port) as stream:
            with anyio.fail_after(5):
                try:
                    received = await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    received = b""
        assert received == b""  # closed without a response: no request had started
        tg.cancel_scope.cancel()
