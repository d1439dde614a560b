"""The workloads: what each server is put through, and how each becomes rows of the table.

Every workload runs on a freshly started server, so no workload inherits
another's sessions, garbage or peak memory. Request/response workloads use wrk;
the streaming and idle-session workloads use the httpx client, which reads raw
bytes and does little per event; the open-stream workload holds its streams with a
minimal client of its own (``rawhttp``), cheap enough to hold 10,000.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from . import rawhttp
from .client import (
    HANDSHAKE,
    STATELESS,
    McpClient,
    open_sessions,
    post_headers,
    session_headers,
    stateless_meta,
    tools_call,
)
from .report import Result
from .servers import Mode, RunningServer, proc_status_bytes, reset_peak
from .wrk import WrkResult, run_wrk, run_wrk_sessions

__all__ = ["Settings", "FULL", "SMOKE", "Workload", "workloads"]


@dataclass(frozen=True)
class Settings:
    """How long and how big: the full run, or the smoke run that only keeps the code working."""

    rounds: int
    seconds: int  # per wrk round
    warmup: int  # wrk seconds before the rounds, not measured (0: none)
    concurrency: tuple[int, ...]
    chunks: int
    idle_sessions: int
    open_streams: int
    pings: int
    core_exchanges: int
    core_events: int
    core_sessions: int
    core_seconds: float
    step_timeout: float  # bound on each client-driven step
    machine_examples: int = 300  # hypothesis examples of the testing kit's state machine
    redis_requests: int = 1_000  # tools/call requests whose Redis round trips are counted
    redis_connections: int = 30  # wrk connections of the round-robin rows, split among the instances
    redis_instances: tuple[int, ...] = (1, 2, 3)  # instance counts of the round-robin rows


FULL = Settings(3, 5, 2, (1, 32), 10_000, 10_000, 10_000, 200, 200_000, 500_000, 10_000, 10.0, 600.0)
SMOKE = Settings(
    1,
    1,
    0,
    (1, 32),
    200,
    50,
    20,
    10,
    2_000,
    5_000,
    200,
    1.0,
    60.0,
    machine_examples=10,
    redis_requests=20,
    redis_connections=6,
)


@dataclass(frozen=True)
class Workload:
    """A named measurement; ``run`` returns its rows for one started server."""

    name: str
    mode: Mode  # the server option it needs (the SDK's json_response)
    run: Callable[[RunningServer, Settings], list[Result]]


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _wrk_rows(
    server: RunningServer,
    settings: Settings,
    label: str,
    era: Literal["handshake", "stateless"],
    tool: str,
    answer: Literal["json", "sse"],
) -> list[Result]:
    rows: list[Result] = []
    version = HANDSHAKE if era == "handshake" else STATELESS
    for connections in settings.concurrency:
        sessions: list[str] = []
        if era == "handshake":  # one session per connection, used in turn
            with McpClient(server.url) as client:
                sessions = [client.initialize() for _ in range(connections)]

        load = functools.partial(
            run_wrk,
            server.url,
            connections=connections,
            era=era,
            version=version,
            tool=tool,
            answer=answer,
            sessions=sessions,
        )
        rows.append(_wrk_result(server, settings, load, f"{label} c={connections}", "req/s", f"tool {tool}"))
    return rows


def _wrk_result(
    server: RunningServer,
    settings: Settings,
    load: Callable[..., WrkResult],
    workload: str,
    unit: str,
    about: str,
) -> Result:
    """Warm up, then ``settings.rounds`` wrk runs of ``load``: their medians as one row."""
    if settings.warmup:
        load(seconds=settings.warmup)
    reset_peak(server.pid)
    runs = [load(seconds=settings.seconds) for _ in range(settings.rounds)]
    return Result(
        workload,
        server.spec.name,
        _median([r.rate for r in runs]),
        unit,
        p50_ms=_median([r.p50_ms for r in runs]),
        p99_ms=_median([r.p99_ms for r in runs]),
        peak_rss=proc_status_bytes(server.pid, "VmHWM"),
        note=f"{settings.rounds}x{settings.seconds}s, {about}",
    )


def _json(server: RunningServer, settings: Settings) -> list[Result]:
    return _wrk_rows(server, settings, "tools/call JSON", "handshake", "echo", "json")


def _sse(server: RunningServer, settings: Settings) -> list[Result]:
    return _wrk_rows(server, settings, "tools/call SSE", "handshake", server.spec.sse_tool, "sse")


def _stateless_support(server: RunningServer) -> str | None:
    """None if the server answers a 2026-07-28 tools/call; else why not."""
    headers = {**post_headers(), "mcp-protocol-version": STATELESS, "mcp-method": "tools/call", "mcp-name": "echo"}
    with McpClient(server.url) as client:
        answer = client.post(headers, tools_call("probe", "echo", {"text": "hello"}, stateless_meta()))
    if answer.status_code == 200 and answer.text.startswith("{") and '"text":"hello"' in answer.text:
        return None
    return f"not implemented yet (a 2026-07-28 tools/call got HTTP {answer.status_code})"


def _stateless(server: RunningServer, settings: Settings) -> list[Result]:
    label = f"tools/call stateless JSON ({STATELESS})"
    why = _stateless_support(server)
    if why is not None:
        return [Result(f"{label} c={c}", server.spec.name, None, "req/s", skipped=why) for c in settings.concurrency]
    return _wrk_rows(server, settings, label, "stateless", "echo", "json")


def _count_stream(response: httpx.Response, deadline: float) -> tuple[int, bool]:
    """Progress notifications in an SSE body, and whether the final result came; read raw."""
    marker, tail, count, final = b'"notifications/progress"', b"", 0, False
    for chunk in response.iter_raw():
        data = tail + chunk
        count += data.count(marker)
        final = final or b'"result"' in data
        tail = data[-(len(marker) - 1) :]
        if time.monotonic() > deadline:
            raise TimeoutError("the stream took too long")
    return count, final


def _stream(server: RunningServer, settings: Settings) -> list[Result]:
    n = settings.chunks
    rates = []
    with McpClient(server.url, timeout=settings.step_timeout) as client:
        headers = session_headers(client.initialize())
        reset_peak(server.pid)
        for attempt in range(settings.rounds + (1 if settings.warmup else 0)):
            body = tools_call(attempt, "stream_numbers", {"count": n}, {"progressToken": f"p{attempt}"})
            start = time.perf_counter()
            with client.http.stream("POST", server.url, headers=headers, content=body) as response:
                if response.status_code != 200 or not response.headers["content-type"].startswith("text/event-stream"):
                    raise RuntimeError(f"stream_numbers answered HTTP {response.status_code} {response.headers}")
                count, final = _count_stream(response, time.monotonic() + settings.step_timeout)
            if count != n or not final:
                raise RuntimeError(f"got {count} of {n} progress events, final result: {final}")
            rates.append(n / (time.perf_counter() - start))
    measured = rates[1:] if settings.warmup else rates
    return [
        Result(
            f"stream {n:,} chunks",
            server.spec.name,
            _median(measured),
            "events/s",
            peak_rss=proc_status_bytes(server.pid, "VmHWM"),
            note="progress events, one tools/call",
        )
    ]


def _opening(server: RunningServer, settings: Settings) -> list[Result]:
    load = functools.partial(run_wrk_sessions, server.url, connections=32, version=HANDSHAKE)
    about = "wrk: initialize + notifications/initialized"
    return [_wrk_result(server, settings, load, "session opening c=32", "sessions/s", about)]


def _idle(server: RunningServer, settings: Settings) -> list[Result]:
    n = settings.idle_sessions
    with McpClient(server.url) as client:
        client.initialize()  # first-use allocations are not per session
    time.sleep(0.2)
    before = proc_status_bytes(server.pid, "VmRSS")
    reset_peak(server.pid)
    start = time.perf_counter()
    asyncio.run(open_sessions(server.url, n, timeout=settings.step_timeout))
    elapsed = time.perf_counter() - start
    time.sleep(0.5)
    grown = proc_status_bytes(server.pid, "VmRSS") - before
    return [
        Result(
            f"{n:,} idle sessions",
            server.spec.name,
            grown / n,
            "B/session",
            higher_is_better=False,
            peak_rss=proc_status_bytes(server.pid, "VmHWM"),
            note=f"RSS delta / sessions; opened at {n / elapsed:,.0f}/s by 4 httpx clients",
        )
    ]


async def _open_streams(server: RunningServer, settings: Settings) -> Result:
    n = settings.open_streams
    sessions = await open_sessions(server.url, n + 1, concurrency=16, timeout=settings.step_timeout)
    pinger = sessions.pop()
    before = proc_status_bytes(server.pid, "VmRSS")
    reset_peak(server.pid)
    split = urlsplit(server.url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    opening = asyncio.Semaphore(256)  # connects at a time: the listen backlog is finite
    held: list[rawhttp.Connection] = []

    async def hold(session: str) -> None:
        headers = {"accept": "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": HANDSHAKE}
        async with opening:
            connection = await rawhttp.connect(host, port)
            held.append(connection)
            reply = await connection.request("GET", split.path, headers, read_body=False)
        if reply.status != 200:
            raise RuntimeError(f"GET stream answered HTTP {reply.status}")

    try:
        await asyncio.wait_for(asyncio.gather(*(hold(s) for s in sessions)), settings.step_timeout)
        await asyncio.sleep(0.5)  # let the server settle before reading its memory
        rss = proc_status_bytes(server.pid, "VmRSS")
        latencies = await _pings(server.url, pinger, settings.pings)
        server.check_alive()
        if any(c.reader.at_eof() for c in held):
            raise RuntimeError("a GET stream ended while the pings ran")
    finally:
        await asyncio.gather(*(c.close() for c in held), return_exceptions=True)
    latencies.sort()
    return Result(
        f"{n:,} open SSE streams",
        server.spec.name,
        float(rss),
        "B RSS",
        higher_is_better=False,
        p50_ms=latencies[len(latencies) // 2],
        p99_ms=latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)],
        peak_rss=proc_status_bytes(server.pid, "VmHWM"),
        note=f"RSS with the streams open ({(rss - before) / n / 1024:,.1f} KiB/stream); latency of pings meanwhile",
    )


async def _pings(url: str, session: str, count: int) -> list[float]:
    body = b'{"jsonrpc":"2.0","id":%d,"method":"ping"}'
    latencies = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for i in range(count):
            start = time.perf_counter()
            answer = await http.post(url, headers=session_headers(session), content=body % i)
            latencies.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200 or '"result"' not in answer.text:
                raise RuntimeError(f"ping answered HTTP {answer.status_code} {answer.text[:200]!r}")
    return latencies


def _streams(server: RunningServer, settings: Settings) -> list[Result]:
    return [asyncio.run(_open_streams(server, settings))]


def workloads(settings: Settings) -> list[Workload]:
    """Every workload, in the order they run."""
    return [
        Workload("tools/call JSON", "json", _json),
        Workload("tools/call SSE", "sse", _sse),
        Workload(f"tools/call stateless JSON ({STATELESS})", "json", _stateless),
        Workload(f"stream {settings.chunks:,} chunks", "sse", _stream),
        Workload("session opening", "sse", _opening),
        Workload(f"{settings.idle_sessions:,} idle sessions", "sse", _idle),
        Workload(f"{settings.open_streams:,} open SSE streams", "sse", _streams),
    ]
