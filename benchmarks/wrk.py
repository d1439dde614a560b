"""The load client: wrk (C, one thread) with ``tools_call.lua`` building and checking MCP requests."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["WRK_INSTALL", "WrkError", "WrkResult", "require_wrk", "run_wrk"]

SCRIPT = Path(__file__).with_name("tools_call.lua")
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

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


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
    sessions: list[str],
) -> WrkResult:
    """Run tools/call against ``url`` for ``seconds`` with ``connections`` connections on one thread.

    Raises:
        WrkError: wrk failed, a connection failed, or any response was not the expected answer.
    """
    command = [
        require_wrk(),
        "-t1",
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
        ",".join(sessions),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + _GRACE, check=False)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        raise WrkError(f"wrk did not finish within {seconds + _GRACE:g}s") from exc
    lines = done.stdout.splitlines()
    found = [line.split(" ", 1)[1] for line in lines if line.startswith("WRK_RESULT ")]
    if done.returncode != 0 or not found:
        raise WrkError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(found[0])
    sample = next((line[len("WRK_SAMPLE ") :] for line in lines if line.startswith("WRK_SAMPLE ")), "")
    failures = {k: data[k] for k in ("bad", "connect", "read", "write", "status", "timeout") if data[k]}
    if failures or not data["requests"]:
        raise WrkError(f"wrk saw failures {failures or 'no requests at all'}; first wrong response: {sample!r}")
    return WrkResult(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1e3, data["p99_us"] / 1e3)
