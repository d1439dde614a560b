"""Redis faults while serving: an outage mid-stream, and a restart that lost every key.

The server under test reaches Redis through :class:`RedisProxy`, which the test cuts
(connections drop, new ones are refused) and restores, on the h11 server (asyncio,
trio) and the ASGI app under uvicorn. Without Redis these tests skip, except under
``CI=true``.
"""

# The Redis fixtures come from tests/stores/conftest.py by import, and test parameters name them again.
# ruff: noqa: F811

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import redis

from mcp_sansio import App
from mcp_sansio_asgi import AsgiApp
from mcp_sansio_h11 import serve_in
from mcp_sansio_redis import RedisStore
from tests.adapters.conftest import H11_FLAVOURS, Running, serve_asgi
from tests.adapters.redis_proxy import RedisProxy
from tests.adapters.test_http import HEADERS, initialize
from tests.adapters.test_resume import call, parse_sse, streaming_app
from tests.stores.conftest import REDIS_URL, keys_under, prefix, redis_problem, redis_sync  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[*H11_FLAVOURS, "uvicorn-asyncio"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def serve_through(task_group: Any, flavour: str, url: str, key_prefix: str, app: App) -> Running:
    if flavour.startswith("h11-"):
        store = RedisStore(url, prefix=key_prefix, timeout=2.0)
        host, port, runtime = await task_group.start(
            lambda task_status: serve_in(app, port=0, store=store, task_status=task_status)
        )
        return Running(host, port, runtime)
    return await serve_asgi(task_group, flavour, AsgiApp(app, redis_url=url, redis_prefix=key_prefix, grace=0.2))


@pytest.fixture
async def proxied(flavour: str, prefix: str) -> AsyncIterator[tuple[Running, RedisProxy, list[str]]]:
    finalized: list[str] = []
    proxy = RedisProxy(REDIS_URL)
    async with anyio.create_task_group() as tg:
        await proxy.start(tg)
        running = await serve_through(tg, flavour, proxy.url, prefix, streaming_app(finalized))
        yield running, proxy, finalized
        tg.cancel_scope.cancel()


async def read_all(response: httpx.Response) -> str:
    """The whole body of a streaming response, as text."""
    return "".join([chunk async for chunk in response.aiter_text()])


def seq(event_id: str | None) -> int:
    assert event_id is not None
    return int(event_id.rpartition("-")[2])


async def test_redis_lost_mid_stream_ends_streams_with_retry_and_service_resumes(
    proxied: tuple[Running, RedisProxy, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    running, proxy, finalized = proxied
    url = running.url
    caplog.set_level(logging.WARNING, logger="mcp_sansio")
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, url)
        headers = {**HEADERS, "mcp-session-id": session}
        body = call(2, "numbers", {"count": 100_000, "interval_ms": 5})
        with anyio.fail_after(20):
            async with client.stream("POST", url, json=body, headers=headers) as response:
                assert response.headers["content-type"] == "text/event-stream"
                text = ""
                chunks = response.aiter_text()
                while len(parse_sse(text)) < 4:  # the priming event and three chunks
                    text += await chunks.__anext__()
                await proxy.cut()
                # The handler's next event cannot be stored: the stream ends, telling the client when to come back.
                text += "".join([chunk async for chunk in chunks])
            before = parse_sse(text)
            tail = text[text.rindex("data: ") :].partition("\n\n")[2]  # what follows the last event
            assert "retry: 1000\n" in tail and "session store unavailable" in tail, tail
            ids = [seq(event_id) for event_id, _ in before]
            assert ids == list(range(len(ids)))  # 0 (priming), 1, 2, ... with no gap

            # While Redis is away: every request is answered 503 with a JSON-RPC error; nothing crashes.
            refused = await client.post(url, json=call(3, "numbers", {"count": 1}), headers=headers)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == -32603
            assert "session store" in refused.json()["error"]["message"]
            resume = {**headers, "last-event-id": before[-1][0] or ""}
            assert (await client.get(url, headers=resume)).status_code == 503
            assert finalized == ["numbers"]  # the tool was stopped, its generator closed

            # Redis comes back: service resumes by itself.
            await proxy.restore()
            while (
                answer := await client.post(url, json=call(4, "numbers", {"count": 2}), headers=headers)
            ).status_code == 503:
                await anyio.sleep(0.05)
            assert answer.status_code == 200, answer.text

            # The interrupted request ends with an error in its log, so the resume gets an answer, not silence.
            async with client.stream("GET", url, headers=resume) as response:
                assert response.status_code == 200
                after = parse_sse(await read_all(response))
    everything = [seq(event_id) for event_id, _ in before + after]
    assert everything == sorted(set(everything)), "each event once, in order"
    last = after[-1][1]
    assert last["id"] == 2 and last["error"]["code"] == -32603
    assert "session store failed while this request ran" in last["error"]["message"]
    records = [r for r in caplog.records if r.name.startswith("mcp_sansio")]
    assert any("lost the store" in r.getMessage() for r in records)
    assert not [r for r in records if r.exc_info], "a store outage is logged in one line, without a traceback"


async def test_a_redis_restart_that_lost_its_data_gives_404_and_replays_nothing_foreign(
    proxied: tuple[Running, RedisProxy, list[str]], prefix: str, redis_sync: redis.Redis
) -> None:
    running, proxy, _ = proxied
    url = running.url
    async with httpx.AsyncClient(timeout=10) as client:
        old = await initialize(client, url)
        old_headers = {**HEADERS, "mcp-session-id": old}
        async with client.stream("POST", url, json=call(2, "numbers", {"count": 3}), headers=old_headers) as response:
            old_events = parse_sse(await read_all(response))
        old_last = old_events[-1][0]
        assert old_last is not None

        # The restart: Redis goes away and comes back empty (only this run's keys, which it owns).
        await proxy.cut()
        for key in keys_under(redis_sync, prefix):
            redis_sync.delete(key)
        await proxy.restore()

        with anyio.fail_after(10):
            while (
                gone := await client.post(url, json=call(3, "numbers", {"count": 1}), headers=old_headers)
            ).status_code == 503:
                await anyio.sleep(0.05)
        assert gone.status_code == 404  # the client re-initializes
        assert (await client.get(url, headers={**old_headers, "last-event-id": old_last})).status_code == 404

        # A new session never sees the old session's stream, whatever id it presents.
        new = await initialize(client, url)
        new_headers = {**HEADERS, "mcp-session-id": new}
        foreign = await client.get(url, headers={**new_headers, "last-event-id": old_last})
        assert foreign.status_code in (400, 404)
        assert "numbers" not in foreign.text
        async with client.stream("POST", url, json=call(4, "numbers", {"count": 2}), headers=new_headers) as response:
            fresh = parse_sse(await read_all(response))
        assert [seq(event_id) for event_id, _ in fresh] == [0, 1, 2, 3]
        assert {event_id.rpartition("-")[0] for event_id, _ in fresh if event_id} != {old_last.rpartition("-")[0]}
