"""The `mcp-sansio serve` command: starts, prints its URL, stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mcp_sansio_h11.cli import load_target
from tests.adapters.test_http import HEADERS, INIT

ROOT = Path(__file__).resolve().parents[2]


def serve(backend: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_sansio_h11.cli",
            "serve",
            "examples/everything.py:app",
            "--port",
            "0",
            "--backend",
            backend,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("mcp-sansio serving http://127.0.0.1:"), line
    return process, line.split()[-1]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_then_stop_cleanly(backend: str, stop: signal.Signals) -> None:
    process, url = serve(backend)
    try:
        with httpx.Client(timeout=5) as client:
            response = client.post(url, json=INIT, headers=HEADERS)
            assert response.status_code == 200
            session = response.headers["mcp-session-id"]
            with client.stream("GET", url, headers={**HEADERS, "mcp-session-id": session}) as stream:
                lines = stream.iter_lines()
                assert next(lines).startswith("id: 0-0")  # the priming event: the stream is open
                os.kill(process.pid, stop)
                rest = list(lines)  # ends, rather than hanging
        assert any("server shutting down" in line for line in rest)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_load_target_reports_bad_targets(tmp_path: Path) -> None:
    for target, message in [
        ("nocolon", "must look like module:attr"),
        (f"{tmp_path}/missing.py:app", "no such file"),
        ("json:dumps", "not an mcp_sansio App or Server"),
        ("json:nothing_here", "has no attribute"),
    ]:
        with pytest.raises(SystemExit, match=message):
            load_target(target)


def test_help_lists_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mcp_sansio_h11.cli", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--backend",
        "--path",
        "--log-level",
        "--uvloop",
        "--header-timeout",
        "--body-timeout",
        "--idle-timeout",
        "--redis-url",
        "--redis-prefix",
    ):
        assert option in result.stdout


def test_bad_timeouts_are_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mcp_sansio_h11.cli", "serve", "examples/everything.py:app", "--idle-timeout", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Timeouts.idle must be positive" in result.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_sansio_h11.cli", "serve", "examples/everything.py:app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_port_out_of_range_is_refused() -> None:
    result = run_cli("--port", "99999")
    assert result.returncode == 2
    assert "argument --port: invalid port '99999': must be an integer from 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_port_in_use_is_one_line(backend: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = run_cli("--port", str(port), "--backend", backend)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_unresolvable_host_is_one_line(backend: str) -> None:
    result = run_cli("--host", "no-such-host.invalid", "--port", "0", "--backend", backend)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot listen on no-such-host.invalid:0: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_in_flight_requests_finish_during_shutdown(backend: str) -> None:
    import threading

    process, url = serve(backend)
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(timeout=10) as client:
            session = client.post(url, json=INIT, headers=HEADERS).headers["mcp-session-id"]
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "stream_numbers", "arguments": {"count": 3, "interval_ms": 150}},
            }
            worker = threading.Thread(
                target=lambda: answers.append(
                    client.post(url, json=call, headers={**HEADERS, "mcp-session-id": session})
                )
            )
            worker.start()
            time.sleep(0.1)
            os.kill(process.pid, signal.SIGTERM)
            worker.join(timeout=10)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The SSE response was cut with a farewell comment, but the tool ran to its end within the grace
    # period: its result is in the stream's log for a client that resumes.
    assert answers and answers[0].status_code == 200
    assert "server shutting down" in answers[0].text


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_unreachable_redis_is_one_line(backend: str) -> None:
    result = run_cli("--port", "0", "--backend", backend, "--redis-url", "redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert result.stderr == "error: cannot reach Redis at redis://127.0.0.1:1/0: Connection refused\n"
    assert result.stdout == ""  # it never listened


def test_unreachable_redis_hides_the_password() -> None:
    result = run_cli("--port", "0", "--redis-url", "redis://user:s3cret@127.0.0.1:1/2")
    assert result.returncode == 1
    assert result.stderr == "error: cannot reach Redis at redis://user:***@127.0.0.1:1/2: Connection refused\n"


def test_bad_redis_options_are_refused() -> None:
    result = run_cli("--redis-url", "http://user:s3cret@127.0.0.1/")
    assert result.returncode == 2
    assert "argument --redis-url: not a Redis URL (unknown scheme 'http'): http://user:***@127.0.0.1/" in result.stderr
    assert "s3cret" not in result.stderr
    result = run_cli("--redis-prefix", "app:")
    assert result.returncode == 2
    assert "mcp-sansio serve: error: --redis-prefix needs --redis-url" in result.stderr
