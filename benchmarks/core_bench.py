"""The core alone, in this process, without sockets: exchanges/s, SSE events/s, bytes per idle session.

Each loop drives :class:`mcp_sansio.Server` the way an adapter does, minus the
I/O: build the request head, ``receive`` it, run the plan against a
:class:`MemoryStore`, and report the handler's outcome (a value computed
synchronously, without running the coroutine) through the exchange.
Run it alone with ``python -m benchmarks.core_bench``.
"""

from __future__ import annotations

import gc
import itertools
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from mcp_sansio import Call, Exchange, HttpRequest, MemoryStore, RunHandler, SendEvent, SendResponse, Server, run_plan

from .app import app as bench_server
from .client import HANDSHAKE, post_headers, session_headers, tools_call
from .report import Result

__all__ = ["core_results", "exchanges_per_second", "events_per_second", "bytes_per_idle_session"]

SERVER = "core (no sockets)"
_INITIALIZE = (
    b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"' + HANDSHAKE.encode() + b'",'
    b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
)
_INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
# The request body from a template: encoding it is the client's work, not the core's (json.dumps
# of it costs about as much as a fifth of the exchange it measures).
_ECHO = tools_call(0, "echo", {"text": "hello"}).replace(b'"id": 0,', b'"id": %d,', 1)
assert b"%d" in _ECHO, "the client's tools/call body changed shape"


def _fresh() -> tuple[Server, MemoryStore]:
    # A new Server per measurement, sharing the benchmark app's registry and config.
    return Server(bench_server.app, bench_server.config), MemoryStore()


def _post(headers: dict[str, str]) -> HttpRequest:
    return HttpRequest.build("POST", "/mcp", [("host", "127.0.0.1"), *headers.items()])


def _open_session(server: Server, store: MemoryStore) -> str:
    outputs = run_plan(server.receive(_post(post_headers()), _INITIALIZE), store)
    answer = outputs[-1]
    session = dict(answer.headers).get("mcp-session-id") if isinstance(answer, SendResponse) else None
    if session is None:
        raise RuntimeError(f"initialize failed in the core: {outputs!r}")
    done = run_plan(server.receive(_post(session_headers(session)), _INITIALIZED), store)
    if not (isinstance(done[-1], SendResponse) and done[-1].status == 202):
        raise RuntimeError(f"notifications/initialized failed in the core: {done!r}")
    return session


def _handler(outputs: list[Any]) -> tuple[Call, Exchange]:
    runs = [o for o in outputs if isinstance(o, RunHandler)]
    if len(runs) != 1:
        raise RuntimeError(f"expected one RunHandler, got {outputs!r}")
    return runs[0].call, runs[0].exchange


def _timed(limit: int, seconds: float, step: Callable[[int], int], slices: int = 5) -> float:
    """Units/s of ``step(i)`` (which returns how many units it did): the best of ``slices`` slices.

    Each slice runs up to ``limit / slices`` units or ``seconds / slices``. The best slice, as
    timeit advises: the code costs what its fastest run took; slower ones met other processes.
    """
    best = 0.0
    counter = itertools.count()
    for _ in range(slices):
        done = 0
        start = time.perf_counter()
        deadline = start + seconds / slices
        for i in counter:
            done += step(i)
            if done * slices >= limit or (i & 63 == 0 and time.perf_counter() > deadline):
                break
        best = max(best, done / (time.perf_counter() - start))
    return best


def exchanges_per_second(limit: int, seconds: float) -> float:
    """tools/call echo through receive, run_plan and exchange.complete, each answering JSON."""
    server, store = _fresh()
    session = _open_session(server, store)
    headers = [("host", "127.0.0.1"), *session_headers(session).items()]

    def one(i: int) -> int:
        request = HttpRequest.build("POST", "/mcp", headers)
        call, exchange = _handler(run_plan(server.receive(request, _ECHO % i), store))
        answer = run_plan(exchange.complete(call, "hello"), store)
        if not isinstance(answer[-1], SendResponse) or answer[-1].status != 200:
            raise RuntimeError(f"unexpected answer {answer!r}")
        return 1

    one(-1)  # warm up
    return _timed(limit, seconds, one)


def events_per_second(limit: int, seconds: float, per_exchange: int = 1000) -> float:
    """SSE events through exchange.chunk (a streaming tool with a progressToken), logged and framed."""
    server, store = _fresh()
    session = _open_session(server, store)
    headers = [("host", "127.0.0.1"), *session_headers(session).items()]

    def one(i: int) -> int:
        body = tools_call(i, "stream_numbers", {"count": per_exchange}, {"progressToken": i})
        call, exchange = _handler(run_plan(server.receive(HttpRequest.build("POST", "/mcp", headers), body), store))
        events = 0
        for n in range(per_exchange):
            events += sum(isinstance(o, SendEvent) for o in run_plan(exchange.chunk(call, str(n)), store))
        run_plan(exchange.complete(call, None), store)
        if events != per_exchange:
            raise RuntimeError(f"{events} events for {per_exchange} chunks")
        return events

    return _timed(limit, seconds, one)


def bytes_per_idle_session(count: int) -> float:
    """Memory the core and MemoryStore keep per idle initialized session, measured with tracemalloc."""
    server, store = _fresh()
    _open_session(server, store)  # first-use allocations are not per session
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(count):
            _open_session(server, store)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    if len(store.session_ids()) != count + 1:
        raise RuntimeError(f"{len(store.session_ids())} sessions stored, expected {count + 1}")
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return grown / count


def core_results(exchanges: int, events: int, sessions: int, seconds: float) -> list[Result]:
    """The core's rows of the table."""
    return [
        Result(
            "core: tools/call exchanges",
            SERVER,
            exchanges_per_second(exchanges, seconds),
            "exchanges/s",
            note="target >= 50,000; synchronous handler value; best of 5 slices",
        ),
        Result(
            "core: SSE events",
            SERVER,
            events_per_second(events, seconds),
            "events/s",
            note="target >= 150,000; exchange.chunk with progressToken; best of 5 slices",
        ),
        Result(
            f"core: {sessions:,} idle sessions",
            "MemoryStore (tracemalloc)",
            bytes_per_idle_session(sessions),
            "B/session",
            higher_is_better=False,
            note="target <= 2,048 B",
        ),
    ]


if __name__ == "__main__":
    for row in core_results(200_000, 500_000, 10_000, 10.0):
        print(f"{row.workload:<32} {row.value:>12,.0f} {row.unit}")
