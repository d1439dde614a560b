"""A complete MCP server on plain asyncio streams, embedding the sans-IO core through public names only.

    python examples/embed_asyncio.py [port]      # serves examples/everything.py

The core decides everything (headers, JSON-RPC, sessions, JSON vs SSE, event ids, replay); this file
parses HTTP/1.1, runs plans against a MemoryStore, carries out every output, runs handlers as asyncio
tasks with a small Context (log, progress, notify, close_stream, request/ask/elicit/sample/list_roots,
list_changed, resource_updated), resumes streams, sends keep-alives, applies backpressure and expires
idle sessions. A client that closes its connection cancels its handlers only where the era says so.

Deliberately left out, to stay readable: chunked request bodies (refused with 411: MCP clients send
Content-Length), pipelining (a byte that arrives while a response is pending counts as the client
leaving), TLS, timeouts against slow clients, graceful shutdown with a grace period, and the
cross-process broker a multi-process deployment needs. ``mcp_sansio_runtime`` does all of that on anyio.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import sys
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from mcp_sansio import (
    App,
    Call,
    CancelRequest,
    ClientError,
    Config,
    Context,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    ErrorResponse,
    Exchange,
    HttpRequest,
    InputRequest,
    InputRequired,
    MemoryStore,
    Output,
    Plan,
    Principal,
    RequestId,
    Response,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
    SessionClosed,
    StartStream,
    frame_comment,
    request_key,
    run_plan,
)

log = logging.getLogger("embed_asyncio")
T = TypeVar("T")
TEXT = (("content-type", "text/plain"),)
NOT_FOUND = SendResponse(404, TEXT, b"Not Found\n")


# -- HTTP/1.1, by hand ---------------------------------------------------------------------------


class HttpError(Exception):
    """The request cannot be parsed: answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.response = SendResponse(status, TEXT, reason.encode() + b"\n")


async def read_head(reader: asyncio.StreamReader) -> tuple[HttpRequest, int, bool] | None:
    """The next request head, its Content-Length and whether the connection may stay open; None at EOF."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, "Bad Request: incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "Request Header Fields Too Large") from None
    request_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(400, "Bad Request: malformed request line")
    fields = [line.partition(":") for line in lines]
    if any(not sep or not name or name != name.strip() for name, sep, _ in fields):
        raise HttpError(400, "Bad Request: malformed header line")
    request = HttpRequest.build(parts[0], parts[1], [(name, value) for name, _, value in fields])
    if request.headers.get("transfer-encoding") is not None:
        # Chunked request bodies are refused on purpose: MCP clients send Content-Length.
        raise HttpError(411, "Length Required: send the body with Content-Length")
    lengths = set(request.headers.get_all("content-length"))
    if len(lengths) > 1 or not all(value.isdigit() for value in lengths):
        raise HttpError(400, "Bad Request: invalid Content-Length")
    keep = parts[2] == "HTTP/1.1" and "close" not in (request.headers.get("connection") or "").lower()
    return request, int(lengths.pop()) if lengths else 0, keep


def head_bytes(status: int, headers: tuple[tuple[str, str], ...], *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", *(f"{n}: {v}" for n, v in headers), *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_response(writer: asyncio.StreamWriter, response: SendResponse, keep: bool) -> None:
    close = () if keep else ("connection: close",)
    writer.write(head_bytes(response.status, response.headers, f"content-length: {len(response.body)}", *close))
    writer.write(response.body)
    await writer.drain()


async def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    if data:  # an empty chunk would end the response
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()


# -- stream readers and request answers ----------------------------------------------------------


@dataclass(eq=False)
class Reader:
    """One SSE response reading one stream: the seq it has written up to, and its queue of live events."""

    session_id: str | None
    stream: str
    delivered: int
    headers: tuple[tuple[str, str], ...]
    close_after: float | None
    first: bytes = b""  # priming event and replayed events, written right after the headers
    claim: str | None = None  # a GET stream's claim in the store: renewed while open, released at the end
    end_seq: int | None = None  # EndStream: the stream's last event
    stopped: bool = False  # DisconnectStream, SessionClosed, or the response is gone: end now
    items: asyncio.Queue[tuple[int, bytes]] = field(default_factory=asyncio.Queue)
    room: asyncio.Event = field(default_factory=asyncio.Event)  # set when the pump takes an event

    @property
    def done(self) -> bool:
        return self.stopped or (self.end_seq is not None and self.delivered >= self.end_seq)

    def wake(self) -> None:
        self.items.put_nowait((-1, b""))  # seq -1 is never written: the pump just re-checks `done`


@dataclass(eq=False)
class Answer:
    """Where one request's answer goes: exactly one SendResponse, StartStream or ResumeStream, maybe later."""

    ready: asyncio.Future[SendResponse | Reader] = field(default_factory=asyncio.Future)
    exchanges: list[Exchange] = field(default_factory=list)


# -- the server ------------------------------------------------------------------------------------


class Embedded:
    """The core, a MemoryStore, live readers and running handlers, served with ``asyncio.start_server``."""

    def __init__(self, app: App, config: Config | None = None, path: str = "/mcp", keepalive: float = 15.0) -> None:
        self.server, self.store, self.path, self.keepalive = Server(app, config), MemoryStore(), path, keepalive
        self.readers: dict[tuple[str | None, str], list[Reader]] = {}
        self.handlers: dict[tuple[str, str], tuple[asyncio.Task[None], Exchange]] = {}
        self.waiters: dict[tuple[str, str], asyncio.Future[Response | ErrorResponse]] = {}
        self.seen: Counter[str] = Counter()  # requests by HTTP method, for tests and curiosity
        self.connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    def run(self, plan: Plan[T]) -> T:
        return run_plan(plan, self.store)  # synchronous: nothing else runs until the plan is done

    async def listen(self, host: str, port: int) -> int:
        self.tcp = await asyncio.start_server(self._connection, host, port)
        self._expiry = asyncio.create_task(self._expire_forever())
        return int(self.tcp.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        """Stop accepting, cancel the timer and the handlers, close every connection and wait for them all."""
        self.tcp.close()
        cancelled = [self._expiry, *(task for task, _ in self.handlers.values())]
        for task in cancelled:
            task.cancel()
        connections = list(self.connections.items())
        for writer, _ in connections:
            writer.close()  # its pending read ends, and so does its loop
        await asyncio.gather(*cancelled, *(task for _, task in connections), return_exceptions=True)

    async def _expire_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.server.config.session_idle_timeout))
            await self.carry_out(self.run(self.server.expire()), Answer())

    # -- outputs -----------------------------------------------------------------------------------

    async def carry_out(self, outputs: list[Output], answer: Answer) -> None:
        """Do what the core said, in order; ``answer`` is the request the outputs belong to, if any."""
        for out in outputs:
            if isinstance(out, SendResponse):
                self._answer(answer, out)
            elif isinstance(out, StartStream):  # subscribe now: the events that follow must find the reader
                self._answer(answer, self._join(out.session_id, out.stream, 0, out))
            elif isinstance(out, ResumeStream):  # subscribe first, then replay: nothing falls in between
                reader = self._join(out.session_id, out.stream, out.after, out)
                events, final = self.run(self.server.replay(out.session_id, out.stream, out.after, out.named))
                refusals = [e for e in events if isinstance(e, SendResponse)]
                if refusals:  # the log lost events since the GET was checked: answer the 410 instead
                    self._detach(reader)
                    self._answer(answer, refusals[0])
                    continue
                replayed = [e for e in events if isinstance(e, SendEvent)]
                reader.first += b"".join(e.data for e in replayed)
                reader.delivered = replayed[-1].seq if replayed else out.after
                reader.end_seq = reader.delivered if final else None
                self._answer(answer, reader)
            elif isinstance(out, SendEvent):
                for reader in self._readers(out.session_id, out.stream):
                    await self._put(reader, out.seq, out.data)
            elif isinstance(out, EndStream):
                for reader in self._readers(out.session_id, out.stream):
                    reader.end_seq = out.last_seq
                    reader.wake()
            elif isinstance(out, DisconnectStream):
                self._stop(self._readers(out.session_id, out.stream))
            elif isinstance(out, RunHandler):
                answer.exchanges.append(out.exchange)
                owner = out.exchange.session_id or out.exchange.stream  # stateless: one exchange per POST
                key = (owner, request_key(out.call.request_id))
                task = asyncio.create_task(self._run_handler(out.call, out.exchange, answer, key))
                self.handlers[key] = (task, out.exchange)
            elif isinstance(out, DeliverResponse):
                waiter = self.waiters.get((out.session_id, request_key(out.request_id)))
                if waiter is not None and not waiter.done():
                    waiter.set_result(out.message)
            elif isinstance(out, CancelRequest):
                running = self.handlers.get((out.session_id, request_key(out.request_id)))
                if running is not None:
                    running[0].cancel()
            elif isinstance(out, SessionClosed):
                for (owner, _), (task, _exchange) in list(self.handlers.items()):
                    if owner == out.session_id:
                        task.cancel()
                self._stop([r for (sid, _), rs in self.readers.items() if sid == out.session_id for r in rs])

    def _readers(self, session_id: str | None, stream: str) -> list[Reader]:
        return list(self.readers.get((session_id, stream), ()))

    def _stop(self, readers: list[Reader]) -> None:
        for reader in readers:  # their responses end now; the streams go on in the log
            reader.stopped = True
            reader.wake()

    def _join(self, session_id: str | None, stream: str, after: int, out: StartStream | ResumeStream) -> Reader:
        reader = Reader(session_id, stream, after, out.headers, out.close_after, out.priming or b"")
        reader.claim = out.claim if isinstance(out, ResumeStream) else None
        self.readers.setdefault((session_id, stream), []).append(reader)
        return reader

    def _detach(self, reader: Reader) -> None:
        """A response reading a stream ended: release its producers and tell the core where it stopped."""
        readers = self.readers.get((reader.session_id, reader.stream), [])
        if reader in readers:
            readers.remove(reader)
            if not readers:
                del self.readers[(reader.session_id, reader.stream)]
        reader.stopped = True
        reader.room.set()
        # Without this, the next plain GET re-sends old events and the one-GET-stream rule never frees.
        self.run(self.server.stream_detached(reader.session_id, reader.stream, reader.delivered, reader.claim))

    def _answer(self, answer: Answer, value: SendResponse | Reader) -> None:
        if not answer.ready.done():
            answer.ready.set_result(value)
        elif isinstance(value, Reader):  # the client left before its answer was ready: nobody reads this
            self._detach(value)

    async def _put(self, reader: Reader, seq: int, data: bytes) -> None:
        # Backpressure: the producer waits while a connected reader is max_queue_events behind.
        while reader.items.qsize() >= self.server.config.max_queue_events and not reader.stopped:
            reader.room.clear()
            await reader.room.wait()
        if not reader.stopped:
            reader.items.put_nowait((seq, data))

    # -- handlers ----------------------------------------------------------------------------------

    async def _run_handler(self, call: Call, exchange: Exchange, answer: Answer, key: tuple[str, str]) -> None:
        kwargs = dict(call.kwargs)
        if call.context_param is not None:
            kwargs[call.context_param] = HandlerContext(self, call, exchange, answer)
        try:
            if call.streaming:
                chunks = call.fn(**kwargs)
                try:
                    async for chunk in chunks:
                        await self.carry_out(self.run(exchange.chunk(call, chunk)), answer)
                finally:
                    await chunks.aclose()  # a cancelled streaming tool gets its generator closed
                plan = exchange.complete(call, None)  # the result is built from the chunks
            else:
                value = call.fn(**kwargs)
                plan = exchange.complete(call, await value if inspect.isawaitable(value) else value)
        except asyncio.CancelledError:
            plan = exchange.cancelled(call)
        except (Exception, InputRequired) as exc:  # InputRequired ends a 2026-07-28 round
            plan = exchange.fail(call, exc)
        self.handlers.pop(key, None)  # answered: a late cancellation must not cut the last events short
        try:
            await self.carry_out(self.run(plan), answer)
        except Exception:  # a bug here must not take the server down
            log.exception("handler for request %r failed unrecoverably", call.request_id)

    # -- connections ---------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server runs each connection in a task of its own
        self.connections[writer] = task
        try:
            while True:
                try:
                    head = await read_head(reader)
                except HttpError as exc:
                    await send_response(writer, exc.response, keep=False)
                    break
                if head is None:
                    break
                request, length, keep = head
                self.seen[request.method] += 1
                if not await self._serve(request, length, keep, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client left mid-request
        finally:
            self.connections.pop(writer, None)
            writer.close()

    async def _serve(
        self, request: HttpRequest, length: int, keep: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False if the connection must not carry another."""
        config = self.server.config
        # The core serves whatever target it is given: the path is ours to check.
        early = NOT_FOUND if request.target.split("?", 1)[0] != self.path else self.server.check_head(request)
        if early is None and length > config.max_body_size:
            early = self.server.body_too_large()
        expects_continue = length > 0 and (request.headers.get("expect") or "").lower() == "100-continue"
        if early is not None:  # answered from the head: the body is read (and dropped) only to keep the connection
            keep = keep and length <= config.max_body_size and not expects_continue  # that client may never send it
            if keep and length:
                await reader.readexactly(length)
            await send_response(writer, early, keep)
            return keep
        if expects_continue:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await reader.readexactly(length)
        answer = Answer()
        await self.carry_out(self.run(self.server.receive(request, body, checked=True)), answer)
        value = answer.ready.result() if answer.ready.done() else await self._until_gone(reader, answer.ready)
        if isinstance(value, SendResponse):
            await send_response(writer, value, keep)
            return keep
        if value is None or not await self._until_gone(reader, self._pump(value, writer)):
            # A handshake-era client that leaves cancels nothing (it may resume); 2026-07-28 cancels.
            for task, exchange in list(self.handlers.values()):
                if exchange in answer.exchanges and exchange.cancel_on_disconnect:
                    task.cancel()
            return False
        return keep

    async def _until_gone(self, reader: asyncio.StreamReader, work: Awaitable[T]) -> T | None:
        """``work``'s result, or None if the client closed its connection first (watching costs no polling)."""
        task, watch = asyncio.ensure_future(work), asyncio.ensure_future(reader.read(1))
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
        for pending in (watch, task) if not task.done() else (watch,):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending  # the StreamReader refuses a new read while the cancelled one is pending
        return task.result() if task.done() and not task.cancelled() else None

    async def _pump(self, reader: Reader, writer: asyncio.StreamWriter) -> bool:
        """Write a stream's head, priming and replay, then live events until it ends; False if the client left."""
        try:
            writer.write(head_bytes(200, reader.headers, "transfer-encoding: chunked"))
            await write_chunk(writer, reader.first)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(reader.close_after):  # stream polling: the client resumes later
                    while not reader.done:
                        try:
                            seq, data = await asyncio.wait_for(reader.items.get(), self.keepalive)
                        except TimeoutError:  # idle: a comment keeps proxies from closing the stream
                            await write_chunk(writer, frame_comment("keep-alive"))
                            if reader.claim is not None and reader.session_id is not None:
                                # Renew the GET stream's claim (keepalive < Config.get_stream_lease).
                                self.run(self.server.renew_claim(reader.session_id, reader.claim))
                            continue
                        reader.room.set()
                        if seq <= reader.delivered:
                            continue  # a wake-up, or an event the replay already wrote
                        if seq > reader.delivered + 1 and reader.session_id is not None:
                            # Producers released together may publish out of order: fill the gap from the log.
                            replay = self.server.replay(reader.session_id, reader.stream, reader.delivered)
                            events, _ = self.run(replay)
                            if any(isinstance(e, SendResponse) for e in events):
                                break  # the log lost them: end here, without a hole (the resume gets 410)
                            data = b"".join(e.data for e in events if isinstance(e, SendEvent) and e.seq <= seq)
                        await write_chunk(writer, data)
                        reader.delivered = seq
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        except ConnectionError:
            return False
        finally:
            self._detach(reader)


class HandlerContext:
    """A :class:`mcp_sansio.Context`: each method is one exchange (or server) call whose outputs we carry out."""

    def __init__(self, host: Embedded, call: Call, exchange: Exchange, answer: Answer) -> None:
        self._host, self._call, self._exchange, self._answer = host, call, exchange, answer

    @property
    def request_id(self) -> RequestId:
        return self._call.request_id

    @property
    def session_id(self) -> str | None:
        return self._exchange.session_id

    @property
    def protocol_version(self) -> str:
        return self._exchange.peer.protocol_version

    @property
    def principal(self) -> Principal | None:
        """Who sent the request; None with authorization off."""
        return self._exchange.peer.principal

    def has_capability(self, name: str) -> bool:
        return self._exchange.peer.has_capability(name)

    async def _emit(self, plan: Plan[list[Output]], answer: Answer | None = None) -> None:
        await self._host.carry_out(self._host.run(plan), answer or self._answer)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        await self._emit(self._exchange.log(self._call.request_id, level, data, logger))

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        await self._emit(self._exchange.progress(self._call, progress, total, message))

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._emit(self._exchange.notify(self._call.request_id, method, params))

    async def close_stream(self) -> None:
        await self._emit(self._exchange.close_stream(self._call.request_id))

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        outgoing, outputs = self._host.run(self._exchange.server_request(self._call.request_id, method, params))
        key = (self._exchange.session_id or "", request_key(outgoing))  # the answer comes as a DeliverResponse
        waiter = self._host.waiters[key] = asyncio.get_running_loop().create_future()
        try:
            await self._host.carry_out(outputs, self._answer)
            message = await waiter
        finally:
            self._host.waiters.pop(key, None)
        if isinstance(message, ErrorResponse):
            raise ClientError(message.code, message.message, message.data)
        result: dict[str, Any] = message.result
        return result

    async def ask(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        if self._exchange.asks_in_rounds:  # 2026-07-28: answers from the retry, or InputRequired
            return self._exchange.inputs(self._call, requests)
        return {key: await self.request(r.method, r.params) for key, r in requests.items()}

    async def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str = "elicitation"
    ) -> dict[str, Any]:
        return (await self.ask({key: InputRequest.elicitation(message, requested_schema)}))[key]

    async def sample(
        self, messages: list[dict[str, Any]], max_tokens: int, *, key: str = "sampling", **params: Any
    ) -> dict[str, Any]:
        return (await self.ask({key: InputRequest.sampling(messages, max_tokens, **params)}))[key]

    async def list_roots(self, *, key: str = "roots") -> dict[str, Any]:
        return (await self.ask({key: InputRequest.roots()}))[key]

    async def list_changed(self, kind: str) -> None:
        await self._emit(self._host.server.list_changed(kind), Answer())  # for streams, not this request

    async def resource_updated(self, uri: str) -> None:
        await self._emit(self._host.server.resource_updated(uri), Answer())


_: type[Context] = HandlerContext  # mypy checks that HandlerContext is a Context


async def start(app: App, host: str = "127.0.0.1", port: int = 0, config: Config | None = None) -> tuple[Embedded, int]:
    """Serve ``app`` on ``host:port`` (0: any free port); returns the server and the bound port."""
    embedded = Embedded(app, config)
    return embedded, await embedded.listen(host, port)


async def main(port: int) -> None:
    app: App = importlib.import_module("everything").app  # examples/everything.py, beside this file
    embedded, bound = await start(app, "127.0.0.1", port)
    print(f"serving http://127.0.0.1:{bound}/mcp", flush=True)
    await embedded.tcp.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))
