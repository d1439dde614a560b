"""One HTTP/1.1 connection, parsed by h11: requests in, the runtime's answers out."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass

import anyio
import h11
from anyio.abc import ByteStream

from mcp_sansio import HttpRequest, SendResponse
from mcp_sansio_runtime import ClientGone, Runtime

__all__ = ["Timeouts", "H11Connection"]

log = logging.getLogger("mcp_sansio.h11")
_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines against slow or idle clients, in seconds.

    Attributes:
        header: From the first byte of a request to the end of its head.
        body: For reading a whole request body.
        idle: How long a kept-alive connection may wait for its next request.
    """

    header: float = 10.0
    body: float = 30.0
    idle: float = 60.0

    def __post_init__(self) -> None:
        for name in ("header", "body", "idle"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Timeouts.{name} must be positive")


class H11Connection:
    """Serves the requests of one client connection, in order (pipelining included).

    It is the runtime's :class:`~mcp_sansio_runtime.Transport` for each of them.
    """

    def __init__(self, stream: ByteStream, runtime: Runtime, timeouts: Timeouts) -> None:
        config = runtime.server.config
        self._stream = stream
        self._runtime = runtime
        self._timeouts = timeouts
        self._max_body = config.max_body_size
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_header_size)
        self._eof = anyio.Event()
        self._data = anyio.Event()  # set by the reader whenever bytes (or EOF) arrive
        self._room: anyio.Event | None = None  # set when the reader may read again
        self._on_eof: list[Callable[[], None]] = []
        # A HEAD request's response carries no body (RFC 9110 9.3.2); None: the method is not known.
        self._head_request: bool | None = None

    async def run(self) -> None:
        """Serve requests until the client or a protocol error closes the connection."""
        try:
            async with anyio.create_task_group() as tg:
                # One reader per connection (not per request): it feeds h11 and notices a
                # client that leaves while we wait for a handler or sit on an idle stream.
                tg.start_soon(self._read_forever)
                await self._serve_all()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    async def _serve_all(self) -> None:
        # Errors are caught here, inside the task group, so they never reach it wrapped in a group.
        try:
            while await self._serve_one():
                self._conn.start_next_cycle()
        except (ClientGone, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError, h11.LocalProtocolError):
            pass  # the client went away; nothing to answer

    async def _read_forever(self) -> None:
        while True:
            if len(self._conn.trailing_data[0]) > self._max_body:
                # Enough pipelined bytes are buffered; read again once they are consumed.
                self._room = anyio.Event()
                await self._room.wait()
            try:
                data = await self._stream.receive(_READ_SIZE)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                data = b""
            self._conn.receive_data(data)
            self._data.set()
            if not data:
                self._eof.set()
                for callback in list(self._on_eof):
                    callback()
                return

    async def _serve_one(self) -> bool:
        """Serve one request; True if the connection can carry another."""
        self._head_request = None  # not known until this request's head parses
        try:
            first = self._timeouts.idle if self._conn.their_state is h11.IDLE else self._timeouts.header
            event = await self._next_event(anyio.current_time() + first, head=True)
            if isinstance(event, h11.ConnectionClosed):
                return False
            assert isinstance(event, h11.Request)
            self._head_request = event.method == b"HEAD"
            # raw_items() is h11's list itself; iterating its Headers goes through Sequence.__iter__.
            request = HttpRequest.build(event.method, _origin_form(event.target), event.headers.raw_items())
            headers = request.headers
            if headers.get("content-length") is not None and headers.get("transfer-encoding") is not None:
                # RFC 9112 6.1: framing both ways is how requests are smuggled past proxies.
                await self._refuse(400, "Bad Request: both Content-Length and Transfer-Encoding")
                return False
            async with aclosing(self._body()) as body:
                reusable = await self._runtime.serve(request, body, self)
            return reusable and self._finish()
        except h11.RemoteProtocolError as exc:
            await self._refuse(exc.error_status_hint, str(exc))
            return False
        except TimeoutError:
            if self._conn.their_state is not h11.IDLE or self._conn.trailing_data[0]:
                await self._refuse(408, "Request Timeout")
            return False

    def _finish(self) -> bool:
        # Reusable only if both sides completed the exchange cleanly.
        return self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE

    def _unread_body(self) -> bool:
        """Whether the request still has body bytes coming (answered before its body was read)."""
        if self._conn.their_state is not h11.SEND_BODY:
            return False
        # A request without a body (a refused GET or HEAD) ends at once: take that end now.
        return not isinstance(self._conn.next_event(), h11.EndOfMessage)

    async def _refuse(self, status: int, reason: str) -> None:
        # h11 lets a server answer a broken request from IDLE too (it never parsed one).
        if self._conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        # A head that did not parse may have been a HEAD's, whose answer has no body: a client
        # would read the reason as the start of another response. So no reason for it.
        body = f"{reason}\n".encode() if self._head_request is not None else b""
        with suppress(ClientGone, h11.LocalProtocolError):
            await self.send_response(SendResponse(status, (("connection", "close"),), body))

    async def _next_event(self, deadline: float, *, head: bool = False) -> h11.Event | type[h11.PAUSED]:
        """The next h11 event; reads (until ``deadline``) only when none is buffered.

        A request usually arrives whole in one read, so the common path enters no
        cancel scope at all. Waiting for a ``head``, the header deadline starts at the
        first byte of it (h11 reports no state change until the head is complete).
        """
        started = False
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # h11 types NEED_DATA and PAUSED as classes
            # A fresh event only when waiting (most calls find their event buffered). Nothing
            # awaits between looking and waiting, so the reader cannot set it in between.
            self._data = anyio.Event()
            if head and not started and self._conn.trailing_data[0]:
                started = True
                deadline = min(deadline, anyio.current_time() + self._timeouts.header)
            if self._room is not None:
                self._room.set()
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                await self._data.wait()

    async def _body(self) -> AsyncGenerator[bytes, None]:
        """The request body's chunks, read on demand (so a refused request's body is never read)."""
        if self._conn.client_is_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        deadline = anyio.current_time() + self._timeouts.body
        while True:
            event = await self._next_event(deadline)
            if isinstance(event, h11.EndOfMessage):
                return
            if isinstance(event, h11.ConnectionClosed):
                raise ClientGone
            assert isinstance(event, h11.Data)
            yield bytes(event.data)

    # -- Transport -------------------------------------------------------------

    async def _send(self, *events: h11.Event) -> None:
        data = b"".join(self._conn.send(e) or b"" for e in events)
        try:
            await self._stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError, OSError) as exc:
            raise ClientGone from exc

    async def send_response(self, response: SendResponse) -> None:
        """Send a complete response."""
        headers = [*response.headers, ("content-length", str(len(response.body)))]
        if all(name != "connection" for name, _ in response.headers) and self._unread_body():
            # An answer before the body was read (a refused head, 413): the unread rest makes the
            # connection unusable, so say it closes, or the client would send its next request into it.
            headers.append(("connection", "close"))
        events: list[h11.Event] = [h11.Response(status_code=response.status, headers=headers)]
        if response.body and not self._head_request:
            events.append(h11.Data(data=response.body))
        events.append(h11.EndOfMessage())
        await self._send(*events)

    async def start_stream(self, headers: Sequence[tuple[str, str]], body: bytes = b"") -> None:
        """Send the SSE response head (the body is chunked) and the body's start, in one write."""
        head = h11.Response(status_code=200, headers=list(headers))
        await (self._send(head, h11.Data(data=body)) if body else self._send(head))

    async def write(self, data: bytes) -> None:
        """Send part of a streamed body."""
        await self._send(h11.Data(data=data))

    async def end_stream(self, body: bytes = b"") -> None:
        """Send a streamed body's last bytes and its end, in one write."""
        await (self._send(h11.Data(data=body), h11.EndOfMessage()) if body else self._send(h11.EndOfMessage()))

    def on_disconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the client closes the connection; returns an unregister function."""
        if self._eof.is_set():
            callback()
            return lambda: None
        self._on_eof.append(callback)
        return lambda: self._on_eof.remove(callback) if callback in self._on_eof else None


def _origin_form(target: bytes) -> bytes:
    """The path and query of a target in absolute form (``http://host/path``), which servers MUST accept."""
    if not target.startswith((b"http://", b"https://")):
        return target
    rest = target.split(b"://", 1)[1]
    slash = rest.find(b"/")
    query = rest.find(b"?")
    if slash == -1 or (query != -1 and query < slash):
        return b"/" + rest[query:] if query != -1 else b"/"
    return rest[slash:]
