"""A TCP relay in front of Redis that a test can cut (as if Redis died) and restore.

Cutting closes every relayed connection and stops listening, so the server under
test sees its connections drop and new ones refused, exactly as when the Redis
process goes away; the real Redis, which other tests share, is never touched.
"""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlsplit

import anyio
import anyio.abc


class RedisProxy:
    """Relays 127.0.0.1:<port> to the Redis of ``url`` while up.

    Args:
        url: Where the real Redis is (``redis://host:port/db``).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._db = parts.path or "/0"
        self.port = 0
        self._scope: anyio.CancelScope | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._closed = anyio.Event()

    @property
    def url(self) -> str:
        """The URL a server under test connects to."""
        return f"redis://127.0.0.1:{self.port}{self._db}"

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        """Listen (on a new port the first time, on the same port after a cut)."""
        self._task_group = task_group
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        scope = anyio.CancelScope()
        self._scope = scope
        self._closed = closed = anyio.Event()

        async def serve() -> None:
            try:
                with scope:
                    async with listener, anyio.create_task_group() as relays:
                        await listener.serve(self._relay, task_group=relays)
            finally:
                closed.set()

        task_group.start_soon(serve)

    async def cut(self) -> None:
        """Drop every relayed connection and refuse new ones (returns once the port is closed)."""
        assert self._scope is not None
        self._scope.cancel()
        await self._closed.wait()

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        assert self._task_group is not None
        await self.start(self._task_group)

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            try:
                upstream = await anyio.connect_tcp(*self._target)
            except OSError:
                return
            async with upstream, anyio.create_task_group() as pipes:
                pipes.start_soon(_pipe, client, upstream, pipes.cancel_scope)
                pipes.start_soon(_pipe, upstream, client, pipes.cancel_scope)


async def _pipe(source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream, scope: anyio.CancelScope) -> None:
    with suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        async for chunk in source:
            await sink.send(chunk)
    scope.cancel()
