"""The runtime against an in-memory transport, on asyncio and on trio: no sockets."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from anyio.abc import TaskGroup

from mcp_sansio import App, Config, HttpRequest, MemoryStore, SendResponse, Server, Store, StoreCommand
from mcp_sansio_runtime import AsyncStore, ClientGone, Runtime

HEAD = (
    ("host", "127.0.0.1:8000"),
    ("accept", "application/json, text/event-stream"),
    ("content-type", "application/json"),
)
SSE_HEAD = (("host", "127.0.0.1:8000"), ("accept", "text/event-stream"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- SSE ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One parsed SSE event: its id, its data (decoded JSON, None when empty) and its retry advice."""

    id: str | None
    data: Any
    retry: int | None = None


def parse_sse(raw: bytes) -> tuple[list[Event], list[str]]:
    """The events and the comments of an SSE body."""
    events: list[Event] = []
    comments: list[str] = []
    for block in raw.decode().split("\n\n"):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        event_id: str | None = None
        retry: int | None = None
        data: list[str] = []
        is_event = False
        for line in lines:
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            is_event = True
            if name == "id":
                event_id = value
            elif name == "retry":
                retry = int(value)
            elif name == "data":
                data.append(value)
        if is_event:
            text = "\n".join(data)
            events.append(Event(event_id, json.loads(text) if text else None, retry))
    return events, comments


def split_id(event_id: str) -> tuple[str, int]:
    """``<stream>-<seq>`` as (stream, seq)."""
    stream, _, seq = event_id.rpartition("-")
    return stream, int(seq)


# -- the transport -------------------------------------------------------------------


class FakeTransport:
    """One request's way back to an in-memory client; records everything the runtime does with it.

    ``disconnect()`` plays a client that leaves; ``hold()`` a client that stops reading
    (writes block until ``allow()`` or ``release()``).
    """

    def __init__(self) -> None:
        self.response: SendResponse | None = None
        self.head: tuple[tuple[str, str], ...] | None = None
        self.writes: list[bytes] = []
        self.ended = False
        self.gone = False
        self.write_attempts = 0
        self.calls: list[str] = []
        self._callbacks: list[Callable[[], None]] = []
        self._budget: int | None = None  # writes allowed before blocking; None: no limit
        self._changed = anyio.Event()

    # -- Transport -------------------------------------------------------------

    async def send_response(self, response: SendResponse) -> None:
        self.calls.append("send_response")
        assert self.response is None and self.head is None, "a request answered twice"
        if self.gone:
            raise ClientGone
        self.response = response
        self._notify()

    async def start_stream(self, headers: Sequence[tuple[str, str]], body: bytes = b"") -> None:
        self.calls.append("start_stream")
        assert self.response is None and self.head is None, "a request answered twice"
        if self.gone:
            raise ClientGone
        self.head = tuple(headers)
        self._notify()
        if body:  # the body's start is a write like any other (backpressure included)
            await self._write(body)

    async def write(self, data: bytes) -> None:
        self.calls.append("write")
        await self._write(data)

    async def _write(self, data: bytes) -> None:
        assert self.head is not None, "write before start_stream"
        assert not self.ended, "write after end_stream"
        self.write_attempts += 1
        self._notify()
        while not self.gone and self._budget == 0:
            await self._wait_change()
        if self.gone:
            raise ClientGone
        if self._budget is not None:
            self._budget -= 1
        self.writes.append(data)
        self._notify()

    async def end_stream(self, body: bytes = b"") -> None:
        self.calls.append("end_stream")
        assert self.head is not None and not self.ended
        if body:  # the body's last bytes are a write like any other
            await self._write(body)
        self.ended = True
        self._notify()

    def on_disconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        if self.gone:
            callback()
            return lambda: None
        self._callbacks.append(callback)

        def unregister() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unregister

    # -- what the test does ----------------------------------------------------------

    def disconnect(self) -> None:
        """The client leaves: callbacks run now, and writes (even blocked ones) raise ClientGone."""
        self.gone = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()
        self._notify()

    def hold(self) -> None:
        """The client stops reading: every later write blocks."""
        self._budget = 0
        self._notify()

    def allow(self, count: int) -> None:
        """Let ``count`` more writes through."""
        assert self._budget is not None
        self._budget += count
        self._notify()

    def release(self) -> None:
        """The client reads again: writes go through."""
        self._budget = None
        self._notify()

    @property
    def registered(self) -> int:
        """How many disconnect callbacks are registered now."""
        return len(self._callbacks)

    @property
    def done(self) -> bool:
        return self.response is not None or self.ended

    @property
    def body(self) -> bytes:
        return b"".join(self.writes)

    @property
    def events(self) -> list[Event]:
        return parse_sse(self.body)[0]

    @property
    def comments(self) -> list[str]:
        return parse_sse(self.body)[1]

    @property
    def messages(self) -> list[Any]:
        """The data of every event but priming ones."""
        return [e.data for e in self.events if e.data is not None]

    def json(self) -> Any:
        assert self.response is not None
        return json.loads(self.response.body)

    @property
    def status(self) -> int:
        if self.head is not None:
            return 200
        assert self.response is not None
        return self.response.status

    def header(self, name: str) -> str | None:
        headers = self.head if self.head is not None else (self.response.headers if self.response else ())
        return dict(headers).get(name)

    async def wait_for(self, predicate: Callable[[FakeTransport], bool]) -> None:
        """Wait until ``predicate(self)`` holds (the caller bounds the wait)."""
        while not predicate(self):
            assert not self.done, f"the answer is complete and the condition never held: {self.response or self.body}"
            await self._wait_change()

    async def wait_events(self, count: int) -> list[Event]:
        """Wait for at least ``count`` events; all events so far."""
        await self.wait_for(lambda t: len(t.events) >= count)
        return self.events

    async def _wait_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class Body:
    """A request body arriving in chunks; counts how many the runtime pulled."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)
        self.pulled = 0

    def __aiter__(self) -> Body:
        return self

    async def __anext__(self) -> bytes:
        if self.pulled >= len(self._chunks):
            raise StopAsyncIteration
        self.pulled += 1
        return self._chunks[self.pulled - 1]


# -- requests --------------------------------------------------------------------------


def build_request(
    method: str,
    *,
    session: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    base: Iterable[tuple[str, str]] | None = None,
    target: str = "/mcp",
) -> HttpRequest:
    """An HttpRequest with the usual head for ``method`` (POST: JSON; GET: SSE), plus ``headers``."""
    if base is None:
        base = HEAD if method == "POST" else SSE_HEAD
    extra = [("mcp-session-id", session)] if session is not None else []
    return HttpRequest.build(method, target, [*base, *extra, *headers])


def call_tool(rid: Any, name: str, arguments: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


@dataclass
class Served:
    """A request handed to ``Runtime.serve`` in the background."""

    transport: FakeTransport
    body: Body
    result: bool | None = None
    finished: anyio.Event = field(default_factory=anyio.Event)

    async def wait(self) -> bool:
        await self.finished.wait()
        assert self.result is not None
        return self.result


@dataclass
class Harness:
    """A running runtime, a fake clock, and ways to send it requests."""

    runtime: Runtime
    task_group: TaskGroup
    now: list[float]

    @property
    def server(self) -> Server:
        return self.runtime.server

    def start(
        self,
        request: HttpRequest,
        body: bytes | Iterable[bytes] | Body = b"",
        transport: FakeTransport | None = None,
    ) -> Served:
        """Serve ``request`` in the background."""
        if isinstance(body, bytes):
            body = Body([body] if body else [])
        elif not isinstance(body, Body):
            body = Body(body)
        served = Served(transport or FakeTransport(), body)

        async def run() -> None:
            try:
                served.result = await self.runtime.serve(request, served.body, served.transport)
            finally:
                served.finished.set()

        self.task_group.start_soon(run)
        return served

    async def serve(
        self,
        request: HttpRequest,
        body: bytes | Iterable[bytes] | Body = b"",
        transport: FakeTransport | None = None,
    ) -> Served:
        """Serve ``request`` and wait until ``Runtime.serve`` returns."""
        served = self.start(request, body, transport)
        await served.wait()
        return served

    def post_soon(self, message: Any, session: str | None = None, headers: Iterable[tuple[str, str]] = ()) -> Served:
        return self.start(build_request("POST", session=session, headers=headers), json.dumps(message).encode())

    async def post(self, message: Any, session: str | None = None, headers: Iterable[tuple[str, str]] = ()) -> Served:
        served = self.post_soon(message, session, headers)
        await served.wait()
        return served

    def get_soon(self, session: str, last_event_id: str | None = None) -> Served:
        headers = [("last-event-id", last_event_id)] if last_event_id is not None else []
        return self.start(build_request("GET", session=session, headers=headers))

    async def initialize(self, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None) -> str:
        message = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": capabilities or {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        }
        served = await self.post(message)
        assert served.transport.status == 200, served.transport.response
        session = served.transport.header("mcp-session-id")
        assert session is not None
        initialized = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        assert initialized.transport.status == 202
        return session

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, for conditions no transport reports (the caller bounds the wait)."""
        while not predicate():
            await anyio.sleep(0.005)


def make_server(app: App, config: Config | None = None, now: list[float] | None = None) -> Server:
    clock = now if now is not None else [1000.0]
    sessions = itertools.count(1)
    streams = itertools.count(1)
    return Server(
        app,
        config or Config(),
        clock=lambda: clock[0],
        new_session_id=lambda: f"session{next(sessions)}",
        new_stream_key=lambda: f"s{next(streams)}",
    )


@asynccontextmanager
async def running(
    app: App,
    config: Config | None = None,
    *,
    store: Store | AsyncStore | None = None,
    keepalive: float = 15.0,
    timeout: float = 5.0,
) -> AsyncIterator[Harness]:
    """A runtime serving ``app`` inside ``runtime.running()``; the whole block fails after ``timeout``."""
    now = [1000.0]
    runtime = Runtime(make_server(app, config, now), store, keepalive=keepalive)
    with anyio.fail_after(timeout):
        async with runtime.running(), anyio.create_task_group() as task_group:
            yield Harness(runtime, task_group, now)
            task_group.cancel_scope.cancel()


class FailingStore(MemoryStore):
    """A memory store that fails every command once ``down`` is set (a remote store that went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def execute(self, command: StoreCommand) -> Any:
        if self.down:
            raise ConnectionError("store unreachable")
        return super().execute(command)
