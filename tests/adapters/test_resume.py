"""Disconnects, resumes, stream polling and cancellation over real sockets, on asyncio and trio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import App, Config, Context
from tests.adapters.conftest import Running, start
from tests.adapters.test_http import HEADERS, initialize

pytestmark = pytest.mark.anyio


def streaming_app(finalized: list[str]) -> App:
    app = App("resume")

    @app.tool()
    async def numbers(count: int, interval_ms: int = 0) -> AsyncIterator[str]:
        """Streams 1..count."""
        try:
            for i in range(1, count + 1):
                if interval_ms:
                    await anyio.sleep(interval_ms / 1000)
                yield str(i)
        finally:
            finalized.append("numbers")

    @app.tool()
    async def slow(ctx: Context) -> str:
        """Logs, then waits long."""
        await ctx.log("info", "started")
        await anyio.sleep(30)
        return "never"

    return app


def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    """(id, decoded data or None for priming) per event."""
    events = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not any(line.startswith("data:") for line in lines):
            continue
        event_id = next((line[4:] for line in lines if line.startswith("id: ")), None)
        data = "".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((event_id, json.loads(data) if data else None))
    return events


def call(rid: int, name: str, arguments: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if token:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


class Events:
    """Reads SSE events from a streaming response, a few at a time or to the end."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def read(self, limit: int | None = None) -> list[tuple[str | None, Any]]:
        found: list[tuple[str | None, Any]] = []
        while limit is None or len(found) < limit:
            if "\n\n" in self._buffer:
                block, self._buffer = self._buffer.split("\n\n", 1)
                found += parse_sse(block + "\n\n")
                continue
            try:
                self._buffer += await self._chunks.__anext__()
            except StopAsyncIteration:
                found += parse_sse(self._buffer)
                self._buffer = ""
                break
        return found


async def read_events(response: httpx.Response, limit: int | None = None) -> list[tuple[str | None, Any]]:
    return await Events(response).read(limit)


@pytest.fixture
async def server(flavour: str) -> AsyncIterator[tuple[Running, list[str]]]:
    finalized: list[str] = []
    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, streaming_app(finalized)), finalized
        tg.cancel_scope.cancel()


async def test_disconnect_then_resume_delivers_each_event_exactly_once(server: tuple[Running, list[str]]) -> None:
    running, _ = server
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, running.url)
        headers = {**HEADERS, "mcp-session-id": session}
        async with client.stream(
            "POST", running.url, json=call(5, "numbers", {"count": 6, "interval_ms": 30}, "t"), headers=headers
        ) as response:
            first = await read_events(response, limit=3)  # priming + 2 chunks, then drop the connection
        assert first[0][1] is None
        last_id = first[-1][0]
        assert last_id is not None
        async with client.stream("GET", running.url, headers={**headers, "last-event-id": last_id}) as response:
            assert response.status_code == 200
            rest = await read_events(response)
    messages = [data for _, data in first[1:] + rest]
    assert [m["params"]["progress"] for m in messages[:-1]] == [1, 2, 3, 4, 5, 6]
    assert messages[-1]["id"] == 5 and len(messages[-1]["result"]["content"]) == 6
    ids = [event_id for event_id, _ in first + rest]
    assert len(ids) == len(set(ids))


async def test_resume_after_completion_replays_the_tail_and_ends(server: tuple[Running, list[str]]) -> None:
    running, finalized = server
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, running.url)
        headers = {**HEADERS, "mcp-session-id": session}
        async with client.stream(
            "POST", running.url, json=call(1, "numbers", {"count": 3}, "t"), headers=headers
        ) as response:
            everything = await read_events(response)
        assert finalized == ["numbers"]
        for k in range(len(everything)):
            resume_from = everything[k][0]
            assert resume_from is not None
            async with client.stream("GET", running.url, headers={**headers, "last-event-id": resume_from}) as response:
                replayed = await read_events(response)
            assert replayed == everything[k + 1 :]


async def test_stream_polling_closes_and_resumes_without_loss(flavour: str) -> None:
    finalized: list[str] = []
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, streaming_app(finalized), Config(sse_close_after_events=2))
        async with httpx.AsyncClient(timeout=10) as client:
            session = await initialize(client, running.url)
            headers = {**HEADERS, "mcp-session-id": session}
            async with client.stream(
                "POST", running.url, json=call(1, "numbers", {"count": 5, "interval_ms": 60}, "t"), headers=headers
            ) as response:
                received = await read_events(response)
            connections = 1
            while received[-1][1] is None or "result" not in received[-1][1]:
                last = received[-1][0]
                assert last is not None
                async with client.stream("GET", running.url, headers={**headers, "last-event-id": last}) as response:
                    received += await read_events(response)
                connections += 1
                assert connections < 10
        tg.cancel_scope.cancel()
    messages = [data for _, data in received if data is not None]
    assert [m["params"]["progress"] for m in messages[:-1]] == [1, 2, 3, 4, 5]
    assert connections >= 3


async def test_cancellation_closes_the_generator(server: tuple[Running, list[str]]) -> None:
    running, finalized = server
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, running.url)
        headers = {**HEADERS, "mcp-session-id": session}
        async with client.stream(
            "POST", running.url, json=call(8, "numbers", {"count": 1000, "interval_ms": 20}, "t"), headers=headers
        ) as response:
            events = Events(response)
            await events.read(limit=2)
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 8}}
            assert (await client.post(running.url, json=cancel, headers=headers)).status_code == 202
            rest = await events.read()
    assert finalized == ["numbers"]
    assert rest[-1][1]["error"]["code"] == -32800


async def test_session_delete_stops_handlers_and_streams(server: tuple[Running, list[str]]) -> None:
    running, _ = server
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, running.url)
        headers = {**HEADERS, "mcp-session-id": session}
        async with client.stream("POST", running.url, json=call(1, "slow", {}), headers=headers) as response:
            events = Events(response)
            await events.read(limit=2)
            assert (await client.delete(running.url, headers=headers)).status_code == 200
            with anyio.fail_after(5):
                await events.read()
    assert running.runtime.handlers_running == 0


async def test_time_budget_ends_a_get_stream_which_the_client_resumes(flavour: str) -> None:
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, streaming_app([]), Config(sse_close_after_seconds=0.2))
        async with httpx.AsyncClient(timeout=10) as client:
            session = await initialize(client, running.url)
            headers = {**HEADERS, "mcp-session-id": session}
            with anyio.fail_after(5):
                async with client.stream("GET", running.url, headers=headers) as response:
                    first = await read_events(response)  # ends by itself after 0.2 s
            assert first[0][1] is None and first[0][0] == "0-0"
            await running.runtime.notify_session(session, "notifications/tools/list_changed")
            async with client.stream("GET", running.url, headers={**headers, "last-event-id": "0-0"}) as response:
                again = await read_events(response)
        assert again[-1] == ("0-1", {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        tg.cancel_scope.cancel()
