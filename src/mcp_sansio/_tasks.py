"""Tasks (2026-07-28 ``io.modelcontextprotocol/tasks``): creating them, the task methods, and a run's reports.

The core decides everything here: when a ``tools/call`` becomes a task, what
``tasks/get``, ``tasks/update`` and ``tasks/cancel`` answer, and what each thing a
running tool does means for its record. Every change is a compare-and-set
(:class:`~mcp_sansio.SaveTask`) retried on a fresh read, so runtimes on several
instances can update one task at once; terminal states never change again.

A run also serves the experimental tasks of 2025-11-25 sessions (``_session_tasks``),
whose records name their session: there a tool error (``isError``) fails the task
instead of completing it, and failures and cancellations carry a ``statusMessage``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from ._config import Config
from ._errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_CAPABILITY,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import Call, Output, RunTask
from ._jsonrpc import Request, RequestId
from ._methods import plan_method
from ._mrtr import CAPABILITY_FOR, InputRequest, InputRequired
from ._peer import Peer
from ._registry import App
from ._results import ClientError, ToolError, chunk_blocks, tool_error_result
from ._store import LoadTask, Plan, SaveTask
from ._task_record import TASKS_EXTENSION, TaskRecord, TaskStatus

__all__ = [
    "TaskRun",
    "TaskFactory",
    "TaskHost",
    "has_tasks_extension",
    "tasks_required",
    "task_method",
    "change_task",
    "resume_task",
    "CLIENT_ERROR",
]

TASK_METHODS = frozenset({"tasks/get", "tasks/update", "tasks/cancel"})
_CAS_ATTEMPTS = 16
_ANSWER_KEYS = {"elicitation/create": "action", "sampling/createMessage": "content", "roots/list": "roots"}
# An answer that is the client's JSON-RPC error (2025-11-25 tasks ask with real requests): the
# tool's ctx.ask raises it as ClientError, as a handshake session's ctx.request does.
CLIENT_ERROR: Final = "io.github.mcp-sansio/client-error"
_SESSION_TASKS_VERSION: Final = "2025-11-25"


class TaskHost(Protocol):
    """What resuming a task needs from the server (the core's Server provides it)."""

    app: App
    config: Config
    clock: Callable[[], float]
    instance: str


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
    session_id: str | None = None
    ttl_ms: int | None = None

    def _record(self, tool: str) -> TaskRecord:
        now = self.now()
        return TaskRecord(
            id=secrets.token_urlsafe(18),
            tool=tool,
            arguments=self.arguments,
            owner=self.owner,
            status=TaskStatus.WORKING,
            created_at=now,
            updated_at=now,
            ttl_ms=self.ttl_ms if self.ttl_ms is not None else int(self.config.task_ttl * 1000),
            poll_interval_ms=max(1, int(self.config.task_poll_interval * 1000)),
            capabilities=self.capabilities,
            runner=self.runner,
            lease_until=now + self.config.task_lease,
            attempt=1,
            version=1,
            session_id=self.session_id,
        )

    def _store(self, record: TaskRecord) -> Plan[TaskRecord]:
        stored: bool = yield SaveTask(record, None)
        if not stored:
            raise RuntimeError(f"task id {record.id} collided")  # 144 random bits: never in practice
        return record

    def create(self, call: Call) -> Plan[tuple[TaskRecord, TaskRun]]:
        """Store a new working task for ``call`` (durable before anyone hears of it); it and its run."""
        record = replace(self._record(call.name), answers=dict(call.answers or {}))
        yield from self._store(record)
        return record, TaskRun(self.config, self.now, record, self.runner)

    def settled(self, tool: str, result: dict[str, Any]) -> Plan[TaskRecord]:
        """Store a task already failed with a tool error ``result`` (its arguments did not fit; nothing runs)."""
        record = self._record(tool)
        record = replace(
            record, status=TaskStatus.FAILED, result=result, status_message=_note(result), runner=None, lease_until=0.0
        )
        return (yield from self._store(record))


class TaskRun:
    """One run of a task's tool: what the runtime reports to, in place of an exchange.

    It has the exchange's handler-facing methods; messages that would go on a stream
    (logs, progress, notifications) have no stream to go to and are dropped, since
    the client learns everything through ``tasks/get``. A handler asks for input in
    rounds, in both revisions: a missing answer parks the task (``input_required``)
    and the run ends; once answered, the tool runs again from the top and finds it.
    """

    def __init__(self, config: Config, now: Callable[[], float], record: TaskRecord, runner: str) -> None:
        self.config = config
        self._now = now
        self.task_id = record.id
        self.runner = runner
        # A task of a 2025-11-25 session: its client is that session's, and isError fails it.
        self.session_id = record.session_id
        self._in_session = record.session_id is not None
        version = _SESSION_TASKS_VERSION if self._in_session else "2026-07-28"
        self.peer = Peer(record.session_id, version, record.capabilities, None, stateless=not self._in_session)
        self._answers = dict(record.answers)
        self._chunks: list[dict[str, Any]] = []
        self.done = False

    # -- the exchange-shaped surface the runtime and HandlerContext use ---------------

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
        """The answers gathered for ``requests``; missing ones park the task (``input_required``).

        Raises:
            InputRequired: Some answers are missing.
            LocalProtocolError: (2025-11-25) the client did not declare the capability a
                request needs: it could never answer, so the tool fails now.
            ClientError: (2025-11-25) the client answered a request with a JSON-RPC error.
        """
        if self._in_session:
            self._check_asks(requests)
        found = {key: self._answers[key] for key in requests if key in self._answers}
        missing = {key: request for key, request in requests.items() if key not in found}
        if missing:
            raise InputRequired(missing, found)
        return found

    def _check_asks(self, requests: dict[str, InputRequest]) -> None:
        for key, request in requests.items():
            needed = CAPABILITY_FOR.get(request.method)
            if needed is not None and not self.peer.has_capability(needed):
                raise LocalProtocolError(
                    f"the client did not declare the {needed!r} capability needed for {request.method}"
                )
            answer = self._answers.get(key)
            refused = answer.get(CLIENT_ERROR) if isinstance(answer, dict) else None
            if isinstance(refused, dict):
                code = refused.get("code")
                raise ClientError(
                    code if isinstance(code, int) else INTERNAL_ERROR, str(refused.get("message")), refused.get("data")
                )

    def chunk(self, call: Call, value: Any) -> Plan[list[Output]]:
        """A streaming tool's chunk: kept for the task's result."""
        self._chunks.extend(chunk_blocks(value))
        return []
        yield  # pragma: no cover - makes this a generator

    def chunks(self, call: Call, values: list[Any]) -> Plan[list[Output]]:
        """Several chunks of a streaming tool, in order: kept for the task's result."""
        for value in values:
            self._chunks.extend(chunk_blocks(value))
        return []
        yield  # pragma: no cover - makes this a generator

    def complete(self, call: Call, value: Any) -> Plan[list[Output]]:
        """The tool returned: the task completes with its result (unless it ended meanwhile)."""
        result = {"content": self._chunks} if call.streaming else call.convert(value)
        if self._in_session and result.get("isError") is True:
            return (yield from self._end(TaskStatus.FAILED, result=result, status_message=_note(result)))
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
            note = {"status_message": exc.message} if self._in_session else {}
            return (yield from self._end(TaskStatus.FAILED, error=error, **note))
        message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
        if self._in_session:  # 2025-11-25: "failed" includes a tool result with isError
            return (yield from self._end(TaskStatus.FAILED, result=tool_error_result(message), status_message=message))
        return (yield from self._end(TaskStatus.COMPLETED, result=tool_error_result(message)))

    def cancelled(self, call: Call) -> Plan[list[Output]]:
        """The run was stopped (``tasks/cancel``, or a shutdown): cancelled unless already over."""
        note = {"status_message": "The task's run was stopped."} if self._in_session else {}
        return (yield from self._end(TaskStatus.CANCELLED, **note))

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


def _note(result: dict[str, Any]) -> str:
    """A failed tool result's status message: its first text, else a generic one."""
    for block in result.get("content") or ():
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            return str(block["text"])
    return "the tool reported an error"


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
    if record is None or record.owner != owner or record.session_id is not None:
        raise _unknown(task_id)  # a session's task (2025-11-25) is not reachable without its session
    ack: dict[str, Any] = {"resultType": "complete"}
    if request.method == "tasks/get":
        return TaskAnswer(record.detailed())
    if request.method == "tasks/cancel":
        if record.status.terminal:
            return TaskAnswer(ack)  # idempotent: the first cancellation (or end) stands
        after = yield from change_task(task_id, now, lambda r: cancel_task(r, now()))
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
    after = yield from change_task(task_id, now, lambda r: take_answers(r, responses, runner, config, now()))
    resume = after if after is not None and after.status is TaskStatus.WORKING and after.runner == runner else None
    return TaskAnswer(ack, resume=resume if resume is not None and resume.version != record.version else None)


def cancel_task(record: TaskRecord, now: float) -> TaskRecord | None:
    """``record`` cancelled (its run is no longer wanted), or None if it is over already."""
    if record.status.terminal:
        return None
    note = {"status_message": "The task was cancelled by request."} if record.session_id is not None else {}
    return record.moved(TaskStatus.CANCELLED, now, runner=None, lease_until=0.0, input_requests={}, **note)


def take_answers(
    record: TaskRecord, responses: dict[str, Any], runner: str, config: Config, now: float
) -> TaskRecord | None:
    """``record`` with the answers to its pending input requests; once all are in, working again under ``runner``."""
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
    note = {"status_message": error["message"]} if record.session_id is not None else {}
    return record.moved(TaskStatus.FAILED, now, runner=None, lease_until=0.0, error=error, **note)


def resume_task(host: TaskHost, record: TaskRecord) -> RunTask | None:
    """The run that resumes (or restarts) ``record`` on this server, from its arguments and answers.

    None if its tool is gone (a redeploy removed it) or its arguments no longer fit.
    """
    request = Request(record.id, "tools/call", {"name": record.tool, "arguments": record.arguments})
    planned = plan_method(request, None, host.app, host.config)
    if not isinstance(planned, Call):
        return None
    call = replace(planned, answers=dict(record.answers))
    return RunTask(call, TaskRun(host.config, host.clock, record, host.instance))
