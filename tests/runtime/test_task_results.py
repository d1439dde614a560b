"""The runtime side of a 2025-11-25 ``tasks/result``: polling a run elsewhere, store outages, the session end."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from mcp_sansio import App, Config, MemoryStore
from tests.runtime.conftest import FailingStore, FakeTransport, Harness, build_request, running

pytestmark = pytest.mark.anyio


def gated_app(gate: list[anyio.Event]) -> App:
    app = App("gated")

    @app.tool(task_support="optional")
    async def gated() -> str:
        """Ends when the test opens its gate."""
        await gate[0].wait()
        return "opened"

    return app


def call(rid: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}


async def create(h: Harness, session: str) -> str:
    created = await h.post(call(1, "tools/call", {"name": "gated", "arguments": {}, "task": {}}), session)
    return str(created.transport.json()["result"]["task"]["taskId"])


async def test_a_run_on_another_instance_is_seen_at_the_next_poll() -> None:
    gate = [anyio.Event()]
    store = MemoryStore()  # shared: two instances of one deployment
    config = Config(task_poll_interval=0.05)
    async with running(gated_app(gate), config, store=store) as a, running(gated_app(gate), config, store=store) as b:
        session = await a.initialize()
        task_id = await create(a, session)
        await a.until(lambda: a.runtime.tasks.running == 1)  # the task runs on A
        assert b.runtime.tasks.running == 0
        waiting = b.post_soon(call(2, "tasks/result", {"taskId": task_id}), session)
        await waiting.transport.wait_for(lambda t: t.head is not None)  # an SSE stream, still open
        await anyio.sleep(0.2)
        assert not waiting.transport.done
        gate[0].set()  # the run on A ends; B learns it by polling the store
        await waiting.transport.wait_for(lambda t: t.ended)
        [answer] = waiting.transport.messages
        assert answer["id"] == 2 and answer["result"]["content"] == [{"type": "text", "text": "opened"}]
        await b.until(lambda: b.runtime.handlers_running == 0)


async def test_a_store_outage_during_a_wait_ends_its_stream_and_the_request_is_ended_later() -> None:
    gate = [anyio.Event()]
    store = FailingStore()
    async with running(gated_app(gate), Config(task_poll_interval=0.02), store=store) as h:
        session = await h.initialize()
        task_id = await create(h, session)
        waiting = h.post_soon(call(2, "tasks/result", {"taskId": task_id}), session)
        await waiting.transport.wait_for(lambda t: t.head is not None)
        store.down = True
        await waiting.transport.wait_for(lambda t: t.ended)
        assert any("session store unavailable" in comment for comment in waiting.transport.comments)
        store.down = False  # back: the request is ended in the store, so a resume gets an answer
        await h.until(lambda: h.runtime.handlers_running == 0)
        resumed = h.start(build_request("GET", session=session, headers=[("last-event-id", "s1-0")]))
        await resumed.transport.wait_for(lambda t: t.ended)
        [error] = resumed.transport.messages
        assert error["id"] == 2 and error["error"]["code"] == -32603
        gate[0].set()


async def test_the_sessions_end_stops_its_waits() -> None:
    gate = [anyio.Event()]
    async with running(gated_app(gate), Config(task_poll_interval=30)) as h:
        session = await h.initialize()
        task_id = await create(h, session)
        transport = FakeTransport()
        body = json.dumps(call(2, "tasks/result", {"taskId": task_id})).encode()
        h.start(build_request("POST", session=session), body, transport)
        await transport.wait_for(lambda t: t.head is not None)
        await h.until(lambda: h.runtime.handlers_running == 1)  # the wait counts as a running handler
        deleted = await h.serve(build_request("DELETE", session=session))
        assert deleted.transport.status == 200
        await h.until(lambda: h.runtime.handlers_running == 0)
        gate[0].set()
