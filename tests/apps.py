"""Small apps the tests serve."""

from __future__ import annotations

from collections.abc import AsyncIterator

from mcp_sansio import App, Context, InputRequest, ToolError


def demo_app() -> App:
    app = App("demo", "1.2.3")

    @app.tool()
    async def add(a: int, b: int = 2) -> str:
        """Add two integers."""
        return str(a + b)

    @app.tool()
    async def fail() -> str:
        """Always fails."""
        raise ToolError("it broke")

    @app.tool(output_schema={"type": "object", "properties": {"sum": {"type": "integer"}}})
    async def structured(a: int) -> dict[str, int]:
        """Structured output."""
        return {"sum": a}

    @app.tool()
    async def count(n: int, ctx: Context) -> AsyncIterator[str]:
        """Stream 1..n."""
        for i in range(1, n + 1):
            yield str(i)

    @app.tool()
    async def chatty(ctx: Context) -> str:
        """Logs, then answers."""
        await ctx.log("info", "hello")
        return "done"

    @app.resource("test://text", mime_type="text/plain")
    async def text_resource() -> str:
        return "hello"

    @app.resource("test://blob", mime_type="application/octet-stream")
    async def blob_resource() -> bytes:
        return b"\x00\x01"

    @app.resource_template("test://items/{id}", mime_type="application/json")
    async def item(id: str) -> str:
        return f'{{"id": "{id}"}}'

    @app.prompt()
    async def greet(name: str, punctuation: str = "!") -> str:
        """Greets someone."""
        return f"Hello {name}{punctuation}"

    return app


# Mirrored tool parameters (2026-07-28 ``Mcp-Param-*`` headers), one per supported kind.
HEADER_SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "count": {"type": "integer", "x-mcp-header": "Count"},
        "ratio": {"type": "number", "x-mcp-header": "Ratio"},
        "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
        "target": {
            "type": "object",
            "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}},
        },
        "plain": {"type": "string"},
        "note": {"x-mcp-header": "Note"},
    },
}


def stateless_app() -> App:
    """An app for the stateless revision: cache hints, mirrored headers, input-asking handlers."""
    app = App("stateless", "2.0.0", cache_ttl_ms=1000, cache_scope="public")

    @app.tool(input_schema=HEADER_SCHEMA)
    async def lookup(**arguments: object) -> str:
        """Mirrors its arguments in headers."""
        return "found"

    @app.tool()
    async def confirm(ctx: Context) -> str:
        """Asks the user to confirm."""
        answer = await ctx.elicit("Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
        return f"confirmed: {answer['action']}"

    @app.tool()
    async def count(n: int) -> AsyncIterator[str]:
        """Stream 1..n."""
        for i in range(1, n + 1):
            yield str(i)

    @app.resource("test://plain", mime_type="text/plain")
    async def plain() -> str:
        return "plain"

    @app.resource("test://cached", mime_type="text/plain", ttl_ms=60000, cache_scope="private")
    async def cached() -> str:
        return "cached"

    @app.resource_template("test://items/{id}", ttl_ms=5)
    async def item(id: str) -> str:
        return id

    @app.prompt()
    async def greet(name: str, ctx: Context) -> str:
        """Greets someone."""
        return f"Hello {name}"

    return app


def tools_only_app() -> App:
    """An app with one tool and nothing else (no prompts, resources or templates)."""
    app = App("tools-only", "0.0.1")

    @app.tool()
    async def ping_tool() -> str:
        """Answers pong."""
        return "pong"

    return app


def tasks_app() -> App:
    """Tools of every task kind: optional, required, forbidden, asking for input, manual start, streaming."""
    app = App("tasks")

    @app.tool(task_support="optional", on_lost="restart")
    async def slow(seconds: float = 1) -> str:
        return f"slept {seconds}"

    @app.tool(task_support="required")
    async def must() -> str:
        return "must"

    @app.tool()
    async def plain() -> str:
        return "plain"

    @app.tool(task_support="optional")
    async def asks(ctx: Context) -> str:
        answers = await ctx.ask({"a": InputRequest.elicitation("a?", {}), "b": InputRequest.elicitation("b?", {})})
        return str(sorted(answers))

    @app.tool(task_support="required", task_start="manual")
    async def manual(ctx: Context) -> str:
        await ctx.start_task()
        return "manual"

    @app.tool(task_support="optional")
    async def ticker() -> AsyncIterator[str]:
        yield "tick"

    return app
