"""A small Redis client on anyio sockets: asyncio and trio alike, no worker threads.

On asyncio, every command goes over one connection that all tasks share
(``_mux.SharedConnection``): written at once, its reply matched to it in order, so
concurrent commands are pipelined and share system calls; a connection per command
spent ~3x the CPU per command, most of it in system calls. On trio (and for
:meth:`RedisClient.connection`) the client holds a pool of connections instead: a
command borrows an idle connection (or opens one, up to ``max_connections``; beyond
that it waits), writes its RESP bytes in one send, reads its reply and gives the
connection back. No background task, no lock on the hot path. A pooled connection
that fails, times out or is interrupted by a cancellation mid-exchange is closed,
never reused, so a reply can never be read by the wrong command. A connection idle
for ``health_check_interval`` is PINGed before reuse (a Redis restart leaves stale
connections behind). :meth:`RedisClient.connection` lends one connection for
exclusive use (a blocking ``XREAD``, a ``MULTI`` block).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import EllipsisType
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
from anyio.abc import ByteStream, SocketAttribute

from ._mux import SharedConnection
from ._resp import RedisStoreError, RedisUnavailableError, Reply, ReplyError, new_reader
from ._resp import fast_encode as encode

__all__ = ["RedisAddress", "parse_url", "Connection", "RedisClient", "Script"]

Arg = bytes | str | int | float
_CHUNK = 256 * 1024
_LOST = (OSError, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError)
_MAX_UNANSWERED = 10_000


@dataclass(frozen=True, slots=True)
class RedisAddress:
    """Where a Redis server is and how to log in, parsed from a ``redis://``, ``rediss://`` or ``unix://`` URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    unix_path: str | None = None

    def redacted(self) -> str:
        """The URL with its password replaced by ``***`` (for error messages and logs)."""
        auth = ""
        if self.username or self.password:
            auth = f"{self.username or ''}{':***' if self.password else ''}@"
        if self.unix_path is not None:
            return f"unix://{auth}{self.unix_path}?db={self.db}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'rediss' if self.tls else 'redis'}://{auth}{host}:{self.port}/{self.db}"


def parse_url(url: str) -> RedisAddress:
    """Parse ``redis://[user:password@]host[:port][/db]``, ``rediss://...`` (TLS) or ``unix:///path[?db=N]``.

    Raises:
        ValueError: The URL is not one of those.
    """
    parts = urlsplit(url)
    query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    try:
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("no socket path")
            return RedisAddress(
                db=int(query.get("db", 0)), username=username, password=password, unix_path=unquote(parts.path)
            )
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"unknown scheme {parts.scheme!r}")
        path = parts.path.strip("/")
        db = int(path) if path else int(query.get("db", 0))
        return RedisAddress(
            parts.hostname or "127.0.0.1", parts.port or 6379, db, username, password, parts.scheme == "rediss"
        )
    except ValueError as exc:
        shown = url if parts.password is None else url.replace(f":{parts.password}@", ":***@")
        raise ValueError(f"not a Redis URL ({exc}): {shown}") from None


class Connection:
    """One connection to Redis. Any failure mid-exchange marks it ``broken``: it is then closed, never reused."""

    def __init__(self, stream: ByteStream, url: str, timeout: float | None, prefer_hiredis: bool = True) -> None:
        self._stream = stream
        self._reader = new_reader(prefer_hiredis)
        self.url = url
        self.timeout = timeout
        self.broken = False
        self.last_used = time.monotonic()

    async def call(self, *args: Arg, timeout: float | EllipsisType | None = ...) -> Reply:
        """Send one command and return its reply (an error reply comes back as a :class:`ReplyError` value).

        Args:
            *args: The command and its arguments.
            timeout: Seconds to wait for the reply (None: forever, for blocking reads);
                by default the connection's.

        Raises:
            RedisUnavailableError: The connection failed or Redis did not answer in time.
        """
        return (await self._exchange(encode(args), 1, timeout))[0]

    async def pipeline(
        self, commands: Sequence[Sequence[Arg]], timeout: float | EllipsisType | None = ...
    ) -> list[Reply]:
        """Send several commands in one write and return their replies, in order (errors as values)."""
        return await self._exchange(b"".join(encode(tuple(c)) for c in commands), len(commands), timeout)

    async def _exchange(self, payload: bytes, count: int, timeout: float | EllipsisType | None) -> list[Reply]:
        if self.broken:
            raise RedisUnavailableError(
                f"the connection to Redis at {self.url} is closed", reason="the connection is closed"
            )
        limit = self.timeout if timeout is ... else timeout
        try:
            if limit is None:
                return await self._send_and_read(payload, count)
            # A bare deadline scope: anyio.fail_after costs ~15 us more per command on trio.
            with anyio.CancelScope(deadline=anyio.current_time() + limit):
                return await self._send_and_read(payload, count)
        except _LOST as exc:
            self.broken = True
            message = f"lost the connection to Redis at {self.url}: {exc!r}"
            raise RedisUnavailableError(message, reason=f"lost the connection: {exc!r}") from exc
        except BaseException:
            self.broken = True  # cancelled (or a protocol error) mid-exchange: its state is unknown
            raise
        self.broken = True  # only the deadline's own cancellation ends the scope without a reply
        reason = f"did not answer within {limit} s"
        raise RedisUnavailableError(f"Redis at {self.url} {reason}", reason=reason)

    async def _send_and_read(self, payload: bytes, count: int) -> list[Reply]:
        await self._stream.send(payload)
        replies: list[Reply] = []
        reader = self._reader
        while len(replies) < count:
            reply = reader.gets()
            if reply is False:
                reader.feed(await self._stream.receive(_CHUNK))
            else:
                replies.append(reply)
        self.last_used = time.monotonic()
        return replies

    async def aclose(self) -> None:
        """Close the connection at once (safe inside a cancelled scope)."""
        self.broken = True
        await anyio.aclose_forcefully(self._stream)


class RedisClient:
    """A pool of :class:`Connection` to one Redis server; usable from any number of tasks, on asyncio or trio.

    Args:
        url: ``redis://[user:password@]host[:port][/db]``, ``rediss://...`` or ``unix:///path?db=N``.
        max_connections: Most connections open at once; more concurrent commands wait for one.
        timeout: Seconds a command may take before Redis counts as unavailable (None: no limit).
        connect_timeout: Seconds to establish a connection.
        health_check_interval: An idle connection older than this is PINGed before reuse.
        ssl_context: For ``rediss://``: the TLS settings (default: the system's trust store).
        prefer_hiredis: Parse replies with hiredis when it is installed.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        max_connections: int = 32,
        timeout: float | None = 10.0,
        connect_timeout: float = 5.0,
        health_check_interval: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
        prefer_hiredis: bool = True,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.address = parse_url(url)
        self.url = self.address.redacted()
        self.max_connections = max_connections
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.health_check_interval = health_check_interval
        self.ssl_context = ssl_context
        self.prefer_hiredis = prefer_hiredis
        self._idle: list[Connection] = []
        self._open = 0
        self._freed: anyio.Event | None = None
        self._closed = False
        self._mux: SharedConnection | None = None
        self._mux_opening: asyncio.Future[SharedConnection] | None = None
        self._unanswered: list[bytes] = []  # posted commands a failed shared connection never answered

    # -- the shared connection (asyncio) -----------------------------------------------------

    async def _shared(self) -> SharedConnection | None:
        """The shared connection on asyncio (opened, or replaced after a failure, here); None on trio.

        A client serves one event loop at a time (as its pool does): while the shared
        connection's loop runs, that is the caller's loop (which costs a getpid() here
        to ask, per command).
        """
        mux = self._mux
        loop = mux.loop if mux is not None and mux.loop.is_running() else asyncio._get_running_loop()
        if loop is None:
            return None
        if mux is not None and not mux.broken and mux.loop is loop:
            if not mux.idle or time.monotonic() - mux.last_used < self.health_check_interval:
                return mux
            if await self._mux_healthy(mux):
                return mux
        if self._closed:
            raise RedisStoreError(f"the Redis client for {self.url} is closed", reason="the client is closed")
        while (opening := self._mux_opening) is not None and opening.get_loop() is loop:
            try:
                return await asyncio.shield(opening)  # one connection for everyone who asked meanwhile
            except _Abandoned:
                pass  # its opener was cancelled: open one here
        opening = self._mux_opening = loop.create_future()
        try:
            mux = await self._open_shared()
        except BaseException as exc:
            # A cancellation is the opener's own: the others waiting try again themselves.
            opening.set_exception(exc if isinstance(exc, Exception) else _Abandoned())
            opening.exception()  # retrieved, also when nobody else waited
            raise
        finally:
            self._mux_opening = None
        opening.set_result(mux)
        return mux

    async def _mux_healthy(self, mux: SharedConnection) -> bool:
        try:
            reply = await mux.call(encode(("PING",)))
        except RedisUnavailableError:
            return False
        if reply == b"PONG":
            return True
        mux.close()
        return False

    async def _open_shared(self) -> SharedConnection:
        old = self._mux
        if old is not None:
            old.close()
            self._unanswered += old.unanswered
            old.unanswered = []
            self._mux = None
        address = self.address
        loop = asyncio.get_running_loop()
        mux = SharedConnection(self.url, self.timeout, self.prefer_hiredis)
        try:
            with anyio.fail_after(self.connect_timeout):
                if address.unix_path is not None:
                    await loop.create_unix_connection(lambda: mux, address.unix_path)
                elif address.tls:
                    context = self.ssl_context or ssl.create_default_context()
                    await loop.create_connection(
                        lambda: mux, address.host, address.port, ssl=context, server_hostname=address.host
                    )
                else:
                    await loop.create_connection(lambda: mux, address.host, address.port)
        except (OSError, TimeoutError) as exc:
            reason = _connect_failure(exc)
            raise RedisUnavailableError(f"cannot connect to Redis at {self.url}: {reason}", reason=reason) from exc
        try:
            hello = _hello(address)
            if hello:
                replies = await mux.pipeline(b"".join(encode(c) for c in hello), len(hello))
                _check_hello(self.url, hello, replies)
        except BaseException:
            mux.close()
            raise
        _keep_alive(mux.socket)
        if self._closed:
            mux.close()
            raise RedisStoreError(f"the Redis client for {self.url} is closed", reason="the client is closed")
        self._mux = mux
        resend, self._unanswered = self._unanswered, []
        for payload in resend[-_MAX_UNANSWERED:]:  # a bound, should Redis stay away a long time
            mux.post(payload)
        return mux

    async def execute(self, *args: Arg) -> Reply:
        """Run one command on a pooled connection and return its reply.

        Raises:
            ReplyError: Redis answered with an error (the message names the command).
            RedisUnavailableError: Redis cannot be reached or did not answer in time.
        """
        shared = await self._shared()
        if shared is not None:
            reply = await shared.call(encode(args))
        else:
            conn = await self._acquire()
            try:
                reply = await conn.call(*args)
            finally:
                await self._release(conn)
        if isinstance(reply, ReplyError):
            raise ReplyError(f"{reply} (answering {_name(args)})")
        return reply

    async def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Reply]:
        """Run several commands in one round trip; their replies in order, error replies as values."""
        shared = await self._shared()
        if shared is not None:
            return await shared.pipeline(b"".join(encode(tuple(c)) for c in commands), len(commands))
        conn = await self._acquire()
        try:
            return await conn.pipeline(commands)
        finally:
            await self._release(conn)

    async def post(self, *args: Arg) -> None:
        """Send an idempotent write without waiting for its reply where that is possible (asyncio).

        Every later command of this client reaches Redis after it: it goes in the same
        write as the next one, or on its own within a few milliseconds (``_mux.POST_DELAY``);
        if the connection fails before its reply, it is sent again on the next connection
        (hence idempotent only). An error reply is logged. On trio it is an ordinary
        :meth:`execute` (a pooled connection cannot leave a reply unread).

        Raises:
            RedisUnavailableError: Redis cannot be reached (nothing was sent).
        """
        shared = await self._shared()
        if shared is None:
            await self.execute(*args)
        else:
            shared.post(encode(args))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Lend one connection for exclusive use (blocking commands, MULTI); it counts against the pool."""
        conn = await self._acquire()
        try:
            yield conn
        finally:
            await self._release(conn)

    async def aclose(self) -> None:
        """Close every idle connection and the shared one; connections in use close when given back."""
        self._closed = True
        if self._mux is not None:
            self._mux.close()
            self._mux = None
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            await conn.aclose()
        self._wake()

    async def _acquire(self) -> Connection:
        while True:
            if self._closed:
                raise RedisStoreError(f"the Redis client for {self.url} is closed", reason="the client is closed")
            if self._idle:
                conn = self._idle.pop()
                if time.monotonic() - conn.last_used >= self.health_check_interval and not await self._healthy(conn):
                    self._open -= 1
                    await conn.aclose()
                    continue
                return conn
            if self._open < self.max_connections:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            if self._freed is None:
                self._freed = anyio.Event()
            await self._freed.wait()

    async def _release(self, conn: Connection) -> None:
        if conn.broken or self._closed:
            self._open -= 1
            await conn.aclose()
        else:
            self._idle.append(conn)
        self._wake()

    def _wake(self) -> None:
        if self._freed is not None:
            self._freed.set()
            self._freed = None

    async def _healthy(self, conn: Connection) -> bool:
        try:
            reply = await conn.call("PING")
        except RedisUnavailableError:
            return False
        return bool(reply == b"PONG")

    async def _connect(self) -> Connection:
        address = self.address
        stream: ByteStream
        try:
            with anyio.fail_after(self.connect_timeout):
                if address.unix_path is not None:
                    stream = await anyio.connect_unix(address.unix_path)
                elif address.tls:
                    stream = await anyio.connect_tcp(
                        address.host,
                        address.port,
                        tls=True,
                        ssl_context=self.ssl_context,
                        tls_standard_compatible=False,
                    )
                else:
                    stream = await anyio.connect_tcp(address.host, address.port)
        except (OSError, TimeoutError) as exc:
            reason = _connect_failure(exc)
            raise RedisUnavailableError(f"cannot connect to Redis at {self.url}: {reason}", reason=reason) from exc
        _keep_alive(stream.extra(SocketAttribute.raw_socket, None))
        conn = Connection(stream, self.url, self.timeout, self.prefer_hiredis)
        hello = _hello(address)
        if hello:
            try:
                _check_hello(self.url, hello, await conn.pipeline(hello))
            except BaseException:
                await conn.aclose()
                raise
        return conn


class _Abandoned(Exception):
    """The task opening the shared connection was cancelled before it had one."""


class Script:
    """A Lua script run with EVALSHA, falling back to EVAL (which caches it) when Redis does not know it yet.

    Args:
        name: What the script does, for error messages.
        source: The Lua source.
    """

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: RedisClient, keys: Sequence[Arg], args: Sequence[Arg]) -> Reply:
        """Run the script; its reply.

        Raises:
            RedisStoreError: The script failed (the message names it and quotes Redis).
            RedisUnavailableError: Redis cannot be reached.
        """
        try:
            try:
                return await client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
            except ReplyError as exc:
                if exc.code != "NOSCRIPT":
                    raise
                return await client.execute("EVAL", self.source, len(keys), *keys, *args)
        except ReplyError as exc:
            raise RedisStoreError(f"Redis store script {self.name!r} failed on {client.url}: {exc}") from exc


def _hello(address: RedisAddress) -> list[tuple[Arg, ...]]:
    """The commands that start a connection: log in, choose the database."""
    hello: list[tuple[Arg, ...]] = []
    if address.password is not None:
        login = (address.username, address.password) if address.username else (address.password,)
        hello.append(("AUTH", *login))
    if address.db:
        hello.append(("SELECT", address.db))
    return hello


def _check_hello(url: str, hello: list[tuple[Arg, ...]], replies: list[Reply]) -> None:
    for command, reply in zip(hello, replies, strict=True):
        if reply != b"OK":
            reason = f"refused {command[0]!s}: {reply}"
            raise RedisStoreError(f"Redis at {url} {reason}", reason=reason)


def _keep_alive(sock: socket.socket | None) -> None:
    """TCP keep-alive probes and a bound on unacknowledged data: a vanished host fails a connection in ~30 s."""
    if sock is None or sock.family == socket.AF_UNIX:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 30_000)):
        if hasattr(socket, option):  # Linux names; elsewhere the system defaults stay
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _connect_failure(exc: OSError | TimeoutError) -> str:
    """Why a connection could not be made, in a few words (``Connection refused``, ``timed out``)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    # anyio reports "All connection attempts failed" (one attempt per address) and chains the last attempt's error.
    while isinstance(exc.__cause__, OSError) and not exc.errno:
        exc = exc.__cause__
    if exc.errno is not None and exc.errno > 0 and not isinstance(exc, socket.gaierror):
        return os.strerror(exc.errno)  # the same words on asyncio and trio, which phrase the error differently
    return str(exc) or type(exc).__name__


def _name(args: tuple[Any, ...]) -> str:
    head = args[0] if args else b""
    return head.decode(errors="replace") if isinstance(head, bytes) else str(head)
