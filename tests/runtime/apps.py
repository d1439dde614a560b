"""An app whose tools the tests drive step by step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcp_sansio import App, ClientError, Context


@dataclass
class Controls:
    """What the test controls and observes of the tools: a feed of chunks and a log of what happened."""

    send: MemoryObjectSendStream[str]
    receive: MemoryObjectReceiveStream[str]
    log: list[str] = field(default_factory=list)
    produced: int = 0
    cancelled_at: dict[str, float] = field(default_factory=dict)


def controls() -> Controls:
    send, receive = anyio.create_memory_object_stream[str](100)
    return Controls(send, receive)


def controlled_app(c: Controls) -> App:
    app = App("runtime-tests", "0.1")

    @app.tool()
    async def feed() -> AsyncIterator[str]:
        """Yields what the test sends, until the test closes the feed."""
        c.log.append("feed started")
        try:
            async for item in c.receive:
                yield item
            c.log.append("feed completed")
        finally:
            c.log.append("feed closed")

    @app.tool()
    async def flood(count: int) -> AsyncIterator[str]:
        """Yields ``count`` chunks as fast as it may."""
        try:
            for i in range(1, count + 1):
                c.produced = i
                yield f"chunk{i}"
            c.log.append("flood completed")
        finally:
            c.log.append("flood closed")

    @app.tool()
    async def nap(name: str, seconds: float) -> str:
        """Sleeps, then answers."""
        c.log.append(f"{name} started")
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            c.cancelled_at[name] = anyio.current_time()
            raise
        c.log.append(f"{name} finished")
        return f"{name} slept"

    @app.tool()
    async def interview(ctx: Context) -> str:
        """Logs, reports progress, asks the user, answers."""
        await ctx.log("info", "starting")
        await ctx.report_progress(1, 2, "half way")
        try:
            answer = await ctx.elicit("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}})
        except ClientError as exc:
            c.log.append(f"client error {exc.code}: {exc.message}")
            return "declined"
        except TimeoutError as exc:
            c.log.append(f"timed out: {exc}")
            return "no answer"
        await ctx.report_progress(2, 2)
        return f"hello {answer['content']['name']}"

    return app
