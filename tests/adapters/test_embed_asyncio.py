"""examples/embed_asyncio.py: the core embedded on plain asyncio streams, driven by the official SDK client."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from mcp.client import Client

from mcp_sansio import App
from mcp_sansio_h11.cli import load_target

pytestmark = pytest.mark.anyio
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAD = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the example is plain asyncio


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(name) or importlib.util.module_from_spec(spec)
    if name not in sys.modules:
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def everything() -> App:
    app = load_target(f"{EXAMPLES / 'everything.py'}:app")
    assert isinstance(app, App)
    return app


@pytest.fixture
async def served(everything: App) -> AsyncIterator[tuple[Any, str]]:
    embedded, port = await _load("embed_asyncio").start(everything, "127.0.0.1", 0)
    try:
        yield embedded, f"http://127.0.0.1:{port}/mcp"
    finally:
        await embedded.aclose()


async def test_sdk_client_initializes_lists_calls_streams_and_leaves(served: tuple[Any, str]) -> None:
    embedded, url = served
    progress: list[tuple[float, str | None]] = []
    logs: list[Any] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def on_log(params: Any) -> None:
        logs.append(params.data)

    async with Client(url, mode="legacy", logging_callback=on_log) as client:
        assert client.protocol_version == "2025-11-25"
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"test_simple_text", "stream_numbers"} <= names
        plain = await client.call_tool("test_simple_text", {})
        assert plain.content[0].text == "This is a simple text response for testing."  # type: ignore[union-attr]
        streamed = await client.call_tool(
            "stream_numbers", {"count": 5, "interval_ms": 1}, progress_callback=on_progress
        )
        assert progress == [(float(i), str(i)) for i in range(1, 6)]
        assert [block.text for block in streamed.content] == ["1", "2", "3", "4", "5"]  # type: ignore[union-attr]
        logged = await client.call_tool("test_tool_with_logging", {})  # Context.log switches the POST to SSE
        assert logged.content[0].text == "Tool with logging executed successfully"  # type: ignore[union-attr]
        assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]
        [session_id] = embedded.store.session_ids()
    assert embedded.seen["DELETE"] == 1  # closing the client ends its session
    assert session_id not in embedded.store.session_ids()
    assert embedded.store.session_ids() == []


async def test_server_to_client_requests_and_resuming_a_closed_stream(served: tuple[Any, str]) -> None:
    _embedded, url = served

    async def elicitation(context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        return ElicitResult(action="accept", content={"username": "u", "email": "e@x"})

    async with Client(url, mode="legacy", elicitation_callback=elicitation) as client:
        # Context.request: an elicitation/create on the POST stream, answered by a later POST (DeliverResponse).
        elicited = await client.call_tool("test_elicitation", {"message": "who?"})
        assert elicited.content[0].text == (  # type: ignore[union-attr]
            'User response: action=accept, content={"username": "u", "email": "e@x"}'
        )
        # Context.close_stream ends the POST's response (DisconnectStream); the client resumes with
        # GET and Last-Event-ID (ResumeStream) and gets the result exactly once.
        resumed = await client.call_tool("test_reconnection", {})
        assert resumed.content[0].text.startswith("Reconnection test completed successfully")  # type: ignore[union-attr]


async def test_sdk_client_streams_in_2026_07_28(served: tuple[Any, str]) -> None:
    _embedded, url = served
    seen: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)

    async with Client(url) as client:  # stateless: no session, streams without a log
        assert client.protocol_version == "2026-07-28"
        result = await client.call_tool("stream_numbers", {"count": 3}, progress_callback=on_progress)
    assert seen == [1.0, 2.0, 3.0]
    assert [block.text for block in result.content] == ["1", "2", "3"]  # type: ignore[union-attr]


async def _handshake(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    session_id = (await http.post(url, headers=HEAD, json=INITIALIZE)).headers["mcp-session-id"]
    headers = {**HEAD, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    await http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return headers


def _events(text: str) -> list[dict[str, str]]:
    """SSE events as {field: value}, comments and priming events left out."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if fields.get("data"):
            found.append(fields)
    return found


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_a_client_that_leaves_mid_stream_resumes_with_last_event_id(served: tuple[Any, str]) -> None:
    embedded, url = served
    call = {"name": "stream_numbers", "arguments": {"count": 40, "interval_ms": 25}}
    async with httpx.AsyncClient(timeout=10) as http:
        headers = await _handshake(http, url)
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": call}
        text = ""
        async with http.stream("POST", url, headers=headers, json=body) as response:
            assert response.headers["transfer-encoding"] == "chunked"
            async for piece in response.aiter_text():
                text += piece
                if len(_events(text)) >= 3:
                    break  # leave mid-stream: in 2025-11-25 that cancels nothing
        first = _events(text)[:3]
        await _until(lambda: not embedded.readers)  # the server noticed, and detached the reader
        assert len(embedded.handlers) == 1
        resumed = await http.get(url, headers={**headers, "last-event-id": first[-1]["id"]})
    rest = _events(resumed.text)
    numbers = [json.loads(e["data"])["params"]["data"]["chunk"]["text"] for e in first + rest[:-1]]
    assert numbers == [str(i) for i in range(1, 41)]  # every chunk exactly once, in order
    assert len(json.loads(rest[-1]["data"])["result"]["content"]) == 40


async def test_closing_a_2026_07_28_stream_cancels_its_handler(served: tuple[Any, str]) -> None:
    embedded, url = served
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = {"name": "stream_numbers", "arguments": {"count": 1000, "interval_ms": 10}, "_meta": meta}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    routing = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "stream_numbers"}
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("POST", url, headers={**HEAD, **routing}, json=body) as response:
            assert response.status_code == 200
            await _until(lambda: len(embedded.handlers) == 1)
    await _until(lambda: not embedded.handlers)  # the closed response cancelled the tool


async def test_raw_refusals_wrong_path_accept_and_chunked_body(served: tuple[Any, str]) -> None:
    _embedded, url = served
    async with httpx.AsyncClient() as http:
        wrong = await http.post(url.replace("/mcp", "/nope"), headers=HEAD, json=INITIALIZE)
        assert wrong.status_code == 404
        no_sse = await http.post(url, headers={**HEAD, "accept": "application/json"}, json=INITIALIZE)
        assert no_sse.status_code == 406
        # The refusal came before the body was read; the connection still carries the next request.
        ok = await http.post(url, headers=HEAD, json=INITIALIZE)
        assert ok.status_code == 200 and ok.json()["result"]["protocolVersion"] == "2025-11-25"

        async def chunks() -> AsyncIterator[bytes]:
            yield b"{}"

        chunked = await http.post(url, headers=HEAD, content=chunks())  # no length known: sent chunked
        assert chunked.status_code == 411


async def test_malformed_request_line_gets_400(served: tuple[Any, str]) -> None:
    _embedded, url = served
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NONSENSE\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 400 ")  # then the server closes
    writer.close()
