"""With Redis: what the Redis store costs one instance, and what instances sharing one Redis do together.

``python -m benchmarks`` runs these after the other workloads and prints their rows as a
second table (``--no-redis`` skips them, ``--workload Redis`` runs only them). The servers
are the h11 server's entries of :data:`REDIS_BASES` (``mcp-sansio serve benchmarks/app.py:app``),
started with ``--redis-url`` and ``--redis-prefix`` like any other :class:`ServerSpec`.
Every workload gets a key prefix of its own (``mcpbench-<run>-<n>:``) and deletes every
key under it once its servers have stopped, also on errors; no other key is touched, and
nothing is written to Redis but by the servers under test.

Workloads:
    tools/call: wrk against one instance with the memory store and one with Redis, both
        running, their rounds alternating (JSON ``echo`` and SSE ``echo_logged``, each
        concurrency); the ratio column is Redis / memory.
    round-robin: 1, 2 and 3 instances on one prefix; one wrk with one thread per instance,
        each thread's sessions opened on the next instance, so that no request is served
        by the instance that opened its session. The machine's cores are shared by all.
    streams: a 10,000-chunk tools/call read on its instance (memory, then Redis), then
        started by a POST on instance A, dropped after its first event and read with
        GET + ``Last-Event-ID`` on instance B: events/s as received on B.
    round trips: tools/call requests one at a time on one instance whose Redis URL is a
        counting proxy (:class:`CountingProxy`): round trips and commands per request, by
        command and script; ``INFO commandstats`` over the same requests besides.
    memory: ``MEMORY USAGE`` summed over the prefix's keys around opening idle sessions,
        and of one stream's log per event; ``INFO memory`` deltas besides.

Run it alone with ``python -m benchmarks --workload Redis --no-core``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import os
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from .client import HANDSHAKE, McpClient, open_sessions, session_headers, tools_call
from .report import Result
from .servers import HOST, SERVERS, RunningServer, ServerSpec, proc_status_bytes, reset_peak, running
from .workloads import Settings, _count_stream, _stream
from .wrk import Target, WrkResult, run_wrk

__all__ = [
    "DEFAULT_URL",
    "REDIS_BASES",
    "CountingProxy",
    "cpu_seconds",
    "RedisAdmin",
    "RedisWorkload",
    "describe",
    "memory_baseline",
    "redis_bases",
    "redis_problem",
    "redis_server_name",
    "redis_spec",
    "redis_workloads",
    "shown_url",
]

DEFAULT_URL = os.environ.get("MCP_SANSIO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_BASES = ("h11 asyncio+uvloop",)  # names in SERVERS measured with Redis (an h11 server: it has --redis-url)
_MEMORY, _REDIS = "memory", "Redis"
_SETTLE = 0.3  # seconds for commands a server sends after its answer (a release) before a snapshot


# -- Redis, as the harness sees it -------------------------------------------------------


def shown_url(url: str) -> str:
    """``url`` with its password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redis_problem(url: str) -> str | None:
    """None if Redis at ``url`` answers a PING; else why it cannot be used (one line)."""
    try:
        import redis
    except ImportError:
        return "redis-py is not installed (the dev extra has it: pip install -e '.[dev]')"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    except ValueError as exc:
        return f"{shown_url(url)} is not a Redis URL ({exc})"
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {shown_url(url)} ({exc})"
    finally:
        client.close()
    return None


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


class RedisAdmin:
    """The harness's own redis-py connection: key prefixes and their cleanup, INFO, MEMORY USAGE.

    It reads only keys under the prefixes it hands out, and deletes exactly those.
    """

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=60)
        self.run = f"mcpbench-{secrets.token_hex(4)}"
        self._numbers = itertools.count(1)

    def __enter__(self) -> RedisAdmin:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.delete(f"{self.run}-")  # whatever a workload left (none should)
        finally:
            self.client.close()

    @contextlib.contextmanager
    def prefix(self) -> Iterator[str]:
        """A key prefix no one else uses; every key under it is deleted on exit (stop its servers first)."""
        name = f"{self.run}-{next(self._numbers)}:"
        try:
            yield name
        finally:
            self.delete(name)

    def keys(self, prefix: str) -> list[bytes]:
        """Every key under ``prefix`` (SCAN with MATCH: only names under it are returned)."""
        return list(self.client.scan_iter(match=_glob_escape(prefix) + "*", count=1000))

    def delete(self, prefix: str) -> int:
        """Delete every key under ``prefix``; how many there were."""
        found = self.keys(prefix)
        for start in range(0, len(found), 1000):
            self.client.unlink(*found[start : start + 1000])
        return len(found)

    def memory_usage(self, prefix: str) -> tuple[int, int]:
        """Bytes (``MEMORY USAGE key SAMPLES 0``, exact) summed over the keys under ``prefix``, and their count."""
        found = self.keys(prefix)
        total = 0
        for start in range(0, len(found), 1000):
            pipe = self.client.pipeline(transaction=False)
            for key in found[start : start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(size or 0 for size in pipe.execute())  # None: it expired meanwhile
        return total, len(found)

    def used_memory(self) -> int:
        """``used_memory`` of ``INFO memory``: the whole server's, so anyone's writes move it."""
        return int(self.client.info("memory")["used_memory"])

    def commandstats(self) -> Counter[str]:
        """Calls per command since Redis started (``INFO commandstats``), commands inside scripts included."""
        stats = self.client.info("commandstats")
        return Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()})

    def version(self) -> str:
        """The Redis server's version."""
        return str(self.client.info("server")["redis_version"])

    def log_keys(self, prefix: str) -> list[bytes]:
        """The event logs (Redis streams) under ``prefix``."""
        return self.keys(f"{prefix}log:")

    def log_figures(self, key: bytes) -> tuple[int, int, int, int]:
        """A log's entries, its MEMORY USAGE, and the data bytes of its first and of its last entry."""
        entries = int(self.client.xlen(key))
        usage = int(self.client.memory_usage(key, samples=0) or 0)
        first: Any = self.client.xrange(key, count=1)
        last: Any = self.client.xrevrange(key, count=1)
        if not first or not last:
            raise RuntimeError(f"the log {key!r} is empty")
        return entries, usage, len(first[0][1][b"d"]), len(last[0][1][b"d"])


# -- servers ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far: contention from other processes hardly moves it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(load: Callable[[], WrkResult], pids: Sequence[int]) -> tuple[WrkResult, float]:
    """One wrk run, and the CPU seconds the servers ``pids`` spent meanwhile."""
    before = sum(cpu_seconds(pid) for pid in pids)
    result = load()
    return result, sum(cpu_seconds(pid) for pid in pids) - before


def redis_server_name(base: ServerSpec) -> str:
    """How the table names ``base`` serving with Redis (what ``--server`` matches)."""
    return f"{base.name}, {_REDIS}"


def memory_baseline(row: Result) -> str:
    """The server whose row a Redis row is compared with: the same server on the memory store."""
    return row.server.replace(f", {_REDIS}", f", {_MEMORY}")


def redis_spec(base: ServerSpec, url: str, prefix: str) -> ServerSpec:
    """``base`` keeping its sessions and event logs in Redis at ``url`` under ``prefix``."""

    def command(port: int, mode: Literal["json", "sse"]) -> list[str]:
        return [*base.command(port, mode), "--redis-url", url, "--redis-prefix", prefix]

    return replace(base, name=redis_server_name(base), command=command)


def _memory_spec(base: ServerSpec) -> ServerSpec:
    return replace(base, name=f"{base.name}, {_MEMORY}")


def redis_bases() -> list[ServerSpec]:
    """The servers measured with Redis."""
    return [spec for spec in SERVERS if spec.name in REDIS_BASES]


# -- the workloads ------------------------------------------------------------------


@dataclass(frozen=True)
class RedisWorkload:
    """A named measurement; ``run`` returns its rows for one server, given a Redis to use."""

    name: str
    run: Callable[[ServerSpec, Settings, RedisAdmin], list[Result]]


_CALLS: tuple[tuple[str, Literal["json", "sse"]], ...] = (("tools/call JSON", "json"), ("tools/call SSE", "sse"))


def _tool(base: ServerSpec, answer: Literal["json", "sse"]) -> str:
    return "echo" if answer == "json" else base.sse_tool


def _paired_rows(
    servers: Sequence[RunningServer], settings: Settings, label: str, answer: Literal["json", "sse"]
) -> list[Result]:
    """Like the wrk rows of the main table, for several servers whose rounds alternate (so drift hits all alike)."""
    rows: list[Result] = []
    for connections in settings.concurrency:
        loads = []
        for server in servers:
            with McpClient(server.url) as client:  # one session per connection, used in turn
                sessions = [client.initialize() for _ in range(connections)]
            loads.append(
                functools.partial(
                    run_wrk,
                    server.url,
                    connections=connections,
                    era="handshake",
                    version=HANDSHAKE,
                    tool=_tool(server.spec, answer),
                    answer=answer,
                    sessions=sessions,
                )
            )
        for load, server in zip(loads, servers, strict=True):
            if settings.warmup:
                load(seconds=settings.warmup)
            reset_peak(server.pid)
        runs: list[list[WrkResult]] = [[] for _ in servers]
        cpu = [0.0 for _ in servers]
        for _ in range(settings.rounds):
            for i, (load, server) in enumerate(zip(loads, servers, strict=True)):
                result, used = _measured(functools.partial(load, seconds=settings.seconds), [server.pid])
                runs[i].append(result)
                cpu[i] += used
        for server, done, used in zip(servers, runs, cpu, strict=True):
            per_request = 1e6 * used / max(sum(r.requests for r in done), 1)
            rows.append(
                Result(
                    f"{label} c={connections}",
                    server.spec.name,
                    statistics.median(r.rate for r in done),
                    "req/s",
                    p50_ms=statistics.median(r.p50_ms for r in done),
                    p99_ms=statistics.median(r.p99_ms for r in done),
                    peak_rss=proc_status_bytes(server.pid, "VmHWM"),
                    note=(
                        f"server CPU {per_request:.0f} us/request; "
                        f"{settings.rounds}x{settings.seconds}s alternating, tool {_tool(server.spec, answer)}"
                    ),
                )
            )
    return rows


def _tools_call(base: ServerSpec, settings: Settings, admin: RedisAdmin) -> list[Result]:
    rows: list[Result] = []
    for label, answer in _CALLS:
        with (
            admin.prefix() as prefix,
            running(_memory_spec(base), answer) as memory,
            running(redis_spec(base, admin.url, prefix), answer) as shared,
        ):
            rows += _paired_rows([memory, shared], settings, label, answer)
    return rows


def _round_robin(base: ServerSpec, settings: Settings, admin: RedisAdmin) -> list[Result]:
    cores = os.cpu_count() or 1
    connections = settings.redis_connections
    counts = settings.redis_instances
    if any(connections % n for n in counts):
        raise ValueError(f"{connections} connections do not divide among {counts} instances")
    rows: list[Result] = []
    with admin.prefix() as prefix, contextlib.ExitStack() as stack:
        spec = redis_spec(base, admin.url, prefix)
        servers = [stack.enter_context(running(spec, "json")) for _ in range(max(counts))]
        loads = []
        for n in counts:
            used = servers[:n]
            targets = []
            for i, server in enumerate(used):
                opener = used[(i + 1) % n]  # sessions opened elsewhere (with one instance: there)
                with McpClient(opener.url) as client:
                    sessions = [client.initialize() for _ in range(connections // n)]
                targets.append(Target(server.url, sessions))
            loads.append(
                functools.partial(
                    run_wrk,
                    used[0].url,
                    connections=connections,
                    era="handshake",
                    version=HANDSHAKE,
                    tool="echo",
                    answer="json",
                    sessions=(),
                    spread=targets,
                )
            )
        if settings.warmup:
            for load in loads:
                load(seconds=settings.warmup)
        for server in servers:
            reset_peak(server.pid)
        runs: list[list[WrkResult]] = [[] for _ in counts]
        cpu = [0.0 for _ in counts]
        for _ in range(settings.rounds):  # 1, 2, 3 instances in turn, so drift hits all alike
            for i, (load, n) in enumerate(zip(loads, counts, strict=True)):
                pids = [server.pid for server in servers[:n]]
                result, spent = _measured(functools.partial(load, seconds=settings.seconds), pids)
                runs[i].append(result)
                cpu[i] += spent
        single = statistics.median(r.rate for r in runs[0])
        for n, done, spent in zip(counts, runs, cpu, strict=True):
            rate = statistics.median(r.rate for r in done)
            per_request = 1e6 * spent / max(sum(r.requests for r in done), 1)
            answered = [sum(r.per_thread[i] for r in done) for i in range(n)]
            shares = "/".join(f"{100 * a / max(sum(answered), 1):.0f}" for a in answered)
            plural = "s" * (n > 1)
            note = (
                f"{cores} cores shared by {n} server{plural}, Redis and wrk ({n} thread{plural}); "
                + f"servers' CPU {per_request:.0f} us/request; "
                + (f"{rate / single:.2f}x of {counts[0]}; % per instance {shares}; " if n != counts[0] else "")
                + f"{settings.rounds}x{settings.seconds}s alternating, tool echo"
            )
            rows.append(
                Result(
                    f"tools/call JSON c={connections}, round-robin over {n} instance{plural}",
                    spec.name,
                    rate,
                    "req/s",
                    p50_ms=statistics.median(r.p50_ms for r in done),
                    p99_ms=statistics.median(r.p99_ms for r in done),
                    peak_rss=max(proc_status_bytes(s.pid, "VmHWM") for s in servers[:n]),
                    note=note,
                )
            )
    return rows


def _expect_stream(response: httpx.Response, what: str) -> None:
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("text/event-stream"):
        response.read()
        raise RuntimeError(f"{what} answered HTTP {response.status_code}: {response.text[:300]!r}")


def _first_event_id(response: httpx.Response) -> str:
    """The id of the stream's first SSE event (its priming event), read raw."""
    head = b""
    for chunk in response.iter_raw():
        head += chunk.replace(b"\r\n", b"\n")
        if b"\n\n" in head:
            for line in head.split(b"\n\n", 1)[0].split(b"\n"):
                if line.startswith(b"id:"):
                    return line[3:].strip().decode()
            raise RuntimeError(f"the stream's first event has no id: {head[:200]!r}")
    raise RuntimeError("the stream ended before its first event")


def _hop(a: RunningServer, b: RunningServer, settings: Settings) -> Result:
    """Start the stream on A, drop it after the first event, read the rest on B."""
    n = settings.chunks
    rates: list[float] = []
    overall: list[float] = []
    cpu_a = cpu_b = 0.0
    with McpClient(a.url, timeout=settings.step_timeout) as client, httpx.Client(timeout=settings.step_timeout) as on_b:
        session = client.initialize()
        headers = session_headers(session)
        reset_peak(b.pid)
        for attempt in range(settings.rounds + (1 if settings.warmup else 0)):
            body = tools_call(attempt, "stream_numbers", {"count": n}, {"progressToken": f"p{attempt}"})
            started_a, started_b = cpu_seconds(a.pid), cpu_seconds(b.pid)
            start = time.perf_counter()
            with client.http.stream("POST", a.url, headers=headers, content=body) as response:
                _expect_stream(response, "stream_numbers on A")
                first = _first_event_id(response)
            # Leaving the block closed that connection mid-stream; the tool runs on, appending to Redis.
            resume = {
                "accept": "text/event-stream",
                "mcp-session-id": session,
                "mcp-protocol-version": HANDSHAKE,
                "last-event-id": first,
            }
            begin = time.perf_counter()
            with on_b.stream("GET", b.url, headers=resume) as response:
                _expect_stream(response, "GET with Last-Event-ID on B")
                count, final = _count_stream(response, time.monotonic() + settings.step_timeout)
            end = time.perf_counter()
            if count != n or not final:
                raise RuntimeError(f"B delivered {count} of {n} progress events, final result: {final}")
            rates.append(n / (end - begin))
            overall.append(n / (end - start))
            if attempt or not settings.warmup:
                cpu_a += cpu_seconds(a.pid) - started_a
                cpu_b += cpu_seconds(b.pid) - started_b
    skip = 1 if settings.warmup else 0
    return Result(
        f"stream {n:,} chunks: POST on A, GET on B",
        a.spec.name,
        statistics.median(rates[skip:]),
        "events/s",
        peak_rss=proc_status_bytes(b.pid, "VmHWM"),
        note=(
            "as received on B (GET + Last-Event-ID after A's first event; the tool runs on A); "
            f"POST to last event: {statistics.median(overall[skip:]):,.0f}/s; CPU per event: "
            f"A {1e6 * cpu_a / (n * settings.rounds):.0f} us, B {1e6 * cpu_b / (n * settings.rounds):.0f} us; "
            "peak RSS of B"
        ),
    )


def _stream_with_cpu(server: RunningServer, settings: Settings) -> list[Result]:
    """The main table's stream row, with the server's CPU per event (warm-up included) in its note."""
    before = cpu_seconds(server.pid)
    rows = _stream(server, settings)
    events = settings.chunks * (settings.rounds + (1 if settings.warmup else 0))
    per_event = 1e6 * (cpu_seconds(server.pid) - before) / events
    return [replace(row, note=f"{row.note}; server CPU {per_event:.0f} us/event") for row in rows]


def _streams(base: ServerSpec, settings: Settings, admin: RedisAdmin) -> list[Result]:
    rows: list[Result] = []
    with running(_memory_spec(base), "sse") as server:
        rows += _stream_with_cpu(server, settings)
    with admin.prefix() as prefix:
        spec = redis_spec(base, admin.url, prefix)
        with running(spec, "sse") as server:
            rows += _stream_with_cpu(server, settings)
        with running(spec, "sse") as a, running(spec, "sse") as b:
            rows.append(_hop(a, b, settings))
    return rows


# -- round trips ----------------------------------------------------------------------


def _script_names() -> dict[str, str]:
    """SHA1 of each store script -> its name (from the store's own module: the servers run the same code)."""
    try:
        from mcp_sansio_redis import _lua
        from mcp_sansio_redis._client import Script
    except ImportError:
        return {}
    return {value.sha: value.name for value in vars(_lua).values() if isinstance(value, Script)}


def _parse_command(buffer: bytes | bytearray, pos: int) -> tuple[list[bytes], int] | None:
    """The first two arguments of the RESP command at ``pos`` and where it ends; None if incomplete."""
    if buffer[pos : pos + 1] != b"*":  # an inline command: one line
        end = buffer.find(b"\r\n", pos)
        return None if end < 0 else (bytes(buffer[pos:end]).split()[:2], end + 2)
    end = buffer.find(b"\r\n", pos)
    if end < 0:
        return None
    count, pos = int(buffer[pos + 1 : end]), end + 2
    args: list[bytes] = []
    for _ in range(count):
        end = buffer.find(b"\r\n", pos)
        if end < 0:
            return None
        size, start = int(buffer[pos + 1 : end]), end + 2
        if len(buffer) < start + size + 2:
            return None
        if len(args) < 2:
            args.append(bytes(buffer[start : start + size]))
        pos = start + size + 2
    return args, pos


class CountingProxy:
    """A TCP proxy in front of Redis that counts what the servers behind it send.

    Commands are counted by name, ``EVALSHA``/``EVAL`` by the store script they run. A round
    trip is a read from a server's connection in which at least one command completes (a
    pipeline arrives as one). It runs an asyncio loop in a thread of this process.

    Args:
        upstream: Redis's host and port.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._scripts = _script_names()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CountingProxy:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            try:
                server = loop.run_until_complete(asyncio.start_server(self._relay, HOST, 0))
                self.port = server.sockets[0].getsockname()[1]
                self._loop = loop
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                started.set()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                loop.run_until_complete(_cancel_the_rest())
                loop.close()

        self._thread = threading.Thread(target=serve, name="redis-counting-proxy", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def url(self, redis_url: str) -> str:
        """``redis_url`` (credentials and database kept) pointing at this proxy."""
        parts = urlsplit(redis_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@{HOST}:{self.port}" if credentials else f"{HOST}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def snapshot(self) -> Counter[str]:
        """Commands by label so far, and ``round trips`` (reads that completed a command other than XREAD)."""
        with self._lock:
            return Counter(self._counts)

    def _label(self, args: list[bytes]) -> str:
        name = args[0].decode(errors="replace").upper() if args else "?"
        if name == "EVALSHA" and len(args) > 1:
            sha = args[1].decode(errors="replace")
            return f"EVALSHA {self._scripts.get(sha, sha[:8])}"
        if name == "EVAL" and len(args) > 1:
            sha = hashlib.sha1(args[1]).hexdigest()
            return f"EVAL {self._scripts.get(sha, sha[:8])}"
        return name

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return

        async def replies() -> None:
            with contextlib.suppress(OSError):
                while data := await up_reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        back = asyncio.ensure_future(replies())
        pending = bytearray()
        try:
            while data := await reader.read(1 << 16):
                up_writer.write(data)
                pending += data
                labels, pos = [], 0
                while (parsed := _parse_command(pending, pos)) is not None:
                    args, pos = parsed
                    labels.append(self._label(args))
                del pending[:pos]
                if labels:
                    with self._lock:
                        self._counts.update(labels)
                        if any(label != "XREAD" for label in labels):
                            self._counts["round trips"] += 1
                await up_writer.drain()
        except OSError:
            pass
        finally:
            up_writer.close()
            back.cancel()
            writer.close()


async def _cancel_the_rest() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _upstream(url: str) -> tuple[str, int] | str:
    """Redis's TCP address from ``url``, or why the counting proxy cannot stand in front of it."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        return f"the counting proxy speaks plain TCP, not {parts.scheme}://"
    return parts.hostname or "127.0.0.1", parts.port or 6379


def _per(counts: Counter[str], n: int, skip: Sequence[str] = ()) -> str:
    shown = [(name, calls / n) for name, calls in counts.most_common() if name not in skip and calls / n >= 0.05]
    return ", ".join(f"{name} {per:.2f}" for name, per in shown) or "none"


def _call(client: McpClient, headers: dict[str, str], tool: str, request_id: int) -> None:
    reply = client.post(headers, tools_call(request_id, tool, {"text": "hello"}))
    if reply.status_code != 200 or '"text":"hello"' not in reply.text:
        raise RuntimeError(f"{tool} answered HTTP {reply.status_code}: {reply.text[:200]!r}")


def _round_trips(base: ServerSpec, settings: Settings, admin: RedisAdmin) -> list[Result]:
    upstream = _upstream(admin.url)
    if isinstance(upstream, str):
        return [
            Result(f"Redis round trips per {label}", redis_server_name(base), None, "", skipped=upstream)
            for label, _ in _CALLS
        ]
    n = settings.redis_requests
    rows: list[Result] = []
    with admin.prefix() as prefix, CountingProxy(upstream) as proxy:
        spec = redis_spec(base, proxy.url(admin.url), prefix)
        for label, answer in _CALLS:
            tool = _tool(base, answer)
            with running(spec, answer) as server, McpClient(server.url) as client:
                call = functools.partial(_call, client, session_headers(client.initialize()), tool)
                for i in range(10):  # warm-up: scripts cached in Redis, connections open
                    call(i)
                time.sleep(_SETTLE)
                before, stats_before, start = proxy.snapshot(), admin.commandstats(), time.monotonic()
                for i in range(n):
                    call(100 + i)
                time.sleep(_SETTLE)
                after, stats_after, elapsed = proxy.snapshot(), admin.commandstats(), time.monotonic() - start
            sent, executed = after - before, stats_after - stats_before
            executed["info"] -= 1  # our own first INFO commandstats is in the second snapshot
            trips = sent.pop("round trips", 0)
            commands = sum(calls for name, calls in sent.items() if name != "XREAD")
            rows.append(
                Result(
                    f"Redis round trips per {label}",
                    spec.name,
                    trips / n,
                    "round trips/request",
                    higher_is_better=False,
                    decimals=2,
                    note=(
                        f"{n:,} requests one at a time, counted by a proxy: {_per(sent, n, ('XREAD',))} "
                        f"({commands / n:.2f} commands/request); the broker's blocking XREAD besides: "
                        f"{sent['XREAD'] / n:.2f}/request ({sent['XREAD'] / elapsed:.0f}/s); "
                        f"INFO commandstats (inside scripts too, and other clients): "
                        f"{sum(executed.values()) / n:.1f}/request: {_per(executed, n)}"
                    ),
                )
            )
    return rows


# -- memory ---------------------------------------------------------------------------


def _memory(base: ServerSpec, settings: Settings, admin: RedisAdmin) -> list[Result]:
    n, chunks = settings.idle_sessions, settings.chunks
    name = redis_server_name(base)
    with admin.prefix() as prefix, running(redis_spec(base, admin.url, prefix), "sse") as server:
        with McpClient(server.url) as client:
            client.initialize()  # first-use keys (the session index) are not per session
        bytes_before, keys_before = admin.memory_usage(prefix)
        used_before = admin.used_memory()
        asyncio.run(open_sessions(server.url, n, timeout=settings.step_timeout))
        time.sleep(_SETTLE)
        bytes_after, keys_after = admin.memory_usage(prefix)
        used_after = admin.used_memory()
        sessions = Result(
            f"Redis memory per idle session ({n:,})",
            name,
            (bytes_after - bytes_before) / n,
            "B/session",
            higher_is_better=False,
            note=(
                f"MEMORY USAGE summed over the prefix's keys ({(keys_after - keys_before) / n:.1f} keys/session); "
                f"INFO used_memory delta: {(used_after - used_before) / n:,.0f} B/session"
            ),
        )
        with McpClient(server.url, timeout=settings.step_timeout) as client:
            headers = session_headers(client.initialize())
            used_before = admin.used_memory()
            body = tools_call(1, "stream_numbers", {"count": chunks}, {"progressToken": "p"})
            reply = client.post(headers, body)
            if reply.status_code != 200 or reply.text.count('"notifications/progress"') != chunks:
                raise RuntimeError(f"stream_numbers answered HTTP {reply.status_code}: {reply.text[:200]!r}")
            used_after = admin.used_memory()
        logs = admin.log_keys(prefix)
        if len(logs) != 1:
            raise RuntimeError(f"expected one event log under {prefix}, found {len(logs)}")
        entries, usage, first, final = admin.log_figures(logs[0])
    events = Result(
        "Redis memory per stored event",
        name,
        (usage - final) / max(entries - 1, 1),
        "B/event",
        higher_is_better=False,
        note=(
            f"MEMORY USAGE of one {chunks:,}-chunk stream's log ({entries:,} entries; a progress event is "
            f"{first} B of JSON) less its final result's {final:,} B, per other entry; "
            f"INFO used_memory delta: {(used_after - used_before) / entries:,.0f} B/entry"
        ),
    )
    return [sessions, events]


def redis_workloads() -> list[RedisWorkload]:
    """Every Redis workload, in the order they run."""
    return [
        RedisWorkload("Redis: tools/call, memory store vs Redis", _tools_call),
        RedisWorkload("Redis: round-robin over instances", _round_robin),
        RedisWorkload("Redis: streams on one instance and across two", _streams),
        RedisWorkload("Redis: round trips per request", _round_trips),
        RedisWorkload("Redis: memory per session and per event", _memory),
    ]


def describe(admin: RedisAdmin) -> str:
    """One line on the Redis used, for results.md."""
    return f"Redis {admin.version()} at {shown_url(admin.url)}"
