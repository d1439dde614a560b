"""Two runtimes of one deployment: one store, a broker between them, any request to either.

Each test runs twice: with an in-process bus over one shared MemoryStore, and with
Redis (a RedisStore and a RedisBroker per runtime, as two processes would have, on one
key prefix). Each test does something on runtime A and its counterpart on runtime B,
as a round-robin load balancer would.
"""

from __future__ import annotations

import inspect
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from mcp_sansio import MemoryStore, Server, Store, StoreCommand
from mcp_sansio_redis import RedisBroker, RedisStore
from mcp_sansio_runtime import AsyncStore, Broker, Reader, Runtime, Signal
from tests.conftest import routing_headers, stateless_request
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import Harness, build_request, call_tool
from tests.stores.conftest import REDIS_URL, prefix, redis_problem, redis_sync  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio
ELICITATION = {"elicitation": {}}


class Bus:
    """The in-process network between the brokers of several runtimes."""

    def __init__(self) -> None:
        self.members: list[BusBroker] = []
        self.carried: list[Signal] = []


class BusBroker:
    """A broker that hands every shared signal to the other runtimes on its bus."""

    shares = True

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.receive: Callable[[Signal], Awaitable[None]] | None = None
        self.followed: list[tuple[str | None, str]] = []
        bus.members.append(self)

    async def run(self, receive: Callable[[Signal], Awaitable[None]]) -> None:
        self.receive = receive
        await anyio.sleep_forever()

    async def share(self, signal: Signal) -> None:
        self.bus.carried.append(signal)
        for member in self.bus.members:
            if member is not self and member.receive is not None:
                await member.receive(signal)

    def follow(self, reader: Reader) -> None:
        """Events travel as shared signals on this bus (the streams asked for are noted)."""
        self.followed.append(reader.key)

    def unfollow(self, reader: Reader) -> None:
        """Nothing to stop."""


@pytest.fixture(params=["bus", "redis"])
def deployment(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process bus; the Redis key prefix for Redis (skipped without Redis, failed in CI)."""
    return None if request.param == "bus" else str(request.getfixturevalue("prefix"))


class Counting:
    """An awaited store that counts the commands it carries out, by name."""

    def __init__(self, inner: Store | AsyncStore, counts: Counter[str]) -> None:
        self.inner, self.counts = inner, counts

    async def execute(self, command: StoreCommand) -> Any:
        self.counts[type(command).__name__] += 1
        answer = self.inner.execute(command)
        return await answer if inspect.isawaitable(answer) else answer


@asynccontextmanager
async def pair(
    app: Any, redis_prefix: str | None, counts: Counter[str] | None = None
) -> AsyncIterator[tuple[Harness, Harness, Bus]]:
    """Runtimes A and B: one app, one store, a broker, their own id sources (as two processes have).

    With ``counts``, both stores are awaited and count their commands there.
    """
    bus, now = Bus(), [1000.0]
    shared = MemoryStore()
    opened: list[RedisStore] = []

    def parts() -> tuple[Store | AsyncStore, Broker]:
        if redis_prefix is None:
            store: Store | AsyncStore = shared
            broker: Broker = BusBroker(bus)
        else:
            opened.append(redis := RedisStore(REDIS_URL, prefix=redis_prefix))
            store, broker = redis, RedisBroker(redis.client, redis_prefix, block_ms=50)
        return (store if counts is None else Counting(store, counts)), broker

    def server(name: str) -> Server:
        sessions, streams = itertools.count(1), itertools.count(1)
        return Server(
            app,
            clock=lambda: now[0],
            new_session_id=lambda: f"{name}session{next(sessions)}",
            new_stream_key=lambda: f"{name}{next(streams)}",
            state_key=b"shared",
        )

    store_a, broker_a = parts()
    store_b, broker_b = parts()
    a = Runtime(server("a"), store_a, broker=broker_a)
    b = Runtime(server("b"), store_b, broker=broker_b)
    try:
        with anyio.fail_after(10):
            async with a.running(), b.running(), anyio.create_task_group() as tg:
                await anyio.sleep(0.1)  # both brokers listen
                yield Harness(a, tg, now), Harness(b, tg, now), bus
                tg.cancel_scope.cancel()
    finally:
        for store in opened:
            with anyio.CancelScope(shield=True):
                await store.aclose()


async def test_a_stream_started_on_one_runtime_resumes_on_the_other_and_goes_on_live(deployment: str | None) -> None:
    c = controls()
    async with pair(controlled_app(c), deployment) as (a, b, _):
        session = await a.initialize()
        post = a.post_soon(call_tool(1, "feed", token="t"), session)
        await c.send.send("one")
        await post.transport.wait_events(2)  # priming, one
        post.transport.disconnect()  # the client's connection to A drops: nothing is cancelled
        await c.send.send("two")
        resumed = b.get_soon(session, last_event_id=post.transport.events[1].id)  # to B, with the last id seen
        await resumed.transport.wait_events(1)  # "two", from the log
        await c.send.send("three")  # produced on A while B holds the stream: it arrives live
        await resumed.transport.wait_events(2)
        c.send.close()
        assert await resumed.wait() is True
    chunks = [m["params"]["message"] for m in resumed.transport.messages[:-1]]
    assert chunks == ["two", "three"]  # exactly the missed and the live ones, once each, in order
    assert resumed.transport.messages[-1]["result"]["content"] == [
        {"type": "text", "text": t} for t in ("one", "two", "three")
    ]
    seqs = [int((e.id or "").rsplit("-", 1)[1]) for e in resumed.transport.events]
    assert seqs == [2, 3, 4]


async def test_a_flood_produced_on_one_runtime_reaches_the_other_once_each_in_order_in_few_appends(
    deployment: str | None,
) -> None:
    c, counts, n = controls(), Counter[str](), 600
    async with pair(controlled_app(c), deployment, counts) as (a, b, _):
        session = await a.initialize()
        post = a.post_soon(call_tool(1, "flood", {"count": n}, token="t"), session)
        first = (await post.transport.wait_events(2))[1]  # priming, chunk1
        post.transport.disconnect()  # the tool runs on, appending to the log
        resumed = b.get_soon(session, last_event_id=first.id)  # the rest, read from the log and live
        assert await resumed.wait() is True
    assert first.data["params"]["message"] == "chunk1"
    chunks = [m["params"]["message"] for m in resumed.transport.messages[:-1]]
    assert chunks == [f"chunk{i}" for i in range(2, n + 1)]  # exactly once each, in order
    assert [int((e.id or "").rsplit("-", 1)[1]) for e in resumed.transport.events] == list(range(2, n + 2))
    assert len(resumed.transport.messages[-1]["result"]["content"]) == n
    # The tool yields faster than the store appends: what it yielded meanwhile goes in one command.
    assert counts["AppendEvent"] == 1  # the final result
    assert 1 <= counts["AppendEvents"] <= n // 10, counts


async def test_a_runtime_does_not_follow_in_the_log_a_stream_it_produces_itself() -> None:
    c = controls()
    async with pair(controlled_app(c), None) as (a, b, _):
        session = await a.initialize()
        post = a.post_soon(call_tool(1, "feed", token="t"), session)
        await c.send.send("one")
        first = (await post.transport.wait_events(2))[1]
        post.transport.disconnect()
        resumed = b.get_soon(session, last_event_id=first.id)
        await c.send.send("two")
        await resumed.transport.wait_events(1)
        c.send.close()
        assert await resumed.wait() is True
    a_broker, b_broker = a.runtime.broker, b.runtime.broker
    assert isinstance(a_broker, BusBroker) and isinstance(b_broker, BusBroker)
    stream = (first.id or "").rsplit("-", 1)[0]
    assert a_broker.followed == []  # A's exchange hands its events to A's hub itself
    assert b_broker.followed == [(session, stream)]  # B tails what A writes


async def test_an_answer_posted_to_the_other_runtime_reaches_the_waiting_handler(deployment: str | None) -> None:
    c = controls()
    async with pair(controlled_app(c), deployment) as (a, b, bus):
        session = await a.initialize(capabilities=ELICITATION)
        post = a.post_soon(call_tool(5, "interview"), session)
        events = await post.transport.wait_events(3)  # priming, log, elicitation/create
        ask = events[-1].data
        accept = {"action": "accept", "content": {"name": "Ada"}}
        reply = await b.post({"jsonrpc": "2.0", "id": ask["id"], "result": accept}, session)
        assert reply.transport.status == 202
        assert await post.wait() is True
    assert post.transport.messages[-1]["result"]["content"] == [{"type": "text", "text": "hello Ada"}]
    if deployment is None:
        assert [type(s).__name__ for s in bus.carried].count("DeliverResponse") == 1


async def test_a_cancellation_posted_to_the_other_runtime_stops_the_handler(deployment: str | None) -> None:
    c = controls()
    async with pair(controlled_app(c), deployment) as (a, b, _):
        session = await a.initialize()
        post = a.post_soon(call_tool(3, "nap", {"name": "long", "seconds": 30}), session)
        await a.until(lambda: "long started" in c.log)
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
        assert (await b.post(cancel, session)).transport.status == 202
        await post.wait()
        await a.until(lambda: a.runtime.handlers_running == 0)
    assert "long" in c.cancelled_at


async def test_a_session_deleted_on_one_runtime_ends_its_work_on_the_other(deployment: str | None) -> None:
    c = controls()
    async with pair(controlled_app(c), deployment) as (a, b, _):
        session = await a.initialize()
        a.post_soon(call_tool(3, "nap", {"name": "long", "seconds": 30}), session)
        get = a.get_soon(session)
        await get.transport.wait_events(1)  # its priming event
        await a.until(lambda: "long started" in c.log)
        deleted = await b.serve(build_request("DELETE", session=session))
        assert deleted.transport.status == 200
        assert await get.wait() is True  # A's GET stream ended
        await a.until(lambda: a.runtime.handlers_running == 0)  # and its handler was cancelled
    assert "long" in c.cancelled_at


async def test_a_list_change_reaches_listen_streams_held_by_the_other_runtime(deployment: str | None) -> None:
    c = controls()
    async with pair(controlled_app(c), deployment) as (a, b, _):
        listen = stateless_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
        served = b.post_soon(listen, headers=routing_headers(listen))
        await served.transport.wait_events(1)  # the acknowledgement
        await a.runtime.list_changed("tools")
        events = await served.transport.wait_events(2)
    assert events[1].data["method"] == "notifications/tools/list_changed"
