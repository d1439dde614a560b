"""``python -m benchmarks``: every workload on every server, then the table (stdout and Markdown).

Usage::

    python -m benchmarks              # the full run; writes benchmarks/results.md and results.svg (the chart)
    python -m benchmarks --smoke      # every code path, tiny counts, about a minute (CI)
    python -m benchmarks --server trio --workload SSE   # a subset (substring matches)
    python -m benchmarks --workload Redis --no-core     # only the Redis rows (second table)

The Redis rows need Redis at ``--redis-url`` (default ``redis://127.0.0.1:6379/0``, or
``MCP_SANSIO_BENCH_REDIS_URL``); without it they are skipped with a line saying why,
except under ``CI=true``, where that is an error.
Exits 1 if any measurement failed, 2 if wrk is missing.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import mcp_sansio

from .chart import ratio_chart
from .core_bench import core_results
from .redis_bench import (
    DEFAULT_URL,
    RedisAdmin,
    describe,
    memory_baseline,
    redis_bases,
    redis_problem,
    redis_server_name,
    redis_workloads,
    shown_url,
)
from .report import LEGEND, Result, markdown_table, text_table, value_text
from .servers import BASELINE, SERVERS, running
from .testing_bench import testing_results
from .workloads import FULL, SMOKE, Settings, workloads
from .wrk import WrkError, require_wrk

RESULTS = Path(__file__).with_name("results.md")
REDIS_LEGEND = (
    "With Redis: each server is `mcp-sansio serve` with `--redis-url` and a key prefix of its own per workload "
    "(deleted afterwards). vs memory: the Redis row over the same server on the memory store in the same run "
    "(rates: Redis / memory). p99 / memory: the Redis p99 over the memory store's. Round-robin: one wrk thread "
    "per instance, each with sessions opened on the next instance; all instances, Redis and wrk share the "
    "machine's cores (reported as measured, not extrapolated); their Peak RSS is the largest instance's. "
    "Round trips: counted by a proxy between the "
    "server and Redis; the broker's blocking XREAD is shown apart, and INFO commandstats also counts the "
    "commands run inside scripts and by any other Redis client."
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one short round with tiny counts (CI)")
    parser.add_argument("--server", action="append", default=[], help="only servers whose name contains this")
    parser.add_argument("--workload", action="append", default=[], help="only workloads whose name contains this")
    parser.add_argument("--no-core", action="store_true", help="skip the in-process core measurements")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis measurements")
    parser.add_argument(
        "--redis-url", default=DEFAULT_URL, help=f"Redis for the Redis rows (default {shown_url(DEFAULT_URL)})"
    )
    parser.add_argument(
        "--out", type=Path, help="Markdown output (default: benchmarks/results.md; a temp file with --smoke)"
    )
    return parser.parse_args(argv)


def _selected(name: str, wanted: list[str]) -> bool:
    return not wanted or any(w.lower() in name.lower() for w in wanted)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _measure(settings: Settings, args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    errors: list[str] = []
    if not args.no_core:
        _say("== core, in process")
        try:
            results += core_results(
                settings.core_exchanges, settings.core_events, settings.core_sessions, settings.core_seconds
            )
        except Exception as exc:
            errors.append(f"core: {exc!r}")
        try:
            results += testing_results(settings.machine_examples)
        except Exception as exc:
            errors.append(f"testing: {exc!r}")
    for workload in workloads(settings):
        if not _selected(workload.name, args.workload):
            continue
        for spec in SERVERS:
            if not _selected(spec.name, args.server):
                continue
            _say(f"== {workload.name} on {spec.name}")
            started = time.monotonic()
            try:
                with running(spec, workload.mode) as server:
                    rows = workload.run(server, settings)
            except Exception as exc:
                errors.append(f"{workload.name} on {spec.name}: {exc}")
                rows = [Result(workload.name, spec.name, None, "", skipped=f"ERROR: {exc}"[:200])]
            results += rows
            for row in rows:
                shown = f"{row.value:,.0f} {row.unit}" if row.value is not None else row.skipped
                _say(f"   {row.workload}: {shown}")
            _say(f"   ({time.monotonic() - started:.1f}s)")
    return results, errors


def _measure_redis(settings: Settings, args: argparse.Namespace) -> tuple[list[Result], list[str], str]:
    """The Redis rows, the errors, and a line on the Redis used (or on why there are no rows)."""
    plan = [
        (workload, base)
        for workload in redis_workloads()
        if _selected(workload.name, args.workload)
        for base in redis_bases()
        if _selected(redis_server_name(base), args.server)
    ]
    if args.no_redis or not plan:
        return [], [], ""
    problem = redis_problem(args.redis_url)
    if problem is not None:
        if os.environ.get("CI") == "true":
            return [], [f"redis: {problem}; CI=true, so Redis must be reachable (or pass --no-redis)"], problem
        _say(f"== Redis rows skipped: {problem} (start redis-server, pass --redis-url URL, or --no-redis)")
        return [Result("Redis workloads", "—", None, "", skipped=f"skipped: {problem}")], [], "not measured"
    results: list[Result] = []
    errors: list[str] = []
    with RedisAdmin(args.redis_url) as admin:
        about = describe(admin)
        for workload, base in plan:
            name = redis_server_name(base)
            _say(f"== {workload.name} on {name}")
            started = time.monotonic()
            try:
                rows = workload.run(base, settings, admin)
            except Exception as exc:
                errors.append(f"{workload.name} on {name}: {exc}")
                rows = [Result(workload.name, name, None, "", skipped=f"ERROR: {exc}"[:200])]
            results += rows
            for row in rows:
                _say(f"   {row.workload} ({row.server}): {value_text(row) if row.value is not None else row.skipped}")
            _say(f"   ({time.monotonic() - started:.1f}s)")
    return results, errors, about


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    wrk = subprocess.run([require_wrk(), "--version"], capture_output=True, text=True, check=False)
    packages = ", ".join(
        f"{p} {_version(p)}" for p in ("mcp-sansio", "mcp", "uvicorn", "h11", "anyio", "trio", "uvloop")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM; Linux {platform.release()}; "
        f"Python {platform.python_version()}; {(wrk.stdout or wrk.stderr).splitlines()[0].strip()}; {packages}"
    )


def _redis_markdown(results: list[Result], about: str) -> list[str]:
    if not results and not about:
        return []
    return [
        "",
        "## With Redis",
        "",
        f"- {about}; {os.cpu_count()} cores (os.cpu_count()), shared by the servers, Redis and wrk",
        "",
        markdown_table(results, memory_baseline, versus="memory"),
        "",
        REDIS_LEGEND,
    ]


def _markdown(
    results: list[Result],
    redis: tuple[list[Result], str],
    errors: list[str],
    settings: Settings,
    command: str,
    seconds: float,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Command: `{command}` ({seconds / 60:.1f} minutes)",
        f"- Machine: {_machine()}",
        f"- Settings: {settings}",
        f"- Load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Code under test: mcp_sansio imported from {Path(mcp_sansio.__file__).parent.parent}",
        "- Load: wrk, one thread, next to the server (one core each); every server is its own process on",
        "  127.0.0.1, restarted for each workload. The SDK runs under uvicorn (log level warning, no access log).",
    ]
    if results or not redis[0]:
        lines += ["", markdown_table(results, BASELINE), "", LEGEND]
    lines += _redis_markdown(*redis)
    if errors:
        lines += ["", "## Errors", "", *(f"- {e}" for e in errors)]
    return "\n".join(lines) + "\n"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers, which stop the servers


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; the process exit status."""
    args = _arguments(argv)
    settings = SMOKE if args.smoke else FULL
    try:
        require_wrk()
    except WrkError as exc:
        _say(f"error: {exc}")
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 10,000 streams need 10,000 sockets on each side
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    started = time.monotonic()
    results, errors = _measure(settings, args)
    redis_results, redis_errors, redis_about = _measure_redis(settings, args)
    errors += redis_errors
    elapsed = time.monotonic() - started
    command = "python -m benchmarks" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    if results or not redis_results:
        print(text_table(results, BASELINE))
        print(LEGEND)
    if redis_results:
        print(f"\nWith Redis ({redis_about}; {os.cpu_count()} cores):")
        print(text_table(redis_results, memory_baseline, versus="memory"))
        print(REDIS_LEGEND)
    out = args.out or (Path(tempfile.gettempdir()) / "mcp-sansio-benchmarks-smoke.md" if args.smoke else RESULTS)
    out.write_text(_markdown(results, (redis_results, redis_about), errors, settings, command, elapsed))
    written = [str(out)]
    if results:  # the chart beside the table: results.md -> results.svg
        title = f"mcp-sansio vs the official MCP Python SDK: {datetime.date.today():%Y-%m-%d}, {os.cpu_count()} cores"
        out.with_suffix(".svg").write_text(ratio_chart(results, BASELINE, title))
        written.append(str(out.with_suffix(".svg")))
    print(f"\nwrote {' and '.join(written)}; took {elapsed:.0f}s")
    for error in errors:
        _say(f"error: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
