"""A slow reader pauses its producer; a reader that leaves releases it."""

from __future__ import annotations

import json

import anyio
import pytest

from mcp_sansio import Config
from tests.runtime.apps import Controls, controlled_app, controls
from tests.runtime.conftest import FakeTransport, Harness, Served, build_request, call_tool, running
from tests.runtime.test_async_store import AwaitedStore

pytestmark = pytest.mark.anyio

QUEUE = 2
COUNT = 50
# Ahead of what was written: a queue's worth, one chunk waiting to enter it, and a
# queue's worth taken by the write in flight.
AHEAD = 2 * QUEUE + 1


def chunks_written(transport: FakeTransport) -> int:
    return sum(1 for m in transport.messages if m.get("method") == "notifications/progress")


async def start_flood(h: Harness, session: str) -> Served:
    transport = FakeTransport()
    transport.hold()
    body = json.dumps(call_tool(1, "flood", {"count": COUNT}, token="p")).encode()
    return h.start(build_request("POST", session=session), body, transport)


async def paused(h: Harness, c: Controls, transport: FakeTransport, ahead: int = AHEAD) -> int:
    """Wait until everything is blocked (the producer too); how many chunks it produced."""
    await transport.wait_for(lambda t: t.write_attempts > len(t.writes))
    await anyio.wait_all_tasks_blocked()
    assert c.produced - chunks_written(transport) <= ahead, (c.produced, chunks_written(transport))
    return c.produced


async def test_a_slow_reader_pauses_the_producer_which_proceeds_when_writes_are_released() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=QUEUE)) as h:
        session = await h.initialize()
        post = await start_flood(h, session)
        transport = post.transport
        first = await paused(h, c, transport)
        assert transport.writes == []
        assert 1 <= first < COUNT
        # Meanwhile other requests are served at once.
        quick = await h.post(call_tool(2, "nap", {"name": "quick", "seconds": 0}), session)
        assert quick.transport.json()["result"]["content"][0]["text"] == "quick slept"
        assert c.produced == first
        # One write at a time: the producer moves on by a bounded step each time.
        for step in range(1, 4):
            transport.allow(1)
            await transport.wait_for(lambda t, n=step: len(t.writes) == n)
            now = await paused(h, c, transport)
            assert now < COUNT
        assert c.produced > first
        transport.release()
        assert await post.wait() is True
    assert c.produced == COUNT
    assert [entry for entry in c.log if entry.startswith("flood")] == ["flood completed", "flood closed"]
    progress = [m["params"]["progress"] for m in transport.messages[:-1]]
    assert progress == list(range(1, COUNT + 1))
    final = transport.messages[-1]
    assert final["id"] == 1 and len(final["result"]["content"]) == COUNT
    assert transport.ended


async def test_a_reader_that_leaves_releases_the_producer() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=QUEUE)) as h:
        session = await h.initialize()
        post = await start_flood(h, session)
        await paused(h, c, post.transport)
        assert c.produced < COUNT
        post.transport.disconnect()  # the blocked write fails with ClientGone
        assert await post.wait() is True
        await h.until(lambda: h.runtime.handlers_running == 0)
        # Handshake revision: nothing was cancelled, every event is in the log.
        resume = h.get_soon(session, last_event_id="s1-0")
        await resume.wait()
    assert c.produced == COUNT
    assert c.log == ["flood completed", "flood closed"]
    assert [m["params"]["progress"] for m in resume.transport.messages[:-1]] == list(range(1, COUNT + 1))
    assert resume.transport.messages[-1]["id"] == 1


# Regression tests: several producers waiting on one full reader were once stranded (each replaced the
# shared wake-up event), and producers released together queued events out of seq order, which the
# reader then dropped.


async def test_several_producers_waiting_on_one_full_reader_are_all_released() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=1)) as h:
        session = await h.initialize()
        transport = FakeTransport()
        transport.hold()
        get = h.start(build_request("GET", session=session), b"", transport)
        await transport.wait_for(lambda t: t.write_attempts == 1)  # the priming event, blocked
        done: list[int] = []

        async def notify(n: int) -> None:
            await h.runtime.notify_session(session, "notifications/custom", {"n": n})
            done.append(n)

        for n in (1, 2, 3):
            h.task_group.start_soon(notify, n)
        await anyio.wait_all_tasks_blocked()
        assert len(done) == 1  # one event queued; two producers wait for room
        transport.release()
        await anyio.wait_all_tasks_blocked()
        assert sorted(done) == [1, 2, 3]
        assert [e.id for e in transport.events] == ["0-0", "0-1", "0-2", "0-3"]
        assert not get.finished.is_set()


async def test_a_batch_of_streaming_tools_behind_a_slow_reader_completes() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=1)) as h:
        session = await h.initialize(version="2025-03-26")
        transport = FakeTransport()
        transport.hold()
        batch = [call_tool(1, "flood", {"count": 5}, token="a"), call_tool(2, "flood", {"count": 5}, token="b")]
        post = h.start(build_request("POST", session=session), json.dumps(batch).encode(), transport)
        await transport.wait_for(lambda t: t.write_attempts == 1)
        await anyio.wait_all_tasks_blocked()
        transport.release()
        await anyio.wait_all_tasks_blocked()
        assert h.runtime.handlers_running == 0
        assert await post.wait() is True
    assert sorted(m["id"] for m in transport.messages if "id" in m) == [1, 2]
    assert len([m for m in transport.messages if m.get("method") == "notifications/progress"]) == 10


async def test_a_reader_that_leaves_releases_every_waiting_producer() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=1)) as h:
        session = await h.initialize(version="2025-03-26")
        transport = FakeTransport()
        transport.hold()
        batch = [call_tool(1, "flood", {"count": 5}, token="a"), call_tool(2, "flood", {"count": 5}, token="b")]
        post = h.start(build_request("POST", session=session), json.dumps(batch).encode(), transport)
        await transport.wait_for(lambda t: t.write_attempts == 1)
        await anyio.wait_all_tasks_blocked()
        assert h.runtime.handlers_running == 2  # both wait for room in the reader's queue
        transport.disconnect()
        assert await post.wait() is True
        await anyio.wait_all_tasks_blocked()
        # Handshake revision: nothing is cancelled, both tools run to their end.
        assert c.log.count("flood completed") == 2
        assert h.runtime.handlers_running == 0


async def test_a_single_producer_on_a_full_reader_of_a_get_stream_is_released() -> None:
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=1)) as h:
        session = await h.initialize()
        transport = FakeTransport()
        transport.hold()
        h.start(build_request("GET", session=session), b"", transport)
        await transport.wait_for(lambda t: t.write_attempts == 1)
        done: list[int] = []

        async def notify_all() -> None:
            for n in (1, 2, 3):
                await h.runtime.notify_session(session, "notifications/custom", {"n": n})
                done.append(n)

        h.task_group.start_soon(notify_all)
        await anyio.wait_all_tasks_blocked()
        assert done == [1]
        transport.release()
        await anyio.wait_all_tasks_blocked()
        assert done == [1, 2, 3]
        assert [e.id for e in transport.events] == ["0-0", "0-1", "0-2", "0-3"]


async def test_a_slow_reader_pauses_a_producer_whose_chunks_are_appended_in_batches() -> None:
    # An awaited store: the chunks the tool yields while an append is in flight wait in a queue
    # of max_queue_events, appended together; a batch being delivered may hold as many again.
    c = controls()
    async with running(controlled_app(c), Config(max_queue_events=QUEUE), store=AwaitedStore()) as h:
        session = await h.initialize()
        post = await start_flood(h, session)
        transport = post.transport
        first = await paused(h, c, transport, ahead=AHEAD + 2 * QUEUE)
        assert 1 <= first < COUNT
        for step in range(1, 4):
            transport.allow(1)
            await transport.wait_for(lambda t, n=step: len(t.writes) == n)
            assert await paused(h, c, transport, ahead=AHEAD + 2 * QUEUE) < COUNT
        transport.release()
        assert await post.wait() is True
    assert c.produced == COUNT
    assert [m["params"]["progress"] for m in transport.messages[:-1]] == list(range(1, COUNT + 1))
    assert len(transport.messages[-1]["result"]["content"]) == COUNT
