"""Small apps the tests serve."""

from __future__ import annotations

from collections.abc import AsyncIterator

from mcp_sansio import App, Context, ToolError


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
