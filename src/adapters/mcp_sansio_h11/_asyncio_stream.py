"""On asyncio, the h11 server's connections as byte streams straight on asyncio transports.

anyio's asyncio ``SocketStream`` pays, per call, for what this server does not need:
every ``send`` ends with a shielded checkpoint (a cancel scope and a whole loop
iteration) and every ``receive`` that waits turns reading on and off again (two
``epoll_ctl`` calls). Here a connection is an asyncio ``Protocol`` whose stream keeps
reading until :data:`READ_LIMIT` bytes are buffered, and whose ``send`` returns at once
unless the transport's write buffer is full (then it waits for it to drain, so a slow
client still slows its stream down). The streams are anyio ``ByteStream`` objects with
anyio's exceptions, so :class:`~mcp_sansio_h11._connection.H11Connection` serves them
exactly as it serves anyio's own streams on trio. Everything else (tasks, cancellation,
timeouts) stays anyio's: waiting here is waiting on an asyncio future, which anyio's
cancel scopes cancel like any other await.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, cast

import anyio
from anyio.abc import ByteStream, SocketAttribute

__all__ = ["AsyncioStream", "serve_sockets", "READ_LIMIT"]

# Bytes a connection buffers before it stops reading from the socket (TCP then pushes back).
READ_LIMIT = 1 << 16


class AsyncioStream(ByteStream):
    """One accepted connection (see the module docstring); made by :func:`serve_sockets`."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused_reading = False
        self._at_eof = False
        self._lost: BaseException | None = None  # why the connection broke (None: it did not)
        self._gone = False  # connection_lost was called
        self._closed = False  # aclose was called
        self._readable: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None  # set while the write buffer is full

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        """The socket and both addresses, as anyio's socket streams give them."""
        transport = self._transport
        return {
            SocketAttribute.raw_socket: lambda: transport.get_extra_info("socket"),
            SocketAttribute.remote_address: lambda: transport.get_extra_info("peername"),
            SocketAttribute.local_address: lambda: transport.get_extra_info("sockname"),
        }

    # -- what the protocol reports ----------------------------------------------------

    def _wake(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    def _data(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > READ_LIMIT and not self._paused_reading:
            self._paused_reading = True
            self._transport.pause_reading()
        self._wake()

    def _eof(self) -> None:
        self._at_eof = True
        self._wake()

    def _connection_lost(self, exc: BaseException | None) -> None:
        self._gone = True
        self._lost = exc
        self._at_eof = True
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _pause_writing(self) -> None:
        if self._drained is None or self._drained.done():
            self._drained = self._loop.create_future()

    def _resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- ByteStream ---------------------------------------------------------------------

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """The next bytes the client sent (at most ``max_bytes``).

        Raises:
            anyio.EndOfStream: The client closed its side and everything it sent was read.
            anyio.BrokenResourceError: The connection broke.
            anyio.ClosedResourceError: This stream was closed.
        """
        if self._closed:  # even with bytes buffered, as anyio's streams do
            raise anyio.ClosedResourceError
        while not self._chunks:
            if self._lost is not None:
                raise anyio.BrokenResourceError from self._lost
            if self._at_eof:
                raise anyio.EndOfStream
            self._readable = self._loop.create_future()
            await self._readable
            if self._closed:
                raise anyio.ClosedResourceError
        chunk = self._chunks.popleft()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            self._chunks.appendleft(rest)
        self._buffered -= len(chunk)
        if self._paused_reading and self._buffered <= READ_LIMIT // 2 and not self._gone:
            self._paused_reading = False
            self._transport.resume_reading()
        return chunk

    async def send(self, item: bytes) -> None:
        """Write ``item``; wait only while the transport's write buffer is full.

        Raises:
            anyio.BrokenResourceError: The connection broke.
            anyio.ClosedResourceError: This stream was closed.
        """
        if self._closed:
            raise anyio.ClosedResourceError
        if self._gone or self._transport.is_closing():
            raise anyio.BrokenResourceError from self._lost
        self._transport.write(item)
        if self._drained is not None and not self._drained.done():
            await self._drained
            if self._gone:
                raise anyio.BrokenResourceError from self._lost

    async def send_eof(self) -> None:
        """Close our sending side (what is buffered is still sent)."""
        self._transport.write_eof()

    async def aclose(self) -> None:
        """Close the connection: what is buffered gets one loop iteration to go, as with anyio's streams."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        if not self._transport.is_closing():
            with contextlib.suppress(OSError):  # a socket the client reset
                self._transport.write_eof()
            self._transport.close()
            await anyio.sleep(0)
            self._transport.abort()


class _Protocol(asyncio.Protocol):
    """Hands each event of one connection to its stream."""

    def __init__(self, accepted: Callable[[AsyncioStream], object]) -> None:
        self._accepted = accepted
        self._stream: AsyncioStream | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio sets it only on sockets made with proto=IPPROTO_TCP, which accepted ones are not:
            # without it, an SSE head and its first events wait for the client's delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._stream = AsyncioStream(cast(asyncio.Transport, transport))  # uvloop's are not subclasses
        self._accepted(self._stream)

    def data_received(self, data: bytes) -> None:
        assert self._stream is not None
        self._stream._data(data)

    def eof_received(self) -> bool:
        assert self._stream is not None
        self._stream._eof()
        return True  # keep the transport open: the answer may still be written

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stream is not None:
            self._stream._connection_lost(exc)

    def pause_writing(self) -> None:
        assert self._stream is not None
        self._stream._pause_writing()

    def resume_writing(self) -> None:
        assert self._stream is not None
        self._stream._resume_writing()


async def serve_sockets(sockets: list[Any], accepted: Callable[[AsyncioStream], object]) -> None:
    """Accept connections on listening ``sockets`` until cancelled, calling ``accepted`` with each one's stream."""
    loop = asyncio.get_running_loop()
    # backlog as anyio's listener has it: create_server would listen() again with 100
    servers = [await loop.create_server(lambda: _Protocol(accepted), sock=sock, backlog=65536) for sock in sockets]
    try:
        await anyio.sleep_forever()
    finally:
        for server in servers:
            server.close()
