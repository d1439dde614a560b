"""JSON answers, SSE streams, disconnects (resumable or cancelling) and keep-alives."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mcp_sansio import AppendEvent, Config, MemoryStore, ReadEvents, Store, StoreCommand
from mcp_sansio._session import STANDALONE_STREAM
from mcp_sansio_runtime import AsyncStore
from tests.apps import demo_app
from tests.conftest import routing_headers, stateless_meta, stateless_request
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import Event, build_request, call_tool, running, split_id

pytestmark = pytest.mark.anyio


def assert_numbered(events: list[Event]) -> str:
    """Every event has an id ``<stream>-<seq>`` of one stream, seqs strictly increasing; the stream."""
    assert events
    parsed = []
    for event in events:
        assert event.id is not None, event
        parsed.append(split_id(event.id))
    streams = {stream for stream, _ in parsed}
    assert len(streams) == 1, parsed
    seqs = [seq for _, seq in parsed]
    assert all(a < b for a, b in itertools.pairwise(seqs)), seqs
    return streams.pop()


async def test_a_plain_tool_answers_json() -> None:
    async with running(demo_app()) as h:
        session = await h.initialize()
        served = await h.post(call_tool(7, "add", {"a": 3, "b": 4}), session)
        assert h.runtime.handlers_running == 0
    transport = served.transport
    assert served.result is True
    assert transport.calls == ["send_response"]
    assert transport.status == 200
    assert transport.header("content-type") == "application/json"
    assert transport.header("mcp-session-id") == session
    assert transport.json() == {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": "7"}]}}


async def test_a_streaming_tool_answers_sse_with_increasing_ids_ending_with_the_response() -> None:
    async with running(demo_app()) as h:
        session = await h.initialize()
        served = await h.post(call_tool(3, "count", {"n": 4}, token="tok"), session)
    transport = served.transport
    assert served.result is True
    assert transport.header("content-type") == "text/event-stream"
    assert transport.calls[0] == "start_stream" and transport.calls[-1] == "end_stream"
    assert transport.ended
    events = transport.events
    stream = assert_numbered(events)
    assert events[0] == Event(f"{stream}-0", None, 1000)  # the priming event
    assert [split_id(e.id)[1] for e in events if e.id] == [0, 1, 2, 3, 4, 5]
    chunks = [e.data for e in events[1:-1]]
    assert [c["method"] for c in chunks] == ["notifications/progress"] * 4
    assert [c["params"]["progress"] for c in chunks] == [1, 2, 3, 4]
    assert [c["params"]["message"] for c in chunks] == ["1", "2", "3", "4"]
    final = events[-1].data
    assert final["id"] == 3
    assert [block["text"] for block in final["result"]["content"]] == ["1", "2", "3", "4"]


async def disconnect_then_resume(store: Store | AsyncStore | None) -> None:
    """A 2025-11-25 client leaves a streaming tool's POST stream and resumes it with GET + Last-Event-ID."""
    c = controls()
    async with running(controlled_app(c), store=store) as h:
        session = await h.initialize()
        post = h.post_soon(call_tool(1, "feed", token="p"), session)
        await c.send.send("a")
        first = await post.transport.wait_events(2)  # priming + "a"
        post.transport.disconnect()
        # The tool runs on: its events go to the log. The POST's pump learns of the
        # departure from its next write, and ends.
        await c.send.send("b")
        await c.send.send("c")
        assert await post.wait() is True
        await h.until(lambda: c.receive.statistics().current_buffer_used == 0)
        assert "feed closed" not in c.log
        resume = h.get_soon(session, last_event_id=first[-1].id)
        await resume.transport.wait_events(2)  # "b" and "c" from the log
        await c.send.send("d")  # live
        await c.send.aclose()
        await resume.wait()
        await h.until(lambda: h.runtime.handlers_running == 0)
    assert c.log == ["feed started", "feed completed", "feed closed"]
    stream, seq = split_id(first[-1].id or "")
    rest = resume.transport.events
    assert [e.id for e in rest] == [f"{stream}-{n}" for n in range(seq + 1, seq + 5)]
    assert [m["params"]["message"] for m in resume.transport.messages[:-1]] == ["b", "c", "d"]
    final = rest[-1].data
    assert final["id"] == 1
    assert [block["text"] for block in final["result"]["content"]] == ["a", "b", "c", "d"]
    assert resume.transport.ended
    # The left connection got nothing after it was gone.
    assert post.transport.events == first


async def test_a_handshake_client_that_leaves_mid_stream_resumes_without_loss_and_cancels_nothing() -> None:
    await disconnect_then_resume(MemoryStore())


async def test_a_stateless_client_that_leaves_a_stream_cancels_the_tool() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        body = stateless_request(
            "tools/call", {"name": "feed", "arguments": {}}, meta=stateless_meta(progressToken="p")
        )
        post = h.post_soon(body, headers=routing_headers(body))
        await c.send.send("a")
        events = await post.transport.wait_events(1)
        assert events[0].id is None  # stateless streams have no ids
        assert h.runtime.handlers_running == 1
        post.transport.disconnect()
        await h.until(lambda: h.runtime.handlers_running == 0)
        assert await post.wait() is True
    assert c.log == ["feed started", "feed closed"]
    assert not post.transport.ended
    assert len(post.transport.events) == 1


async def test_a_stateless_client_that_leaves_before_a_json_answer_cancels_the_tool() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        body = stateless_request("tools/call", {"name": "nap", "arguments": {"name": "long", "seconds": 30}})
        post = h.post_soon(body, headers=routing_headers(body))
        await h.until(lambda: "long started" in c.log)
        assert post.transport.registered == 1  # the runtime watches for the client leaving
        post.transport.disconnect()
        await h.until(lambda: h.runtime.handlers_running == 0)
        await post.wait()
    assert "long" in c.cancelled_at
    assert "long finished" not in c.log
    assert post.transport.response is None
    assert post.transport.registered == 0


async def test_an_idle_get_stream_gets_keep_alive_comments() -> None:
    async with running(demo_app(), keepalive=0.05) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_for(lambda t: len(t.writes) >= 3)
    transport = get.transport
    assert transport.header("content-type") == "text/event-stream"
    assert transport.events == [Event("0-0", None, 1000)]  # only the priming event
    assert transport.writes[1] == b": keep-alive\n\n"
    assert transport.writes[2] == b": keep-alive\n\n"


async def test_a_get_stream_delivers_session_notifications_without_keep_alives() -> None:
    async with running(demo_app(), keepalive=60) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_events(1)
        await h.runtime.notify_session(session, "notifications/custom", {"n": 1})
        events = await get.transport.wait_events(2)
    assert events[1] == Event("0-1", {"jsonrpc": "2.0", "method": "notifications/custom", "params": {"n": 1}})
    assert get.transport.comments == []


async def test_a_get_stream_delivers_what_was_kept_for_it_and_a_reconnect_skips_what_was_delivered() -> None:
    async with running(demo_app()) as h:
        session = await h.initialize()
        await h.runtime.notify_session(session, "notifications/custom", {"n": 1})  # no reader yet: kept
        first = h.get_soon(session)
        await first.transport.wait_events(2)
        first.transport.disconnect()
        assert await first.wait() is True
        await h.runtime.notify_session(session, "notifications/custom", {"n": 2})
        second = h.get_soon(session)
        await second.transport.wait_events(2)
    assert [(e.id, e.data and e.data["params"]["n"]) for e in first.transport.events] == [("0-0", None), ("0-1", 1)]
    assert [(e.id, e.data and e.data["params"]["n"]) for e in second.transport.events] == [("0-1", None), ("0-2", 2)]
    assert not first.transport.ended  # the client left: nothing more was written


async def test_an_open_get_stream_keeps_its_claim_and_frees_it_when_it_ends() -> None:
    # The claim lives in the store with a lease (an instance that dies frees it); an open
    # stream renews it, so a second GET is refused however long the first stays open.
    import anyio

    from mcp_sansio import Config

    async with running(demo_app(), Config(get_stream_lease=0.3)) as h:
        session = await h.initialize()
        first = h.get_soon(session)
        await first.transport.wait_events(1)  # its priming event
        for _ in range(5):  # 0.6 s of the store's clock: twice the lease
            await anyio.sleep(0.12)
            h.now[0] += 0.12
        second = await h.serve(build_request("GET", session=session))
        assert second.transport.status == 409
        first.transport.disconnect()
        await first.wait()
        third = h.get_soon(session)
        await third.transport.wait_events(1)
        assert third.transport.head is not None


class _EvictingStore(MemoryStore):
    """Appends ``armed`` to its log just before that log's second read: what a producer does between
    a GET's check (the first read) and its replay (the second)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed: AppendEvent | None = None
        self._reads = 0

    def execute(self, command: StoreCommand) -> Any:
        armed = self.armed
        if isinstance(command, ReadEvents) and armed is not None and command.stream == armed.stream:
            self._reads += 1
            if self._reads == 2:
                self.armed = None
                super().execute(armed)
        return super().execute(command)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_resume_whose_events_left_the_log_after_its_check_is_410_and_frees_the_get_stream() -> None:
    store = _EvictingStore()
    async with running(demo_app(), Config(max_events_per_stream=3), store=store) as h:
        session = await h.initialize()
        for _ in range(3):
            store.execute(AppendEvent(session, STANDALONE_STREAM, b"{}", h.now[0], 3, 3600.0))
        # The GET is checked against a log holding events 1-3; by the replay's read, event 4 evicted 1.
        store.armed = AppendEvent(session, STANDALONE_STREAM, b"{}", h.now[0], 3, 3600.0)
        served = await h.serve(build_request("GET", session=session, headers=[("last-event-id", "0-0")]))
        assert store.armed is None  # the eviction happened where it should
        assert served.transport.response is not None and served.transport.response.status == 410
        assert b"no longer retained" in served.transport.response.body
        # Its claim on the GET stream was released: a plain GET is not told the stream is taken.
        again = h.get_soon(session)
        await h.until(lambda: again.transport.head is not None or again.transport.response is not None)
        assert again.transport.head is not None
        again.transport.disconnect()
