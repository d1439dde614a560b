"""The store contract, tasks: compare-and-set saves, expiry, the index of lost runs, and session lists.

Every test runs on the memory store (the reference) and on Redis, on asyncio and trio.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio
import pytest

from mcp_sansio import ExpireTasks, ListTasks, LoadTask, LostTasks, SaveTask, TaskPage, TaskRecord, TaskStatus
from mcp_sansio_runtime import AsyncStore

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0


def task(task_id: str = "t1", **changes: object) -> TaskRecord:
    base = TaskRecord(
        id=task_id,
        tool="slow",
        arguments={"seconds": 1, "label": "ü"},
        owner=None,
        status=TaskStatus.WORKING,
        created_at=NOW,
        updated_at=NOW,
        ttl_ms=60_000,
        poll_interval_ms=500,
        capabilities={"extensions": {"io.modelcontextprotocol/tasks": {}}},
        runner="r1",
        lease_until=NOW + 30,
        attempt=1,
        version=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_task_round_trips_exactly(store: AsyncStore) -> None:
    full = task(
        answers={"k": {"action": "accept", "content": {"x": [1, 2.5, None]}}},
        input_requests={"q": {"method": "elicitation/create", "params": {"message": "?"}}},
        result={"content": [{"type": "text", "text": "done"}], "isError": False},
        error={"code": -32603, "message": "m"},
        status_message="half way",
        owner='["iss","sub"]',
    )
    assert await store.execute(SaveTask(full, None)) is True
    assert await store.execute(LoadTask("t1", NOW)) == full


async def test_create_refuses_an_existing_id_and_updates_compare_versions(store: AsyncStore) -> None:
    assert await store.execute(SaveTask(task(), None)) is True
    assert await store.execute(SaveTask(task(tool="other"), None)) is False  # the id exists
    second = task(version=2, status_message="two")
    assert await store.execute(SaveTask(second, 1)) is True
    assert await store.execute(SaveTask(task(version=3, status_message="stale"), 1)) is False  # lost the race
    assert await store.execute(LoadTask("t1", NOW)) == second
    assert await store.execute(SaveTask(task("ghost", version=2), 1)) is False  # nothing to update


async def test_concurrent_compare_and_set_lets_exactly_one_writer_win(store: AsyncStore) -> None:
    await store.execute(SaveTask(task(), None))
    wins: list[int] = []

    async def write(i: int) -> None:
        if await store.execute(SaveTask(task(version=2, status_message=str(i)), 1)):
            wins.append(i)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(write, i)
    assert len(wins) == 1
    stored = await store.execute(LoadTask("t1", NOW))
    assert stored is not None and stored.status_message == str(wins[0])


async def test_a_task_is_kept_until_its_ttl_and_not_after(store: AsyncStore) -> None:
    await store.execute(SaveTask(task(ttl_ms=10_000), None))
    assert await store.execute(LoadTask("t1", NOW + 9.999)) is not None
    assert await store.execute(LoadTask("t1", NOW + 10.0)) is None
    await store.execute(ExpireTasks(NOW + 11))
    assert await store.execute(LoadTask("unknown", NOW)) is None


async def test_lost_tasks_are_working_ones_whose_lease_ended(store: AsyncStore) -> None:
    await store.execute(SaveTask(task("early", lease_until=NOW + 1), None))
    await store.execute(SaveTask(task("late", lease_until=NOW + 40), None))
    waiting = task("waiting", status=TaskStatus.INPUT_REQUIRED, runner=None, lease_until=0.0)
    await store.execute(SaveTask(waiting, None))
    await store.execute(SaveTask(task("done", status=TaskStatus.COMPLETED, runner=None, lease_until=0.0), None))
    assert [r.id for r in await store.execute(LostTasks(NOW + 2))] == ["early"]
    assert {r.id for r in await store.execute(LostTasks(NOW + 50))} == {"early", "late"}
    assert len(await store.execute(LostTasks(NOW + 50, limit=1))) == 1
    # Renewed: no longer lost. Finished: out of the index.
    renewed = task("early", lease_until=NOW + 55, version=2)
    assert await store.execute(SaveTask(renewed, 1)) is True
    assert await store.execute(LostTasks(NOW + 2)) == []
    assert await store.execute(SaveTask(task("late", status=TaskStatus.FAILED, runner=None, version=2), 1))
    assert await store.execute(LostTasks(NOW + 50)) == []
    assert [r.id for r in await store.execute(LostTasks(NOW + 58))] == ["early"]
    # Expired tasks are never reported lost.
    assert await store.execute(LostTasks(NOW + 70)) == []


# -- a session's tasks (2025-11-25 tasks/list) -------------------------------------------


def session_task(task_id: str, created: float, session: str = "s1", **changes: object) -> TaskRecord:
    return task(task_id, created_at=NOW + created, updated_at=NOW + created, session_id=session, **changes)


async def ids(store: AsyncStore, session: str, now: float, after: str | None = None, limit: int = 100) -> Any:
    page = await store.execute(ListTasks(session, now, after, limit))
    assert isinstance(page, TaskPage)
    return [r.id for r in page.records], page.more


async def test_a_session_task_keeps_its_session(store: AsyncStore) -> None:
    created = session_task("t1", 0.0, session="s:1%")
    assert await store.execute(SaveTask(created, None)) is True
    assert await store.execute(LoadTask("t1", NOW)) == created


async def test_a_session_lists_only_its_own_tasks_in_creation_order(store: AsyncStore) -> None:
    # Saved out of order; two created in the same millisecond sort by id.
    for record in (
        session_task("c", 3.0),
        session_task("a", 1.0),
        session_task("b2", 2.0),
        session_task("b1", 2.0),
        session_task("other", 0.5, session="s2"),
        task("ext"),  # a 2026-07-28 task: in no session's list
    ):
        assert await store.execute(SaveTask(record, None)) is True
    assert await ids(store, "s1", NOW + 4) == (["a", "b1", "b2", "c"], False)
    assert await ids(store, "s2", NOW + 4) == (["other"], False)
    assert await ids(store, "nobody", NOW + 4) == ([], False)
    # Pages: the position of the last one listed is where the next page starts.
    first = await store.execute(ListTasks("s1", NOW + 4, None, 3))
    assert [r.id for r in first.records] == ["a", "b1", "b2"] and first.more is True
    assert await ids(store, "s1", NOW + 4, first.records[-1].position, 3) == (["c"], False)
    assert await ids(store, "s1", NOW + 4, first.records[-2].position, 1) == (["b2"], True)
    # Later saves of a task (its updates) neither move it nor list it twice.
    updated = replace(session_task("a", 1.0), status=TaskStatus.COMPLETED, updated_at=NOW + 9, version=2)
    assert await store.execute(SaveTask(updated, 1)) is True
    assert await ids(store, "s1", NOW + 4) == (["a", "b1", "b2", "c"], False)


async def test_expired_tasks_leave_the_list_and_pages_stay_full(store: AsyncStore) -> None:
    for i in range(6):
        ttl = 5_000 if i % 2 == 0 else 60_000  # every other one expires first
        await store.execute(SaveTask(session_task(f"t{i}", float(i), ttl_ms=ttl), None))
    assert await ids(store, "s1", NOW + 5.5, limit=2) == (["t1", "t2"], True)  # t0 is past its TTL
    assert await ids(store, "s1", NOW + 20, limit=2) == (["t1", "t3"], True)
    assert await ids(store, "s1", NOW + 20, limit=3) == (["t1", "t3", "t5"], False)
    assert await ids(store, "s1", NOW + 100) == ([], False)
