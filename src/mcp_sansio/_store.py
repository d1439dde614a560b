"""Storage as effects: the commands the core issues, and the in-memory store.

The core never calls a store. Its operations are *plans*: generators that
yield :data:`StoreCommand` values and receive each command's answer back. An
adapter runs a plan against whatever store it has (:func:`run_plan` does it
synchronously for :class:`MemoryStore`; an async driver awaits a remote store).
Every command carries the numbers the store needs (clock readings, limits),
so a store holds data and decides nothing.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from ._fastinit import fast_init
from ._session import SessionRecord
from ._state import SessionState
from ._task_record import TaskRecord, TaskStatus

__all__ = [
    "LoadSession",
    "SaveSession",
    "UpdateSession",
    "DeleteSession",
    "CountSessions",
    "ListSessions",
    "ExpireSessions",
    "ClaimRequest",
    "ClaimOutcome",
    "LoadAndClaim",
    "ReleaseRequest",
    "ClaimStandalone",
    "ReleaseStandalone",
    "OpenStream",
    "AppendEvent",
    "AppendEvents",
    "ReadEvents",
    "LogSlice",
    "SaveTask",
    "LoadTask",
    "LostTasks",
    "ExpireTasks",
    "ListTasks",
    "TaskPage",
    "StoreCommand",
    "Plan",
    "Store",
    "MemoryStore",
    "run_plan",
]


@fast_init
@dataclass(frozen=True, slots=True)
class LoadSession:
    """Answer: the :class:`SessionRecord`, or None if unknown or idle past ``idle_timeout``."""

    session_id: str
    now: float
    idle_timeout: float


@fast_init
@dataclass(frozen=True, slots=True)
class SaveSession:
    """Create (or replace) a session record; the core issues it once, at ``initialize``. Answer: None.

    Later changes go through :class:`UpdateSession`, never a whole record, so two
    instances changing one session at once never undo each other's change.
    """

    record: SessionRecord


@fast_init
@dataclass(frozen=True, slots=True)
class UpdateSession:
    """Change some fields of a stored session, each on its own. Answer: whether the session is stored.

    A field left at its default is not touched, so concurrent updates of different
    fields (a ``logging/setLevel`` on one instance, a ``resources/subscribe`` on
    another) both survive. Nothing is created for a session that is not stored.

    Attributes:
        session_id: The session.
        last_seen: Move ``last_seen`` here, never back (instances' clocks may disagree a little).
        state: The new lifecycle state.
        log_level: The new minimum log level.
        subscribe: Resource URIs to add to the subscriptions.
        unsubscribe: Resource URIs to remove from them (after adding).
    """

    session_id: str
    last_seen: float | None = None
    state: SessionState | None = None
    log_level: str | None = None
    subscribe: frozenset[str] = frozenset()
    unsubscribe: frozenset[str] = frozenset()

    def apply_to(self, record: SessionRecord) -> SessionRecord:
        """``record`` with this update applied (what a store keeps, and the core's own view of it)."""
        changes: dict[str, Any] = {}
        if self.last_seen is not None and self.last_seen > record.last_seen:
            changes["last_seen"] = self.last_seen
        if self.state is not None:
            changes["state"] = self.state
        if self.log_level is not None:
            changes["log_level"] = self.log_level
        if self.subscribe or self.unsubscribe:
            changes["subscriptions"] = (record.subscriptions | self.subscribe) - self.unsubscribe
        return replace(record, **changes) if changes else record


@fast_init
@dataclass(frozen=True, slots=True)
class DeleteSession:
    """Forget a session, its in-flight requests and its event logs. Answer: whether it existed."""

    session_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class CountSessions:
    """Answer: how many sessions are stored."""


@fast_init
@dataclass(frozen=True, slots=True)
class ListSessions:
    """Answer: every stored session record (for notifications to all sessions)."""


@fast_init
@dataclass(frozen=True, slots=True)
class ExpireSessions:
    """Delete every session idle past ``idle_timeout``. Answer: the ids deleted."""

    now: float
    idle_timeout: float


class ClaimOutcome(enum.Enum):
    """The answer to :class:`ClaimRequest`."""

    CLAIMED = "claimed"
    DUPLICATE = "duplicate"
    TOO_MANY = "too_many"


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """Mark request ``key`` in flight, unless it already is or ``limit`` are. Answer: ClaimOutcome."""

    session_id: str
    key: str
    limit: int


@fast_init
@dataclass(frozen=True, slots=True)
class LoadAndClaim:
    """:class:`LoadSession`, then for a session found that belongs to ``principal``: refresh and claim.

    One command for what a POST with one request needs before it runs, so a remote
    store answers it in one round trip. For a session that is found and whose
    ``principal`` is this one, ``last_seen`` moves to ``now`` if it is ``touch_after``
    seconds old or older (as :class:`UpdateSession` would), then request ``key`` is
    claimed as by :class:`ClaimRequest`. Another principal's session is neither
    touched nor claimed in.

    Answer: ``(record, outcome)``: the record as :class:`LoadSession` answers it
    (``last_seen`` refreshed), and the :class:`ClaimOutcome`, or None when nothing was
    claimed (no such session, or another principal's).
    """

    session_id: str
    now: float
    idle_timeout: float
    principal: str | None
    key: str
    limit: int
    touch_after: float = float("inf")


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    """Mark request ``key`` finished. Answer: None."""

    session_id: str
    key: str


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimStandalone:
    """Claim the session's GET stream for reader ``holder`` until ``now + lease``; claiming again renews.

    Answer: where the session's last GET reader stopped (0 at first) if claimed; None
    when ``exclusive`` and another holder's lease has not run out (so a reader on an
    instance that died frees the stream after ``lease`` seconds).
    """

    session_id: str
    holder: str
    now: float
    lease: float
    exclusive: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class ReleaseStandalone:
    """GET reader ``holder`` left having delivered up to ``delivered``. Answer: None.

    The session's cursor moves there (never back); the claim ends if it is still ``holder``'s.
    """

    session_id: str
    holder: str
    delivered: int


@fast_init
@dataclass(frozen=True, slots=True)
class OpenStream:
    """Create an empty log for a stream (so a resume right after its priming event finds it). Answer: None.

    First drops the session's finished logs that expired, then, while the session
    holds ``max_streams`` logs or more, its oldest finished ones. Unfinished logs
    are never dropped: each belongs to a request still in flight (bounded by
    ``Config.max_in_flight``) or to the session's GET stream. Nothing is created for
    a session that is not stored.
    """

    session_id: str
    stream: str
    now: float = 0.0
    max_streams: int = 1 << 30


@fast_init
@dataclass(frozen=True, slots=True)
class AppendEvent:
    """Append one event to a stream's log, keeping at most ``keep`` events no older than ``max_age``.

    Answer: the event's sequence number (1 for a stream's first event). ``final``
    marks the stream finished: a resume delivers up to it and ends, and the whole
    log expires ``finished_age`` seconds later. An event of a session that is not
    stored (a handler that ends after DELETE or expiry) is not kept: answer 0.

    With ``max_streams`` set, the store first does in the same step what
    ``OpenStream(session_id, stream, now, max_streams)`` does: the core sends it for
    the first event of a POST's stream, so a remote store opens and appends in one
    round trip.
    """

    session_id: str
    stream: str
    data: bytes
    now: float
    keep: int
    max_age: float
    final: bool = False
    finished_age: float = float("inf")
    max_streams: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class AppendEvents:
    """Append several events to one stream's log, in order: what :class:`AppendEvent` does for each, at once.

    Answer: the first event's sequence number (the others follow it: ``first + 1``...),
    or 0 if the session is not stored (nothing kept). The log then holds what it would
    after one AppendEvent per entry of ``data`` with this clock reading and these limits;
    ``final`` marks the last of them final; an empty ``data`` appends nothing (answer 0).
    One command, so a remote store appends a streaming tool's chunks in one round trip.
    ``max_streams`` opens the stream first, as for :class:`AppendEvent`.
    """

    session_id: str
    stream: str
    data: tuple[bytes, ...]
    now: float
    keep: int
    max_age: float
    final: bool = False
    finished_age: float = float("inf")
    max_streams: int | None = None


@dataclass(frozen=True, slots=True)
class ReadEvents:
    """Answer: a :class:`LogSlice` with the events of a stream after ``after``."""

    session_id: str
    stream: str
    after: int
    now: float
    max_age: float


@fast_init
@dataclass(frozen=True, slots=True)
class LogSlice:
    """Part of a stream's log.

    Attributes:
        known: Whether the session has such a stream at all.
        events: (seq, data) pairs after the requested seq, in order.
        first_seq: The oldest seq still retained (``last_seq + 1`` when empty).
        last_seq: The newest seq ever appended (0 when none).
        final: Whether the stream is finished (its last event is the final one).
    """

    known: bool
    events: tuple[tuple[int, bytes], ...] = ()
    first_seq: int = 1
    last_seq: int = 0
    final: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class SaveTask:
    """Store a task record if the stored one is at ``expect`` (compare-and-set). Answer: whether it was stored.

    ``expect`` None creates the task (and fails if the id exists); otherwise the stored
    record's ``version`` must equal ``expect``. The record is kept until ``expires_at``.
    """

    record: TaskRecord
    expect: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class LoadTask:
    """Answer: the task record, or None if unknown or past its ``expires_at``."""

    task_id: str
    now: float


@fast_init
@dataclass(frozen=True, slots=True)
class LostTasks:
    """Answer: up to ``limit`` records of working tasks whose runner's lease ended before ``now``."""

    now: float
    limit: int = 100


@fast_init
@dataclass(frozen=True, slots=True)
class ListTasks:
    """Answer: a :class:`TaskPage` of session ``session_id``'s tasks (2025-11-25 ``tasks/list``).

    The tasks not past their ``expires_at``, ordered by :attr:`TaskRecord.position`, the
    first ``limit`` of those whose position is after ``after`` (from the start when None).
    """

    session_id: str
    now: float
    after: str | None = None
    limit: int = 100


@fast_init
@dataclass(frozen=True, slots=True)
class TaskPage:
    """The answer to :class:`ListTasks`: the records, and whether more follow the last."""

    records: tuple[TaskRecord, ...]
    more: bool


@fast_init
@dataclass(frozen=True, slots=True)
class ExpireTasks:
    """Forget every task past its ``expires_at``. Answer: None.

    A store whose records expire by themselves (Redis key TTLs) may have nothing to do.
    """

    now: float


StoreCommand = (
    LoadSession
    | SaveSession
    | UpdateSession
    | DeleteSession
    | CountSessions
    | ListSessions
    | ExpireSessions
    | ClaimRequest
    | LoadAndClaim
    | ReleaseRequest
    | ClaimStandalone
    | ReleaseStandalone
    | OpenStream
    | AppendEvent
    | AppendEvents
    | ReadEvents
    | SaveTask
    | LoadTask
    | LostTasks
    | ExpireTasks
    | ListTasks
)
T = TypeVar("T")
Plan = Generator[StoreCommand, Any, T]


class Store(Protocol):
    """What a synchronous store must do: answer each command (see each command's docstring).

    :class:`MemoryStore` is one. A store holds data and decides nothing: every
    limit, clock reading and policy arrives inside the command. A remote store
    whose calls must be awaited implements the runtime's ``AsyncStore`` instead.
    """

    def execute(self, command: StoreCommand) -> Any:
        """Carry out ``command`` and return its answer."""


@dataclass(slots=True)
class _Log:
    events: deque[tuple[int, float, bytes]] = field(default_factory=deque)
    last_seq: int = 0
    final: bool = False
    expires: float = float("inf")

    def evict(self, now: float, keep: int, max_age: float) -> None:
        while self.events and (len(self.events) > keep or now - self.events[0][1] > max_age):
            self.events.popleft()


class MemoryStore:
    """The embedded store: plain dicts, executed synchronously, no server needed."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._in_flight: dict[str, set[str]] = {}
        self._logs: dict[str, dict[str, _Log]] = {}
        # Per session: when its earliest finished log expires (no sweep of its logs before then).
        self._sweep_at: dict[str, float] = {}
        # Per session: the GET stream's holder (or None), its lease's end, and the cursor.
        self._standalone: dict[str, tuple[str | None, float, int]] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._dispatch: dict[type, Callable[[Any], Any]] = {
            AppendEvent: self._append,
            AppendEvents: self._append_many,
            ReadEvents: self._read,
            LoadSession: self._load,
            SaveSession: self._save,
            UpdateSession: self._update,
            DeleteSession: lambda c: self._delete(c.session_id),
            CountSessions: lambda c: len(self._sessions),
            ListSessions: lambda c: list(self._sessions.values()),
            ExpireSessions: self._expire,
            ClaimRequest: self._claim,
            LoadAndClaim: self._load_and_claim,
            ReleaseRequest: self._release,
            ClaimStandalone: self._claim_standalone,
            ReleaseStandalone: self._release_standalone,
            OpenStream: self._open,
            SaveTask: self._save_task,
            LoadTask: self._load_task,
            LostTasks: self._lost_tasks,
            ExpireTasks: self._expire_tasks,
            ListTasks: self._list_tasks,
        }

    def execute(self, command: StoreCommand) -> Any:
        """Carry out one command and return its answer."""
        return self._dispatch[type(command)](command)

    def _load(self, command: LoadSession) -> SessionRecord | None:
        return self._live(command.session_id, command.now, command.idle_timeout)

    def _live(self, session_id: str, now: float, idle_timeout: float) -> SessionRecord | None:
        """The session's record, unless it idled out (then it is deleted)."""
        record = self._sessions.get(session_id)
        if record is not None and now - record.last_seen > idle_timeout:
            self._delete(session_id)
            return None
        return record

    def _load_and_claim(self, command: LoadAndClaim) -> tuple[SessionRecord | None, ClaimOutcome | None]:
        # Through the helpers, not the LoadSession/ClaimRequest handlers: no commands built per request.
        session_id, now = command.session_id, command.now
        record = self._live(session_id, now, command.idle_timeout)
        if record is None or record.principal != command.principal:
            return record, None
        if now - record.last_seen >= command.touch_after:
            record = self._sessions[session_id] = replace(record, last_seen=now)
        return record, self._claim_key(session_id, command.key, command.limit)

    def _save(self, command: SaveSession) -> None:
        self._sessions[command.record.id] = command.record

    def _update(self, command: UpdateSession) -> bool:
        record = self._sessions.get(command.session_id)
        if record is None:
            return False
        self._sessions[command.session_id] = command.apply_to(record)
        return True

    def _expire(self, command: ExpireSessions) -> list[str]:
        idle = [sid for sid, r in self._sessions.items() if command.now - r.last_seen > command.idle_timeout]
        for sid in idle:
            self._delete(sid)
        return idle

    def _open(self, command: OpenStream) -> None:
        if command.session_id in self._sessions:
            self._open_log(command.session_id, command.stream, command.now, command.max_streams)

    def _open_log(self, session_id: str, stream: str, now: float, max_streams: int) -> None:
        logs = self._logs.setdefault(session_id, {})
        # Every POST stream opens a log, so nothing here may cost a walk over all of them each time.
        if now >= self._sweep_at.get(session_id, math.inf):
            for key in [k for k, log in logs.items() if log.expires <= now]:
                del logs[key]
            self._sweep_at[session_id] = min((log.expires for log in logs.values()), default=math.inf)
        while len(logs) >= max_streams:
            # The oldest finished log (dicts keep creation order); usually one of the first.
            oldest = next((k for k, log in logs.items() if log.final), None)
            if oldest is None:
                break  # unfinished logs are never dropped
            del logs[oldest]
        logs.setdefault(stream, _Log())

    def _release(self, command: ReleaseRequest) -> None:
        keys = self._in_flight.get(command.session_id)
        if keys is not None:
            keys.discard(command.key)

    def _claim_standalone(self, command: ClaimStandalone) -> int | None:
        if command.session_id not in self._sessions:
            return None
        holder, expires, cursor = self._standalone.get(command.session_id, (None, 0.0, 0))
        taken = holder is not None and holder != command.holder and expires > command.now
        if taken and command.exclusive:
            return None
        self._standalone[command.session_id] = (command.holder, command.now + command.lease, cursor)
        return cursor

    def _release_standalone(self, command: ReleaseStandalone) -> None:
        state = self._standalone.get(command.session_id)
        if state is None:
            return  # the session ended meanwhile: nothing to record
        holder, expires, cursor = state
        if holder == command.holder:
            holder, expires = None, 0.0
        self._standalone[command.session_id] = (holder, expires, max(cursor, command.delivered))

    def _delete(self, session_id: str) -> bool:
        self._in_flight.pop(session_id, None)
        self._standalone.pop(session_id, None)
        self._logs.pop(session_id, None)
        self._sweep_at.pop(session_id, None)
        return self._sessions.pop(session_id, None) is not None

    def _claim(self, command: ClaimRequest) -> ClaimOutcome:
        return self._claim_key(command.session_id, command.key, command.limit)

    def _claim_key(self, session_id: str, key: str, limit: int) -> ClaimOutcome:
        keys = self._in_flight.setdefault(session_id, set())
        if key in keys:
            return ClaimOutcome.DUPLICATE
        if len(keys) >= limit:
            return ClaimOutcome.TOO_MANY
        keys.add(key)
        return ClaimOutcome.CLAIMED

    def _append(self, c: AppendEvent) -> int:
        # Not through an AppendEvents: building one per event cost a tenth of the event.
        return self._add(
            c.session_id, c.stream, (c.data,), c.now, c.keep, c.max_age, c.final, c.finished_age, c.max_streams
        )

    def _append_many(self, c: AppendEvents) -> int:
        return self._add(
            c.session_id, c.stream, c.data, c.now, c.keep, c.max_age, c.final, c.finished_age, c.max_streams
        )

    def _add(
        self,
        session_id: str,
        stream: str,
        entries: tuple[bytes, ...],
        now: float,
        keep: int,
        max_age: float,
        final: bool,
        finished_age: float,
        max_streams: int | None,
    ) -> int:
        if session_id not in self._sessions or not entries:
            return 0  # its session ended: keeping the event would recreate what DELETE removed
        if max_streams is not None:
            self._open_log(session_id, stream, now, max_streams)
        logs = self._logs.get(session_id)
        if logs is None:  # not setdefault: that builds a dict on every append
            logs = self._logs[session_id] = {}
        log = logs.get(stream)
        if log is None:
            log = logs[stream] = _Log()
        first = log.last_seq + 1
        for data in entries:
            log.last_seq += 1
            log.events.append((log.last_seq, now, data))
        if final:
            log.final = True
            log.expires = now + finished_age
            if log.expires < self._sweep_at.get(session_id, math.inf):
                self._sweep_at[session_id] = log.expires
        log.evict(now, keep, max_age)
        return first

    def _read(self, command: ReadEvents) -> LogSlice:
        log = self._logs.get(command.session_id, {}).get(command.stream)
        if log is None or log.expires <= command.now:
            return LogSlice(known=False)
        log.evict(command.now, len(log.events), command.max_age)
        first = log.events[0][0] if log.events else log.last_seq + 1
        events = tuple((seq, data) for seq, _, data in log.events if seq > command.after)
        return LogSlice(True, events, first, log.last_seq, log.final)

    def _save_task(self, command: SaveTask) -> bool:
        stored = self._tasks.get(command.record.id)
        if (stored.version if stored is not None else None) != command.expect:
            return False
        self._tasks[command.record.id] = command.record
        return True

    def _load_task(self, command: LoadTask) -> TaskRecord | None:
        record = self._tasks.get(command.task_id)
        if record is not None and record.expires_at <= command.now:
            del self._tasks[command.task_id]
            return None
        return record

    def _lost_tasks(self, command: LostTasks) -> list[TaskRecord]:
        lost = [
            r
            for r in self._tasks.values()
            if r.status is TaskStatus.WORKING and r.lease_until < command.now and r.expires_at > command.now
        ]
        return lost[: command.limit]

    def _list_tasks(self, command: ListTasks) -> TaskPage:
        after = command.after
        found = sorted(
            (r for r in self._tasks.values() if r.session_id == command.session_id and r.expires_at > command.now),
            key=lambda r: r.position,
        )
        if after is not None:
            found = [r for r in found if r.position > after]
        return TaskPage(tuple(found[: command.limit]), len(found) > command.limit)

    def _expire_tasks(self, command: ExpireTasks) -> None:
        for tid in [tid for tid, r in self._tasks.items() if r.expires_at <= command.now]:
            del self._tasks[tid]

    def census(self) -> dict[str, int]:
        """How much the store holds: sessions, their event logs, in-flight requests, GET-stream records."""
        return {
            "sessions": len(self._sessions),
            "logs": sum(len(logs) for logs in self._logs.values()),
            "in_flight": sum(len(keys) for keys in self._in_flight.values()),
            "standalone": len(self._standalone),
            "tasks": len(self._tasks),
        }

    def session_ids(self) -> list[str]:
        """Ids of the stored sessions (for tests and introspection)."""
        return list(self._sessions)


def run_plan(plan: Plan[T], store: Store) -> T:
    """Run a plan to completion against a synchronous store and return its result."""
    try:
        command = next(plan)
        while True:
            command = plan.send(store.execute(command))
    except StopIteration as stop:
        result: T = stop.value
        return result
