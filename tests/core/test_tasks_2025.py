"""The experimental tasks of 2025-11-25 in handshake sessions, in the core: every rule, no sockets, a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from mcp_sansio import (
    RELATED_TASK,
    App,
    CancelTask,
    ClientError,
    Config,
    ErrorResponse,
    InputRequest,
    InputRequired,
    LoadTask,
    LocalProtocolError,
    MemoryStore,
    Output,
    RemoteProtocolError,
    Response,
    RunHandler,
    RunTask,
    SaveTask,
    SendEvent,
    SendResponse,
    StartStream,
    TaskRecord,
    TaskStatus,
    TaskWaitStep,
    ToolError,
    WaitTask,
    run_plan,
)
from mcp_sansio._task_record import iso_time
from tests.apps import tasks_app
from tests.conftest import HEAD, Harness, make_harness, routing_headers, stateless_request

ELICIT = {"elicitation": {}}
DAY_MS = 86_400_000


class Session:
    """One 2025-11-25 session of a harness, and helpers to speak in it."""

    def __init__(
        self,
        harness: Harness | None = None,
        version: str = "2025-11-25",
        capabilities: dict[str, Any] | None = None,
        config: Config | None = None,
    ) -> None:
        self.h = harness or make_harness(tasks_app(), config)
        self.id = self.h.initialize(version, ELICIT if capabilities is None else capabilities)
        self.rid = 0

    @property
    def now(self) -> float:
        return self.h.now[0]

    def advance(self, seconds: float) -> None:
        self.h.now[0] += seconds

    def send(self, method: str, params: dict[str, Any] | None = None) -> list[Output]:
        self.rid += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": self.rid, "method": method}
        if params is not None:
            body["params"] = params
        return self.h.post(body, self.id)

    def answer(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON-RPC answer of a request answered at once."""
        outputs = self.send(method, params)
        response = next(o for o in outputs if isinstance(o, SendResponse))
        assert response.status == 200, response
        return json.loads(response.body)

    def create(self, tool: str = "slow", arguments: dict[str, Any] | None = None, **task: Any) -> tuple[str, RunTask]:
        outputs = self.send("tools/call", {"name": tool, "arguments": arguments or {}, "task": task})
        response = next(o for o in outputs if isinstance(o, SendResponse))
        created = json.loads(response.body)["result"]["task"]
        [run] = [o for o in outputs if isinstance(o, RunTask)]
        return created["taskId"], run

    def record(self, task_id: str) -> TaskRecord:
        found = self.h.store.execute(LoadTask(task_id, self.now))
        assert found is not None
        return found

    def finish(self, run: RunTask, value: Any = None, exc: BaseException | None = None) -> list[Output]:
        plan = run.run.fail(run.call, exc) if exc is not None else run.run.complete(run.call, value)
        return list(self.h.run(plan))

    def wait(self, task_id: str) -> WaitTask:
        outputs = self.send("tasks/result", {"taskId": task_id})
        assert isinstance(outputs[0], StartStream)
        [wait] = [o for o in outputs if isinstance(o, WaitTask)]
        return wait

    def step(self, wait: WaitTask, **kw: Any) -> TaskWaitStep:
        step = self.h.run(self.h.server.task_result(wait, **kw))
        assert isinstance(step, TaskWaitStep)
        return step


def events(outputs: list[Output]) -> list[Any]:
    """The JSON messages of the SSE events among ``outputs``."""
    found = []
    for output in outputs:
        if isinstance(output, SendEvent):
            data = [line[6:] for line in output.data.decode().split("\n") if line.startswith("data: ")]
            found.append(json.loads("".join(data)))
    return found


def error_code(body: Any) -> int:
    return int(body["error"]["code"])


# -- capabilities and what a tools/call becomes -----------------------------------------


def test_initialize_advertises_tasks_only_to_2025_11_25_sessions_of_an_app_with_task_tools() -> None:
    def capabilities(app: App, version: str) -> dict[str, Any]:
        h = make_harness(app)
        body = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        outputs = h.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": body})
        return dict(json.loads(next(o for o in outputs if isinstance(o, SendResponse)).body)["result"]["capabilities"])

    tasks = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    assert capabilities(tasks_app(), "2025-11-25")["tasks"] == tasks
    assert "tasks" not in capabilities(tasks_app(), "2025-06-18")
    no_tasks = App("plain")
    no_tasks.tool()(tasks_app().tools["plain"].fn)
    assert "tasks" not in capabilities(no_tasks, "2025-11-25")


def test_a_task_augmented_call_answers_a_create_task_result_stored_first() -> None:
    s = Session()
    outputs = s.send("tools/call", {"name": "slow", "arguments": {"seconds": 2}, "task": {"ttl": 60_000}})
    assert [type(o).__name__ for o in outputs] == ["SendResponse", "RunTask"]
    body = json.loads(next(o for o in outputs if isinstance(o, SendResponse)).body)
    task = body["result"]["task"]
    assert set(body["result"]) == {"task"}
    assert task == {
        "taskId": task["taskId"],
        "status": "working",
        "createdAt": iso_time(s.now),
        "lastUpdatedAt": iso_time(s.now),
        "ttl": 60_000,
        "pollInterval": 500,
    }
    record = s.record(task["taskId"])  # durable before the answer left
    assert record.session_id == s.id and record.owner is None and record.status is TaskStatus.WORKING
    assert record.arguments == {"seconds": 2} and record.capabilities == ELICIT
    run = next(o for o in outputs if isinstance(o, RunTask))
    assert run.run.peer.protocol_version == "2025-11-25" and run.run.session_id == s.id


@pytest.mark.parametrize(
    ("task", "ttl"),
    [
        ({}, 3_600_000),
        ({"ttl": None}, 3_600_000),
        ({"ttl": 0}, 1000),
        ({"ttl": 2.5e3}, 2500),
        ({"ttl": 9e99}, DAY_MS),
        ({"ttl": 10**400}, DAY_MS),
    ],
)
def test_the_requested_ttl_is_honoured_within_bounds(task: dict[str, Any], ttl: int) -> None:
    s = Session(config=Config(task_ttl=3600) if ttl != DAY_MS else Config(task_ttl=86_400))
    task_id, _ = s.create(**task)
    assert s.answer("tasks/get", {"taskId": task_id})["result"]["ttl"] == ttl


@pytest.mark.parametrize("task", ["soon", [], {"ttl": -1}, {"ttl": "60000"}, {"ttl": True}])
def test_a_malformed_task_param_is_invalid_params(task: Any) -> None:
    body = Session().answer("tools/call", {"name": "slow", "arguments": {}, "task": task})
    assert error_code(body) == -32602 and "task" in body["error"]["message"]


def test_task_support_decides_between_task_plain_call_and_method_not_found() -> None:
    s = Session()
    forbidden = s.answer("tools/call", {"name": "plain", "arguments": {}, "task": {}})
    assert error_code(forbidden) == -32601 and "does not support task-augmented calls" in forbidden["error"]["message"]
    required = s.answer("tools/call", {"name": "must", "arguments": {}})
    assert error_code(required) == -32601 and "must be called as a task" in required["error"]["message"]
    optional = s.send("tools/call", {"name": "slow", "arguments": {}})
    assert [type(o).__name__ for o in optional] == ["RunHandler"]  # no task: an ordinary call
    null_task = s.send("tools/call", {"name": "slow", "arguments": {}, "task": None})
    assert [type(o).__name__ for o in null_task] == ["RunHandler"]
    unknown = s.answer("tools/call", {"name": "nope", "arguments": {}, "task": {}})
    assert error_code(unknown) == -32602
    bad_arguments = s.answer("tools/call", {"name": "slow", "arguments": [], "task": {}})
    assert error_code(bad_arguments) == -32602
    manual = s.send("tools/call", {"name": "manual", "arguments": {}, "task": {}})
    assert [type(o).__name__ for o in manual] == ["SendResponse", "RunTask"]  # started at once in 2025-11-25


def test_earlier_revisions_ignore_the_task_param_and_cannot_call_task_only_tools() -> None:
    s = Session(version="2025-06-18")
    ignored = s.send("tools/call", {"name": "slow", "arguments": {}, "task": {"ttl": 5}})
    assert [type(o).__name__ for o in ignored] == ["RunHandler"]
    forbidden = s.send("tools/call", {"name": "plain", "arguments": {}, "task": {}})
    assert [type(o).__name__ for o in forbidden] == ["RunHandler"]
    required = s.answer("tools/call", {"name": "must", "arguments": {}, "task": {}})
    assert error_code(required) == -32601 and "2025-06-18 has no tasks" in required["error"]["message"]
    for method in ("tasks/get", "tasks/result", "tasks/list", "tasks/cancel"):
        assert error_code(s.answer(method, {"taskId": "x"})) == -32601


def test_without_task_tools_a_2025_11_25_session_has_no_tasks() -> None:
    app = App("plain")

    @app.tool()
    async def plain() -> str:
        return "plain"

    s = Session(make_harness(app))
    assert [type(o).__name__ for o in s.send("tools/call", {"name": "plain", "task": {}})] == ["RunHandler"]
    for method in ("tasks/get", "tasks/result", "tasks/list", "tasks/cancel", "tasks/update"):
        assert error_code(s.answer(method, {"taskId": "x"})) == -32601


def test_arguments_that_do_not_fit_make_a_task_failed_from_the_start() -> None:
    s = Session()
    outputs = s.send("tools/call", {"name": "slow", "arguments": {"seconds": "long"}, "task": {}})
    assert [type(o).__name__ for o in outputs] == ["SendResponse"]  # nothing runs
    task = json.loads(outputs[0].body)["result"]["task"]  # type: ignore[union-attr]
    assert task["status"] == "failed" and "Invalid arguments" in task["statusMessage"]
    result = s.answer("tasks/result", {"taskId": task["taskId"]})["result"]
    assert result["isError"] is True and result["_meta"] == {RELATED_TASK: {"taskId": task["taskId"]}}


# -- tasks/get, tasks/result ----------------------------------------------------------------


def test_get_polls_and_result_returns_what_the_call_would_have() -> None:
    s = Session()
    task_id, run = s.create(arguments={"seconds": 2})
    assert s.answer("tasks/get", {"taskId": task_id})["result"]["status"] == "working"
    s.advance(2)
    s.finish(run, "slept 2")
    got = s.answer("tasks/get", {"taskId": task_id})["result"]
    assert got["status"] == "completed" and got["lastUpdatedAt"] == iso_time(s.now)
    assert set(got) == {"taskId", "status", "createdAt", "lastUpdatedAt", "ttl", "pollInterval"}
    result = s.answer("tasks/result", {"taskId": task_id})["result"]
    assert result == {"content": [{"type": "text", "text": "slept 2"}], "_meta": {RELATED_TASK: {"taskId": task_id}}}


def test_result_waits_on_a_stream_until_the_task_is_over() -> None:
    s = Session()
    task_id, run = s.create()
    wait = s.wait(task_id)
    assert wait.task_id == task_id and wait.poll == 0.5 and wait.until == s.now + 300
    assert s.step(wait) == TaskWaitStep()  # still working: nothing to do yet
    s.finish(run, "slept 1")
    step = s.step(wait)
    assert step.done and step.ask is None
    [message] = events(step.outputs)
    assert message["id"] == wait.request_id
    assert message["result"]["content"][0]["text"] == "slept 1"
    assert message["result"]["_meta"][RELATED_TASK] == {"taskId": task_id}


def test_tool_errors_and_protocol_errors_fail_the_task_and_result_returns_them() -> None:
    s = Session()
    task_id, run = s.create()
    s.finish(run, exc=ToolError("bad input"))
    got = s.answer("tasks/get", {"taskId": task_id})["result"]
    assert got["status"] == "failed" and got["statusMessage"] == "bad input"
    result = s.answer("tasks/result", {"taskId": task_id})["result"]
    assert result["isError"] is True and result["content"] == [{"type": "text", "text": "bad input"}]
    other, run = s.create()
    s.finish(run, exc=RemoteProtocolError("Internal error: boom", code=-32603, data={"why": 1}))
    assert s.answer("tasks/get", {"taskId": other})["result"]["statusMessage"] == "Internal error: boom"
    error = s.answer("tasks/result", {"taskId": other})["error"]
    assert error == {"code": -32603, "message": "Internal error: boom", "data": {"why": 1}}
    # A tool that returns an isError result fails the task too.
    third, run = s.create()
    s.h.run(run.run.complete(replace(run.call, convert=lambda v: {"content": [], "isError": True}), None))
    third_task = s.answer("tasks/get", {"taskId": third})["result"]
    assert third_task["status"] == "failed" and third_task["statusMessage"] == "the tool reported an error"


def test_a_wait_gives_up_at_the_request_timeout_or_the_tasks_ttl() -> None:
    s = Session(config=Config(server_request_timeout=30))
    task_id, _ = s.create()
    wait = s.wait(task_id)
    assert wait.until == s.now + 30
    s.advance(30)
    step = s.step(wait)
    [message] = events(step.outputs)
    assert step.done and message["error"]["code"] == -32603
    assert message["error"]["data"] == {"taskId": task_id, "status": "working"}
    short, _ = s.create(ttl=5_000)
    wait = s.wait(short)
    assert wait.until == s.now + 5  # a task expiring sooner bounds the wait
    s.advance(6)
    step = s.step(wait)
    assert step.done and events(step.outputs)[0]["error"]["code"] == -32602  # it is gone


def test_a_cancelled_wait_answers_request_cancelled() -> None:
    s = Session()
    task_id, _ = s.create()
    step = s.step(s.wait(task_id), cancelled=True)
    assert step.done and events(step.outputs)[0]["error"]["code"] == -32800
    assert s.record(task_id).status is TaskStatus.WORKING  # the request was cancelled, not the task


# -- tasks/cancel --------------------------------------------------------------------------


def test_cancel_answers_the_cancelled_task_and_sticks() -> None:
    s = Session()
    task_id, run = s.create()
    outputs = s.send("tasks/cancel", {"taskId": task_id})
    assert CancelTask(task_id) in outputs
    cancelled = json.loads(next(o for o in outputs if isinstance(o, SendResponse)).body)["result"]
    assert cancelled["status"] == "cancelled" and cancelled["statusMessage"] == "The task was cancelled by request."
    s.finish(run, "too late")  # the tool finished anyway
    assert s.record(task_id).status is TaskStatus.CANCELLED
    again = s.answer("tasks/cancel", {"taskId": task_id})
    assert error_code(again) == -32602 and "already cancelled" in again["error"]["message"]
    assert error_code(s.answer("tasks/result", {"taskId": task_id})) == -32800
    done, run = s.create()
    s.finish(run, "done")
    assert "already completed" in s.answer("tasks/cancel", {"taskId": done})["error"]["message"]


# -- who may see a task ---------------------------------------------------------------------


def test_unknown_ids_and_other_sessions_tasks_are_invalid_params() -> None:
    s = Session()
    mine, _ = s.create()
    other = Session(s.h)
    for method in ("tasks/get", "tasks/result", "tasks/cancel"):
        assert error_code(other.answer(method, {"taskId": mine})) == -32602
        assert error_code(s.answer(method, {"taskId": "nope"})) == -32602
        assert error_code(s.answer(method, {})) == -32602
    assert other.answer("tasks/list")["result"] == {"tasks": []}
    # Another principal's record in this very session (sessions are bound to principals, so only a
    # forged record can be that) is unknown too.
    forged = replace(s.record(mine), id="forged", owner='["https://as","mallory"]', version=1)
    assert s.h.store.execute(SaveTask(forged, None))
    assert error_code(s.answer("tasks/get", {"taskId": "forged"})) == -32602
    assert [t["taskId"] for t in s.answer("tasks/list")["result"]["tasks"]] == [mine]


def test_the_two_revisions_tasks_never_meet() -> None:
    s = Session()
    session_task, _ = s.create()

    def stateless(method: str, params: dict[str, Any]) -> Any:
        body = stateless_request(method, params, capabilities={"extensions": {"io.modelcontextprotocol/tasks": {}}})
        outputs = s.h.request("POST", body, routing_headers(body), base=HEAD)
        return json.loads(next(o for o in outputs if isinstance(o, SendResponse)).body)

    assert error_code(stateless("tasks/get", {"taskId": session_task})) == -32602
    extension_task = stateless("tools/call", {"name": "slow", "arguments": {}})["result"]["taskId"]
    assert error_code(s.answer("tasks/get", {"taskId": extension_task})) == -32602


# -- tasks/list ------------------------------------------------------------------------------


def test_list_pages_through_the_sessions_tasks_in_creation_order() -> None:
    s = Session(config=Config(page_size=2))
    created = []
    for _ in range(5):
        created.append(s.create()[0])
        s.advance(1)
    Session(s.h).create()  # another session's
    seen, cursor, pages = [], None, 0
    while True:
        result = s.answer("tasks/list", {"cursor": cursor} if cursor is not None else {})["result"]
        seen += [t["taskId"] for t in result["tasks"]]
        pages += 1
        cursor = result.get("nextCursor")
        if cursor is None:
            break
    assert seen == created and pages == 3
    assert set(result["tasks"][0]) == {"taskId", "status", "createdAt", "lastUpdatedAt", "ttl", "pollInterval"}
    for bad in ("nope", "bm9wZQ==", 7):
        assert error_code(s.answer("tasks/list", {"cursor": bad})) == -32602
    s.advance(3600 - 3.5)  # the first two expire
    assert [t["taskId"] for t in s.answer("tasks/list")["result"]["tasks"]] == created[2:4]


# -- input (2025-11-25 asks the client on the tasks/result stream) ---------------------------


def park(s: Session, run: RunTask) -> None:
    """Run ``asks`` once: it raises InputRequired for its two questions, which parks the task."""
    with pytest.raises(InputRequired) as raised:
        run.run.inputs(run.call, {"a": InputRequest.elicitation("a?", {}), "b": InputRequest.elicitation("b?", {})})
    s.finish(run, exc=raised.value)


def test_input_is_asked_on_the_result_stream_and_the_answers_resume_the_tool() -> None:
    s = Session()
    task_id, run = s.create("asks")
    park(s, run)
    assert s.answer("tasks/get", {"taskId": task_id})["result"]["status"] == "input_required"
    wait = s.wait(task_id)
    first = s.step(wait)
    assert not first.done and first.key == "a" and first.ask is not None
    [request] = events(first.outputs)
    assert request["id"] == first.ask and request["method"] == "elicitation/create"
    assert request["params"]["message"] == "a?" and request["params"]["_meta"] == {RELATED_TASK: {"taskId": task_id}}
    assert s.record(task_id).runner == wait.waiter  # claimed: another wait does not ask the same
    rival = s.wait(task_id)
    assert s.step(rival) == TaskWaitStep()
    assert s.h.run(s.h.server.task_input(wait, "a", first.ask, Response(first.ask, {"action": "accept"}))) == []
    second = s.step(wait)
    assert second.key == "b" and second.ask != first.ask
    assert second.ask is not None
    resumed = s.h.run(s.h.server.task_input(wait, "b", second.ask, Response(second.ask, {"action": "decline"})))
    [again] = [o for o in resumed if isinstance(o, RunTask)]
    assert again.call.answers == {"a": {"action": "accept"}, "b": {"action": "decline"}}
    record = s.record(task_id)
    assert record.status is TaskStatus.WORKING and record.runner == s.h.server.instance and record.attempt == 2
    assert again.run.inputs(again.call, {"a": InputRequest.elicitation("a?", {})}) == {"a": {"action": "accept"}}
    assert s.step(wait) == TaskWaitStep()
    s.finish(again, "['a', 'b']")
    done = s.step(wait)
    assert done.done and events(done.outputs)[0]["result"]["content"][0]["text"] == "['a', 'b']"
    # A late answer (to a request abandoned elsewhere) changes nothing.
    assert s.h.run(s.h.server.task_input(wait, "a", "x-9", Response("x-9", {"action": "accept"}))) == []


def test_a_client_error_answer_reaches_the_tool_as_client_error() -> None:
    s = Session()
    task_id, run = s.create("asks")
    park(s, run)
    wait = s.wait(task_id)
    step = s.step(wait)
    assert step.ask is not None
    refusal = ErrorResponse(step.ask, -1, "User rejected", {"why": "no"})
    assert s.h.run(s.h.server.task_input(wait, "a", step.ask, refusal)) == []
    step = s.step(wait)
    assert step.ask is not None
    [again] = [
        o
        for o in s.h.run(s.h.server.task_input(wait, "b", step.ask, Response(step.ask, {"action": "accept"})))
        if isinstance(o, RunTask)
    ]
    with pytest.raises(ClientError) as raised:
        again.run.inputs(again.call, {"a": InputRequest.elicitation("a?", {})})
    assert (raised.value.code, raised.value.message, raised.value.data) == (-1, "User rejected", {"why": "no"})


def test_an_unanswered_input_request_is_abandoned_and_the_claim_released() -> None:
    s = Session()
    task_id, run = s.create("asks")
    park(s, run)
    wait = s.wait(task_id)
    step = s.step(wait)
    assert step.ask is not None
    outputs = s.h.run(s.h.server.task_input(wait, "a", step.ask, None))
    [cancelled] = events(outputs)
    assert cancelled["method"] == "notifications/cancelled"
    assert cancelled["params"] == {"requestId": step.ask, "reason": "no answer within 300s"}
    assert s.record(task_id).runner is None
    rival = s.wait(task_id)
    assert s.step(rival).key == "a"  # free to be asked again


def test_a_dead_waiters_claim_lapses() -> None:
    s = Session(config=Config(server_request_timeout=10, task_lease=5))
    task_id, run = s.create("asks")
    park(s, run)
    assert s.step(s.wait(task_id)).key == "a"  # this waiter then vanishes without a word
    rival = s.wait(task_id)
    assert s.step(rival) == TaskWaitStep()
    s.advance(16)  # its claim lasted server_request_timeout + task_lease
    assert s.step(s.wait(task_id)).key == "a"


def test_a_client_without_the_capability_fails_the_task_at_once() -> None:
    s = Session(capabilities={})
    task_id, run = s.create("asks")
    with pytest.raises(LocalProtocolError, match="elicitation"):
        run.run.inputs(run.call, {"a": InputRequest.elicitation("a?", {})})
    s.finish(run, exc=LocalProtocolError("the client did not declare the 'elicitation' capability"))
    assert s.answer("tasks/get", {"taskId": task_id})["result"]["status"] == "failed"
    assert error_code(s.answer("tasks/result", {"taskId": task_id})) == -32603


# -- what a run of a session's task does with what its tool does ----------------------------


def test_a_runs_messages_have_no_stream_progress_is_its_status_and_chunks_its_result() -> None:
    s = Session()
    task_id, run = s.create("ticker")
    r, call = run.run, run.call
    assert r.stream == task_id and r.is_open(call.request_id) and r.session_id == s.id
    assert s.h.run(r.log(call.request_id, "info", "dropped", None)) == []
    assert s.h.run(r.notify(call.request_id, "notifications/message", {})) == []
    assert s.h.run(r.close_stream(call.request_id)) == []
    assert s.h.run(r.abandon_request(call.request_id, "x-1", "why")) == []
    with pytest.raises(LocalProtocolError, match=r"ctx\.ask or ctx\.elicit"):
        s.h.run(r.server_request(call.request_id, "roots/list", None))
    assert s.h.run(r.progress(call, 1, None, None)) == []  # no message: nothing to keep
    s.h.run(r.progress(call, 2, 10, "half way"))
    assert s.answer("tasks/get", {"taskId": task_id})["result"]["statusMessage"] == "half way"
    assert s.h.run(r.renew()) is True
    s.h.run(r.chunk(call, "a"))
    s.h.run(r.chunk(call, "b"))
    assert s.h.run(r.chunks(call, ["c", None, "d"])) == []  # several at once (an awaited store's batch)
    s.h.run(r.complete(call, None))
    assert not r.is_open(call.request_id) and s.h.run(r.renew()) is False  # over: no lease to keep
    result = s.answer("tasks/result", {"taskId": task_id})["result"]
    assert [block["text"] for block in result["content"]] == ["a", "b", "c", "d"]
    stopped, run = s.create()
    s.h.run(run.run.cancelled(run.call))
    task = s.answer("tasks/get", {"taskId": stopped})["result"]
    assert task["status"] == "cancelled" and task["statusMessage"] == "The task's run was stopped."


# -- lost runs and records --------------------------------------------------------------------


def test_lost_session_tasks_restart_as_session_runs_or_fail_with_a_message() -> None:
    s = Session(config=Config(task_lease=5))
    restarting, _ = s.create()
    failing, _ = s.create("asks")  # asks declares on_lost="fail"
    s.advance(10)
    outputs = s.h.run(s.h.server.sweep_tasks())
    [restarted] = [o for o in outputs if isinstance(o, RunTask)]
    assert restarted.run.task_id == restarting and restarted.run.session_id == s.id
    assert restarted.run.peer.protocol_version == "2025-11-25"
    failed = s.answer("tasks/get", {"taskId": failing})["result"]
    assert failed["status"] == "failed" and failed["statusMessage"].endswith("the server running this task stopped")


def test_a_record_keeps_its_session_through_json() -> None:
    record = TaskRecord("t", "x", {}, None, TaskStatus.WORKING, 1.5, 1.5, 1000, 100, session_id="s:1")
    assert TaskRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    older = record.to_json()
    del older["session_id"]  # stored before session tasks existed
    assert TaskRecord.from_json(older).session_id is None
    with pytest.raises(ValueError, match="session_id"):
        TaskRecord.from_json({**record.to_json(), "session_id": 7})
    with pytest.raises(ValueError, match="not a task record"):
        TaskRecord.from_json([])  # type: ignore[arg-type]
    assert record.position == "000000000001500:t"


def test_a_plain_handler_output_is_untouched_by_tasks() -> None:
    s = Session()
    [handler] = s.send("tools/call", {"name": "plain", "arguments": {}})
    assert isinstance(handler, RunHandler) and handler.call.name == "plain"
    assert run_plan(s.h.server.sweep_tasks(), s.h.store) == []


# -- races: another instance changes the record between our read and our write --------------


class RacingStore(MemoryStore):
    """A memory store that lets another writer in just before the ``nth`` LoadTask."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.interfere: tuple[int, Callable[[], None]] | None = None

    def execute(self, command: Any) -> Any:
        if isinstance(command, LoadTask):
            self.loads += 1
            if self.interfere is not None and self.interfere[0] == self.loads:
                self.interfere[1]()
        return super().execute(command)

    def meanwhile(self, nth: int, change: Callable[[], None]) -> None:
        self.loads, self.interfere = 0, (nth, change)


def racing_session() -> tuple[Session, RacingStore]:
    h = make_harness(tasks_app())
    store = h.store = RacingStore()
    return Session(h), store


def overwrite(s: Session, task_id: str, **changes: Any) -> Callable[[], None]:
    def change() -> None:
        record = s.record(task_id)
        assert s.h.store.execute(SaveTask(replace(record, version=record.version + 1, **changes), record.version))

    return change


def test_a_cancel_that_loses_the_race_to_the_end_or_the_ttl_is_refused() -> None:
    s, store = racing_session()
    ended, _ = s.create()
    store.meanwhile(2, overwrite(s, ended, status=TaskStatus.COMPLETED, result={"content": []}))
    assert "already completed" in s.answer("tasks/cancel", {"taskId": ended})["error"]["message"]
    gone, _ = s.create()
    store.meanwhile(2, overwrite(s, gone, created_at=s.now - 10, ttl_ms=1000))
    assert "unknown task" in s.answer("tasks/cancel", {"taskId": gone})["error"]["message"]


def test_a_claim_that_loses_the_race_to_a_cancel_asks_nothing() -> None:
    s, store = racing_session()
    task_id, run = s.create("asks")
    park(s, run)
    wait = s.wait(task_id)
    store.meanwhile(2, overwrite(s, task_id, status=TaskStatus.CANCELLED, input_requests={}))
    assert s.step(wait) == TaskWaitStep()
    step = s.step(wait)
    assert step.done and events(step.outputs)[0]["error"]["code"] == -32800
    # And an error answer without data, for a task that is over, changes nothing either.
    assert s.h.run(s.h.server.task_input(wait, "a", "s9-1", ErrorResponse("s9-1", -1, "no"))) == []
