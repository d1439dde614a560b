"""Durable tasks across three `mcp-sansio serve --redis-url` processes (the tasks extension, 2026-07-28).

A task created on A is polled on B; A is killed with SIGKILL; the client still gets the
task's terminal state through C: a tool declared ``on_lost="restart"`` runs again on a
surviving instance and completes, one declared ``on_lost="fail"`` fails. Nothing is lost
or duplicated: the record in Redis shows the second attempt.
"""

# The Redis fixtures come from tests/stores/conftest.py by import, and test parameters name them again.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from mcp_sansio_redis import KeyLayout
from tests.adapters.test_scale_out import Instance, three_instances
from tests.stores.conftest import REDIS_URL, prefix, redis_problem, redis_sync  # noqa: F401  (fixtures)

EXTENSION = "io.modelcontextprotocol/tasks"


@pytest.fixture
def instances(prefix: str) -> Iterator[list[Instance]]:
    with three_instances(prefix, "tests/adapters/tasks_app.py:server") as started:
        yield started


def rpc(client: httpx.Client, url: str, method: str, params: dict[str, Any], name: str | None = None) -> Any:
    """One stateless request declaring the tasks extension; its result (or error)."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {EXTENSION: {}}}}  # fmt: skip
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2026-07-28", "mcp-method": method}  # fmt: skip
    if name is not None:
        headers["mcp-name"] = name
    response = client.post(url, json=body, headers=headers)
    message = response.json()
    assert "result" in message, message
    return message["result"]


def poll_until_over(client: httpx.Client, url: str, task_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = rpc(client, url, "tasks/get", {"taskId": task_id}, task_id)
        if task["status"] in ("completed", "failed", "cancelled"):
            return dict(task)
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end within {timeout}s")


def test_a_task_outlives_the_sigkill_of_the_instance_running_it(
    instances: list[Instance], prefix: str, redis_sync: redis.Redis
) -> None:
    (a_proc, a), (_, b), (_, c) = instances
    with httpx.Client(timeout=20) as client:
        restarting = rpc(client, a, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 2, "label": "x"}},
                         "slow_compute")  # fmt: skip
        failing = rpc(client, a, "tools/call", {"name": "long_job", "arguments": {"seconds": 30}}, "long_job")
        assert restarting["resultType"] == failing["resultType"] == "task"
        # Durable before the answer: B knows both tasks at once.
        for created in (restarting, failing):
            seen = rpc(client, b, "tasks/get", {"taskId": created["taskId"]}, created["taskId"])
            assert seen["status"] == "working"
        os.kill(a_proc.pid, signal.SIGKILL)  # A dies running both
        a_proc.wait(timeout=10)
        restarted = poll_until_over(client, c, restarting["taskId"])
        failed = poll_until_over(client, c, failing["taskId"])
    assert restarted["status"] == "completed"
    assert restarted["result"]["content"][0]["text"] == "Computed x after 2s"
    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "Internal error: the server running this task stopped"
    assert "result" not in failed
    stored = redis_sync.hget(KeyLayout(prefix).task(restarting["taskId"]), "r")
    assert stored is not None and json.loads(stored)["attempt"] == 2  # run again exactly once
