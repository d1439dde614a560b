"""The servers under test, one entry each, and how to run one as a subprocess on 127.0.0.1.

A server is a :class:`ServerSpec`: a name, a command line for a port and a
response mode, and a readiness check. To benchmark another server, add one
entry to :data:`SERVERS`.
Whether a server speaks the 2026-07-28 revision is probed at run time, not
declared, so an entry picks it up the day it ships.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from .client import McpClient

__all__ = ["SERVERS", "BASELINE", "Mode", "ServerSpec", "RunningServer", "running", "proc_status_bytes", "reset_peak"]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
Mode = Literal["json", "sse"]  # what plain tools/call answers should look like
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServerSpec:
    """One server under test.

    Attributes:
        name: Shown in the table.
        command: The command line serving on a port; ``mode`` asks for JSON
            or SSE answers where that is a server option (the SDK's
            ``json_response``). Servers that choose per tool ignore it.
        sse_tool: The tool whose tools/call answers SSE on this server.
        ready: Whether the server at ``url`` serves MCP yet (called until true).
    """

    name: str
    command: Callable[[int, Mode], list[str]]
    sse_tool: str
    ready: Callable[[str], bool]


def initializes(url: str) -> bool:
    """Readiness: an MCP ``initialize`` succeeds (False while nothing listens yet)."""
    try:
        with McpClient(url, timeout=2.0) as client:
            client.initialize()
    except httpx.TransportError:
        return False
    return True


def _mcp_sansio() -> list[str]:
    """The ``mcp-sansio`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("mcp-sansio")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcp_sansio_h11.cli"]


def _ours(*extra: str) -> Callable[[int, Mode], list[str]]:
    def command(port: int, mode: Mode) -> list[str]:
        return [*_mcp_sansio(), "serve", "benchmarks/app.py:app", "--host", HOST, "--port", str(port), *extra]

    return command


def _asgi(server: str) -> Callable[[int, Mode], list[str]]:
    """Our ASGI app (``benchmarks.app:asgi``) under an ASGI server, logging only warnings."""

    def command(port: int, mode: Mode) -> list[str]:
        if server == "uvicorn":
            return [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.app:asgi",
                "--host",
                HOST,
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--log-level",
                "warning",
                "--no-access-log",
            ]
        # --workers 0 serves in this process, so its memory is the one measured (not a parent's).
        return [
            sys.executable,
            "-m",
            "hypercorn",
            "benchmarks.app:asgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "0",
            "--log-level",
            "warning",
        ]

    return command


def _sdk(port: int, mode: Mode) -> list[str]:
    return [sys.executable, "-m", "benchmarks.app", "--port", str(port), *(["--json"] if mode == "json" else [])]


BASELINE = "sdk (uvicorn)"
SERVERS: list[ServerSpec] = [
    ServerSpec("h11 asyncio", _ours("--backend", "asyncio"), "echo_logged", initializes),
    ServerSpec("h11 asyncio+uvloop", _ours("--backend", "asyncio", "--uvloop"), "echo_logged", initializes),
    ServerSpec("h11 trio", _ours("--backend", "trio"), "echo_logged", initializes),
    ServerSpec("asgi uvicorn+httptools+uvloop", _asgi("uvicorn"), "echo_logged", initializes),
    ServerSpec("asgi hypercorn", _asgi("hypercorn"), "echo_logged", initializes),
    ServerSpec(BASELINE, _sdk, "echo", initializes),
]


@dataclass
class RunningServer:
    """A started server: its process and its endpoint."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def check_alive(self) -> None:
        """Raise if the server process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.spec.name} exited with status {self.process.returncode}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(spec: ServerSpec, mode: Mode) -> Iterator[RunningServer]:
    """Start ``spec`` on a free port, wait until it is ready, and stop it on exit (also on error)."""
    port = free_port()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            spec.command(port, mode),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        try:
            server = RunningServer(spec, process, f"http://{HOST}:{port}/mcp")
            _wait_ready(server)
            yield server
            server.check_alive()
        except BaseException:
            _stop(process)
            errors.seek(0)
            tail = errors.read()[-2000:].decode(errors="replace").strip()
            if tail:
                print(f"--- stderr of {spec.name}:\n{tail}", file=sys.stderr)
            raise
        _stop(process)


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        server.check_alive()
        if server.spec.ready(server.url):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{server.spec.name} was not ready after {_START_TIMEOUT:g}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(_STOP_TIMEOUT)


def proc_status_bytes(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS; False if the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
