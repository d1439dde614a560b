"""Three `mcp-sansio serve --redis-url` processes behind a client that sends each request to the next one.

A streaming tool starts on A; the client drops the connection mid-stream and resumes on B;
B (which holds the resumed stream but does not run the tool) is killed with SIGKILL and the
client resumes again on C. Every chunk arrives exactly once, in order, then the final
response. An elicitation asked by a tool on one instance is answered through another.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.stores.conftest import REDIS_URL, prefix, redis_problem, redis_sync  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
Instance = tuple[subprocess.Popen[str], str]


def start(key_prefix: str, target: str = "examples/everything.py:app") -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_sansio_h11.cli", "serve", target, "--port", "0",
         "--redis-url", REDIS_URL, "--redis-prefix", key_prefix],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("mcp-sansio serving http://127.0.0.1:"), (line, process.stderr and process.stderr.read())
    return process, line.split()[-1]


@contextmanager
def three_instances(key_prefix: str, target: str = "examples/everything.py:app") -> Iterator[list[Instance]]:
    """Three servers on one Redis prefix; stopped (SIGTERM, then SIGKILL) at the end."""
    started = [start(key_prefix, target) for _ in range(3)]
    try:
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a server that does not stop
                process.kill()


@pytest.fixture
def instances(request: pytest.FixtureRequest) -> Iterator[list[Instance]]:
    with three_instances(request.getfixturevalue("prefix")) as started:  # a prefix unique to this test
        yield started


def initialize(client: httpx.Client, url: str, capabilities: dict[str, Any] | None = None) -> dict[str, str]:
    info = {"name": "t", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": capabilities or {}, "clientInfo": info}
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
    response = client.post(url, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    headers = {**HEADERS, "mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    note = client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert note.status_code == 202
    return headers


def events(response: httpx.Response, limit: int | None = None) -> Iterator[tuple[str | None, dict[str, Any] | None]]:
    """(id, message) per SSE event; ``None`` data for a priming event."""
    event_id: str | None = None
    data: list[str] = []
    count = 0
    for line in response.iter_lines():
        if line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and (event_id is not None or data):
            text = "\n".join(data)
            yield event_id, (json.loads(text) if text else None)
            count += 1
            event_id, data = None, []
            if limit is not None and count >= limit:
                return


def test_a_stream_survives_a_hop_and_the_sigkill_of_the_instance_holding_it(
    instances: list[tuple[subprocess.Popen[str], str]],
) -> None:
    (_, a), (b_proc, b), (_, c) = instances
    urls = cycle([a, b, c])
    with httpx.Client(timeout=20) as client:
        headers = initialize(client, next(urls))  # on A
        next(urls)  # notifications/initialized went to A too: keep the rotation simple and explicit
        count = 30
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "stream_numbers", "arguments": {"count": count, "interval_ms": 60},
                           "_meta": {"progressToken": "p"}}}  # fmt: skip
        received: list[dict[str, Any]] = []
        last: str | None = None
        with client.stream("POST", a, json=call, headers=headers) as response:  # the tool runs on A
            for event_id, message in events(response, limit=6):
                last = event_id
                if message is not None:
                    received.append(message)
        # Dropped mid-stream; resume on B, which does not run the tool.
        with client.stream("GET", b, headers={**headers, "last-event-id": last or ""}) as response:
            assert response.status_code == 200
            for event_id, message in events(response, limit=5):
                last = event_id
                if message is not None:
                    received.append(message)
            os.kill(b_proc.pid, signal.SIGKILL)  # B dies holding the stream
        b_proc.wait(timeout=10)
        with client.stream("GET", c, headers={**headers, "last-event-id": last or ""}) as response:
            assert response.status_code == 200
            for _, message in events(response):
                if message is not None:
                    received.append(message)
    progress = [m["params"]["progress"] for m in received if m.get("method") == "notifications/progress"]
    assert progress == list(range(1, count + 1))  # every chunk once, in order
    final = received[-1]
    assert final["id"] == 7
    assert [block["text"] for block in final["result"]["content"]] == [str(n) for n in range(1, count + 1)]


def test_an_elicitation_answered_through_another_instance(instances: list[tuple[subprocess.Popen[str], str]]) -> None:
    (_, a), (_, b), (_, c) = instances
    with httpx.Client(timeout=20) as client:
        headers = initialize(client, a, {"elicitation": {}})
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}  # fmt: skip
        with client.stream("POST", b, json=call, headers=headers) as response:  # the tool runs on B
            messages = events(response)
            ask = next(m for _, m in messages if m is not None and m.get("method") == "elicitation/create")
            answer = {"jsonrpc": "2.0", "id": ask["id"],
                      "result": {"action": "accept", "content": {"username": "ada", "email": "a@x"}}}  # fmt: skip
            assert client.post(c, json=answer, headers=headers).status_code == 202  # answered through C
            final = next(m for _, m in messages if m is not None and m.get("id") == 9)
    assert final["result"]["content"][0]["text"].startswith("User response: action=accept")
