"""The experimental tasks of 2025-11-25, in handshake sessions.

A ``tools/call`` with ``params.task`` runs its tool as a task whose record names the
session: the client gets ``{"task": {...}}`` (``CreateTaskResult``) at once, the record
stored first, and learns the rest through ``tasks/get``, ``tasks/list``,
``tasks/cancel`` and ``tasks/result``, which blocks until the task is over and then
answers exactly what the ``tools/call`` would have. A task belongs to its session (and
principal): to anyone else its id is unknown.

Runs are 2026-07-28's (:class:`~mcp_sansio.TaskRun`: compare-and-set updates, leases,
restart or failure of lost runs), and so is asking for input: a tool that asks parks
its task ``input_required``. A ``tasks/result`` waiter then claims the task, sends each
pending request to the client on its own stream (tagged with the related task),
records the answers, and the tool runs again from the top and finds them.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ._auth import Principal
from ._errors import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_CANCELLED
from ._events import Call, CancelTask, Output, RunTask, WaitTask
from ._exchange import Exchange
from ._jsonrpc import ErrorResponse, Request, RequestId, Response
from ._methods import SessionChange, plan_method
from ._registry import App
from ._session import SessionRecord
from ._store import ListTasks, LoadTask, Plan, TaskPage
from ._task_record import RELATED_TASK, TaskRecord, TaskStatus
from ._tasks import CLIENT_ERROR, TaskFactory, TaskHost, cancel_task, change_task, resume_task, take_answers
from ._versions import has_session_tasks

__all__ = [
    "SESSION_TASK_METHODS",
    "TaskWaitStep",
    "offers_session_tasks",
    "concerns_tasks",
    "serve_session_task",
    "task_result_step",
    "task_input",
]

SESSION_TASK_METHODS: Final = frozenset({"tasks/get", "tasks/result", "tasks/list", "tasks/cancel"})
# A requested ttl is honoured between this and Config.task_ttl (0 would expire the task at once).
MIN_TTL_MS: Final = 1000
_POSITION = re.compile(r"\d{15}:[A-Za-z0-9_-]+")


def offers_session_tasks(protocol_version: str, app: App) -> bool:
    """Whether a session of ``protocol_version`` has tasks: 2025-11-25, and some tool can be one."""
    return has_session_tasks(protocol_version) and app.offers_tasks


def concerns_tasks(request: Request, session: SessionRecord, app: App) -> bool:
    """Whether ``request`` is a task matter in ``session`` (:func:`serve_session_task` answers it).

    Cheap, for every request: a call of a tool that never runs as a task, without
    ``params.task``, is not one.
    """
    if request.method == "tools/call":
        params = request.params or {}
        name = params.get("name")
        tool = app.tools.get(name) if isinstance(name, str) else None
        return tool is not None and (tool.task_support != "forbidden" or "task" in params)
    return request.method in SESSION_TASK_METHODS and offers_session_tasks(session.protocol_version, app)


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def serve_session_task(
    host: TaskHost, request: Request, session: SessionRecord, principal: Principal | None, exchange: Exchange
) -> Plan[list[Output] | None]:
    """Answer a request :func:`concerns_tasks` picked; None for a plain call the usual planning answers."""
    owner = principal.key if principal is not None else None
    try:
        if request.method == "tools/call":
            return (yield from _tool_call(host, request, session, owner, exchange))
        return (yield from _task_method(host, request, session, owner, exchange))
    except _Refused as refused:
        return (yield from exchange.respond(ErrorResponse(request.id, refused.code, refused.message)))


def _tool_call(
    host: TaskHost, request: Request, session: SessionRecord, owner: str | None, exchange: Exchange
) -> Plan[list[Output] | None]:
    params = request.params or {}
    tool = host.app.tools[params["name"]]  # concerns_tasks found it
    offered = offers_session_tasks(session.protocol_version, host.app)
    # Receivers that do not declare tasks ignore params.task (the specification), so earlier revisions do.
    task = params.get("task") if offered else None
    if task is None:
        if tool.task_support != "required":
            return None
        why = (
            "must be called as a task (with params.task)"
            if offered
            else f"runs only as a task, and protocol version {session.protocol_version} has no tasks"
        )
        raise _Refused(METHOD_NOT_FOUND, f"Method not found: tool {tool.name!r} {why}")
    ttl_ms = _ttl_ms(task, host)
    if tool.task_support == "forbidden":
        raise _Refused(METHOD_NOT_FOUND, f"Method not found: tool {tool.name!r} does not support task-augmented calls")
    planned = plan_method(request, session, host.app, host.config)
    assert not isinstance(planned, SessionChange)  # only handshake methods change sessions
    if isinstance(planned, ErrorResponse):
        return (yield from exchange.respond(planned))
    arguments = params.get("arguments") or {}  # plan_method checked it is an object
    factory = TaskFactory(
        host.config, host.clock, host.instance, owner, session.client_capabilities, arguments, session.id, ttl_ms
    )
    runs: list[Output] = []
    if isinstance(planned, Call):
        record, run = yield from factory.create(planned)
        runs.append(RunTask(planned, run))
    else:  # its arguments do not fit: the tools/call would answer a tool error, so the task fails at once
        record = yield from factory.settled(tool.name, planned)
    outputs = yield from exchange.respond(Response(request.id, {"task": record.task()}))
    return [*outputs, *runs]


def _ttl_ms(task: Any, host: TaskHost) -> int:
    most = int(host.config.task_ttl * 1000)
    if not isinstance(task, dict):
        raise _Refused(INVALID_PARAMS, 'Invalid params: task must be an object ({} or {"ttl": milliseconds})')
    ttl = task.get("ttl")
    if ttl is None:
        return most
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0:
        raise _Refused(
            INVALID_PARAMS, f"Invalid params: task.ttl must be a non-negative number of milliseconds, not {ttl!r}"
        )
    return max(MIN_TTL_MS, min(most, int(ttl)))


def _task_method(
    host: TaskHost, request: Request, session: SessionRecord, owner: str | None, exchange: Exchange
) -> Plan[list[Output]]:
    params = request.params or {}
    if request.method == "tasks/list":
        return (yield from _list(host, request, session, owner, exchange))
    task_id = params.get("taskId")
    if not isinstance(task_id, str):
        raise _Refused(INVALID_PARAMS, f"Invalid params: {request.method} needs a string taskId")
    record: TaskRecord | None = yield LoadTask(task_id, host.clock())
    # Another session's (or principal's) task is answered exactly like an unknown one: ids do not leak.
    if record is None or record.session_id != session.id or record.owner != owner:
        raise _Refused(INVALID_PARAMS, f"Invalid params: unknown task {task_id!r}")
    if request.method == "tasks/get":
        return (yield from exchange.respond(Response(request.id, record.task())))
    if request.method == "tasks/cancel":
        return (yield from _cancel(host, request, record, exchange))
    if record.status.terminal:  # tasks/result
        return (yield from exchange.respond(_payload(record, request.id)))
    outputs = yield from exchange.start_stream()  # its input requests, if any, go on this stream
    now = host.clock()
    wait = WaitTask(
        task_id,
        request.id,
        exchange,
        poll=record.poll_interval_ms / 1000,
        until=now + min(host.config.server_request_timeout, record.expires_at - now),
        waiter=f"{host.instance}/{exchange.stream}",
    )
    return [*outputs, wait]


def _cancel(host: TaskHost, request: Request, record: TaskRecord, exchange: Exchange) -> Plan[list[Output]]:
    after: TaskRecord | None = record
    if not record.status.terminal:
        after = yield from change_task(record.id, host.clock, lambda r: cancel_task(r, host.clock()))
    if after is None:
        raise _Refused(INVALID_PARAMS, f"Invalid params: unknown task {record.id!r}")  # expired meanwhile
    if after is record or after.status is not TaskStatus.CANCELLED:
        status = after.status.value
        raise _Refused(INVALID_PARAMS, f"Invalid params: cannot cancel task {record.id!r}: already {status}")
    outputs = yield from exchange.respond(Response(request.id, after.task()))
    return [*outputs, CancelTask(record.id)]


def _list(
    host: TaskHost, request: Request, session: SessionRecord, owner: str | None, exchange: Exchange
) -> Plan[list[Output]]:
    cursor = (request.params or {}).get("cursor")
    after = None if cursor is None else _position(cursor)
    if cursor is not None and after is None:
        raise _Refused(INVALID_PARAMS, f"Invalid params: unknown cursor {cursor!r}")
    page: TaskPage = yield ListTasks(session.id, host.clock(), after, host.config.page_size)
    result: dict[str, Any] = {"tasks": [r.task() for r in page.records if r.owner == owner]}
    if page.more and page.records:
        result["nextCursor"] = base64.urlsafe_b64encode(page.records[-1].position.encode()).decode()
    return (yield from exchange.respond(Response(request.id, result)))


def _position(cursor: Any) -> str | None:
    """The list position a cursor names, or None if it is not one of ours."""
    try:
        position = base64.urlsafe_b64decode(str(cursor).encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return position if _POSITION.fullmatch(position) else None


def _payload(record: TaskRecord, request_id: RequestId) -> Response | ErrorResponse:
    """What the ``tools/call`` would have answered: its result (tied to the task), or its error."""
    if record.status is TaskStatus.CANCELLED:
        return ErrorResponse(request_id, REQUEST_CANCELLED, f"Request cancelled: task {record.id} was cancelled")
    if record.result is not None:
        meta = {**(record.result.get("_meta") or {}), RELATED_TASK: {"taskId": record.id}}
        return Response(request_id, {**record.result, "_meta": meta})
    error = record.error or {"code": INTERNAL_ERROR, "message": "Internal error: the task ended without a result"}
    return ErrorResponse(request_id, int(error["code"]), str(error["message"]), error.get("data"))


# -- the wait of tasks/result -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskWaitStep:
    """What a ``tasks/result`` wait (:class:`~mcp_sansio.WaitTask`) does next.

    Attributes:
        outputs: Carry these out: the answer, or an input request sent on the stream.
        done: The request has its answer: the wait is over.
        ask: The id of the request to the client that ``outputs`` send: await its answer
            (at most ``Config.server_request_timeout`` seconds), then pass it (None if none
            came) to :meth:`Server.task_input`. None when nothing is asked.
        key: The task's input key that ``ask`` asks for.
    """

    outputs: list[Output] = field(default_factory=list)
    done: bool = False
    ask: str | None = None
    key: str | None = None


def task_result_step(host: TaskHost, wait: WaitTask, cancelled: bool = False) -> Plan[TaskWaitStep]:
    """The next step of ``wait``: answer, ask the client for the task's input, or keep waiting."""
    exchange = wait.exchange
    if cancelled:
        yield from _release(host, wait)
        answer = ErrorResponse(wait.request_id, REQUEST_CANCELLED, "Request cancelled")
        return TaskWaitStep((yield from exchange.respond(answer)), done=True)
    now = host.clock()
    record: TaskRecord | None = yield LoadTask(wait.task_id, now)
    if record is None:  # its TTL ran out while we waited
        gone = ErrorResponse(wait.request_id, INVALID_PARAMS, f"Invalid params: unknown task {wait.task_id!r}")
        return TaskWaitStep((yield from exchange.respond(gone)), done=True)
    if record.status.terminal:
        return TaskWaitStep((yield from exchange.respond(_payload(record, wait.request_id))), done=True)
    if now >= wait.until:
        yield from _release(host, wait)
        late = ErrorResponse(
            wait.request_id,
            INTERNAL_ERROR,
            f"Internal error: task {record.id} is still {record.status.value}; call tasks/result again",
            {"taskId": record.id, "status": record.status.value},
        )
        return TaskWaitStep((yield from exchange.respond(late)), done=True)
    if record.status is not TaskStatus.INPUT_REQUIRED or not record.input_requests:
        return TaskWaitStep()
    lease = now + host.config.server_request_timeout + host.config.task_lease
    claimed = yield from change_task(record.id, host.clock, lambda r: _claim(r, wait.waiter, lease, host.clock()))
    if claimed is None or claimed.runner != wait.waiter or not claimed.input_requests:
        return TaskWaitStep()  # another waiter asks the client now
    key, pending = next(iter(claimed.input_requests.items()))
    params = dict(pending.get("params") or {})
    params["_meta"] = {**(params.get("_meta") or {}), RELATED_TASK: {"taskId": record.id}}
    outgoing, outputs = yield from exchange.server_request(wait.request_id, str(pending.get("method")), params)
    return TaskWaitStep(outputs, ask=outgoing, key=key)


def _claim(record: TaskRecord, waiter: str, lease_until: float, now: float) -> TaskRecord | None:
    """``record`` claimed by ``waiter`` to ask the client (unless another waiter's claim holds)."""
    if record.status is not TaskStatus.INPUT_REQUIRED or not record.input_requests:
        return None
    if record.runner not in (None, waiter) and record.lease_until >= now:
        return None
    return replace(record, runner=waiter, lease_until=lease_until, version=record.version + 1)


def _release(host: TaskHost, wait: WaitTask) -> Plan[None]:
    """Give up ``wait``'s claim, if it holds one, so another waiter may ask."""

    def release(record: TaskRecord) -> TaskRecord | None:
        if record.runner != wait.waiter or record.status is not TaskStatus.INPUT_REQUIRED:
            return None
        return replace(record, runner=None, lease_until=0.0, version=record.version + 1)

    yield from change_task(wait.task_id, host.clock, release)


def task_input(
    host: TaskHost, wait: WaitTask, key: str, outgoing: str, answer: Response | ErrorResponse | None
) -> Plan[list[Output]]:
    """The client's answer to input request ``key`` (None: none came in time); the run it resumes, if any."""
    if answer is None:
        reason = f"no answer within {host.config.server_request_timeout:g}s"
        outputs = yield from wait.exchange.abandon_request(wait.request_id, outgoing, reason)
        yield from _release(host, wait)
        return outputs
    if isinstance(answer, ErrorResponse):
        refused: dict[str, Any] = {"code": answer.code, "message": answer.message}
        if answer.data is not None:
            refused["data"] = answer.data
        value: dict[str, Any] = {CLIENT_ERROR: refused}
    else:
        value = answer.result
    made: list[TaskRecord] = []

    def take(record: TaskRecord) -> TaskRecord | None:
        updated = take_answers(record, {key: value}, host.instance, host.config, host.clock())
        if updated is not None:
            made.append(updated)
        return updated

    after = yield from change_task(wait.task_id, host.clock, take)
    # Every answer is in: the run resumes here (only if this very change moved it to working).
    if after is not None and made and after is made[-1] and after.status is TaskStatus.WORKING:
        run = resume_task(host, after)
        return [run] if run is not None else []
    return []
