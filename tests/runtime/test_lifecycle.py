"""Graceful stop and session expiry."""

from __future__ import annotations

import anyio
import pytest

from mcp_sansio import Config
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import call_tool, running

pytestmark = pytest.mark.anyio

FAREWELL = b": server shutting down; resume with Last-Event-ID\n\n"
GRACE = 0.2


async def test_stop_says_farewell_to_streams_finishes_short_handlers_and_cancels_long_ones() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_events(1)
        short = h.post_soon(call_tool(1, "nap", {"name": "short", "seconds": 0.05}), session)
        long = h.post_soon(call_tool(2, "nap", {"name": "long", "seconds": 30}), session)
        await h.until(lambda: "short started" in c.log and "long started" in c.log)
        began = anyio.current_time()
        await h.runtime.stop(GRACE)
        assert h.runtime.handlers_running == 0
        assert await get.wait() is True
        await short.wait()
        await long.wait()
        late = await h.post(call_tool(3, "nap", {"name": "late", "seconds": 0}), session)
    # The GET stream ended with the farewell comment, after its priming event.
    assert get.transport.ended
    assert get.transport.writes[-1] == FAREWELL
    assert len(get.transport.events) == 1
    # The short handler finished within the grace period; the long one was cancelled after it.
    assert short.transport.json()["result"]["content"][0]["text"] == "short slept"
    assert "short" not in c.cancelled_at
    assert c.cancelled_at["long"] - began >= GRACE
    assert "long finished" not in c.log
    assert long.transport.json()["error"]["code"] == -32800
    # New requests are refused.
    assert late.result is False
    assert late.transport.status == 503
    assert "late started" not in c.log


async def test_stop_with_nothing_running_returns_without_waiting_for_the_grace() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_events(1)
        began = anyio.current_time()
        await h.runtime.stop(3.0)
        took = anyio.current_time() - began
        await get.wait()
    assert took < 1.0
    assert get.transport.writes[-1] == FAREWELL


async def test_expired_sessions_lose_their_get_stream_and_handlers_and_others_stay() -> None:
    c = controls()
    async with running(controlled_app(c), Config(session_idle_timeout=60)) as h:
        idle = await h.initialize()
        fresh = await h.initialize()
        get = h.get_soon(idle)
        fresh_get = h.get_soon(fresh)
        await get.transport.wait_events(1)
        await fresh_get.transport.wait_events(1)
        long = h.post_soon(call_tool(1, "nap", {"name": "long", "seconds": 30}), idle)
        await h.until(lambda: "long started" in c.log)
        h.now[0] += 30
        touched = await h.post(call_tool(2, "nap", {"name": "touch", "seconds": 0}), fresh)
        assert touched.transport.status == 200
        h.now[0] += 31  # idle: 61 s since it was last seen; fresh: 31 s
        await h.runtime.expire_sessions()
        assert await get.wait() is True
        await long.wait()
        await h.until(lambda: h.runtime.handlers_running == 0)
        gone = await h.post(call_tool(3, "nap", {"name": "gone", "seconds": 0}), idle)
        still = await h.post(call_tool(4, "nap", {"name": "still", "seconds": 0}), fresh)
        assert not fresh_get.finished.is_set()
        assert not fresh_get.transport.ended
    assert get.transport.ended
    assert len(get.transport.events) == 1
    assert "long" in c.cancelled_at and "long finished" not in c.log
    assert gone.transport.status == 404
    assert "gone started" not in c.log
    assert still.transport.json()["result"]["content"][0]["text"] == "still slept"


async def test_expiry_before_the_idle_timeout_keeps_everything() -> None:
    c = controls()
    async with running(controlled_app(c), Config(session_idle_timeout=60)) as h:
        session = await h.initialize()
        get = h.get_soon(session)
        await get.transport.wait_events(1)
        long = h.post_soon(call_tool(1, "nap", {"name": "long", "seconds": 30}), session)
        await h.until(lambda: "long started" in c.log)
        h.now[0] += 59
        await h.runtime.expire_sessions()
        await anyio.wait_all_tasks_blocked()
        assert h.runtime.handlers_running == 1
        assert not get.transport.ended
        assert not long.finished.is_set()
    assert "long" in c.cancelled_at  # only when the runtime itself stopped
