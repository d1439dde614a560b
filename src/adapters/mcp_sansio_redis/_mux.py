"""One connection that many tasks share on asyncio: commands pipelined, replies matched to them in order.

Theory of operation: Redis answers the commands of one connection in the order it got
them, so a connection can carry any number of commands at once if it remembers who
waits for which reply. :class:`SharedConnection` is an asyncio ``Protocol``: a command
is written at once (no lock, no task, no wait for earlier replies; while commands are in
flight, those of one loop iteration are written together) and its caller awaits a
future; ``data_received`` feeds the reply parser and hands each reply to the oldest
waiter. Replies that arrive together are parsed from one read, so concurrent requests
share the system calls that a connection per command would spend each.

A waiter that is cancelled leaves its place in the queue: its reply, when it comes, is
dropped, so no reply is ever handed to the wrong command. A reply that takes longer than
``timeout`` (one timer per connection, not per command), a lost connection or a reply
that does not parse fails the connection and every command waiting on it. Commands
sent with :meth:`SharedConnection.post` are not waited for: they travel with the next
command (within ``POST_DELAY`` at the latest), so their replies cost no wake-up of their
own; if the connection fails before their reply, they are handed back
(:attr:`SharedConnection.unanswered`) to be sent again on the next connection, so only
idempotent commands may be posted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any, cast

from ._resp import RedisStoreError, RedisUnavailableError, Reply, ReplyError, new_reader

__all__ = ["SharedConnection", "POST_DELAY"]

# Seconds a posted command may wait for the next command to travel with.
POST_DELAY = 0.002

log = logging.getLogger("mcp_sansio.redis")


class _Waiter:
    __slots__ = ("deadline", "future", "payload")

    def __init__(self, future: asyncio.Future[Reply] | None, deadline: float, payload: bytes | None) -> None:
        self.future = future  # None: posted, nobody waits
        self.deadline = deadline
        self.payload = payload  # a posted command's bytes, to send again if its reply is lost


class SharedConnection(asyncio.Protocol):
    """One asyncio connection to Redis shared by every task of a client (see the module docstring).

    Args:
        url: The server's URL, password hidden (for error messages).
        timeout: Seconds a reply may take before the connection counts as dead (None: no limit).
        prefer_hiredis: Parse replies with hiredis when it is installed.
    """

    def __init__(self, url: str, timeout: float | None, prefer_hiredis: bool = True) -> None:
        self.url = url
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self.broken = False
        self.last_used = time.monotonic()
        self.unanswered: list[bytes] = []
        self._reader = new_reader(prefer_hiredis)
        self._waiting: deque[_Waiter] = deque()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._outbox: list[bytes] = []  # commands not written yet, in order
        self._unwritten = 0  # how many of the waiters those are
        self._flush_soon = False  # a write is scheduled for the next loop iteration
        self._flush_later: asyncio.TimerHandle | None = None  # a write is scheduled for posted commands

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        """Hand every complete reply to its waiter, oldest first."""
        reader = self._reader
        reader.feed(data)
        waiting = self._waiting
        while True:
            try:
                reply = reader.gets()
            except RedisStoreError as exc:  # hiredis's protocol error: nothing after it can be trusted
                self._fail(RedisUnavailableError(f"Redis at {self.url} sent a reply that does not parse: {exc}"))
                return
            if reply is False:
                break
            if not waiting:
                self._fail(RedisUnavailableError(f"Redis at {self.url} sent a reply no command asked for"))
                return
            waiter = waiting.popleft()
            future = waiter.future
            if future is None:
                if isinstance(reply, ReplyError):
                    log.warning("Redis at %s refused a command sent without waiting: %s", self.url, reply)
            elif not future.done():  # done: its caller was cancelled, and the reply is dropped
                future.set_result(reply)
        self.last_used = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail whatever still waits."""
        reason = f"lost the connection: {exc!r}" if exc is not None else "lost the connection"
        self._fail(RedisUnavailableError(f"lost the connection to Redis at {self.url}", reason=reason))

    # -- commands -------------------------------------------------------------------------

    @property
    def socket(self) -> Any:
        """The connection's socket (for its TCP options), or None."""
        return self._transport.get_extra_info("socket") if self._transport is not None else None

    @property
    def idle(self) -> bool:
        """Whether no command waits for a reply."""
        return not self._waiting

    async def call(self, payload: bytes) -> Reply:
        """Send one encoded command and return its reply (an error reply as a :class:`ReplyError` value).

        Raises:
            RedisUnavailableError: The connection failed or Redis did not answer in time.
        """
        future = self._send(payload, 1)[0]
        assert future is not None
        return await future

    async def pipeline(self, payload: bytes, count: int) -> list[Reply]:
        """Send ``count`` encoded commands in one write; their replies, in order."""
        futures = self._send(payload, count)
        return [await future for future in futures if future is not None]

    def post(self, payload: bytes) -> None:
        """Queue one encoded idempotent command, not waiting for its reply (see the module docstring).

        Raises:
            RedisUnavailableError: The connection is closed.
        """
        self._send(payload, 1, posted=True)

    def close(self) -> None:
        """Close the connection at once; whatever waits fails."""
        if self._transport is not None and not self.loop.is_closed():  # a loop that ended closed it already
            self._transport.abort()
        self._fail(RedisUnavailableError(f"the connection to Redis at {self.url} is closed", reason="closed"))

    def _send(self, payload: bytes, count: int, posted: bool = False) -> list[asyncio.Future[Reply] | None]:
        transport = self._transport
        if self.broken or transport is None or transport.is_closing():
            raise RedisUnavailableError(
                f"the connection to Redis at {self.url} is closed", reason="the connection is closed"
            )
        deadline = self.loop.time() + self.timeout if self.timeout is not None else float("inf")
        futures: list[asyncio.Future[Reply] | None] = []
        for _ in range(count):
            future = None if posted else self.loop.create_future()
            self._waiting.append(_Waiter(future, deadline, payload if posted else None))
            futures.append(future)
        self._outbox.append(payload)
        self._unwritten += count
        if self._timer is None and self.timeout is not None:
            self._timer = self.loop.call_at(deadline, self._check_deadline)
        if posted:
            # Nobody waits for it: it goes with the next command this client sends (its reply then
            # arrives with that one's), or after POST_DELAY at the latest.
            if self._flush_later is None and not self._flush_soon:
                self._flush_later = self.loop.call_later(POST_DELAY, self._flush)
        elif len(self._waiting) == self._unwritten:
            self._flush()  # nothing else in flight: write at once
        elif not self._flush_soon:
            # Commands are in flight: the next loop iteration writes this with whatever else the
            # running tasks send meanwhile, in one system call.
            self._flush_soon = True
            self.loop.call_soon(self._flush)
        return futures

    def _flush(self) -> None:
        self._flush_soon = False
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        if self._outbox and not self.broken and self._transport is not None:
            self._transport.write(b"".join(self._outbox))
        self._outbox.clear()
        self._unwritten = 0

    def _check_deadline(self) -> None:
        # One timer per connection: it looks at the oldest waiter (the earliest deadline) only.
        self._timer = None
        if not self._waiting or self.broken:
            return
        oldest = self._waiting[0].deadline
        if oldest <= self.loop.time():
            reason = f"did not answer within {self.timeout} s"
            self._fail(RedisUnavailableError(f"Redis at {self.url} {reason}", reason=reason))
        else:
            self._timer = self.loop.call_at(oldest, self._check_deadline)

    def _fail(self, error: RedisUnavailableError) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        self._outbox.clear()
        self._unwritten = 0
        first = not self.broken
        self.broken = True
        if first and self._transport is not None and not self.loop.is_closed():
            self._transport.abort()
        waiting, self._waiting = self._waiting, deque()
        for waiter in waiting:
            if waiter.payload is not None:
                self.unanswered.append(waiter.payload)
            elif waiter.future is not None and not waiter.future.done():
                waiter.future.set_exception(error)
                waiter.future.exception()  # retrieved: a caller that stopped waiting leaves no warning behind
