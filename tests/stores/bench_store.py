"""Cost per store command of RedisStore on asyncio and trio, against the ways it could have been built.

Run: ``python tests/stores/bench_store.py [--n 2000] [--url redis://127.0.0.1:6379/0]``

For each backend it times, one command after another (latency, µs per command):
``LoadSession`` and ``AppendEvent`` through RedisStore (RESP client on anyio sockets);
the same Lua scripts through redis-py's synchronous client in anyio worker threads;
on asyncio also through redis-py's asyncio client. Then 16 tasks appending at once
(throughput, µs per command). Keys live under a unique prefix and are deleted at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import redis
import redis.asyncio

from mcp_sansio import AppendEvent, LoadSession, MemoryStore, SaveSession, SessionRecord
from mcp_sansio_redis import RedisStore
from mcp_sansio_redis._lua import APPEND, LOAD

ROUNDS = 5
Call = Callable[[], Awaitable[Any]]


async def sequential(n: int, call: Call) -> float:
    """``n`` calls one after another, in µs per call."""
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n * 1e6


async def concurrent(n: int, call: Call, tasks: int = 16) -> float:
    """``n`` calls spread over ``tasks`` tasks at once, in µs per call."""

    async def worker() -> None:
        for _ in range(n // tasks):
            await call()

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(worker)
    return (time.perf_counter() - start) / (n // tasks * tasks) * 1e6


async def bench(backend: str, url: str, n: int, hiredis: bool) -> dict[str, float]:
    """The best of ROUNDS interleaved rounds (the variants take turns, so machine noise hits all alike)."""
    prefix = f"bench:{uuid.uuid4().hex}:"
    store = RedisStore(url, prefix=prefix, prefer_hiredis=hiredis)
    session = SessionRecord("bench", "2025-11-25", client_info={"name": "bench", "version": "1"}, last_seen=1000.0)
    await store.execute(SaveSession(session))
    load = LoadSession("bench", 1000.0, 3600.0)
    append = AppendEvent("bench", "p1", b'{"jsonrpc":"2.0","method":"notifications/progress"}', 1000.0, 1000, 3600.0)
    # The alternatives run the very same scripts with the same arguments.
    load_args = (prefix, "bench", 1000.0, 3600.0)
    append_args = (prefix, "bench", "p2", 1000.0, 1000, 3600.0, 0, "inf", 3_660_000, 3_660_000, append.data)
    sync = redis.Redis.from_url(url)
    sync.execute_command("SCRIPT", "LOAD", LOAD.source)
    sync.execute_command("SCRIPT", "LOAD", APPEND.source)

    def threaded(sha: str, args: tuple[Any, ...]) -> Call:
        return lambda: anyio.to_thread.run_sync(lambda: sync.execute_command("EVALSHA", sha, 0, *args))

    memory = MemoryStore()
    memory.execute(SaveSession(session))
    variants: dict[str, Callable[[], Awaitable[float]]] = {
        "LoadSession, RedisStore": lambda: sequential(n, lambda: store.execute(load)),
        "AppendEvent, RedisStore": lambda: sequential(n, lambda: store.execute(append)),
        "AppendEvent, RedisStore, 16 tasks": lambda: concurrent(n, lambda: store.execute(append)),
        "LoadSession, redis-py sync in threads": lambda: sequential(n, threaded(LOAD.sha, load_args)),
        "AppendEvent, redis-py sync in threads": lambda: sequential(n, threaded(APPEND.sha, append_args)),
        "AppendEvent, redis-py sync in threads, 16 tasks": lambda: concurrent(n, threaded(APPEND.sha, append_args)),
        "LoadSession, MemoryStore (reference)": lambda: sequential(n, lambda: _sync(memory, load)),
    }
    native = redis.asyncio.Redis.from_url(url) if backend == "asyncio" else None
    if native is not None:
        variants["LoadSession, redis.asyncio"] = lambda: sequential(
            n, lambda: native.execute_command("EVALSHA", LOAD.sha, 0, *load_args)
        )
        variants["AppendEvent, redis.asyncio"] = lambda: sequential(
            n, lambda: native.execute_command("EVALSHA", APPEND.sha, 0, *append_args)
        )
    results = dict.fromkeys(variants, float("inf"))
    for _ in range(ROUNDS):
        for name, measure in variants.items():
            results[name] = min(results[name], await measure())
    if native is not None:
        await native.aclose()
    keys = list(sync.scan_iter(match=f"{prefix}*"))
    if keys:
        sync.delete(*keys)
    sync.close()
    await store.aclose()
    return results


async def _sync(store: MemoryStore, command: Any) -> Any:
    return store.execute(command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="commands per measurement")
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-hiredis", action="store_true", help="parse replies in pure Python")
    options = parser.parse_args()
    hiredis = not options.no_hiredis and importlib.util.find_spec("hiredis") is not None
    parser_name = "hiredis" if hiredis else "pure Python"
    print(f"µs per command, best of {ROUNDS} x {options.n}; reply parser: {parser_name}")
    for backend in ("asyncio", "trio"):
        for name, micros in anyio.run(bench, backend, options.url, options.n, hiredis, backend=backend).items():
            print(f"  {backend:8} {name:50} {micros:8.1f}")


if __name__ == "__main__":
    main()
