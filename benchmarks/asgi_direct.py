"""ASGI apps called directly, in this process: CPU per tools/call with no server and no sockets.

Both apps (ours, ``benchmarks.app:asgi``, and the official SDK's Streamable HTTP app with
``json_response=True``) run their lifespan, open one session, then answer ``count``
``tools/call`` requests, each a fresh ASGI HTTP scope whose body arrives in one message.
What is left is each app's own cost per request (protocol, routing, handler dispatch), the
part an ASGI server cannot speed up. Run it alone with ``python -m benchmarks.asgi_direct``;
``--profile`` prints the top of a cProfile of our app.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .app import asgi as our_app
from .app import build_sdk_app
from .client import HANDSHAKE, post_headers, session_headers, tools_call
from .report import Result

__all__ = ["asgi_direct_results", "per_request_us"]

WORKLOAD = "tools/call JSON, ASGI app called directly"

App = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]
_INIT = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
    }
).encode()


async def _request(app: App, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")] + [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    delivered = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    done.set()
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, b"".join(m.get("body", b"") for m in sent[1:])


async def _measure(app: App, count: int, profile: cProfile.Profile | None = None) -> float:
    """Microseconds of CPU per tools/call, after the app's lifespan started and a session opened."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await queue.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, lifespan_send))
    await started.wait()
    status, headers, _ = await _request(app, post_headers(), _INIT)
    session = headers["mcp-session-id"]
    await _request(app, session_headers(session), b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    body = tools_call(1, "echo", {"text": "hi"})
    for _ in range(50):  # warm up
        await _request(app, session_headers(session), body)
    if profile is not None:
        profile.enable()
    began = time.process_time()
    for _ in range(count):
        status, _, answer = await _request(app, session_headers(session), body)
        if status != 200 or b'"hi"' not in answer:
            raise RuntimeError(f"tools/call failed: {status} {answer!r}")
    spent = time.process_time() - began
    if profile is not None:
        profile.disable()
    await queue.put({"type": "lifespan.shutdown"})
    await lifespan
    return spent / count * 1e6


def per_request_us(count: int) -> dict[str, float]:
    """CPU microseconds per JSON tools/call for ours and the SDK's app, each in a fresh event loop."""
    return {
        "asgi app (ours)": asyncio.run(_measure(our_app, count)),
        "sdk asgi app": asyncio.run(_measure(build_sdk_app(True), count)),
    }


def asgi_direct_results(count: int) -> list[Result]:
    """Rows for the benchmark table: requests/s of CPU (1e6 / us per request) for both apps."""
    measured = per_request_us(count)
    note = f"{count} tools/call, app called directly (no server, no sockets); CPU per request"
    return [
        Result(WORKLOAD, server, 1e6 / us, "req/s of CPU", note=f"{note}: {us:.0f} us")
        for server, us in measured.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asgi_direct")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="profile our app and print the top 25 entries")
    args = parser.parse_args()
    if args.profile:
        profile = cProfile.Profile()
        us = asyncio.run(_measure(our_app, args.count, profile))
        print(f"asgi app (ours): {us:.1f} us per tools/call (profiled, so slower)")
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    for server, us in per_request_us(args.count).items():
        print(f"{server}: {us:.1f} us of CPU per tools/call ({1e6 / us:,.0f}/s)")


if __name__ == "__main__":
    main()
