"""Clients that open and abandon everything for an hour of (simulated) time leave nothing behind."""

# The Redis fixtures come from tests/stores/conftest.py by import, and test parameters name them again.
# ruff: noqa: F811

from __future__ import annotations

import anyio
import pytest
import redis

from mcp_sansio import Config, MemoryStore, Store
from mcp_sansio_redis import RedisStore
from mcp_sansio_runtime import AsyncStore
from tests.conftest import routing_headers, stateless_request
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import build_request, call_tool, running
from tests.stores.conftest import REDIS_URL, keys_under, prefix, redis_problem, redis_sync  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio
EMPTY_RUNTIME = {"readers": 0, "handlers": 0, "waiters": 0, "listeners": 0, "tasks": 0}
EMPTY_STORE = {"sessions": 0, "logs": 0, "in_flight": 0, "standalone": 0, "tasks": 0}


async def abandon_everything_for_an_hour(store: Store | AsyncStore) -> None:
    """An hour of clients that open sessions, streams and questions and walk away; then expiry."""
    c = controls()
    config = Config(session_idle_timeout=300, server_request_timeout=0.01, finished_stream_age=60)
    async with running(controlled_app(c), config, store=store, timeout=30) as h:
        for minute in range(60):
            session = await h.initialize(capabilities={"elicitation": {}})
            get = h.get_soon(session)  # a GET stream, dropped
            await get.transport.wait_events(1)
            get.transport.disconnect()
            asked = h.post_soon(call_tool(1, "interview"), session)  # an elicitation nobody answers
            await asked.wait()
            streamed = h.post_soon(call_tool(2, "flood", {"count": 20}), session)  # a stream, dropped
            await streamed.transport.wait_events(2)
            streamed.transport.disconnect()
            listen = stateless_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
            listener = h.post_soon(listen, headers=routing_headers(listen))  # a listen stream, dropped
            await listener.transport.wait_events(1)
            listener.transport.disconnect()
            if minute % 7 == 0:  # some sessions end with DELETE while a handler runs, the rest by expiry
                running_tool = h.post_soon(call_tool(3, "feed"), session)
                await running_tool.transport.wait_events(1)
                await h.serve(build_request("DELETE", session=session))
                await running_tool.wait()
            h.now[0] += 60
            await h.runtime.expire_sessions()
        h.now[0] += 3600
        await h.runtime.expire_sessions()
        await h.until(lambda: h.runtime.census() == EMPTY_RUNTIME)
        await anyio.wait_all_tasks_blocked()
        assert h.runtime.census() == EMPTY_RUNTIME


async def test_an_hour_of_abandoned_sessions_streams_and_requests_returns_to_baseline() -> None:
    store = MemoryStore()
    await abandon_everything_for_an_hour(store)
    assert store.census() == EMPTY_STORE


async def test_the_same_hour_leaves_no_key_in_redis(prefix: str, redis_sync: redis.Redis) -> None:
    store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        await abandon_everything_for_an_hour(store)
    finally:
        await store.aclose()
    # Only the deployment's bus stream is left (it has a TTL of its own).
    left = [key for key in keys_under(redis_sync, prefix) if key != f"{prefix}bus"]
    assert left == []
