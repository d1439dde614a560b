"""The driver: carries out the core's outputs, runs handlers, executes store commands.

Shared by every adapter. It decides nothing the core decides: it runs plans
against the store, spawns handlers, feeds what they do back to the exchange,
and moves the resulting events to the connections that read them.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
from anyio.abc import TaskGroup

from mcp_sansio import (
    CancelRequest,
    ClientError,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    ErrorResponse,
    Exchange,
    HttpRequest,
    MemoryStore,
    Output,
    Plan,
    RequestId,
    Response,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
    SessionClosed,
    StartStream,
    run_plan,
)
from mcp_sansio._events import Call
from mcp_sansio._jsonrpc import id_key
from mcp_sansio._mrtr import InputRequest, InputRequired
from mcp_sansio._sse import frame_comment

from ._hub import Hub, Reader

__all__ = ["Driver", "Responder", "ClientGone"]

log = logging.getLogger("mcp_sansio")
T = TypeVar("T")


class ClientGone(Exception):
    """The client's connection went away while we were writing to it."""


class Responder(Protocol):
    """How the driver answers on one HTTP connection; each adapter implements it."""

    async def send_response(self, response: SendResponse) -> None:
        """Send a complete response."""

    async def start_stream(self, headers: Sequence[tuple[str, str]]) -> None:
        """Send 200 and SSE headers; the body follows with :meth:`write`."""

    async def write(self, data: bytes) -> None:
        """Send part of the body; raises :class:`ClientGone` if the client left."""

    async def end_stream(self) -> None:
        """End the body."""

    def on_disconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (once) when the client closes the connection; returns an unregister function."""


@dataclass(eq=False)
class Sink:
    """Where one request's answer goes: a complete response, or a stream to pump."""

    ready: anyio.Event = field(default_factory=anyio.Event)
    response: SendResponse | None = None
    headers: tuple[tuple[str, str], ...] = ()
    reader: Reader | None = None
    priming: bytes | None = None
    replay: list[tuple[int, bytes]] = field(default_factory=list)
    replay_final: bool = False
    close_after: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass(eq=False)
class _Waiter:
    event: anyio.Event = field(default_factory=anyio.Event)
    message: Response | ErrorResponse | None = None


class Driver:
    """Runs one core :class:`Server` with a store, inside a task group that outlives connections.

    Args:
        server: The core.
        store: Where sessions and event logs live.
        task_group: Where handlers run (they outlive the connection that started them).
        keepalive: Seconds of silence after which an SSE stream gets a comment.
    """

    def __init__(self, server: Server, store: MemoryStore, task_group: TaskGroup, *, keepalive: float = 15.0) -> None:
        self.server = server
        self.store = store
        self.task_group = task_group
        self.keepalive = keepalive
        self.hub = Hub(server.config.max_queue_events)
        # Running handlers by (session id, or the exchange's stream when stateless; request id).
        self._running: dict[tuple[str, str], tuple[anyio.CancelScope, Exchange]] = {}
        self._waiters: dict[tuple[str, str], _Waiter] = {}
        self.closing = False

    def run(self, plan: Plan[T]) -> T:
        """Execute a plan's store commands and return its result."""
        return run_plan(plan, self.store)

    async def handle(self, request: HttpRequest, body: bytes, responder: Responder, *, checked: bool = False) -> None:
        """Serve one whole HTTP request on ``responder`` (``checked``: its head passed ``check_head``)."""
        sink = Sink()
        await self.carry_out(self.run(self.server.receive(request, body, checked=checked)), sink)
        if not sink.ready.is_set():
            # A handler will answer. In the legacy revisions a vanished client cancels nothing,
            # so just wait; in 2026-07-28 closing the connection cancels, so watch for it.
            if not _cancels_on_disconnect(sink):
                await sink.ready.wait()
            elif not await _until_disconnected(responder, sink.ready.wait()):
                self._client_left(sink)
                return
        if sink.response is not None:
            await responder.send_response(sink.response)
        elif sink.reader is not None:
            await self._pump(sink, sink.reader, responder)

    async def _pump(self, sink: Sink, reader: Reader, responder: Responder) -> None:
        session_id, stream = reader.key
        try:
            await responder.start_stream(sink.headers)
            first = b"".join([sink.priming or b"", *(data for _, data in sink.replay)])
            if sink.replay:
                reader.delivered = max(reader.delivered, sink.replay[-1][0])
            if sink.replay_final:
                reader.end(reader.delivered)
            if first:
                await responder.write(first)
            pump = self._pump_live(reader, responder, sink.close_after)
            # Streams that can sit idle (GET, listen) or whose closing cancels (2026-07-28) are
            # watched; a legacy POST stream learns of a vanished client from its next write.
            watched = not sink.exchanges or _cancels_on_disconnect(sink)
            if await (_until_disconnected(responder, pump) if watched else _completed(pump)):
                if self.closing and not reader.finished:
                    await responder.write(frame_comment("server shutting down; resume with Last-Event-ID"))
                await responder.end_stream()
            elif not reader.finished:
                self._client_left(sink)
        except ClientGone:
            self._client_left(sink)
        finally:
            reader.close()
            self.server.stream_detached(session_id, stream, reader.delivered)

    async def _pump_live(self, reader: Reader, responder: Responder, close_after: float | None) -> None:
        # The core may ask to end this connection after a while (stream polling, SEP-1699).
        with anyio.move_on_after(close_after if close_after is not None else math.inf):
            await self._pump_until_done(reader, responder)

    async def _pump_until_done(self, reader: Reader, responder: Responder) -> None:
        while not self.closing:
            batch = reader.take_nowait()
            if not batch:
                if reader.done:
                    return
                with anyio.move_on_after(self.keepalive) as idle:
                    batch = await reader.take()
                if idle.cancelled_caught:
                    await responder.write(frame_comment("keep-alive"))
                    continue
                if not batch:
                    return
            # Everything queued goes out in one write.
            await responder.write(b"".join(data for _, data in batch))

    async def carry_out(self, outputs: list[Output], sink: Sink) -> None:
        """Do what the core said, in order."""
        for output in outputs:
            if isinstance(output, SendEvent):
                await self.hub.publish(output.session_id, output.stream, output.seq, output.data)
            elif isinstance(output, SendResponse):
                sink.response = output
                sink.ready.set()
            elif isinstance(output, RunHandler):
                sink.exchanges.append(output.exchange)
                self.task_group.start_soon(self._run_handler, output.call, output.exchange, sink)
            elif isinstance(output, StartStream):
                sink.reader = self.hub.join(output.session_id, output.stream)
                sink.headers, sink.priming, sink.close_after = output.headers, output.priming, output.close_after
                sink.ready.set()
            elif isinstance(output, EndStream):
                self.hub.end(output.session_id, output.stream, output.last_seq)
            elif isinstance(output, DisconnectStream):
                self.hub.disconnect(output.session_id, output.stream)
            elif isinstance(output, ResumeStream):
                sink.reader = self.hub.join(output.session_id, output.stream, output.after)
                events, sink.replay_final = self.run(self.server.replay(output.session_id, output.stream, output.after))
                sink.replay = [(e.seq, e.data) for e in events if isinstance(e, SendEvent)]
                sink.headers, sink.priming, sink.close_after = output.headers, output.priming, output.close_after
                sink.ready.set()
            elif isinstance(output, DeliverResponse):
                waiter = self._waiters.get((output.session_id, id_key(output.request_id)))
                if waiter is not None:
                    waiter.message = output.message
                    waiter.event.set()
            elif isinstance(output, CancelRequest):
                running = self._running.get((output.session_id, id_key(output.request_id)))
                if running is not None:
                    running[0].cancel()
            elif isinstance(output, SessionClosed):
                self._close_session(output.session_id)

    def _close_session(self, session_id: str) -> None:
        for (sid, _), (scope, _exchange) in list(self._running.items()):
            if sid == session_id:
                scope.cancel()
        self.hub.close_session(session_id)

    def _client_left(self, sink: Sink) -> None:
        for exchange in sink.exchanges:
            if exchange.cancel_on_disconnect:
                for scope, owner in list(self._running.values()):
                    if owner is exchange:
                        scope.cancel()

    async def _run_handler(self, call: Call, exchange: Exchange, sink: Sink) -> None:
        key = (exchange.session_id or exchange.stream, id_key(call.request_id))
        outputs: list[Output] = []
        try:
            with anyio.CancelScope() as scope:
                self._running[key] = (scope, exchange)
                outputs = await self._invoke(call, exchange, sink)
            if scope.cancelled_caught:
                outputs = self.run(exchange.cancelled(call))
            await self.carry_out(outputs, sink)
        except Exception:  # a bug in the embedding code must not take the server down
            log.exception("handler for request %r failed unrecoverably", call.request_id)
        finally:
            self._running.pop(key, None)

    async def _invoke(self, call: Call, exchange: Exchange, sink: Sink) -> list[Output]:
        kwargs = dict(call.kwargs)
        if call.context_param is not None:
            kwargs[call.context_param] = HandlerContext(self, call, exchange, sink)
        try:
            if call.streaming:
                async with aclosing(call.fn(**kwargs)) as chunks:
                    async for chunk in chunks:
                        await self.carry_out(self.run(exchange.chunk(call, chunk)), sink)
                return self.run(exchange.complete(call, None))
            value = call.fn(**kwargs)
            if inspect.isawaitable(value):
                value = await value
            return self.run(exchange.complete(call, value))
        except (Exception, InputRequired) as exc:
            if exchange.is_open(call.request_id):
                return self.run(exchange.fail(call, exc))
            raise

    async def wait_response(self, session_id: str, outgoing: str, outputs: list[Output], sink: Sink) -> dict[str, Any]:
        """Carry out the outputs of a server-to-client request and wait for the client's answer."""
        waiter = _Waiter()
        self._waiters[(session_id, id_key(outgoing))] = waiter
        try:
            await self.carry_out(outputs, sink)
            await waiter.event.wait()
        finally:
            self._waiters.pop((session_id, id_key(outgoing)), None)
        message = waiter.message
        if isinstance(message, ErrorResponse):
            raise ClientError(message.code, message.message, message.data)
        assert isinstance(message, Response)
        return message.result

    async def _unprompted(self, plan: Plan[list[Output]]) -> None:
        # Outputs no request asked for: they go to stream readers and handlers, never to a response.
        await self.carry_out(self.run(plan), Sink())

    async def notify_session(self, session_id: str, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification on a session's GET stream (kept in its log until read)."""
        await self._unprompted(self.server.notify_session(session_id, method, params))

    async def list_changed(self, kind: str) -> None:
        """Tell every client the list of ``kind`` (tools, prompts, resources) changed, e.g. after a reload."""
        await self._unprompted(self.server.list_changed(kind))

    async def resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed, e.g. from a file watcher."""
        await self._unprompted(self.server.resource_updated(uri))

    async def expire_sessions(self) -> None:
        """Drop idle sessions and stop their handlers."""
        await self._unprompted(self.server.expire())

    def shutdown(self) -> None:
        """Stop every stream pump (each ends with a final comment); handlers keep running."""
        self.closing = True
        self.hub.interrupt_all()

    async def drain(self, grace: float) -> None:
        """Give running handlers ``grace`` seconds to finish, then cancel the rest."""
        with anyio.move_on_after(grace):
            while self._running:
                await anyio.sleep(0.02)
        for scope, _exchange in list(self._running.values()):
            scope.cancel()


def _cancels_on_disconnect(sink: Sink) -> bool:
    return any(exchange.cancel_on_disconnect for exchange in sink.exchanges)


async def _completed(work: Awaitable[None]) -> bool:
    await work
    return True


async def _until_disconnected(responder: Responder, work: Awaitable[None]) -> bool:
    """Await ``work`` unless the client leaves first; True if it completed.

    One cancel scope, cancelled by the connection's reader: no task per request.
    """
    with anyio.CancelScope() as scope:
        unregister = responder.on_disconnect(scope.cancel)
        try:
            await work
        finally:
            unregister()
        return True
    return False


class HandlerContext:
    """The :class:`mcp_sansio.Context` a handler receives."""

    def __init__(self, driver: Driver, call: Call, exchange: Exchange, sink: Sink) -> None:
        self._driver, self._call, self._exchange, self._sink = driver, call, exchange, sink

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request being served."""
        return self._call.request_id

    @property
    def session_id(self) -> str | None:
        """The legacy session's id (None when stateless)."""
        return self._exchange.session_id

    @property
    def protocol_version(self) -> str:
        """The protocol version the request is served under."""
        return self._exchange.peer.protocol_version

    def has_capability(self, name: str) -> bool:
        """Whether the client declared capability ``name``."""
        return self._exchange.peer.has_capability(name)

    async def _emit(self, plan: Plan[list[Output]]) -> None:
        await self._driver.carry_out(self._driver.run(plan), self._sink)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` if the client's level lets it through."""
        await self._emit(self._exchange.log(self._call.request_id, level, data, logger))

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` (only if the client asked with a progressToken)."""
        await self._emit(self._exchange.progress(self._call, progress, total, message))

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send any notification related to this request."""
        await self._emit(self._exchange.notify(self._call.request_id, method, params))

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request to the client and wait for its result (legacy revisions only)."""
        outgoing, outputs = self._driver.run(self._exchange.server_request(self._call.request_id, method, params))
        session_id = self._exchange.session_id
        assert session_id is not None  # server_request refuses stateless exchanges
        return await self._driver.wait_response(session_id, outgoing, outputs, self._sink)

    async def ask(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """Ask the client for several inputs; the answers by key.

        Legacy: one server-to-client request each, in order. Stateless: the
        answers the client sent back, or the round ends with an InputRequiredResult.
        """
        if self._exchange.asks_in_rounds:
            return self._exchange.inputs(self._call, requests)
        return {key: await self.request(r.method, r.params) for key, r in requests.items()}

    async def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str = "elicitation"
    ) -> dict[str, Any]:
        """Ask the user for structured input (``elicitation/create``, form mode)."""
        return (await self.ask({key: InputRequest.elicitation(message, requested_schema)}))[key]

    async def sample(
        self, messages: list[dict[str, Any]], max_tokens: int, *, key: str = "sampling", **params: Any
    ) -> dict[str, Any]:
        """Ask the client's model for a completion (``sampling/createMessage``)."""
        return (await self.ask({key: InputRequest.sampling(messages, max_tokens, **params)}))[key]

    async def list_roots(self, *, key: str = "roots") -> dict[str, Any]:
        """Ask the client for its roots (``roots/list``)."""
        return (await self.ask({key: InputRequest.roots()}))[key]

    async def close_stream(self) -> None:
        """Close the client's connection to this request's stream; the handler keeps running."""
        await self._emit(self._exchange.close_stream(self._call.request_id))

    async def list_changed(self, kind: str) -> None:
        """Tell every client that the list of ``kind`` (tools, prompts, resources) changed."""
        await self._driver.list_changed(kind)

    async def resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed."""
        await self._driver.resource_updated(uri)
