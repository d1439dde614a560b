"""What the hostile-input tests share: a guarded server, raw HTTP over sockets, a healthy client.

:func:`guarded` serves an app the ``flavour`` way with a healthy client calling a tool
throughout and, once the test's body is done, checks that the healthy client never failed
and succeeds once more, that the runtime holds nothing any more (census back to zero, no
in-flight claims), that no task of ours outlived its client, that no file descriptor was
left open and that nothing in ``mcp_sansio`` logged an error or a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import traceback
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import h11
import httpx
import pytest
import sniffio
from anyio.abc import SocketAttribute, SocketStream

from mcp_sansio import App, Config, MemoryStore
from mcp_sansio_h11 import Timeouts
from tests.adapters.conftest import Running, start
from tests.adapters.test_http import HEADERS, INIT

# h11 on both event loops; the ASGI app under uvicorn (httptools) and under hypercorn (h11) with trio.
HOSTILE_FLAVOURS = ("h11-asyncio", "h11-trio", "uvicorn-asyncio", "hypercorn-trio")
# For answers the core decides alone: each adapter once, each event loop at least once.
PARITY_FLAVOURS = ("h11-trio", "uvicorn-asyncio", "hypercorn-trio")
EMPTY_RUNTIME = {"readers": 0, "handlers": 0, "waiters": 0, "listeners": 0, "tasks": 0}
ACCEPT_BOTH = b"application/json, text/event-stream"


def hostile_app(
    gate: anyio.Event | None = None, produced: list[int] | None = None, holding: list[int] | None = None
) -> App:
    """A tool that answers at once, plus tools that hold, stream slowly and flood; a prompt, a resource."""
    app = App("hostile", "1.0")

    @app.tool()
    async def add(a: int, b: int = 2) -> str:
        """Add two integers."""
        return str(a + b)

    @app.tool()
    async def hold() -> str:
        """Waits until the test opens the gate."""
        assert gate is not None
        if holding is not None:
            holding.append(1)
        await gate.wait()
        return "released"

    @app.tool()
    async def tick(n: int, interval_ms: int = 0) -> AsyncIterator[str]:
        """Streams 1..n, one every interval_ms."""
        for i in range(1, n + 1):
            if interval_ms:
                await anyio.sleep(interval_ms / 1000)
            yield str(i)

    @app.tool()
    async def flood(count: int, size: int = 1024) -> AsyncIterator[str]:
        """Yields ``count`` chunks of ``size`` characters as fast as it is allowed to."""
        chunk = "x" * size
        for i in range(count):
            if produced is not None:
                produced.append(i)
            yield chunk

    @app.prompt()
    async def greet(name: str) -> str:
        """Greets someone."""
        return f"Hello {name}"

    @app.resource("test://text", mime_type="text/plain")
    async def text_resource() -> str:
        return "hello"

    return app


# -- raw HTTP/1.1 -------------------------------------------------------------------


def http_request(
    method: bytes = b"POST",
    body: bytes | Any = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    target: bytes = b"/mcp",
    host: bytes | None = b"127.0.0.1",
    standard: bool = True,
    length: bool = True,
) -> bytes:
    """One request's bytes: ``body`` is sent as is if bytes, else as JSON (with Content-Length)."""
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [b"%s %s HTTP/1.1" % (method, target)]
    if host is not None:
        lines.append(b"Host: " + host)
    if standard:
        lines += [b"Accept: " + ACCEPT_BOTH, b"Content-Type: application/json"]
    lines += [name + b": " + value for name, value in headers]
    if length and (body is not None or method == b"POST"):
        lines.append(b"Content-Length: %d" % len(data))
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def session_headers(session: str) -> list[tuple[bytes, bytes]]:
    return [(b"Mcp-Session-Id", session.encode())]


@dataclass
class Reply:
    """One parsed HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> dict[str, Any]:
        """The JSON-RPC error of a JSON body."""
        found = self.json()
        assert isinstance(found, dict) and "error" in found, found
        error: dict[str, Any] = found["error"]
        return error


class MalformedResponse(AssertionError):
    """The server sent bytes that are not well-formed HTTP/1.1 responses."""


def parse_responses(data: bytes, closed: bool, methods: Sequence[bytes] = ()) -> tuple[list[Reply], bool]:
    """Parse what a server sent, with h11 as the client: the complete responses, and whether one was cut short.

    ``methods`` are the methods of the requests answered, in order (POST past its end): a
    response to HEAD has no body. Raises MalformedResponse for anything that is not a
    well-formed HTTP/1.1 response with explicit framing (Content-Length or chunked).
    """
    client = h11.Connection(h11.CLIENT)
    replies: list[Reply] = []
    current: Reply | None = None
    index = 0

    def ask() -> None:
        method = b"HEAD" if index < len(methods) and methods[index] == b"HEAD" else b"POST"  # all that matters
        client.send(h11.Request(method=method, target="/", headers=[("host", "x"), ("content-length", "0")]))
        client.send(h11.EndOfMessage())

    ask()
    if data:  # h11 takes b"" for the end of the stream
        client.receive_data(data)
    if closed:
        client.receive_data(b"")
    try:
        while True:
            between = current is None and client.their_state is h11.SEND_RESPONSE
            if between and closed and not client.trailing_data[0]:
                return replies, False  # closed between two responses: fine
            event = client.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                break
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                headers = {k.decode(): v.decode("latin-1") for k, v in event.headers}
                framed = "content-length" in headers or "transfer-encoding" in headers
                if not framed and event.status_code not in (204, 304):
                    raise MalformedResponse(f"a response without Content-Length or chunked framing: {data[:300]!r}")
                current = Reply(event.status_code, headers)
            elif isinstance(event, h11.Data):
                assert current is not None
                current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert current is not None
                replies.append(current)
                current = None
                if client.their_state is not h11.DONE:  # it said "connection: close": nothing may follow
                    if client.trailing_data[0]:
                        raise MalformedResponse(f"bytes after a response that closes the connection: {data[-300:]!r}")
                    return replies, False
                index += 1
                client.start_next_cycle()
                ask()
    except h11.ProtocolError as exc:
        raise MalformedResponse(f"not a well-formed HTTP/1.1 response ({exc}): {data[:400]!r}") from exc
    partial = current is not None or bool(client.trailing_data[0])
    return replies, partial


@dataclass
class Exchanged:
    """What came back on one connection."""

    replies: list[Reply]
    closed: bool
    raw: bytes

    @property
    def reply(self) -> Reply:
        assert self.replies, f"no response (closed={self.closed}): {self.raw[:300]!r}"
        return self.replies[0]


async def read_replies(
    stream: SocketStream,
    count: int = 1,
    *,
    until_closed: bool = False,
    timeout: float = 5.0,
    methods: Sequence[bytes] = (),
    prefix: bytes = b"",
) -> Exchanged:
    """Read until ``count`` responses are complete (or, with ``until_closed``, until the server closes)."""
    received = prefix
    closed = False
    with anyio.move_on_after(timeout):
        while True:
            replies, _ = parse_responses(received, False, methods)
            if len(replies) >= count and not until_closed:
                break
            try:
                received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                closed = True
                break
    replies, partial = parse_responses(received, closed, methods)
    if closed and partial:
        raise MalformedResponse(f"the connection closed in the middle of a response: {received[-300:]!r}")
    return Exchanged(replies, closed, received)


async def exchange(
    running: Running,
    data: bytes,
    count: int = 1,
    *,
    until_closed: bool = False,
    half_close: bool = False,
    timeout: float = 5.0,
    methods: Sequence[bytes] = (),
) -> Exchanged:
    """Send ``data`` on a new connection and read the answers (see :func:`read_replies`)."""
    async with await anyio.connect_tcp(running.host, running.port) as stream:
        try:
            await stream.send(data)
            if half_close:
                await stream.send_eof()
        except (anyio.BrokenResourceError, OSError):
            pass  # the server answered and closed before reading everything: read what it said
        return await read_replies(stream, count, until_closed=until_closed, timeout=timeout, methods=methods)


def reset(stream: SocketStream) -> None:
    """Make the next close of ``stream`` send a TCP RST instead of a FIN."""
    raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def wait_closed(stream: SocketStream, timeout: float = 5.0) -> bytes:
    """Read until the server closes the connection; fail after ``timeout`` seconds."""
    received = b""
    with anyio.fail_after(timeout):
        while True:
            try:
                received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                return received


# -- JSON-RPC over httpx ------------------------------------------------------------


def call(
    rid: int | str, name: str, arguments: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


async def new_session(client: httpx.AsyncClient, url: str) -> str:
    response = await client.post(url, json=INIT, headers=HEADERS)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await client.post(url, json=note, headers={**HEADERS, "mcp-session-id": session})).status_code == 202
    return session


async def add_one(client: httpx.AsyncClient, url: str, session: str, a: int) -> None:
    """tools/call add(a) answers a + 2, as JSON."""
    response = await client.post(url, json=call(a, "add", {"a": a}), headers={**HEADERS, "mcp-session-id": session})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["content"][0]["text"] == str(a + 2), response.text


# -- the guard ------------------------------------------------------------------------


@dataclass
class Health:
    """A well-behaved client that keeps calling a tool while hostile traffic goes on."""

    running: Running
    rounds: int = 0
    failures: list[str] = field(default_factory=list)

    async def check(self) -> None:
        """One full round now: a new session, a tool call, and the session's end (within 5 s)."""
        with anyio.fail_after(5):
            async with httpx.AsyncClient(timeout=5) as client:
                session = await new_session(client, self.running.url)
                await add_one(client, self.running.url, session, 40)
                response = await client.delete(self.running.url, headers={"mcp-session-id": session})
                assert response.status_code == 200

    async def loop(self, session_ready: anyio.Event) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            session = await new_session(client, self.running.url)
            session_ready.set()
            try:
                while True:
                    try:
                        with anyio.fail_after(5):
                            await add_one(client, self.running.url, session, self.rounds)
                        self.rounds += 1
                    except Exception as exc:  # recorded, and reported when the test ends
                        self.failures.append(f"round {self.rounds}: {''.join(traceback.format_exception(exc))}")
                        return
                    await anyio.sleep(0.05)
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await client.delete(self.running.url, headers={"mcp-session-id": session})


@dataclass
class Guarded:
    running: Running
    health: Health

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def store(self) -> MemoryStore:
        store = self.running.runtime.store
        assert isinstance(store, MemoryStore)
        return store

    async def census_settles(self, timeout: float = 5.0) -> None:
        """Wait until the runtime holds no reader, handler, waiter or listener, and no request is in flight."""
        runtime = self.running.runtime
        with anyio.fail_after(timeout):
            while runtime.census() != EMPTY_RUNTIME or self.store.census()["in_flight"]:
                await anyio.sleep(0.01)


def running_tasks() -> list[str]:
    """The tasks running our code now (their names start with mcp_sansio), on asyncio or trio.

    The servers' own tasks (uvicorn's, hypercorn's) are theirs to keep as they see fit: hypercorn
    keeps a closed connection's tasks until its keep-alive timeout.
    """
    if sniffio.current_async_library() == "trio":
        import trio

        names: list[str] = []
        root = trio.lowlevel.current_root_task()
        pending = [root] if root is not None else []
        while pending:
            task = pending.pop()
            names.append(task.name)
            pending += [child for nursery in task.child_nurseries for child in nursery.child_tasks]
    else:
        import asyncio

        names = [task.get_name() for task in asyncio.all_tasks()]
    return sorted(name for name in names if name.startswith("mcp_sansio"))


async def tasks_settle(baseline: list[str], timeout: float = 5.0) -> None:
    """Wait until no more tasks run than in ``baseline``: connections and handlers ended with their clients."""
    with anyio.move_on_after(timeout):
        while len(running_tasks()) > len(baseline):
            await anyio.sleep(0.01)
    now = running_tasks()
    assert len(now) <= len(baseline), f"tasks leaked: {now} (at the start: {baseline})"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def fds_settle(baseline: int, timeout: float = 5.0) -> None:
    """Wait until no more file descriptors are open than ``baseline`` (sockets close asynchronously)."""
    with anyio.move_on_after(timeout):
        while open_fds() > baseline:
            await anyio.sleep(0.01)
    assert open_fds() <= baseline, f"file descriptors leaked: {sorted(os.listdir('/proc/self/fd'))}"


def _hypercorn_send_race(text: str) -> bool:
    # hypercorn's trio server sends from two of its own tasks on one socket when the app answers before
    # the request body has arrived (a 413, a refusal): trio raises BusyResourceError inside hypercorn's
    # protocol_send, under the app's await send(...). Not the app's doing: the app sends in sequence.
    return "hypercorn/trio/tcp_server.py" in text and text.rstrip().endswith(
        "trio.BusyResourceError: another task is currently sending data on this SocketStream"
    )


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """No error and no traceback from mcp_sansio (nor any traceback passing through it)."""
    bad = []
    for record in caplog.records:
        ours = record.name == "mcp_sansio" or record.name.startswith("mcp_sansio.")
        text = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        if _hypercorn_send_race(text):
            continue
        if (ours and (record.levelno >= logging.ERROR or record.exc_info)) or "mcp_sansio" in text:
            bad.append(f"{record.name} {record.levelname}: {record.getMessage()}\n{text}")
    assert not bad, "\n".join(bad)


@asynccontextmanager
async def guarded(
    flavour: str,
    caplog: pytest.LogCaptureFixture,
    app: App | None = None,
    config: Config | None = None,
    timeouts: Timeouts | None = None,
) -> AsyncIterator[Guarded]:
    """Serve ``app`` with a healthy client running throughout; afterwards check nothing leaked or broke."""
    caplog.set_level(logging.WARNING)
    baseline = open_fds()
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, app or hostile_app(), config or Config(), timeouts, nodelay=True)
        tasks = running_tasks()
        health = Health(running)
        ready = anyio.Event()
        async with anyio.create_task_group() as background:
            background.start_soon(health.loop, ready)
            with anyio.fail_after(5):
                await ready.wait()
            guard = Guarded(running, health)
            yield guard
            with anyio.fail_after(5):  # at least one round while the hostile traffic went on
                while not health.rounds and not health.failures:
                    await anyio.sleep(0.01)
            await health.check()
            background.cancel_scope.cancel()
        assert not health.failures, "the healthy client failed meanwhile:\n" + "\n".join(health.failures)
        await guard.census_settles()
        await tasks_settle(tasks)
        tg.cancel_scope.cancel()
    await fds_settle(baseline)
    assert_quiet(caplog)
