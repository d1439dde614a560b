"""The runtime: carries out the core's outputs for any transport.

It decides nothing the core decides. It runs plans against the store, runs
handlers in a task group that outlives connections, feeds what they do back to
their exchange, and moves the resulting events to the transports that read them.
A transport hands it each request with :meth:`Runtime.serve` and implements
:class:`~mcp_sansio_runtime.Transport`; everything else is here, once.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from mcp_sansio import (
    Call,
    CancelRequest,
    CancelTask,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    Exchange,
    HttpRequest,
    InputRequired,
    MemoryStore,
    Output,
    Plan,
    Principal,
    RequestId,
    ResumeStream,
    RunHandler,
    RunTask,
    SendEvent,
    SendResponse,
    Server,
    SessionClosed,
    StartStream,
    Store,
    TaskRun,
    WaitTask,
    request_key,
)

from ._auth import TokenVerifier, VerifierUnavailable
from ._broker import Appended, Broker, ListChanged, LocalBroker, ResourceUpdated, SharedStore, Signal
from ._chunks import pump_chunks
from ._context import HandlerContext
from ._hub import Hub, Reader
from ._plans import AsyncStore, PlanRunner, StoreError
from ._pump import StreamPump, cancels_on_disconnect, store_failure, until_disconnected
from ._sink import Sink
from ._task_results import wait_task
from ._tasks import TaskRunner
from ._transport import Transport

__all__ = ["Runtime"]

log = logging.getLogger("mcp_sansio")
T = TypeVar("T")
NOT_FOUND = SendResponse(404, (("content-type", "text/plain"),), b"Not Found\n")
SHUTTING_DOWN = SendResponse(503, (("content-type", "text/plain"), ("connection", "close")), b"Shutting down\n")
NOT_STARTED = SendResponse(
    503, (("content-type", "text/plain"),), b"Not started: run the ASGI lifespan, or enter Runtime.running()\n"
)


@dataclass(eq=False)
class _Waiter:
    event: anyio.Event = field(default_factory=anyio.Event)
    message: Any = None


class Runtime:
    """Runs one core :class:`~mcp_sansio.Server` with a store, for any number of transports.

    Start its background work with ``async with runtime.running():`` (handlers run
    in its task group, so they outlive the connection that started them), hand it
    each request with :meth:`serve`, and stop it with :meth:`stop`.

    Args:
        server: The core.
        store: Where sessions and event logs live (a fresh :class:`~mcp_sansio.MemoryStore` if None).
        path: The endpoint's path; other paths get 404.
        keepalive: Seconds of silence after which an SSE stream gets a comment.
        broker: What connects this runtime to the others of a deployment; by default the store's
            own (a store shared by processes, such as Redis, brings one), else none (one process).
        verifier: Checks bearer tokens; required when the server has ``auth`` (and only then).
    """

    def __init__(
        self,
        server: Server,
        store: Store | AsyncStore | None = None,
        *,
        path: str = "/mcp",
        keepalive: float = 15.0,
        broker: Broker | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        if (server.auth is None) != (verifier is None):
            raise ValueError(
                "authorization needs both the server's auth=ResourceServer(...) and the runtime's verifier="
            )
        self.server = server
        self.verifier = verifier
        self.store = store if store is not None else MemoryStore()
        if broker is None:
            broker = self.store.broker() if isinstance(self.store, SharedStore) else LocalBroker()
        self.broker: Broker = broker
        self.path = path
        self.keepalive = keepalive
        self.hub = Hub(server.config.max_queue_events)
        self._pump = StreamPump(self)
        self._runner = PlanRunner(self.store)
        self.run = self._runner.run
        # Running handlers by (session id, or the exchange's stream when stateless; request key).
        self._running: dict[tuple[str, str], tuple[anyio.CancelScope, Exchange]] = {}
        self._waiters: dict[tuple[str, str], _Waiter] = {}
        self._task_group: TaskGroup | None = None
        self.closing = False
        self.tasks = TaskRunner(self)

    # -- life cycle ------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """Run handlers and session expiry for the duration of the block.

        Leaving the block ends every stream (with a farewell comment) and cancels
        whatever still runs; call :meth:`stop` first for a graceful stop.
        """
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            task_group.start_soon(self._expire_forever)
            task_group.start_soon(self.broker.run, self.receive)
            if self.server.app.offers_tasks:
                task_group.start_soon(self.tasks.sweep_forever)
            try:
                yield self
            finally:
                self.shutdown()
                task_group.cancel_scope.cancel()
                self._task_group = None

    @property
    def handlers_running(self) -> int:
        """How many handlers are running now (for tests and health checks)."""
        return len(self._running)

    def census(self) -> dict[str, int]:
        """How much the runtime holds now: stream readers, running handlers, waiters, listen streams, task runs.

        For health checks and leak tests: each returns to 0 once clients are gone.
        """
        return {
            "readers": self.hub.reader_count(),
            "handlers": len(self._running),
            "waiters": len(self._waiters),
            "listeners": len(self.server.listeners),
            "tasks": self.tasks.running,
        }

    @property
    def started(self) -> bool:
        """Whether :meth:`running` is active (requests can be served)."""
        return self._task_group is not None

    def start_soon(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        """Run ``fn(*args)`` in the runtime's task group (a transport's background work)."""
        assert self._task_group is not None, "Runtime.running() is not active"
        self._task_group.start_soon(fn, *args)

    async def _expire_forever(self) -> None:
        while True:
            await anyio.sleep(min(60.0, self.server.config.session_idle_timeout))
            await self.expire_sessions()

    def shutdown(self) -> None:
        """Refuse new requests (503) and end every stream with a farewell comment; handlers keep running."""
        self.closing = True
        self.hub.interrupt_all()

    async def drain(self, grace: float) -> None:
        """Give running handlers ``grace`` seconds to finish, then cancel the rest."""
        with anyio.move_on_after(grace):
            while self._running:
                await anyio.sleep(0.02)
        for scope, _exchange in list(self._running.values()):
            scope.cancel()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop gracefully: :meth:`shutdown`, then :meth:`drain`, then let the last bytes leave."""
        self.shutdown()
        await self.drain(grace)
        await anyio.sleep(0.05)  # let pumps and the last responses reach their sockets

    # -- one request -------------------------------------------------------------

    async def serve(self, request: HttpRequest, body: AsyncIterable[bytes], transport: Transport) -> bool:
        """Serve one request, whatever the transport; False if the connection must not carry another.

        The sequence every transport needs: the path, 503 while stopping, the head's
        checks before any body byte is read, the body limit, then the core.
        ``body`` yields the request body's chunks as they arrive.
        """
        metadata = self.server.resource_metadata(request)
        if metadata is not None:
            await transport.send_response(metadata)
            return True
        if request.target.split("?", 1)[0] != self.path:
            await transport.send_response(NOT_FOUND)
            return True
        if self.closing:
            await transport.send_response(SHUTTING_DOWN)
            return False
        if self._task_group is None:
            log.error("request refused: the runtime is not running (start it with Runtime.running() or lifespan)")
            await transport.send_response(NOT_STARTED)
            return True
        early = self.server.check_head(request)
        if early is not None:
            await transport.send_response(early)
            return True
        principal = None
        if self.verifier is not None:
            found = await self.authenticate(request, self.verifier)
            if isinstance(found, SendResponse):  # before any body byte, like the head's checks
                await transport.send_response(found)
                return True
            principal = found
        data = await _read_limited(body, self.server.config.max_body_size)
        if data is None:
            await transport.send_response(self.server.body_too_large())
            return False
        await self.handle(request, data, transport, checked=True, principal=principal)
        return True

    async def authenticate(self, request: HttpRequest, verifier: TokenVerifier) -> Principal | SendResponse:
        """Who sent ``request`` (its bearer token verified, its claims checked by the core), or the refusal."""
        token = self.server.bearer_token(request)
        if token is None or isinstance(token, SendResponse):
            return token if token is not None else self.server.authenticate(None)
        try:
            claims = await verifier.verify(token)
        except VerifierUnavailable as exc:
            log.warning("503 for %s %s: cannot verify the token: %s", request.method, request.target, exc)
            return self.server.verifier_unavailable()
        except Exception:  # a bug in the verifier: the client still gets an answer
            log.exception("503 for %s %s: the token verifier failed", request.method, request.target)
            return self.server.verifier_unavailable()
        return self.server.authenticate(claims)

    async def handle(
        self,
        request: HttpRequest,
        body: bytes,
        transport: Transport,
        *,
        checked: bool = False,
        principal: Principal | None = None,
    ) -> None:
        """Serve one whole HTTP request on ``transport``.

        ``checked``: its head passed ``check_head``; ``principal``: :meth:`authenticate` accepted it.
        """
        sink = Sink()
        try:
            outputs = await self.run(self.server.receive(request, body, checked=checked, principal=principal))
        except StoreError as exc:  # a remote store is down: nothing was decided, so say retry
            log.warning("503 for %s %s: %s", request.method, request.target, store_failure(exc))
            await transport.send_response(self.server.store_unavailable())
            return
        except Exception:  # a bug (in a store, say): the client still gets its answer
            log.exception("503 for %s %s: the store failed unexpectedly", request.method, request.target)
            await transport.send_response(self.server.store_unavailable())
            return
        inline = _inline_handler(outputs)
        await self.carry_out(outputs if inline is None else [o for o in outputs if o is not inline], sink)
        if inline is not None:
            # This request's one handler runs in this task: no task to spawn for the commonest
            # request. It has no context and is no generator, so it cannot stream: one answer.
            sink.exchanges.append(inline.exchange)
            handler = self._run_handler(inline.call, inline.exchange, sink)
            if not cancels_on_disconnect(sink):
                await handler
            elif not await until_disconnected(transport, handler):
                return  # 2026-07-28: the client left, which cancelled the handler
        if not sink.ready.is_set():
            # A handler will answer. In the handshake revisions a vanished client cancels nothing,
            # so just wait; in 2026-07-28 closing the connection cancels, so watch for it.
            if not cancels_on_disconnect(sink):
                await sink.ready.wait()
            elif not await until_disconnected(transport, sink.ready.wait()):
                self.client_left(sink)
                return
        if sink.response is not None:
            await transport.send_response(sink.response)
        elif sink.reader is not None:
            await self._pump.run(sink, sink.reader, transport)

    # -- outputs -------------------------------------------------------------------

    async def carry_out(self, outputs: list[Output], sink: Sink) -> None:
        """Do what the core said, in order; what may concern another process goes to the broker too."""
        shares = self.broker.shares
        for output in outputs:
            if isinstance(output, SendEvent):
                await self.hub.publish(output.session_id, output.stream, output.seq, output.data)
                if shares and output.session_id is not None:  # stateless streams never leave their process
                    await self.broker.share(output)
            elif isinstance(output, SendResponse):
                sink.response = output
                sink.ready.set()
            elif isinstance(output, RunHandler):
                sink.exchanges.append(output.exchange)
                self.start_soon(self._run_handler, output.call, output.exchange, sink)
            elif isinstance(output, StartStream):
                # Its events count from 1. Its producer is an exchange of this process, which hands
                # the hub every event itself: the broker need not read them back from the log.
                sink.reader = self.hub.join(output.session_id, output.stream, 0)
                sink.headers, sink.priming, sink.close_after = output.headers, output.priming, output.close_after
                sink.ready.set()
            elif isinstance(output, (EndStream, DisconnectStream)):
                self._apply(output)
                if shares and output.session_id is not None:
                    await self.broker.share(output)
            elif isinstance(output, ResumeStream):
                # Join the live events first, then read the log: nothing published between is lost.
                sink.reader = self._join(output.session_id, output.stream, output.after)
                replay = self.server.replay(output.session_id, output.stream, output.after, output.named)
                events, sink.replay_final = await self.run(replay)
                refusals = [e for e in events if isinstance(e, SendResponse)]
                if refusals:  # the log lost events since the request was checked: 410, as for a later GET
                    await self._refuse_resume(sink, output, refusals[0])
                    continue
                sink.replay = [(e.seq, e.data) for e in events if isinstance(e, SendEvent)]
                sink.headers, sink.priming, sink.close_after = output.headers, output.priming, output.close_after
                sink.claim = output.claim
                sink.ready.set()
            elif isinstance(output, RunTask):
                self.tasks.start(output)
            elif isinstance(output, CancelTask):
                self.tasks.cancel(output.task_id)  # elsewhere, the run's next lease renewal stops it
            elif isinstance(output, WaitTask):
                self.start_soon(wait_task, self, output, sink)
            elif isinstance(output, (DeliverResponse, CancelRequest, SessionClosed)):
                applied = self._apply(output)
                # The waiter or the handler may be in another process; a session ends everywhere.
                if shares and (not applied or isinstance(output, SessionClosed)):
                    await self.broker.share(output)

    async def _refuse_resume(self, sink: Sink, resume: ResumeStream, refusal: SendResponse) -> None:
        reader, sink.reader = sink.reader, None
        assert reader is not None
        reader.close()
        self.broker.unfollow(reader)
        sink.response = refusal
        sink.ready.set()
        # The GET stream's claim was taken for this reader: free it now, not when its lease runs out.
        await self.run(self.server.stream_detached(resume.session_id, resume.stream, resume.after, resume.claim))

    def _join(self, session_id: str | None, stream: str, delivered: int) -> Reader:
        reader = self.hub.join(session_id, stream, delivered)
        if session_id is not None:
            self.broker.follow(reader)
        return reader

    def _apply(self, signal: Signal) -> bool:
        """Apply a signal to what this process holds; whether something here was concerned."""
        if isinstance(signal, EndStream):
            self.hub.end(signal.session_id, signal.stream, signal.last_seq)
        elif isinstance(signal, DisconnectStream):
            self.hub.disconnect(signal.session_id, signal.stream)
        elif isinstance(signal, DeliverResponse):
            waiter = self._waiters.get((signal.session_id, request_key(signal.request_id)))
            if waiter is None:
                return False
            waiter.message = signal.message
            waiter.event.set()
        elif isinstance(signal, CancelRequest):
            running = self._running.get((signal.session_id, request_key(signal.request_id)))
            if running is None:
                return False
            running[0].cancel()
        elif isinstance(signal, SessionClosed):
            self._close_session(signal.session_id)
        return True

    async def receive(self, signal: Signal) -> None:
        """A signal from another runtime of the deployment: apply what concerns this process, pass nothing on."""
        if isinstance(signal, SendEvent):
            await self.hub.publish(signal.session_id, signal.stream, signal.seq, signal.data)
        elif isinstance(signal, Appended):
            event = self.server.logged_event(signal.session_id, signal.stream, signal.seq, signal.data)
            await self.hub.publish(signal.session_id, signal.stream, signal.seq, event.data)
            if signal.final:
                self.hub.end(signal.session_id, signal.stream, signal.seq)
        elif isinstance(signal, ListChanged):
            await self.carry_out(self.server.listeners.list_changed(signal.kind), Sink())
        elif isinstance(signal, ResourceUpdated):
            await self.carry_out(self.server.listeners.resource_updated(signal.uri), Sink())
        else:
            self._apply(signal)

    def _close_session(self, session_id: str) -> None:
        for (sid, _), (scope, _exchange) in list(self._running.items()):
            if sid == session_id:
                scope.cancel()
        self.hub.close_session(session_id)

    def client_left(self, sink: Sink) -> None:
        """The client of ``sink`` went away: cancel its handlers where the era says so (2026-07-28)."""
        for exchange in sink.exchanges:
            if exchange.cancel_on_disconnect:
                for scope, owner in list(self._running.values()):
                    if owner is exchange:
                        scope.cancel()

    # -- handlers ------------------------------------------------------------------

    @contextmanager
    def handling(self, request_id: RequestId, exchange: Exchange) -> Iterator[anyio.CancelScope]:
        """A cancel scope for work that answers request ``request_id`` of ``exchange``.

        It counts as a running handler: ``notifications/cancelled``, the session's end and
        :meth:`drain` cancel it.
        """
        key = (exchange.session_id or exchange.stream, request_key(request_id))
        with anyio.CancelScope() as scope:
            self._running[key] = (scope, exchange)
            try:
                yield scope
            finally:
                self._running.pop(key, None)

    def request_failed(
        self, request_id: RequestId, exchange: Exchange, sink: Sink, exc: Exception, *, record: bool = True
    ) -> None:
        """Request ``request_id`` cannot go on (its store failed, or a bug): end it as well as can be.

        Call it from the ``except`` block (it logs the traceback of a bug). The client gets a 503
        if it still waits for its answer, or its stream ends (it resumes once the store is back);
        with ``record``, the request is ended in the store once the store answers again.
        """
        reason = store_failure(exc)
        if isinstance(exc, StoreError):
            log.warning("request %r lost the store and ends with an error: %s", request_id, reason)
        else:
            log.exception("request %r failed unrecoverably and ends with an error", request_id)
        if not sink.ready.is_set():  # the client still waits for its answer
            sink.response = self.server.store_unavailable()
            sink.ready.set()
        elif sink.reader is not None:  # end the stream; the client resumes once the store is back
            sink.reader.disconnect(self.server.stream_interrupted(reason))
        if record:
            self.start_soon(self._record_interruption, request_id, exchange, sink)

    async def _run_handler(self, call: Call, exchange: Exchange, sink: Sink) -> None:
        key = (exchange.session_id or exchange.stream, request_key(call.request_id))
        outputs: list[Output] = []
        context = HandlerContext(self, call, exchange, sink) if call.context_param is not None else None
        try:
            with anyio.CancelScope() as scope:
                self._running[key] = (scope, exchange)
                if context is not None:
                    context.scope = scope
                outputs = await self.invoke(call, exchange, sink, context)
            reporter = context.reporter if context is not None else exchange
            if isinstance(reporter, TaskRun):  # it became a task: its run reported everything
                self.tasks.release(reporter)
                return
            if scope.cancelled_caught:
                outputs = await self.run(exchange.cancelled(call))
            await self.carry_out(outputs, sink)
        except Exception as exc:  # a failing store, or a bug in the embedding code: never take the server down
            became_task = context is not None and isinstance(context.reporter, TaskRun)
            self.request_failed(call.request_id, exchange, sink, exc, record=not became_task)
        finally:
            self._running.pop(key, None)

    async def _record_interruption(self, request_id: RequestId, exchange: Exchange, sink: Sink) -> None:
        """End an interrupted request in the store once it answers, so a resume gets an answer, not silence."""
        delay, give_up = 0.05, anyio.current_time() + self.server.config.session_idle_timeout
        while True:
            try:
                outputs = await self.run(exchange.interrupted(request_id))
                await self.carry_out(outputs, sink)
                return
            except Exception as exc:
                if anyio.current_time() + delay > give_up:
                    log.error("request %r could not be ended in the store: %s", request_id, store_failure(exc))
                    return
            await anyio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def invoke(
        self, call: Call, exchange: Exchange | TaskRun, sink: Sink, context: HandlerContext | None = None
    ) -> list[Output]:
        """Run ``call``'s handler, reporting what it does to ``exchange`` (or to the task it becomes)."""
        kwargs = dict(call.kwargs)
        if call.context_param is not None:
            context = context or HandlerContext(self, call, exchange, sink)
            kwargs[call.context_param] = context

        def reporter() -> Exchange | TaskRun:  # the handler may turn into a task halfway (ctx.start_task)
            return context.reporter if context is not None else exchange

        try:
            if call.streaming:
                async with aclosing(call.fn(**kwargs)) as chunks:
                    if self._runner.synchronous:
                        async for chunk in chunks:
                            await self.carry_out(await self.run(reporter().chunk(call, chunk)), sink)
                    else:  # each append is a round trip: append what the tool yielded meanwhile together

                        async def send(batch: list[Any]) -> None:
                            await self.carry_out(await self.run(reporter().chunks(call, batch)), sink)

                        await pump_chunks(chunks, send, self.server.config.max_queue_events)
                return await self.run(reporter().complete(call, None))
            value = call.fn(**kwargs)
            if inspect.isawaitable(value):
                value = await value
            return await self.run(reporter().complete(call, value))
        except (Exception, InputRequired) as exc:
            if reporter().is_open(call.request_id):
                return await self.run(reporter().fail(call, exc))
            raise

    async def wait_response(self, session_id: str, outgoing: str, outputs: list[Output], sink: Sink) -> Any:
        """Carry out the outputs of a server-to-client request and return the client's answer.

        The answer is a :class:`~mcp_sansio.Response` or :class:`~mcp_sansio.ErrorResponse`.
        """
        waiter = _Waiter()
        key = (session_id, request_key(outgoing))
        self._waiters[key] = waiter
        try:
            await self.carry_out(outputs, sink)
            await waiter.event.wait()
        finally:
            self._waiters.pop(key, None)
        return waiter.message

    # -- messages no request asked for ----------------------------------------------

    async def _unprompted(self, plan: Plan[list[Output]]) -> None:
        # They go to stream readers and handlers, never to a response.
        await self.carry_out(await self.run(plan), Sink())

    async def notify_session(self, session_id: str, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification on a session's GET stream (kept in its log until read)."""
        await self._unprompted(self.server.notify_session(session_id, method, params))

    async def list_changed(self, kind: str) -> None:
        """Tell every client the list of ``kind`` (tools, prompts, resources) changed, e.g. after a reload."""
        await self._unprompted(self.server.list_changed(kind))
        if self.broker.shares:  # listen streams held by other processes
            await self.broker.share(ListChanged(kind))

    async def resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed, e.g. from a file watcher."""
        await self._unprompted(self.server.resource_updated(uri))
        if self.broker.shares:
            await self.broker.share(ResourceUpdated(uri))

    async def expire_sessions(self) -> None:
        """Drop idle sessions and stop their handlers (the runtime does it every minute by itself)."""
        await self._unprompted(self.server.expire())


def _inline_handler(outputs: list[Output]) -> RunHandler | None:
    """The one handler of a request that may run in the request's own task, if there is one.

    A handler without a context that is not a generator can only return or raise, so it
    needs no task of its own; several handlers (a batch) run concurrently, in tasks.
    """
    found = None
    for output in outputs:
        if isinstance(output, RunHandler):
            if found is not None:
                return None
            found = output
    if found is None or found.call.streaming or found.call.context_param is not None:
        return None
    return found


async def _read_limited(chunks: AsyncIterable[bytes], limit: int) -> bytes | None:
    """The whole body, or None as soon as it outgrows ``limit`` (the rest is not read)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)
