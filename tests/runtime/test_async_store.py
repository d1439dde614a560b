"""A store whose answers must be awaited (as a remote one's are) serves the same flows."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_sansio import AppendEvent, MemoryStore, StoreCommand
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import FailingStore, call_tool, running
from tests.runtime.test_streams import disconnect_then_resume

pytestmark = pytest.mark.anyio


class AwaitedStore:
    """The memory store behind an ``async def execute`` that yields to the event loop first."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.commands: list[str] = []

    async def execute(self, command: StoreCommand) -> Any:
        await anyio.sleep(0)
        self.commands.append(type(command).__name__)
        return self.inner.execute(command)


async def test_initialize_tool_call_disconnect_and_resume_through_an_awaited_store() -> None:
    store = AwaitedStore()
    await disconnect_then_resume(store)
    for name in ("CountSessions", "SaveSession", "LoadSession", "LoadAndClaim", "AppendEvent", "ReadEvents"):
        assert name in store.commands, name


async def test_a_plain_tool_call_and_a_context_round_trip_through_an_awaited_store() -> None:
    store = AwaitedStore()
    c = controls()
    async with running(controlled_app(c), store=store) as h:
        session = await h.initialize(capabilities={"elicitation": {}})
        quick = await h.post(call_tool(1, "nap", {"name": "quick", "seconds": 0}), session)
        post = h.post_soon(call_tool(2, "interview"), session)
        events = await post.transport.wait_events(3)  # priming, log, elicitation/create
        ask = events[-1].data
        assert ask["method"] == "elicitation/create"
        await h.post(
            {"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {"name": "Ada"}}}, session
        )
        await post.wait()
    assert quick.transport.json()["result"]["content"][0]["text"] == "quick slept"
    assert post.transport.messages[-1]["result"]["content"][0]["text"] == "hello Ada"
    assert "ReleaseRequest" in store.commands


class GatedStore(AwaitedStore):
    """Answers the next AppendEvent only when the test says so (a remote store's answers can arrive late)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_next_append = False
        self.holding = anyio.Event()
        self.go = anyio.Event()

    async def execute(self, command: StoreCommand) -> Any:
        answer = await super().execute(command)
        if isinstance(command, AppendEvent) and self.hold_next_append:
            self.hold_next_append = False
            self.holding.set()
            await self.go.wait()
        return answer


async def test_events_whose_appends_complete_out_of_order_all_reach_a_live_reader() -> None:
    store = GatedStore()
    c = controls()
    async with running(controlled_app(c), store=store) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_events(1)
        store.hold_next_append = True
        h.task_group.start_soon(h.runtime.notify_session, session, "notifications/custom", {"n": 1})
        await store.holding.wait()  # seq 1 is allocated, its answer is on its way
        await h.runtime.notify_session(session, "notifications/custom", {"n": 2})
        await get.transport.wait_events(2)
        store.go.set()
        await anyio.wait_all_tasks_blocked()
        logged, _final = await h.runtime.run(h.server.replay(session, "0", 0))
    assert [event.seq for event in logged] == [1, 2]  # the log has both, in order
    assert [(e.id, e.data["params"]["n"]) for e in get.transport.events[1:]] == [("0-1", 1), ("0-2", 2)]


async def test_a_store_that_fails_gets_503_and_the_runtime_goes_on() -> None:
    store = FailingStore()
    c = controls()
    async with running(controlled_app(c), store=store) as h:
        session = await h.initialize()
        store.down = True
        refused = await h.post(call_tool(1, "nap", {"name": "x", "seconds": 0}), session)
        assert refused.transport.status == 503
        assert refused.transport.json()["error"]["message"].startswith("Service Unavailable")
        store.down = False  # back again: service resumes by itself
        served = await h.post(call_tool(2, "nap", {"name": "y", "seconds": 0}), session)
        assert served.transport.status == 200


async def test_a_store_that_fails_while_a_handler_runs_still_answers_the_client() -> None:
    store = FailingStore()
    c = controls()
    async with running(controlled_app(c), store=store) as h:
        session = await h.initialize()
        post = h.post_soon(call_tool(1, "nap", {"name": "x", "seconds": 0.05}), session)
        await h.until(lambda: "x started" in c.log)
        store.down = True  # the handler's result cannot be recorded
        assert await post.wait() is True
        assert post.transport.status == 503
