"""Tasks (2026-07-28 ``io.modelcontextprotocol/tasks``): creating them, the task methods, and a run's reports.

The core decides everything here: when a ``tools/call`` becomes a task, what
``tasks/get``, ``tasks/update`` and ``tasks/cancel`` answer, and what each thing a
running tool does means for its record. Every change is a compare-and-set
(:class:`~mcp_sansio.SaveTask`) retried on a fresh read, so runtimes on several
instances can update one task at once; terminal states never change again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ._config import Config
from ._errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_CAPABILITY,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import Call, Output
from ._jsonrpc import Request, RequestId
from ._mrtr import InputRequest, InputRequired
from ._peer import Peer
from ._results import ToolError, chunk_blocks, tool_error_result
from ._store import LoadTask, Plan, SaveTask
from ._task_record import TASKS_EXTENSION, TaskRecord, TaskStatus

__all__ = ["TaskRun", "TaskFactory", "has_tasks_extension", "tasks_required", "task_method", "change_task"]

TASK_METHODS = frozenset({"tasks/get", "tasks/update", "tasks/cancel"})
_CAS_ATTEMPTS = 16
_ANSWER_KEYS = {"elicitation/create": "action", "sampling/createMessage": "content", "roots/list": "roots"}


def has_tasks_extension(capabilities: dict[str, Any]) -> bool:
    """Whether a client's capabilities declare the tasks extension."""
    extensions = capabilities.get("extensions")
    return isinstance(extensions, dict) and isinstance(extensions.get(TASKS_EXTENSION), dict)


def tasks_required(what: str) -> RemoteProtocolError:
    """-32021 for a client without the tasks extension, naming it as SEP-2575 asks."""
    return RemoteProtocolError(
        f"Missing required client capability: {what} needs the {TASKS_EXTENSION} extension",
        code=MISSING_CAPABILITY,
        data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
    )


def _unknown(task_id: Any) -> RemoteProtocolError:
    return RemoteProtocolError(f"Invalid params: unknown task {task_id!r}", code=INVALID_PARAMS)


def change_task(
    task_id: str, now: Callable[[], float], change: Callable[[TaskRecord], TaskRecord | None]
) -> Plan[TaskRecord | None]:
    """Apply ``change`` to the stored task by compare-and-set; the record now stored.

    ``change`` returns the new record (one version up) or None to leave it. The answer
    is None if the task is unknown.

    Raises:
        LocalProtocolError: ``change`` asked for a transition the table forbids.
        RuntimeError: Other writers won the race ``_CAS_ATTEMPTS`` times in a row.
    """
    for _ in range(_CAS_ATTEMPTS):
        record: TaskRecord | None = yield LoadTask(task_id, now())
        if record is None:
            return None
        updated = change(record)
        if updated is None:
            return record
        stored: bool = yield SaveTask(updated, record.version)
        if stored:
            return updated
    raise RuntimeError(f"task {task_id}: too many concurrent updates")


@dataclass(frozen=True, slots=True)
class TaskFactory:
    """What is needed to turn one ``tools/call`` into a task (given to the request's exchange)."""

    config: Config
    now: Callable[[], float]
    runner: str
    owner: str | None
    capabilities: dict[str, Any]
    arguments: dict[str, Any]

    def create(self, call: Call) -> Plan[tuple[TaskRecord, TaskRun]]:
        """Store a new working task for ``call`` (durable before anyone hears of it); it and its run."""
        now = self.now()
        record = TaskRecord(
            id=secrets.token_urlsafe(18),
            tool=call.name,
            arguments=self.arguments,
            owner=self.owner,
            status=TaskStatus.WORKING,
            created_at=now,
            updated_at=now,
            ttl_ms=int(self.config.task_ttl * 1000),
            poll_interval_ms=max(1, int(self.config.task_poll_interval * 1000)),
            capabilities=self.capabilities,
            answers=dict(call.answers or {}),
            runner=self.runner,
            lease_until=now + self.config.task_lease,
            attempt=1,
            version=1,
        )
        stored: bool = yield SaveTask(record, None)
        if not stored:
            raise RuntimeError(f"task id {record.id} collided")  # 144 random bits: never in practice
        return record, TaskRun(self.config, self.now, record, self.runner)


class TaskRun:
    """One run of a task's tool: what the runtime reports to, in place of an exchange.

    It has the exchange's handler-facing methods; messages that would go on a stream
    (logs, progress, notifications) have no stream to go to and are dropped, since
    the client learns everything through ``tasks/get``.
    """

    def __init__(self, config: Config, now: Callable[[], float], record: TaskRecord, runner: str) -> None:
        self.config = config
        self._now = now
        self.task_id = record.id
        self.runner = runner
        self.peer = Peer(None, "2026-07-28", record.capabilities, None, stateless=True)
        self._answers = dict(record.answers)
        self._chunks: list[dict[str, Any]] = []
        self.done = False

    # -- the exchange-shaped surface the runtime and HandlerContext use ---------------

    session_id = None
    asks_in_rounds = True
    cancel_on_disconnect = False

    @property
    def stream(self) -> str:
        """The task id (a run has no stream; its handlers are keyed by it)."""
        return self.task_id

    def is_open(self, request_id: RequestId) -> bool:
        """Whether the run has not reported its end yet."""
        return not self.done

    def log(self, request_id: RequestId, level: str, data: Any, logger: str | None) -> Plan[list[Output]]:
        """Logs of a task have no stream to go to."""
        return []
        yield  # pragma: no cover - makes this a generator

    def notify(self, request_id: RequestId, method: str, params: dict[str, Any] | None) -> Plan[list[Output]]:
        """Notifications of a task have no stream to go to."""
        return []
        yield  # pragma: no cover - makes this a generator

    def progress(
        self, call: Call, progress: float, total: float | None, message: str | None, meta: Any = None
    ) -> Plan[list[Output]]:
        """Progress is kept as the task's status message (clients see it on ``tasks/get``)."""
        if message is None:
            return []
        yield from change_task(self.task_id, self._now, lambda r: _noted(r, message, self._now()))
        return []

    def close_stream(self, request_id: RequestId) -> Plan[list[Output]]:
        """Nothing to close."""
        return []
        yield  # pragma: no cover - makes this a generator

    def server_request(
        self, request_id: RequestId, method: str, params: dict[str, Any] | None
    ) -> Plan[tuple[str, list[Output]]]:
        """A task has no stream to send a request on.

        Raises:
            LocalProtocolError: Always: a task asks through ``ctx.ask``/``ctx.elicit`` (``input_required``).
        """
        raise LocalProtocolError("a task asks the client through ctx.ask or ctx.elicit (input_required)")
        yield  # pragma: no cover - makes this a generator

    def abandon_request(self, request_id: RequestId, outgoing: str, reason: str) -> Plan[list[Output]]:
        """Nothing was sent, so nothing to abandon."""
        return []
        yield  # pragma: no cover - makes this a generator

    def inputs(self, call: Call, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """The answers gathered for ``requests``; missing ones park the task (``input_required``)."""
        found = {key: self._answers[key] for key in requests if key in self._answers}
        missing = {key: request for key, request in requests.items() if key not in found}
        if missing:
            raise InputRequired(missing, found)
        return found

    def chunk(self, call: Call, value: Any) -> Plan[list[Output]]:
        """A streaming tool's chunk: kept for the task's result."""
        self._chunks.extend(chunk_blocks(value))
        return []
        yield  # pragma: no cover - makes this a generator

    def complete(self, call: Call, value: Any) -> Plan[list[Output]]:
        """The tool returned: the task completes with its result (unless it ended meanwhile)."""
        result = {"content": self._chunks} if call.streaming else call.convert(value)
        return (yield from self._end(TaskStatus.COMPLETED, result=result))

    def fail(self, call: Call, exc: BaseException) -> Plan[list[Output]]:
        """The tool raised: needs input, a tool error (completed, ``isError``), or a protocol error (failed)."""
        if isinstance(exc, InputRequired):
            pending = {key: request.to_json() for key, request in exc.requests.items()}
            self.done = True
            yield from change_task(self.task_id, self._now, lambda r: _parked(r, pending, self._now()))
            return []
        if isinstance(exc, ProtocolError) and exc.code is not None:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return (yield from self._end(TaskStatus.FAILED, error=error))
        message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
        return (yield from self._end(TaskStatus.COMPLETED, result=tool_error_result(message)))

    def cancelled(self, call: Call) -> Plan[list[Output]]:
        """The run was stopped (``tasks/cancel``, or a shutdown): cancelled unless already over."""
        return (yield from self._end(TaskStatus.CANCELLED))

    def renew(self) -> Plan[bool]:
        """Extend this run's lease; False if the task no longer wants this run (cancelled, taken over)."""

        def extend(record: TaskRecord) -> TaskRecord | None:
            if record.status is not TaskStatus.WORKING or record.runner != self.runner:
                return None
            return replace(record, lease_until=self._now() + self.config.task_lease, version=record.version + 1)

        record = yield from change_task(self.task_id, self._now, extend)
        return record is not None and record.status is TaskStatus.WORKING and record.runner == self.runner

    def _end(self, status: TaskStatus, **fields: Any) -> Plan[list[Output]]:
        self.done = True

        def end(record: TaskRecord) -> TaskRecord | None:
            if record.status.terminal or record.runner != self.runner:
                return None  # cancellation sticks; a runtime that took over decides now
            return record.moved(status, self._now(), runner=None, lease_until=0.0, **fields)

        yield from change_task(self.task_id, self._now, end)
        return []


def _noted(record: TaskRecord, message: str, now: float) -> TaskRecord | None:
    if record.status.terminal:
        return None
    return replace(record, status_message=message, updated_at=now, version=record.version + 1)


def _parked(record: TaskRecord, pending: dict[str, Any], now: float) -> TaskRecord | None:
    if record.status.terminal:
        return None
    return record.moved(TaskStatus.INPUT_REQUIRED, now, input_requests=pending, runner=None, lease_until=0.0)


# -- the task methods -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskAnswer:
    """A task method's result, and the runs it starts or the task it stops (for the runtime)."""

    result: dict[str, Any]
    resume: TaskRecord | None = None
    cancel: str | None = None


def task_method(
    request: Request,
    capabilities: dict[str, Any],
    owner: str | None,
    runner: str,
    config: Config,
    now: Callable[[], float],
) -> Plan[TaskAnswer]:
    """Answer ``tasks/get``, ``tasks/update`` or ``tasks/cancel``.

    Raises:
        RemoteProtocolError: -32021 without the extension, -32602 for an unknown task
            (another principal's task is unknown) or malformed params.
    """
    if not has_tasks_extension(capabilities):
        raise tasks_required(request.method)
    params = request.params or {}
    task_id = params.get("taskId")
    if not isinstance(task_id, str):
        raise RemoteProtocolError(f"Invalid params: {request.method} needs a string taskId", code=INVALID_PARAMS)
    record: TaskRecord | None = yield LoadTask(task_id, now())
    if record is None or record.owner != owner:
        raise _unknown(task_id)
    ack: dict[str, Any] = {"resultType": "complete"}
    if request.method == "tasks/get":
        return TaskAnswer(record.detailed())
    if request.method == "tasks/cancel":
        if record.status.terminal:
            return TaskAnswer(ack)  # idempotent: the first cancellation (or end) stands
        after = yield from change_task(task_id, now, lambda r: _cancel(r, now()))
        return TaskAnswer(ack, cancel=task_id if after is not None else None)
    responses = params.get("inputResponses")
    if not isinstance(responses, dict):
        raise RemoteProtocolError("Invalid params: tasks/update needs an inputResponses object", code=INVALID_PARAMS)
    for key, answer in responses.items():
        pending = record.input_requests.get(key)
        wanted = _ANSWER_KEYS.get(pending.get("method", "")) if isinstance(pending, dict) else None
        if pending is not None and (not isinstance(answer, dict) or (wanted is not None and wanted not in answer)):
            message = f"Invalid params: inputResponses[{key!r}] does not answer its request"
            raise RemoteProtocolError(message, code=INVALID_PARAMS)
    after = yield from change_task(task_id, now, lambda r: _answered(r, responses, runner, config, now()))
    resume = after if after is not None and after.status is TaskStatus.WORKING and after.runner == runner else None
    return TaskAnswer(ack, resume=resume if resume is not None and resume.version != record.version else None)


def _cancel(record: TaskRecord, now: float) -> TaskRecord | None:
    if record.status.terminal:
        return None
    return record.moved(TaskStatus.CANCELLED, now, runner=None, lease_until=0.0, input_requests={})


def _answered(
    record: TaskRecord, responses: dict[str, Any], runner: str, config: Config, now: float
) -> TaskRecord | None:
    if record.status is not TaskStatus.INPUT_REQUIRED:
        return None  # answers to nothing pending are ignored
    taken = {key: value for key, value in responses.items() if key in record.input_requests}
    if not taken:
        return None
    pending = {key: value for key, value in record.input_requests.items() if key not in taken}
    answers = {**record.answers, **taken}
    if pending:
        return replace(record, input_requests=pending, answers=answers, updated_at=now, version=record.version + 1)
    # Every answer is in: the work resumes, here (this runtime claims it).
    return record.moved(
        TaskStatus.WORKING,
        now,
        input_requests={},
        answers=answers,
        runner=runner,
        lease_until=now + config.task_lease,
        attempt=record.attempt + 1,
    )


def lost_task_fate(record: TaskRecord, restart: bool, runner: str, config: Config, now: float) -> TaskRecord | None:
    """What happens to a task whose runner's lease ran out: claimed by ``runner`` to restart, or failed."""
    if record.status is not TaskStatus.WORKING or record.lease_until >= now:
        return None
    if restart:
        return replace(
            record,
            runner=runner,
            lease_until=now + config.task_lease,
            attempt=record.attempt + 1,
            updated_at=now,
            version=record.version + 1,
        )
    error = {"code": INTERNAL_ERROR, "message": "Internal error: the server running this task stopped"}
    return record.moved(TaskStatus.FAILED, now, runner=None, lease_until=0.0, error=error)
