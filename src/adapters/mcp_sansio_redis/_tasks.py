"""The task commands in Redis: one hash per task (version and JSON record), an index of leases, session lists."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mcp_sansio import ExpireTasks, ListTasks, LoadTask, LostTasks, SaveTask, TaskPage, TaskRecord, TaskStatus

from . import _lua
from ._resp import RedisStoreError

if TYPE_CHECKING:
    from ._store import RedisStore

__all__ = ["save_task", "load_task", "lost_tasks", "expire_tasks", "list_tasks"]


async def save_task(store: RedisStore, command: SaveTask) -> bool:
    """Compare-and-set the record; its key lives until the task's ``expires_at`` (plus the grace).

    A session's task (2025-11-25) joins the session's list when it is created.
    """
    record = command.record
    try:
        data = json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RedisStoreError(f"task {record.id!r} cannot be stored: {exc}") from exc
    lease = repr(float(record.lease_until)) if record.status is TaskStatus.WORKING else ""
    expect = "" if command.expect is None else str(command.expect)
    ttl = store.ttl_ms(max(record.expires_at - record.updated_at, 0.0))
    session = record.session_id if record.session_id is not None else ""
    args = (store.prefix, record.id, expect, str(record.version), data, ttl, lease, session, record.position)
    reply = await _lua.SAVE_TASK(store.client, (), args)
    if reply not in (0, 1):
        raise RedisStoreError(f"unexpected Redis reply to SaveTask: {reply!r}")
    return bool(reply)


async def load_task(store: RedisStore, command: LoadTask) -> TaskRecord | None:
    """The record, unless unknown or past its ``expires_at``."""
    raw = await store.client.execute("HGET", store.keys.task(command.task_id), "r")
    if raw is None:
        return None
    record = _decode(raw)
    return record if record.expires_at > command.now else None


async def lost_tasks(store: RedisStore, command: LostTasks) -> list[TaskRecord]:
    """Working tasks whose lease ended (the lease index says which; the records say the rest)."""
    reply = await _lua.LOST_TASKS(store.client, (), (store.prefix, repr(float(command.now)), int(command.limit)))
    if not isinstance(reply, list):
        raise RedisStoreError(f"unexpected Redis reply to LostTasks: {reply!r}")
    records = [_decode(raw) for raw in reply]
    return [r for r in records if r.status is TaskStatus.WORKING and r.expires_at > command.now]


async def list_tasks(store: RedisStore, command: ListTasks) -> TaskPage:
    """A page of a session's tasks, in creation order (the session's list says which; the records say the rest)."""
    after = command.after if command.after is not None else ""
    args = (store.prefix, command.session_id, after, int(command.limit), repr(float(command.now)))
    reply = await _lua.LIST_TASKS(store.client, (), args)
    if not isinstance(reply, list):
        raise RedisStoreError(f"unexpected Redis reply to ListTasks: {reply!r}")
    records = [_decode(raw) for raw in reply]
    return TaskPage(tuple(records[: command.limit]), len(records) > command.limit)


async def expire_tasks(store: RedisStore, command: ExpireTasks) -> None:
    """Nothing to do: each task's key expires by itself, and LostTasks prunes the lease index."""


def _decode(raw: object) -> TaskRecord:
    if not isinstance(raw, bytes):
        raise RedisStoreError(f"a stored task is not a string: {raw!r}")
    try:
        return TaskRecord.from_json(json.loads(raw))
    except ValueError as exc:
        raise RedisStoreError(f"a stored task does not decode: {exc}") from exc
