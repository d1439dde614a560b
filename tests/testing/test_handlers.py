"""Handlers run by hand, one await at a time: every Context method, every kind of handler, the edges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio

from mcp_sansio import App, ClientError, Context
from mcp_sansio.testing import ProtocolMachine, machine_for
from mcp_sansio.testing._requests import ANSWER, McpRequest
from tests.testing.conftest import Given

CAPABILITIES = {"sampling": {}, "elicitation": {}, "roots": {}}


class Ready:
    """An awaitable that is not a coroutine and never suspends."""

    def __await__(self) -> Generator[Any, Any, str]:
        return "ready"
        yield  # a generator that returns at once


class Foreign:
    """What an event loop's future looks like to a coroutine driven by hand."""

    def __await__(self) -> Generator[Any, Any, None]:
        yield "a loop's future"


def context_app() -> App:
    app = App("context", "1.0")

    @app.tool()
    async def whole_context(ctx: Context) -> str:
        """Uses every method of its context."""
        facts = f"{ctx.request_id!r} {ctx.session_id} {ctx.protocol_version} {ctx.has_capability('sampling')}"
        await ctx.log("info", facts)
        await ctx.report_progress(1, 2, "half")
        await ctx.notify("notifications/custom", {"x": 1})
        await ctx.list_changed("tools")
        await ctx.resource_updated("test://watched")
        form = await ctx.elicit("Name?", {"type": "object"})
        sampled = await ctx.sample([{"role": "user", "content": {"type": "text", "text": "hi"}}], 5)
        roots = await ctx.list_roots()
        await ctx.close_stream()
        return f"{form.get('action')} {sampled.get('model')} {roots.get('roots')}"

    @app.tool()
    async def asks(ctx: Context) -> str:
        """Asks once and reports how the client answered."""
        try:
            answer = await ctx.request("roots/list", {})
        except ClientError as exc:
            return f"declined: {exc.code}"
        except TimeoutError:
            return "gave up waiting"
        return f"roots: {answer}"

    @app.tool()
    def plain() -> str:
        """A plain function."""
        return "plain"

    @app.tool()
    def awaitable() -> Ready:
        """Returns an awaitable that is not a coroutine."""
        return Ready()

    @app.tool()
    async def yields_control() -> str:
        """Awaits asyncio.sleep(0): a bare yield, fine without a loop."""
        await asyncio.sleep(0)
        return "after a yield"

    @app.tool()
    async def waits_for_a_loop() -> str:
        """Awaits something only an event loop understands."""
        await Foreign()
        return "never"

    @app.tool()
    async def sleeps() -> str:
        """Awaits anyio.sleep: real I/O, out of the kit's scope."""
        await anyio.sleep(1)
        return "never"

    @app.tool()
    async def odd_chunks(n: int) -> AsyncIterator[Any]:
        """Yields something that is not JSON."""
        yield "fine"
        yield object()

    @app.tool()
    async def slow_stream(ctx: Context) -> AsyncIterator[str]:
        """Logs before each chunk, so it can be stopped in the middle of an await."""
        for i in range(3):
            await ctx.log("info", i)
            yield str(i)

    @app.tool()
    async def elicits(ctx: Context) -> str:
        """Asks for a name (stateless: in rounds)."""
        answer = await ctx.elicit("Name?", {"type": "object"}, key="name")
        return f"hello {answer.get('action')}"

    return app


def machine(**options: Any) -> ProtocolMachine:
    return machine_for(context_app(), **options)()


def call(name: str, arguments: dict[str, Any] | None = None) -> McpRequest:
    return McpRequest("tools/call", {"name": name, "arguments": arguments or {}}, ANSWER)


def test_every_context_method_in_a_handshake_session() -> None:
    m = machine()
    m.initialize(version=3, capabilities=CAPABILITIES)
    m.call(Given(call("whole_context")), pick=0, token=True, eager=True)
    for _ in range(3):  # elicitation, sampling, roots: each a request on the stream, answered by the client
        assert len(m.rt.server_requests) == 1
        m.answer(pick=0, error=False)
        m.advance(pick=0, steps=0)
    m.drain()
    transcript = m.transcript.render()
    for expected in ("notifications/message", "notifications/progress", "notifications/custom",
                     "notifications/tools/list_changed", "closes its stream", "accept m []"):
        assert expected in transcript


def test_a_client_error_and_a_timeout_reach_the_handler() -> None:
    m = machine()
    m.initialize(version=3, capabilities=CAPABILITIES)
    m.call(Given(call("asks")), pick=0, token=False, eager=True)
    m.answer(pick=0, error=True)
    m.advance(pick=0, steps=0)
    assert "declined: -1" in m.transcript.render()
    m.call(Given(call("asks")), pick=0, token=False, eager=True)
    assert not any(not t.blocked for t in m.rt.live_tasks())
    m.tick(jump=3, expire=False)  # past server_request_timeout
    m.advance(pick=0, steps=1)
    transcript = m.transcript.render()
    assert "gave up waiting" in transcript
    assert "notifications/cancelled" in transcript  # the client is told the server stopped waiting
    m.drain()


def test_plain_functions_awaitables_and_bare_yields() -> None:
    m = machine()
    m.initialize(version=3, capabilities={})
    for name in ("plain", "awaitable", "yields_control"):
        m.call(Given(call(name)), pick=0, token=False, eager=True)
    transcript = m.transcript.render()
    assert "returns at once" in transcript
    assert '"text":"ready"' in transcript
    assert '"text":"after a yield"' in transcript
    m.drain()


def test_handlers_that_need_an_event_loop_fail_and_are_noted() -> None:
    m = machine()
    m.initialize(version=3, capabilities={})
    m.call(Given(call("waits_for_a_loop")), pick=0, token=False, eager=True)
    m.call(Given(call("sleeps")), pick=0, token=False, eager=True)
    transcript = m.transcript.render()
    assert "awaited str, which needs an event loop" in transcript
    assert "awaited I/O without an event loop (out of scope)" in transcript
    assert transcript.count('"isError":true') == 2
    m.drain()


def test_a_chunk_that_cannot_be_sent_ends_the_stream_with_an_error() -> None:
    m = machine()
    m.initialize(version=3, capabilities={})
    m.call(Given(call("odd_chunks", {"n": 1})), pick=0, token=True, eager=True)
    assert "TypeError" in m.transcript.render()
    m.drain()


def test_cancelling_a_handler_in_the_middle_of_an_await() -> None:
    m = machine()
    m.initialize(version=3, capabilities={})
    m.call(Given(call("slow_stream")), pick=0, token=False, eager=False)
    m.advance(pick=0, steps=1)  # now suspended inside `await ctx.log(...)`
    m.cancel(pick=0)
    assert "is cancelled (the client cancelled it)" in m.transcript.render()
    assert '"code":-32800' in m.transcript.render()
    m.drain()


def test_stateless_rounds_and_hanging_up() -> None:
    m = machine(eras=("stateless",))
    m.stateless(Given(call("elicits")), capabilities={"elicitation": {}}, token=False, log_level=None, eager=True)
    assert m.rt.retries
    m.retry(pick=0)
    assert "hello accept" in m.transcript.render()
    m.stateless(Given(call("slow_stream")), capabilities={}, token=True, log_level="debug", eager=False)
    m.cancel(pick=0)  # a stateless client cancels by hanging up
    assert "its client disconnected" in m.transcript.render()
    m.drain()


def test_a_session_that_ends_stops_its_handlers() -> None:
    m = machine()
    m.initialize(version=3, capabilities={})
    m.call(Given(call("slow_stream")), pick=0, token=False, eager=False)
    m.delete(pick=0)
    assert "is cancelled (its session ended)" in m.transcript.render()
    m.drain()
