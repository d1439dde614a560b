"""A streaming tool's chunks, appended in batches when the store must be awaited.

With a remote store every append is a round trip, and one awaited append per chunk
caps a stream at one chunk per round trip. So the tool's generator runs in a task of
its own and puts what it yields in a bounded queue, while the handler's task takes
everything queued so far and hands it to the exchange at once
(:meth:`mcp_sansio.Exchange.chunks`: one log append for all). A generator that yields
faster than the store appends fills batches; one that waits between chunks sends each
as it comes. The queue holds at most ``limit`` chunks: a producer that gets that far
ahead waits, so a slow reader still pauses the tool (the events it already yielded sit
in the queue and in the reader's own queue). The generator's exception, or its end,
reaches the handler's task after the chunks yielded before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

from mcp_sansio import InputRequired

__all__ = ["pump_chunks"]


class _Queue:
    """Chunks between the generator's task and the handler's; one of each waits at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Any] = []
        self.done = False
        self.error: Exception | InputRequired | None = None
        self._readable = anyio.Event()
        self._writable = anyio.Event()

    async def put(self, item: Any) -> None:
        while len(self.items) >= self.limit:
            self._writable = anyio.Event()
            await self._writable.wait()
        self.items.append(item)
        self._readable.set()

    def finish(self, error: Exception | InputRequired | None) -> None:
        self.done, self.error = True, error
        self._readable.set()

    async def take(self) -> list[Any]:
        """Everything queued (waiting for something); empty once the generator has ended."""
        while not self.items and not self.done:
            self._readable = anyio.Event()
            await self._readable.wait()
        items, self.items = self.items, []
        self._writable.set()
        return items


async def pump_chunks(chunks: AsyncIterator[Any], send: Callable[[list[Any]], Awaitable[None]], limit: int) -> None:
    """Iterate ``chunks`` in a task of its own, calling ``send`` with every batch it yielded meanwhile.

    Raises:
        Exception: What the generator raised (after the chunks before it were sent), or what ``send`` raised.
    """
    queue = _Queue(max(limit, 1))

    async def produce() -> None:
        try:
            async for chunk in chunks:
                await queue.put(chunk)
        except (Exception, InputRequired) as exc:  # the tool failed: its error ends the stream after its chunks
            queue.finish(exc)
        else:
            queue.finish(None)

    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        try:
            while batch := await queue.take():
                await send(batch)
        except Exception as exc:  # the store failed: stop the generator, fail the call as before
            failure = exc
            tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if queue.error is not None:
        raise queue.error
