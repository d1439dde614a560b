"""``python -m benchmarks.profile``: where a request's time goes, per request, in the core and the h11 server.

Usage::

    python -m benchmarks.profile core          # the core alone: tools/call JSON exchanges, then SSE events
    python -m benchmarks.profile h11           # h11 on asyncio under wrk (tools/call JSON, 32 connections)
    python -m benchmarks.profile h11 --backend trio --tool echo_logged --answer sse
    python -m benchmarks.profile h11 --redis-url redis://127.0.0.1:6379/0 --connections 1
    python -m benchmarks.profile h11-protocol  # h11's own share: one request/response cycle, no sockets

Each prints the CPU time per request without the profiler (what the speed figures
rest on), then cProfile's top functions by own time, divided by the number of
requests: microseconds and calls per request. The profiler's own overhead inflates
every entry about alike, so read the shares, not the sum. With ``--redis-url`` the
server keeps its sessions and logs in Redis, under a key prefix of its own that is
deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .client import HANDSHAKE, McpClient
from .core_bench import events_per_second, exchanges_per_second
from .redis_bench import RedisAdmin, cpu_seconds
from .servers import HOST, ROOT, free_port
from .wrk import run_wrk

__all__ = ["top_entries"]


def top_entries(stats: pstats.Stats, per: int, limit: int) -> list[str]:
    """The ``limit`` functions with the most own time, as lines of µs and calls per unit of ``per``."""
    rows = []
    for (filename, line, name), (_, calls, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = name if filename == "~" else f"{Path(filename).name}:{line}({name})"
        rows.append((own / per * 1e6, calls / per, where))
    rows.sort(reverse=True)
    lines = [f"{'µs/req':>8} {'calls/req':>9}  function"]
    lines += [f"{us:8.2f} {calls:9.2f}  {where}" for us, calls, where in rows[:limit]]
    return lines


def _profile(step: Callable[[], None], per: int, limit: int) -> list[str]:
    profiler = cProfile.Profile()
    profiler.runcall(step)
    return top_entries(pstats.Stats(profiler), per, limit)


def _core(limit: int) -> None:
    count = 30_000
    start = time.process_time()
    exchanges_per_second(count, 60.0)
    print(f"core tools/call JSON: {(time.process_time() - start) / count * 1e6:.2f} µs CPU per exchange")
    print("\n".join(_profile(lambda: exchanges_per_second(count, 60.0), count, limit)))
    events = 100_000
    start = time.process_time()
    events_per_second(events, 60.0)
    print(f"\ncore SSE events: {(time.process_time() - start) / events * 1e6:.2f} µs CPU per event")
    print("\n".join(_profile(lambda: events_per_second(events, 60.0), events, limit)))


# What wrk sends for a tools/call (benchmarks/tools_call.lua) and what the h11 server answers.
_REQUEST_HEAD = (
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\n"
    b"Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-11-25\r\n"
    b"Mcp-Session-Id: Qm9ndXMtc2Vzc2lvbi1pZC1mb3ItYmVuY2g\r\nContent-Length: %d\r\n\r\n"
)
_REQUEST_BODY = b'{"jsonrpc":"2.0","id":"1-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}'
_RESPONSE_BODY = b'{"jsonrpc":"2.0","id":"1-1","result":{"content":[{"type":"text","text":"hi"}]}}'


def h11_cycle_seconds(cycles: int) -> float:
    """CPU seconds h11 spends per tools/call on the server side: parse the request, write the JSON answer."""
    import h11

    request = _REQUEST_HEAD % len(_REQUEST_BODY) + _REQUEST_BODY
    headers = [
        ("content-type", "application/json"),
        ("mcp-session-id", "Qm9ndXMtc2Vzc2lvbi1pZC1mb3ItYmVuY2g"),
        ("content-length", str(len(_RESPONSE_BODY))),
    ]
    connection = h11.Connection(h11.SERVER)
    start = time.process_time()
    for _ in range(cycles):
        connection.receive_data(request)
        while not isinstance(connection.next_event(), h11.EndOfMessage):
            pass
        connection.send(h11.Response(status_code=200, headers=headers))
        connection.send(h11.Data(data=_RESPONSE_BODY))
        connection.send(h11.EndOfMessage())
        connection.start_next_cycle()
    return (time.process_time() - start) / cycles


def _h11_protocol(limit: int) -> None:
    per = min(h11_cycle_seconds(20_000) for _ in range(3))
    print(f"h11 alone, one tools/call request parsed and its JSON answer written: {per * 1e6:.1f} µs CPU")
    print("\n".join(_profile(lambda: h11_cycle_seconds(20_000), 20_000, limit)))


def _serve(port: int, backend: str, profile_to: Path | None, redis: list[str]) -> subprocess.Popen[bytes]:
    profiled = ["-m", "cProfile", "-o", str(profile_to)] if profile_to is not None else []
    command = [sys.executable, *profiled, "-m", "mcp_sansio_h11.cli", "serve", "benchmarks/app.py:app"]
    command += ["--host", HOST, "--port", str(port), "--backend", backend, *redis]
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with McpClient(url) as client:
                client.initialize()
            return
        except Exception:  # not listening yet
            time.sleep(0.1)
    raise TimeoutError("the server was not ready after 30s")


def _load(url: str, args: argparse.Namespace) -> int:
    """Sessions, then wrk for ``args.seconds``: the requests answered."""
    with McpClient(url) as client:
        sessions = [client.initialize() for _ in range(args.connections)]
    return run_wrk(
        url,
        connections=args.connections,
        seconds=args.seconds,
        era="handshake",
        version=HANDSHAKE,
        tool=args.tool,
        answer=args.answer,
        sessions=sessions,
    ).requests


def _h11(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        redis: list[str] = []
        if args.redis_url is not None:
            admin = stack.enter_context(RedisAdmin(args.redis_url))
            redis = ["--redis-url", args.redis_url, "--redis-prefix", stack.enter_context(admin.prefix())]
        _h11_with(args, redis)


def _h11_with(args: argparse.Namespace, redis: list[str]) -> None:
    port = free_port()
    url = f"http://{HOST}:{port}/mcp"
    plain = _serve(port, args.backend, None, redis)
    try:
        _wait_ready(url, plain)
        before = cpu_seconds(plain.pid)
        requests = _load(url, args)
        used = cpu_seconds(plain.pid) - before
    finally:
        plain.send_signal(signal.SIGINT)
        plain.wait(30)
    store = "Redis" if redis else "memory"
    print(
        f"h11 {args.backend}, {store} store, tools/call {args.tool} ({args.answer}), c={args.connections}: "
        f"{requests / args.seconds:,.0f} req/s, {used / requests * 1e6:.1f} µs server CPU per request"
    )
    if args.top == 0:
        return
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "h11.prof"
        port = free_port()
        url = f"http://{HOST}:{port}/mcp"
        profiled = _serve(port, args.backend, output, redis)
        try:
            _wait_ready(url, profiled)
            requests = _load(url, args)
        finally:
            profiled.send_signal(signal.SIGINT)
            profiled.wait(60)
        print("\n".join(top_entries(pstats.Stats(str(output)), requests, args.top)))


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and print the profile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    parser.add_argument("target", choices=["core", "h11", "h11-protocol"])
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--tool", default="echo")
    parser.add_argument("--answer", default="json", choices=["json", "sse"])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25, help="functions to list (0: only the CPU per request)")
    parser.add_argument("--redis-url", help="keep sessions and logs in this Redis (h11 only)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.target == "core":
        _core(args.top)
    elif args.target == "h11-protocol":
        _h11_protocol(args.top)
    else:
        _h11(args)


if __name__ == "__main__":
    main()
