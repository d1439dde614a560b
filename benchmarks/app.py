"""The servers under test: the same three tools for mcp-sansio and for the official SDK.

``app`` is ours (``mcp-sansio serve benchmarks/app.py:app``), ``asgi`` the same core as
an ASGI app; the module imports no SDK module at the top, so the SDK never inflates our
servers' memory.
``python -m benchmarks.app --port P [--json]`` serves the official SDK's
equivalent under uvicorn (log level warning, no access log).

Tools (same names and answers on both):
    echo(text): returns ``text``; answers JSON (ours always; the SDK with ``--json``).
    echo_logged(text): logs once, then returns ``text``; the log forces SSE on ours.
    stream_numbers(count): ``count`` progress events, then the result. Ours is an
        async generator (one chunk per event); the SDK's calls ``report_progress``.
"""

import argparse
from collections.abc import AsyncIterator
from typing import Any

from mcp_sansio import App, Config, Context, Server
from mcp_sansio_asgi import AsgiApp

# Every bound is generous enough for the largest workload (10,000 idle sessions
# plus the sessions the other steps open); everything else is the default.
MAX_SESSIONS = 1_000_000

_app = App("bench", "1.0.0")


@_app.tool()
async def echo(text: str) -> str:
    """Returns its argument."""
    return text


@_app.tool()
async def echo_logged(text: str, ctx: Context) -> str:
    """Logs once, then returns its argument (the log switches the response to SSE)."""
    await ctx.log("info", "echo")
    return text


@_app.tool()
async def stream_numbers(count: int) -> AsyncIterator[str]:
    """Streams 1..count, one chunk each."""
    for number in range(1, count + 1):
        yield str(number)


# A 10,000-chunk stream is 10,001 events: the log keeps them all, so a resume from its first event
# (the cross-instance row) never meets an evicted one (it would get 410, as it should).
MAX_EVENTS = 20_000
app = Server(_app, Config(max_sessions=MAX_SESSIONS, validate_loopback=True, max_events_per_stream=MAX_EVENTS))
asgi = AsgiApp(app)  # the same core under an ASGI server: uvicorn benchmarks.app:asgi


def build_sdk_app(json_response: bool) -> Any:
    """The official SDK's Streamable HTTP ASGI app with the same tools."""
    from mcp.server.mcpserver import Context as SdkContext
    from mcp.server.mcpserver import MCPServer

    sdk = MCPServer("bench", version="1.0.0", log_level="WARNING")

    @sdk.tool()
    async def echo(text: str) -> str:
        """Returns its argument."""
        return text

    @sdk.tool()
    async def echo_logged(text: str, ctx: SdkContext) -> str:
        """Logs once, then returns its argument."""
        await ctx.info("echo")
        return text

    @sdk.tool()
    async def stream_numbers(count: int, ctx: SdkContext) -> str:
        """Reports progress 1..count, then returns the count."""
        for number in range(1, count + 1):
            await ctx.report_progress(number, count, str(number))
        return str(count)

    return sdk.streamable_http_app(json_response=json_response, max_sessions=MAX_SESSIONS)


def sdk_main(argv: list[str] | None = None) -> None:
    """Serve the SDK app under uvicorn on 127.0.0.1 (blocking)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m benchmarks.app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--json", action="store_true", help="json_response=True (else the SDK answers SSE)")
    args = parser.parse_args(argv)
    uvicorn.run(
        build_sdk_app(args.json),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    sdk_main()
