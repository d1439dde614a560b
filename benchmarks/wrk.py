"""The load client: wrk (C, one thread) with ``tools_call.lua`` building and checking MCP requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["WRK_INSTALL", "Target", "WrkError", "WrkResult", "require_wrk", "run_wrk", "run_wrk_sessions"]

SCRIPT = Path(__file__).with_name("tools_call.lua")
SESSIONS_SCRIPT = Path(__file__).with_name("sessions.lua")
WRK_INSTALL = "apt-get update && apt-get install -y wrk   (Debian/Ubuntu package 'wrk')"
_GRACE = 30.0  # seconds wrk may run past its duration before it is killed
_REQUEST_TIMEOUT = "10s"  # a slower response counts as a wrk timeout error


class WrkError(RuntimeError):
    """wrk is missing, failed, or saw a wrong or failed response."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    per_thread: tuple[int, ...] = ()  # answers each wrk thread got (one thread per target with ``spread``)

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


@dataclass(frozen=True)
class Target:
    """One server of several that one wrk run spreads over: a thread of its own, with its own sessions."""

    url: str
    sessions: Sequence[str]


def require_wrk() -> str:
    """The path of the wrk binary.

    Raises:
        WrkError: wrk is not installed; the message says how to install it.
    """
    path = shutil.which("wrk")
    if path is None:
        raise WrkError(
            f"wrk is not installed; the benchmarks use it as their load client. Install it with: {WRK_INSTALL}"
        )
    return path


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    era: Literal["handshake", "stateless"],
    version: str,
    tool: str,
    answer: Literal["json", "sse"],
    sessions: Sequence[str],
    spread: Sequence[Target] = (),
) -> WrkResult:
    """Run tools/call against ``url`` for ``seconds`` with ``connections`` connections on one thread.

    With ``spread``, one thread per target instead, each with ``connections // len(spread)``
    connections to its target's address and its target's sessions (``url`` and ``sessions``
    are then unused); the latency figures cover every thread.

    Raises:
        WrkError: wrk failed, a connection failed, or any response was not the expected answer.
    """
    env = dict(os.environ)
    env.pop("MCP_BENCH_TARGETS", None)
    threads = 1
    if spread:
        if connections % len(spread):
            raise ValueError(f"{connections} connections do not divide among {len(spread)} targets")
        threads = len(spread)
        env["MCP_BENCH_TARGETS"] = " ".join(urlsplit(t.url).netloc for t in spread)
        url = spread[0].url
        groups = [",".join(t.sessions) for t in spread]
        if any(not group for group in groups) and any(groups):
            raise ValueError("either every target has sessions or none has")
        session_arg = ";".join(groups) if any(groups) else ""
    else:
        session_arg = ",".join(sessions)
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={_REQUEST_TIMEOUT}",
        "-s",
        str(SCRIPT),
        url,
        "--",
        era,
        version,
        tool,
        answer,
        session_arg,
    ]
    data = _run(command, seconds, env)
    return WrkResult(
        data["requests"],
        data["duration_us"] / 1e6,
        data["p50_us"] / 1e3,
        data["p99_us"] / 1e3,
        tuple(data.get("per_thread", ())),
    )


def run_wrk_sessions(url: str, *, connections: int, seconds: int, version: str, threads: int = 1) -> WrkResult:
    """Open sessions (initialize, then notifications/initialized) for ``seconds``; ``requests`` counts sessions.

    The latency figures are per HTTP request (either kind).

    Raises:
        WrkError: wrk failed, a connection failed, or any response was not the expected answer.
    """
    command = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={_REQUEST_TIMEOUT}"]
    command += ["-s", str(SESSIONS_SCRIPT), url, "--", version]
    env = {k: v for k, v in os.environ.items() if k != "MCP_BENCH_TARGETS"}
    data = _run(command, seconds, env)
    return WrkResult(data["opened"], data["duration_us"] / 1e6, data["p50_us"] / 1e3, data["p99_us"] / 1e3)


def _run(command: list[str], seconds: int, env: dict[str, str]) -> dict[str, Any]:
    """Run wrk and return its WRK_RESULT line, decoded; every failure is a WrkError."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + _GRACE, check=False, env=env)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        raise WrkError(f"wrk did not finish within {seconds + _GRACE:g}s") from exc
    lines = done.stdout.splitlines()
    found = [line.split(" ", 1)[1] for line in lines if line.startswith("WRK_RESULT ")]
    if done.returncode != 0 or not found:
        raise WrkError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data: dict[str, Any] = json.loads(found[0])
    sample = next((line[len("WRK_SAMPLE ") :] for line in lines if line.startswith("WRK_SAMPLE ")), "")
    failures = {k: data[k] for k in ("bad", "connect", "read", "write", "status", "timeout") if data[k]}
    if failures or not data["requests"]:
        raise WrkError(f"wrk saw failures {failures or 'no requests at all'}; first wrong response: {sample!r}")
    return data
