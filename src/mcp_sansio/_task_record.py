"""Task records and their state machine, for both revisions that have tasks.

A task is a ``tools/call`` that outlives its request: the client gets a
``CreateTaskResult`` at once and polls ``tasks/get`` until the task is terminal.
2026-07-28 has them as the ``io.modelcontextprotocol/tasks`` extension (SEP-2663);
2025-11-25 had them, experimental, in handshake sessions (a record then names its
session, and :meth:`TaskRecord.task` is its wire shape). Records are immutable
values kept through the store's ``SaveTask`` (compare-and-set on
:attr:`TaskRecord.version`), so any instance can serve any task; the table below
is the only place that says which status may follow which.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ._errors import LocalProtocolError

__all__ = [
    "TASKS_EXTENSION",
    "TASK_SUPPORT",
    "RELATED_TASK",
    "TaskStatus",
    "TASK_TRANSITIONS",
    "TaskRecord",
    "iso_time",
]

TASKS_EXTENSION: Final = "io.modelcontextprotocol/tasks"
# A tool's declaration (the specification's names): never a task, a task when the client can, always one.
TASK_SUPPORT: Final = ("forbidden", "optional", "required")
# 2025-11-25: the _meta key tying a message (a tasks/result answer, an input request) to its task.
RELATED_TASK: Final = "io.modelcontextprotocol/related-task"


class TaskStatus(enum.Enum):
    """Where a task is (the wire values)."""

    WORKING = "working"
    INPUT_REQUIRED = "input_required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the task is over: its status never changes again."""
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


_ANY_END = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# status -> the statuses it may move to. Terminal states have none: cancellation sticks.
TASK_TRANSITIONS: Final[dict[TaskStatus, frozenset[TaskStatus]]] = {
    TaskStatus.WORKING: frozenset({TaskStatus.WORKING, TaskStatus.INPUT_REQUIRED}) | _ANY_END,
    TaskStatus.INPUT_REQUIRED: frozenset({TaskStatus.INPUT_REQUIRED, TaskStatus.WORKING}) | _ANY_END,
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def iso_time(seconds: float) -> str:
    """An ISO 8601 UTC timestamp with milliseconds (``2026-11-29T03:04:05.123Z``)."""
    whole = int(seconds // 1)
    millis = round((seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task, as the store keeps it.

    Attributes:
        id: The task id (unguessable).
        tool: The tool's name.
        arguments: The ``tools/call`` arguments (the work restarts from them).
        owner: The principal key of whoever created it (authorization on), else None.
        session_id: The handshake session that created it (2025-11-25 tasks); None for a
            2026-07-28 task. Only that session (and principal) can see it.
        status: Where it is.
        created_at: When it was created (injected clock, seconds).
        updated_at: When its status or content last changed.
        ttl_ms: How long after creation it is kept.
        poll_interval_ms: How often clients should poll.
        capabilities: The client capabilities of the creating request (for re-runs).
        answers: Input responses gathered so far, by key.
        input_requests: Input requests still waiting for an answer, by key (wire form).
        result: The tool result of a completed task.
        error: The JSON-RPC error object of a failed task.
        status_message: A human-readable note on the status.
        runner: Who holds the task now: the runtime running its work (``working``), or, for a
            2025-11-25 task waiting for input, the ``tasks/result`` waiter asking the client;
            None otherwise.
        lease_until: Until when ``runner``'s claim holds; past it another runtime (or waiter) takes over.
        attempt: How many times the work was started.
        version: Raised by every save (compare-and-set).
    """

    id: str
    tool: str
    arguments: dict[str, Any]
    owner: str | None
    status: TaskStatus
    created_at: float
    updated_at: float
    ttl_ms: int
    poll_interval_ms: int
    capabilities: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    input_requests: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    status_message: str | None = None
    runner: str | None = None
    lease_until: float = 0.0
    attempt: int = 0
    version: int = 0
    session_id: str | None = None

    @property
    def expires_at(self) -> float:
        """When the record may be forgotten (``ttl_ms`` after creation)."""
        return self.created_at + self.ttl_ms / 1000

    @property
    def position(self) -> str:
        """Where the task sorts in its session's list: creation order, then id (``tasks/list`` pages by it)."""
        return f"{max(0, round(self.created_at * 1000)):015d}:{self.id}"

    def moved(self, status: TaskStatus, now: float, **changes: Any) -> TaskRecord:
        """The record moved to ``status`` (checked against the transition table), one version later.

        Raises:
            LocalProtocolError: ``status`` may not follow the current one.
        """
        if status not in TASK_TRANSITIONS[self.status]:
            raise LocalProtocolError(f"task {self.id}: {self.status.value} cannot become {status.value}")
        return replace(self, status=status, updated_at=now, version=self.version + 1, **changes)

    def _envelope(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "taskId": self.id,
            "status": self.status.value,
            "createdAt": iso_time(self.created_at),
            "lastUpdatedAt": iso_time(self.updated_at),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_interval_ms,
        }
        if self.status_message is not None:
            out["statusMessage"] = self.status_message
        return out

    def created(self) -> dict[str, Any]:
        """The ``CreateTaskResult``: flat, ``resultType: "task"``, no result, error or input requests."""
        return {"resultType": "task", **self._envelope()}

    def detailed(self) -> dict[str, Any]:
        """The ``tasks/get`` result (DetailedTask): the result, error or input requests inlined by status."""
        out: dict[str, Any] = {"resultType": "complete", **self._envelope()}
        if self.status is TaskStatus.COMPLETED and self.result is not None:
            out["result"] = self.result
        elif self.status is TaskStatus.FAILED and self.error is not None:
            out["error"] = self.error
        elif self.status is TaskStatus.INPUT_REQUIRED:
            out["inputRequests"] = self.input_requests
        return out

    def task(self) -> dict[str, Any]:
        """The 2025-11-25 ``Task`` (answers ``tasks/get`` and ``tasks/cancel``; inside ``CreateTaskResult``)."""
        out: dict[str, Any] = {
            "taskId": self.id,
            "status": self.status.value,
            "createdAt": iso_time(self.created_at),
            "lastUpdatedAt": iso_time(self.updated_at),
            "ttl": self.ttl_ms,
            "pollInterval": self.poll_interval_ms,
        }
        if self.status_message is not None:
            out["statusMessage"] = self.status_message
        return out

    def to_json(self) -> dict[str, Any]:
        """The record as JSON (what a remote store keeps)."""
        return {
            "id": self.id,
            "tool": self.tool,
            "arguments": self.arguments,
            "owner": self.owner,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "ttl_ms": self.ttl_ms,
            "poll_interval_ms": self.poll_interval_ms,
            "capabilities": self.capabilities,
            "answers": self.answers,
            "input_requests": self.input_requests,
            "result": self.result,
            "error": self.error,
            "status_message": self.status_message,
            "runner": self.runner,
            "lease_until": self.lease_until,
            "attempt": self.attempt,
            "version": self.version,
            "session_id": self.session_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskRecord:
        """The record from :meth:`to_json`'s output.

        Raises:
            ValueError: ``data`` is not a task record.
        """
        try:
            session_id = data.get("session_id")  # absent from records stored before 2025-11-25 tasks
            if session_id is not None and not isinstance(session_id, str):
                raise ValueError(f"session_id {session_id!r}")
            return cls(
                id=str(data["id"]),
                tool=str(data["tool"]),
                arguments=dict(data["arguments"]),
                owner=data["owner"],
                status=TaskStatus(data["status"]),
                created_at=float(data["created_at"]),
                updated_at=float(data["updated_at"]),
                ttl_ms=int(data["ttl_ms"]),
                poll_interval_ms=int(data["poll_interval_ms"]),
                capabilities=dict(data["capabilities"]),
                answers=dict(data["answers"]),
                input_requests=dict(data["input_requests"]),
                result=data["result"],
                error=data["error"],
                status_message=data["status_message"],
                runner=data["runner"],
                lease_until=float(data["lease_until"]),
                attempt=int(data["attempt"]),
                version=int(data["version"]),
                session_id=session_id,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a task record: {exc!r}") from exc
