"""Serving with the Redis store, checked over HTTP with httpx.

The h11 server (``serve_in(..., store=RedisStore(...))``, asyncio and trio) and the
ASGI app (``AsgiApp(..., redis_url=...)`` under uvicorn, in-process) serve the demo
app with every session, request claim, GET stream claim and event log in Redis;
two h11 servers on one prefix serve one session between them; the ``mcp-sansio``
command serves with ``--redis-url``. Redis comes from ``MCP_SANSIO_TEST_REDIS_URL``
(default ``redis://127.0.0.1:6379/0``), under a key prefix unique to each test whose
keys are deleted afterwards; without Redis these tests skip, except under ``CI=true``.
"""

# The Redis fixtures come from tests/stores/conftest.py by import, and test parameters name them again.
# ruff: noqa: F811

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis

from mcp_sansio import App, Server
from mcp_sansio_asgi import AsgiApp
from mcp_sansio_h11 import serve_in
from mcp_sansio_redis import KeyLayout, RedisStore, RedisStoreError
from tests.adapters.conftest import H11_FLAVOURS, Running, serve_asgi
from tests.adapters.test_http import HEADERS, INIT, initialize
from tests.adapters.test_resume import Events, call, read_events
from tests.apps import demo_app
from tests.stores.conftest import REDIS_URL, keys_under, prefix, redis_problem, redis_sync  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture(params=[*H11_FLAVOURS, "uvicorn-asyncio"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def start_with_redis(
    task_group: anyio.abc.TaskGroup, flavour: str, key_prefix: str, target: App | Server, opened: list[RedisStore]
) -> Running:
    """Serve ``target`` with its sessions in Redis under ``key_prefix``, the ``flavour`` way."""
    if flavour.startswith("h11-"):
        store = RedisStore(REDIS_URL, prefix=key_prefix)
        opened.append(store)
        host, port, runtime = await task_group.start(
            lambda task_status: serve_in(target, port=0, store=store, task_status=task_status)
        )
        return Running(host, port, runtime)
    asgi = AsgiApp(target, redis_url=REDIS_URL, redis_prefix=key_prefix, grace=0.2)
    return await serve_asgi(task_group, flavour, asgi)


@pytest.fixture
async def served(flavour: str, prefix: str) -> AsyncIterator[Running]:
    opened: list[RedisStore] = []
    async with anyio.create_task_group() as tg:
        yield await start_with_redis(tg, flavour, prefix, demo_app(), opened)
        tg.cancel_scope.cancel()
    for store in opened:
        await store.aclose()


def seqs(events: list[tuple[str | None, Any]]) -> list[int]:
    """The seq of each event id (``<stream>-<seq>``)."""
    return [int(event_id.rpartition("-")[2]) for event_id, _ in events if event_id is not None]


async def open_get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """A GET stream, once the last reader's claim is released (its server notices it left a moment later)."""
    with anyio.fail_after(5):
        while True:
            response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
            if response.status_code != 409:
                return response
            await response.aclose()
            await anyio.sleep(0.02)


def finished(client: redis.Redis, heads: str, stream: str) -> bool:
    """Whether the stream's final event is in Redis (its head reads ``<order> <last_seq> 1 <expires>``)."""
    head = client.hget(heads, stream)
    return isinstance(head, bytes) and head.split()[2] == b"1"


def session_keys(client: redis.Redis, prefix: str) -> list[str]:
    """The keys under ``prefix`` but the deployment's bus (whose TTL is checked where it is made)."""
    bus = f"{prefix}bus"
    keys = keys_under(client, prefix)
    assert bus not in keys or client.pttl(bus) > 0
    return [key for key in keys if key != bus]


async def settled(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.02)


async def test_a_session_served_from_redis(served: Running, redis_sync: redis.Redis, prefix: str) -> None:
    url, layout = served.url, KeyLayout(prefix)
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, url)
        headers = {**HEADERS, "mcp-session-id": session}
        assert redis_sync.hget(layout.session(session), "state") == b"ready"

        # A plain tool call.
        response = await client.post(url, json=call(2, "add", {"a": 5}), headers=headers)
        assert response.status_code == 200
        assert response.json() == {"jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": "7"}]}}

        # A streaming tool: its events, numbered by Redis, in increasing order.
        async with client.stream("POST", url, json=call(3, "count", {"n": 3}, "p"), headers=headers) as response:
            assert response.headers["content-type"] == "text/event-stream"
            streamed = await read_events(response)
        numbers = seqs(streamed)
        assert numbers == sorted(set(numbers)) and len(numbers) == len(streamed)
        assert len({event_id.rpartition("-")[0] for event_id, _ in streamed if event_id}) == 1
        messages = [data for _, data in streamed if data is not None]
        assert [m["params"]["progress"] for m in messages[:-1]] == [1, 2, 3]
        assert [c["text"] for c in messages[-1]["result"]["content"]] == ["1", "2", "3"]

        # A dropped connection, resumed with Last-Event-ID: the rest comes from the log in Redis.
        async with client.stream("POST", url, json=call(4, "count", {"n": 3}, "q"), headers=headers) as response:
            first = await read_events(response, limit=2)  # the priming event and one progress event
        last_id = first[-1][0]
        assert last_id is not None
        async with client.stream("GET", url, headers={**headers, "last-event-id": last_id}) as response:
            assert response.status_code == 200
            rest = await read_events(response)
        resumed = [data for _, data in first[1:] + rest]
        assert [m["params"]["progress"] for m in resumed[:-1]] == [1, 2, 3]
        assert resumed[-1]["id"] == 4
        assert seqs(first + rest) == sorted(set(seqs(first + rest)))

        # The GET stream: one per session, and the next one starts where the last reader stopped.
        async with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            events = Events(response)
            assert await events.read(limit=1) == [("0-0", None)]
            await served.runtime.notify_session(session, "notifications/message", {"level": "info", "data": "one"})
            [(event_id, data)] = await events.read(limit=1)
            assert (event_id, data["params"]["data"]) == ("0-1", "one")
            assert (await client.get(url, headers=headers)).status_code == 409
        await settled(lambda: not redis_sync.hexists(layout.standalone(session), "h"))  # the reader left: released
        await served.runtime.notify_session(session, "notifications/message", {"level": "info", "data": "two"})
        response = await open_get(client, url, headers)
        try:
            assert response.status_code == 200
            [priming, (event_id, data)] = await Events(response).read(limit=2)
            assert priming == ("0-1", None)  # the cursor: the first reader delivered up to 1
            assert (event_id, data["params"]["data"]) == ("0-2", "two")
        finally:
            await response.aclose()

        # Every key has a TTL.
        keys = keys_under(redis_sync, prefix)
        assert {layout.session(session), layout.standalone(session), layout.streams(session)} <= set(keys)
        assert {key: redis_sync.pttl(key) > 0 for key in keys} == dict.fromkeys(keys, True)

        # DELETE ends the session everywhere: nothing of it is left in Redis (the deployment's
        # bus, which told the other instances, expires by itself).
        assert (await client.delete(url, headers=headers)).status_code == 200
        assert (await client.post(url, json=call(5, "add", {"a": 1}), headers=headers)).status_code == 404
        await settled(lambda: session_keys(redis_sync, prefix) == [])


@pytest.mark.parametrize("flavour", H11_FLAVOURS)
async def test_two_servers_on_one_prefix_serve_one_session(flavour: str, prefix: str, redis_sync: redis.Redis) -> None:
    state_key = secrets.token_bytes(32)  # servers behind one load balancer share it
    opened: list[RedisStore] = []
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        a = await start_with_redis(tg, flavour, prefix, Server(demo_app(), state_key=state_key), opened)
        b = await start_with_redis(tg, flavour, prefix, Server(demo_app(), state_key=state_key), opened)
        assert a.port != b.port

        session = await initialize(client, a.url)
        headers = {**HEADERS, "mcp-session-id": session}
        response = await client.post(b.url, json=call(2, "add", {"a": 40}), headers=headers)
        assert response.status_code == 200
        assert response.json()["result"]["content"] == [{"type": "text", "text": "42"}]

        # A stream started on A and dropped is resumed on B, from the log in Redis. Live events do not
        # cross servers yet (that needs a broker), so B resumes once the handler on A has finished.
        async with client.stream("POST", a.url, json=call(3, "count", {"n": 3}, "p"), headers=headers) as response:
            first = await read_events(response, limit=2)
        last_id = first[-1][0]
        assert last_id is not None
        stream = last_id.rpartition("-")[0]
        await settled(lambda: finished(redis_sync, KeyLayout(prefix).streams(session), stream))
        async with client.stream("GET", b.url, headers={**headers, "last-event-id": last_id}) as response:
            assert response.status_code == 200
            rest = await read_events(response)
        resumed = [data for _, data in first[1:] + rest]
        assert [m["params"]["progress"] for m in resumed[:-1]] == [1, 2, 3] and resumed[-1]["id"] == 3

        # One GET stream per session across both servers; B takes over where A's reader stopped.
        async with client.stream("GET", a.url, headers=headers) as response:
            events = Events(response)
            assert await events.read(limit=1) == [("0-0", None)]
            await a.runtime.notify_session(session, "notifications/message", {"level": "info", "data": "on A"})
            assert [event_id for event_id, _ in await events.read(limit=1)] == ["0-1"]
            second = await client.get(b.url, headers=headers)
            assert second.status_code == 409
            assert "already has an open GET stream" in second.text
        response = await open_get(client, b.url, headers)
        try:
            assert response.status_code == 200
            events = Events(response)
            assert await events.read(limit=1) == [("0-1", None)]
            await b.runtime.notify_session(session, "notifications/message", {"level": "info", "data": "on B"})
            [(event_id, data)] = await events.read(limit=1)
            assert (event_id, data["params"]["data"]) == ("0-2", "on B")
            assert (await client.get(a.url, headers=headers)).status_code == 409
        finally:
            await response.aclose()

        # DELETE on B ends the session for A too.
        assert (await client.delete(b.url, headers=headers)).status_code == 200
        assert (await client.post(a.url, json=call(4, "add", {"a": 1}), headers=headers)).status_code == 404
        tg.cancel_scope.cancel()
    for store in opened:
        await store.aclose()
    await settled(lambda: session_keys(redis_sync, prefix) == [])


@pytest.mark.parametrize("flavour", H11_FLAVOURS)
async def test_a_redis_that_stops_answering_does_not_stop_the_h11_server(flavour: str) -> None:
    store = RedisStore(UNREACHABLE)  # serve_in does not PING: as if Redis went away after start-up
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        host, port, _ = await tg.start(
            lambda task_status: serve_in(demo_app(), port=0, store=store, task_status=task_status)
        )
        for _ in range(2):
            response = await client.post(f"http://{host}:{port}/mcp", json=INIT, headers=HEADERS)
            assert response.status_code == 503
            assert response.json()["error"]["message"].startswith("Service Unavailable: the session store")
        assert (await client.get(f"http://{host}:{port}/elsewhere")).status_code == 404  # still serving
        tg.cancel_scope.cancel()
    await store.aclose()


# -- the ASGI app's lifespan ----------------------------------------------------------


async def run_lifespan(app: AsgiApp, *messages: str) -> list[dict[str, Any]]:
    """Drive the ASGI lifespan by hand: send ``lifespan.<message>`` in turn; what the app sent back."""
    incoming = [{"type": f"lifespan.{message}"} for message in messages]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not incoming:
            await anyio.sleep_forever()
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    with anyio.fail_after(10):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_asgi_lifespan_fails_to_start_when_redis_is_unreachable() -> None:
    app = AsgiApp(demo_app(), redis_url=UNREACHABLE)
    sent = await run_lifespan(app, "startup", "shutdown")
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": f"RedisUnavailableError: cannot reach Redis at {UNREACHABLE}: Connection refused",
        }
    ]
    assert not app.runtime.started


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_asgi_lifespan_pings_redis_and_closes_the_connections_at_shutdown(prefix: str) -> None:
    app = AsgiApp(demo_app(), redis_url=REDIS_URL, redis_prefix=prefix)
    store = app.runtime.store
    assert isinstance(store, RedisStore) and store.prefix == prefix
    assert await run_lifespan(app, "startup", "shutdown") == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    with pytest.raises(RedisStoreError, match="closed"):
        await store.client.execute("PING")


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_store_passed_in_is_pinged_and_left_open(prefix: str) -> None:
    async with RedisStore(REDIS_URL, prefix=prefix) as store:
        app = AsgiApp(demo_app(), store=store)
        async with app.lifespan():
            pass
        assert await store.client.execute("PING") == b"PONG"


def test_store_and_redis_url_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="not both"):
        AsgiApp(demo_app(), store=RedisStore(UNREACHABLE), redis_url=UNREACHABLE)
    with pytest.raises(ValueError, match="not a Redis URL"):
        AsgiApp(demo_app(), redis_url="http://127.0.0.1/")


# -- the command ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_command_serves_from_redis(backend: str, prefix: str, redis_sync: redis.Redis) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_sansio_h11.cli",
            "serve",
            "examples/everything.py:app",
            "--port",
            "0",
            "--backend",
            backend,
            "--redis-url",
            REDIS_URL,
            "--redis-prefix",
            prefix,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("mcp-sansio serving http://127.0.0.1:"), line
        url = line.split()[-1]
        with httpx.Client(timeout=5) as client:
            response = client.post(url, json=INIT, headers=HEADERS)
            assert response.status_code == 200
            session = response.headers["mcp-session-id"]
        key = KeyLayout(prefix).session(session)
        assert redis_sync.hget(key, "id") == session.encode()
        assert redis_sync.pttl(key) > 0
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
