"""Tasks in the core: the transition table, the task methods' answers, a run's reports, lost runs."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from mcp_sansio import (
    TASKS_EXTENSION,
    CancelTask,
    Config,
    HttpRequest,
    InputRequest,
    LoadTask,
    LocalProtocolError,
    MemoryStore,
    RemoteProtocolError,
    RunTask,
    SaveTask,
    SendResponse,
    Server,
    TaskRecord,
    TaskStatus,
    ToolError,
    run_plan,
)
from mcp_sansio._task_record import TASK_TRANSITIONS, iso_time
from tests.apps import tasks_app
from tests.conftest import HEAD, routing_headers, stateless_request

CAPS = {"extensions": {TASKS_EXTENSION: {}}}


class Rig:
    def __init__(self, config: Config | None = None) -> None:
        self.now = [1_700_000_000.0]
        self.server = Server(tasks_app(), config or Config(), clock=lambda: self.now[0])
        self.store = MemoryStore()

    def post(self, method: str, params: dict[str, Any], capabilities: dict[str, Any] | None = CAPS) -> list[Any]:
        body = stateless_request(method, params, capabilities=capabilities)
        request = HttpRequest.build("POST", "/mcp", [*HEAD, *routing_headers(body)])
        return list(run_plan(self.server.receive(request, json.dumps(body).encode()), self.store))

    def answer(self, method: str, params: dict[str, Any], capabilities: dict[str, Any] | None = CAPS) -> Any:
        outputs = self.post(method, params, capabilities)
        response = next(o for o in outputs if isinstance(o, SendResponse))
        return json.loads(response.body), outputs

    def record(self, task_id: str) -> TaskRecord:
        found = self.store.execute(LoadTask(task_id, self.now[0]))
        assert found is not None
        return found

    def run(self, output: RunTask, value: Any = None, exc: BaseException | None = None) -> None:
        run = output.run
        plan = run.fail(output.call, exc) if exc is not None else run.complete(output.call, value)
        run_plan(plan, self.store)


def test_terminal_states_have_no_way_out() -> None:
    for status in TaskStatus:
        assert (not TASK_TRANSITIONS[status]) == status.terminal
    done = TaskRecord("t", "x", {}, None, TaskStatus.CANCELLED, 0.0, 0.0, 1000, 100)
    with pytest.raises(LocalProtocolError, match="cancelled cannot become completed"):
        done.moved(TaskStatus.COMPLETED, 1.0)


def test_iso_times_carry_milliseconds() -> None:
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1.9996) == "1970-01-01T00:00:02.000Z"
    assert iso_time(1_700_000_000.25) == "2023-11-14T22:13:20.250Z"


def test_a_task_is_created_durably_and_completes_with_its_result() -> None:
    rig = Rig()
    body, outputs = rig.answer("tools/call", {"name": "slow", "arguments": {"seconds": 2}})
    created = body["result"]
    assert created["resultType"] == "task" and created["status"] == "working"
    assert created["ttlMs"] == 3_600_000 and created["pollIntervalMs"] == 500
    assert {"result", "error", "inputRequests", "requestState", "task", "ttl"}.isdisjoint(created)
    [run] = [o for o in outputs if isinstance(o, RunTask)]
    assert rig.record(created["taskId"]).status is TaskStatus.WORKING  # stored before the answer left
    rig.now[0] += 2
    rig.run(run, "slept 2")
    got, _ = rig.answer("tasks/get", {"taskId": created["taskId"]})
    detailed = got["result"]
    assert detailed["status"] == "completed" and detailed["resultType"] == "complete"
    assert detailed["result"]["content"] == [{"type": "text", "text": "slept 2"}]
    assert detailed["lastUpdatedAt"] == iso_time(rig.now[0])


def test_tool_errors_complete_with_is_error_and_protocol_errors_fail() -> None:
    rig = Rig()
    for exc, status in ((ToolError("bad input"), "completed"), (RemoteProtocolError("boom", code=-32603), "failed")):
        body, outputs = rig.answer("tools/call", {"name": "slow", "arguments": {}})
        run = next(o for o in outputs if isinstance(o, RunTask))
        rig.run(run, exc=exc)
        task = rig.answer("tasks/get", {"taskId": body["result"]["taskId"]})[0]["result"]
        assert task["status"] == status
        if status == "completed":
            assert task["result"]["isError"] is True
        else:
            assert task["error"] == {"code": -32603, "message": "boom"} and "result" not in task


def test_cancel_sticks_and_is_idempotent() -> None:
    rig = Rig()
    body, outputs = rig.answer("tools/call", {"name": "slow", "arguments": {}})
    task_id = body["result"]["taskId"]
    ack, cancel_outputs = rig.answer("tasks/cancel", {"taskId": task_id})
    assert ack["result"] == {"resultType": "complete", "_meta": ack["result"]["_meta"]}
    assert CancelTask(task_id) in cancel_outputs
    rig.run(next(o for o in outputs if isinstance(o, RunTask)), "too late")  # the tool finished anyway
    assert rig.record(task_id).status is TaskStatus.CANCELLED
    again, again_outputs = rig.answer("tasks/cancel", {"taskId": task_id})
    assert again["result"]["resultType"] == "complete" and not any(isinstance(o, CancelTask) for o in again_outputs)


def test_input_rounds_park_the_task_and_answers_resume_it() -> None:
    rig = Rig()
    body, outputs = rig.answer("tools/call", {"name": "asks", "arguments": {}})
    task_id = body["result"]["taskId"]
    run = next(o for o in outputs if isinstance(o, RunTask))
    with pytest.raises(BaseException) as raised:  # the handler's ask raises InputRequired
        run.run.inputs(run.call, {"a": InputRequest.elicitation("a?", {}), "b": InputRequest.elicitation("b?", {})})
    rig.run(run, exc=raised.value)
    parked = rig.answer("tasks/get", {"taskId": task_id})[0]["result"]
    assert parked["status"] == "input_required" and set(parked["inputRequests"]) == {"a", "b"}
    # One answer, and one for nothing pending: acked, still waiting, only "b" left.
    ack, none_resumed = rig.answer(
        "tasks/update", {"taskId": task_id, "inputResponses": {"a": {"action": "accept"}, "zzz": {}}}
    )
    assert ack["result"]["resultType"] == "complete" and not any(isinstance(o, RunTask) for o in none_resumed)
    assert set(rig.answer("tasks/get", {"taskId": task_id})[0]["result"]["inputRequests"]) == {"b"}
    # The last answer: the run resumes here, with both answers.
    _, resumed = rig.answer("tasks/update", {"taskId": task_id, "inputResponses": {"b": {"action": "decline"}}})
    [again] = [o for o in resumed if isinstance(o, RunTask)]
    assert again.call.answers == {"a": {"action": "accept"}, "b": {"action": "decline"}}
    assert rig.record(task_id).status is TaskStatus.WORKING and rig.record(task_id).attempt == 2
    malformed = rig.answer("tasks/update", {"taskId": task_id, "inputResponses": []})[0]
    assert malformed["error"]["code"] == -32602


def test_the_extension_gates_everything() -> None:
    rig = Rig()
    for method in ("tasks/get", "tasks/update", "tasks/cancel"):
        body = rig.answer(method, {"taskId": "x", "inputResponses": {}}, capabilities={})[0]
        assert body["error"]["code"] == -32021
        assert body["error"]["data"] == {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}
    # A task-supporting tool, for a client without the extension: run in the request, no task.
    plain = rig.post("tools/call", {"name": "slow", "arguments": {"seconds": 0}}, capabilities={})
    assert [type(o).__name__ for o in plain] == ["RunHandler"]
    required = rig.answer("tools/call", {"name": "must", "arguments": {}}, capabilities={})[0]
    assert required["error"]["code"] == -32021
    never = rig.post("tools/call", {"name": "plain", "arguments": {}, "task": {"ttl": 5}})  # the v1 hint is ignored
    assert [type(o).__name__ for o in never] == ["RunHandler"]
    for method in ("tasks/list", "tasks/result"):
        assert rig.answer(method, {"taskId": "x"})[0]["error"]["code"] == -32601
    unknown = rig.answer("tasks/get", {"taskId": "nope"})[0]
    assert unknown["error"]["code"] == -32602
    missing = rig.answer("tasks/get", {})[0]
    assert missing["error"]["code"] == -32602


def test_a_task_is_scoped_to_its_principal() -> None:
    from mcp_sansio import Principal, ResourceServer

    auth = ResourceServer("https://m.example/mcp", ("https://as.example",))
    server = Server(tasks_app(), auth=auth)
    store = MemoryStore()
    alice, bob = Principal("alice", "https://as.example"), Principal("bob", "https://as.example")

    def call(method: str, params: dict[str, Any], who: Principal) -> Any:
        body = stateless_request(method, params, capabilities=CAPS)
        request = HttpRequest.build("POST", "/mcp", [*HEAD, *routing_headers(body)])
        outputs = run_plan(server.receive(request, json.dumps(body).encode(), principal=who), store)
        return json.loads(next(o for o in outputs if isinstance(o, SendResponse)).body)

    task_id = call("tools/call", {"name": "slow", "arguments": {}}, alice)["result"]["taskId"]
    assert call("tasks/get", {"taskId": task_id}, alice)["result"]["status"] == "working"
    for method in ("tasks/get", "tasks/cancel"):
        assert call(method, {"taskId": task_id}, bob)["error"]["code"] == -32602  # unknown to bob


def test_lost_runs_restart_or_fail_as_their_tool_declares() -> None:
    rig = Rig(Config(task_lease=5))
    body, _ = rig.answer("tools/call", {"name": "slow", "arguments": {}})
    restarting = body["result"]["taskId"]
    rig.now[0] += 1
    assert run_plan(rig.server.sweep_tasks(), rig.store) == []  # the lease holds
    other = Server(tasks_app(), Config(task_lease=5), clock=lambda: rig.now[0])  # another instance
    # A tool without on_lost="restart" fails instead.
    record = rig.record(restarting)
    failing = replace(record, id="f1", tool="plain", version=1)
    assert rig.store.execute(SaveTask(failing, None))
    rig.now[0] += 10
    outputs = run_plan(other.sweep_tasks(), rig.store)
    assert [o.run.task_id for o in outputs if isinstance(o, RunTask)] == [restarting]
    assert rig.record(restarting).runner == other.instance and rig.record(restarting).attempt == 2
    assert rig.record("f1").status is TaskStatus.FAILED
    assert run_plan(other.sweep_tasks(), rig.store) == []  # claimed once, not twice
    # The original runner, back from a pause, may not finish what another instance took over.
    stale = next(o for o in rig.post("tools/call", {"name": "slow", "arguments": {}}) if isinstance(o, RunTask))
    assert stale.run.runner == rig.server.instance
    rig.now[0] += 3600 * 2
    run_plan(rig.server.sweep_tasks(), rig.store)
    assert rig.store.census()["tasks"] == 0  # past their TTL, forgotten


def test_manual_start_needs_a_task_capable_call() -> None:
    rig = Rig()
    outputs = rig.post("tools/call", {"name": "manual", "arguments": {}})
    handler = next(o for o in outputs if not isinstance(o, SendResponse))
    exchange = handler.exchange
    out, run = run_plan(exchange.start_task(handler.call), rig.store)
    created = json.loads(next(o for o in out if isinstance(o, SendResponse)).body)["result"]
    assert created["resultType"] == "task" and rig.record(run.task_id).status is TaskStatus.WORKING
    with pytest.raises(LocalProtocolError, match="cannot become a task"):
        run_plan(exchange.start_task(handler.call), rig.store)
