"""The experimental tasks of 2025-11-25 over real HTTP: the h11 server running the everything example.

Create, poll, block on ``tasks/result`` until the tool finishes, list, cancel; a task whose
tool asks the user gets its question on the ``tasks/result`` stream; errors come back as the
``tools/call`` would have answered them. Then the same through the official SDK client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import RELATED_TASK, App, Config
from mcp_sansio_h11.cli import load_target
from tests.adapters.conftest import H11_FLAVOURS, Running, start

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("flavour", H11_FLAVOURS)]
EVERYTHING = Path(__file__).resolve().parents[2] / "examples" / "everything.py"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
# A long poll interval: a tasks/result answered well within it was woken by the run's end, not by polling.
CONFIG = Config(task_poll_interval=5.0)
OnRequest = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@pytest.fixture(scope="module")
def everything() -> App:
    app = load_target(f"{EVERYTHING}:app")
    assert isinstance(app, App)
    return app


@pytest.fixture
async def server(flavour: str, everything: App) -> AsyncIterator[Running]:
    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, everything, CONFIG)
        tg.cancel_scope.cancel()


class Client:
    """A bare 2025-11-25 client: JSON-RPC over POST, answers read from JSON or SSE."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.rid, self.session = http, url, 0, ""

    @property
    def headers(self) -> dict[str, str]:
        return {**HEADERS, "mcp-session-id": self.session, "mcp-protocol-version": "2025-11-25"}

    async def initialize(self) -> dict[str, Any]:
        params = {"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}}, "clientInfo": {"name": "t"}}
        body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        response = await self.http.post(self.url, json=body, headers=HEADERS)
        self.session = response.headers["mcp-session-id"]
        note = await self.http.post(
            self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers
        )
        assert note.status_code == 202
        return dict(response.json()["result"])

    async def call(self, method: str, params: dict[str, Any], on_request: OnRequest | None = None) -> dict[str, Any]:
        """The answer to one request; requests the server sends meanwhile go to ``on_request``."""
        self.rid += 1
        body = {"jsonrpc": "2.0", "id": self.rid, "method": method, "params": params}
        async with self.http.stream("POST", self.url, json=body, headers=self.headers) as response:
            assert response.status_code == 200
            if response.headers["content-type"] == "application/json":
                return dict(json.loads(await response.aread()))
            async for message in _messages(response):
                if message.get("id") == self.rid and "method" not in message:
                    return message
                if "method" in message and "id" in message:  # a request to us
                    assert on_request is not None, message
                    answer = {"jsonrpc": "2.0", "id": message["id"], "result": await on_request(message)}
                    posted = await self.http.post(self.url, json=answer, headers=self.headers)
                    assert posted.status_code == 202
        raise AssertionError(f"the stream of {method} ended without its answer")

    async def result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = await self.call(method, params)
        assert "result" in message, message
        return dict(message["result"])


async def _messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            text, data = "".join(data), []
            if text:  # a priming event has no data
                yield json.loads(text)


async def test_create_poll_block_on_result_list_and_cancel(server: Running) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(http, server.url)
        initialized = await client.initialize()
        assert initialized["capabilities"]["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        tools = {t["name"]: t for t in (await client.result("tools/list", {}))["tools"]}
        assert tools["slow_compute"]["execution"] == {"taskSupport": "optional"}
        params = {"name": "slow_compute", "arguments": {"seconds": 0.5, "label": "x"}, "task": {"ttl": 60_000}}
        created = (await client.result("tools/call", params))["task"]
        assert created["status"] == "working" and created["ttl"] == 60_000 and created["pollInterval"] == 5000
        task_id = created["taskId"]
        assert (await client.result("tasks/get", {"taskId": task_id}))["status"] == "working"
        started = anyio.current_time()
        result = await client.result("tasks/result", {"taskId": task_id})  # blocks until the tool is done
        assert anyio.current_time() - started < 3  # woken by the run's end, not the 5 s poll
        assert result["content"] == [{"type": "text", "text": "Computed x after 0.5s"}]
        assert result["_meta"] == {RELATED_TASK: {"taskId": task_id}}
        assert (await client.result("tasks/get", {"taskId": task_id}))["status"] == "completed"
        long_params = {"name": "slow_compute", "arguments": {"seconds": 30}, "task": {}}
        long = (await client.result("tools/call", long_params))["task"]["taskId"]
        listed = (await client.result("tasks/list", {}))["tasks"]
        assert [(t["taskId"], t["status"]) for t in listed] == [(task_id, "completed"), (long, "working")]
        cancelled = await client.result("tasks/cancel", {"taskId": long})
        assert cancelled["status"] == "cancelled" and cancelled["taskId"] == long
        assert (await client.call("tasks/result", {"taskId": long}))["error"]["code"] == -32800
        refused = await client.call("tasks/cancel", {"taskId": long})
        assert refused["error"]["code"] == -32602
        with anyio.fail_after(5):
            while server.runtime.census()["tasks"]:  # the cancelled run was stopped
                await anyio.sleep(0.02)
    assert server.runtime.census()["handlers"] == 0


async def test_a_result_wait_cut_short_by_its_request_cancellation(server: Running) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(http, server.url)
        await client.initialize()
        params = {"name": "slow_compute", "arguments": {"seconds": 30}, "task": {}}
        task_id = (await client.result("tools/call", params))["task"]["taskId"]
        async with anyio.create_task_group() as tg:

            async def cancel_soon() -> None:
                await anyio.sleep(0.3)
                note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": client.rid}}
                await http.post(server.url, json=note, headers=client.headers)

            tg.start_soon(cancel_soon)
            answer = await client.call("tasks/result", {"taskId": task_id})
        assert answer["error"]["code"] == -32800
        assert (await client.result("tasks/get", {"taskId": task_id}))["status"] == "working"  # only the wait ended
        await client.result("tasks/cancel", {"taskId": task_id})


async def test_tool_errors_and_protocol_errors_come_back_through_result(server: Running) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(http, server.url)
        await client.initialize()
        required = await client.call("tools/call", {"name": "failing_job", "arguments": {}})
        assert required["error"]["code"] == -32601  # it runs only as a task
        failing = (await client.result("tools/call", {"name": "failing_job", "arguments": {}, "task": {}}))["task"]
        result = await client.result("tasks/result", {"taskId": failing["taskId"]})
        assert result["isError"] is True and result["content"][0]["text"] == "the job failed"
        task = await client.result("tasks/get", {"taskId": failing["taskId"]})
        assert task["status"] == "failed" and task["statusMessage"] == "the job failed"
        crashing = await client.result("tools/call", {"name": "protocol_error_job", "arguments": {}, "task": {}})
        error = await client.call("tasks/result", {"taskId": crashing["task"]["taskId"]})
        assert error["error"] == {"code": -32603, "message": "Internal error: the job crashed"}
        forbidden = await client.call("tools/call", {"name": "greet", "arguments": {"name": "x"}, "task": {}})
        assert forbidden["error"]["code"] == -32601


async def test_a_tasks_question_is_asked_on_the_result_stream(server: Running) -> None:
    asked: list[dict[str, Any]] = []

    async def confirm(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request)
        return {"action": "accept", "content": {"confirm": True}}

    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(http, server.url)
        await client.initialize()
        params = {"name": "confirm_delete", "arguments": {"filename": "a.txt"}, "task": {}}
        task_id = (await client.result("tools/call", params))["task"]["taskId"]
        with anyio.fail_after(5):
            while (await client.result("tasks/get", {"taskId": task_id}))["status"] != "input_required":
                await anyio.sleep(0.05)
        answer = await client.call("tasks/result", {"taskId": task_id}, confirm)
        assert answer["result"]["content"] == [{"type": "text", "text": "Deleted a.txt"}]
        assert answer["result"]["_meta"] == {RELATED_TASK: {"taskId": task_id}}
        [request] = asked
        assert request["method"] == "elicitation/create" and request["params"]["message"] == "Delete a.txt?"
        assert request["params"]["_meta"] == {RELATED_TASK: {"taskId": task_id}}
        assert (await client.result("tasks/get", {"taskId": task_id}))["status"] == "completed"


# -- the official SDK client ------------------------------------------------------------------------


async def test_the_sdk_client_reads_tasks_with_its_2025_11_25_types(server: Running) -> None:
    # mcp 2.3.0 has the 2025-11-25 task types but no task API (no call_tool(task=...), no polling
    # helper). Its send_request refuses the answer to a task-augmented tools/call (it validates every
    # tools/call result as a CallToolResult), so tasks are created through its dispatcher (private);
    # the task methods then go through the public send_request, and its elicitation callback answers
    # the question a task asks on the tasks/result stream.
    from mcp.client import Client as SdkClient
    from mcp_types import (
        CallToolRequest,
        CallToolRequestParams,
        CallToolResult,
        CancelTaskRequest,
        CancelTaskRequestParams,
        CancelTaskResult,
        CreateTaskResult,
        ElicitResult,
        GetTaskPayloadRequest,
        GetTaskPayloadRequestParams,
        GetTaskRequest,
        GetTaskRequestParams,
        GetTaskResult,
        ListTasksRequest,
        ListTasksResult,
        TaskMetadata,
    )
    from pydantic import ValidationError

    asked: list[Any] = []

    async def elicitation(context: Any, params: Any) -> Any:
        asked.append(params.meta)
        return ElicitResult(action="accept", content={"confirm": True})

    async with SdkClient(server.url, mode="legacy", elicitation_callback=elicitation) as client:  # type: ignore[arg-type]
        assert client.protocol_version == "2025-11-25"
        caps = client.server_capabilities.tasks
        assert caps is not None and caps.requests is not None and caps.requests.tools is not None
        session = client.session
        task = CallToolRequestParams(name="slow_compute", arguments={"seconds": 0.2}, task=TaskMetadata(ttl=60_000))
        with pytest.raises(ValidationError, match="CallToolResult"):
            await session.send_request(CallToolRequest(params=task), CreateTaskResult)

        async def create(name: str, arguments: dict[str, Any]) -> str:
            params = {"name": name, "arguments": arguments, "task": {"ttl": 60_000}}
            headers = {"mcp-protocol-version": "2025-11-25"}
            raw = await session._dispatcher.send_raw_request("tools/call", params, {"headers": headers})
            created = CreateTaskResult.model_validate(raw)
            assert created.task.status == "working" and created.task.ttl == 60_000
            return created.task.task_id

        computing = await create("slow_compute", {"seconds": 0.2, "label": "sdk"})
        got = await session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=computing)), GetTaskResult)
        assert got.task_id == computing and got.poll_interval == 5000
        payload = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=computing))
        result = await session.send_request(payload, CallToolResult)
        assert result.content[0].text == "Computed sdk after 0.2s"  # type: ignore[union-attr]
        asking = await create("confirm_delete", {"filename": "b.txt"})
        payload = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=asking))
        confirmed = await session.send_request(payload, CallToolResult)
        assert confirmed.content[0].text == "Deleted b.txt"  # type: ignore[union-attr]
        assert asked == [{RELATED_TASK: {"taskId": asking}}]
        waiting = await create("slow_compute", {"seconds": 30})
        cancel = CancelTaskRequest(params=CancelTaskRequestParams(task_id=waiting))
        assert (await session.send_request(cancel, CancelTaskResult)).status == "cancelled"
        listed = await session.send_request(ListTasksRequest(), ListTasksResult)
        statuses = {t.task_id: t.status for t in listed.tasks}  # (with the one created by the refused call)
        assert len(statuses) == 4
        assert statuses | {computing: "completed", asking: "completed", waiting: "cancelled"} == statuses
