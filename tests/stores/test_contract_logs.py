"""The store contract, event logs: OpenStream, AppendEvent(s) and ReadEvents, on every store and backend.

``LogSlice`` semantics: ``first_seq`` is the oldest seq retained (``last_seq + 1`` when
none is), ``last_seq`` the newest ever appended, ``final`` whether the final event came.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_sansio import AppendEvent, AppendEvents, LogSlice, MemoryStore, OpenStream, ReadEvents, SaveSession
from mcp_sansio_runtime import AsyncStore
from tests.stores.conftest import Stores, record

pytestmark = pytest.mark.anyio

NOW = 1000.0
AGE = 3600.0


@pytest.fixture
async def session(store: AsyncStore) -> str:
    await store.execute(SaveSession(record("s1", NOW)))
    return "s1"


async def append(
    store: AsyncStore,
    data: bytes,
    *,
    stream: str = "p1",
    now: float = NOW,
    keep: int = 100,
    max_age: float = AGE,
    final: bool = False,
    finished_age: float = float("inf"),
    session_id: str = "s1",
) -> int:
    seq: int = await store.execute(AppendEvent(session_id, stream, data, now, keep, max_age, final, finished_age))
    return seq


async def read(
    store: AsyncStore,
    after: int = 0,
    *,
    stream: str = "p1",
    now: float = NOW,
    max_age: float = AGE,
    session_id: str = "s1",
) -> LogSlice:
    log: LogSlice = await store.execute(ReadEvents(session_id, stream, after, now, max_age))
    return log


async def test_open_stream_creates_an_empty_known_log(store: AsyncStore, session: str) -> None:
    assert await read(store) == LogSlice(known=False)
    assert await store.execute(OpenStream(session, "p1", NOW)) is None
    assert await read(store) == LogSlice(True, (), first_seq=1, last_seq=0, final=False)
    assert await read(store, stream="p2") == LogSlice(known=False)


async def test_nothing_is_created_or_kept_for_a_session_that_is_not_stored(store: AsyncStore) -> None:
    await store.execute(OpenStream("ghost", "p1", NOW))
    assert await read(store, session_id="ghost") == LogSlice(known=False)
    assert await append(store, b"late", session_id="ghost") == 0
    assert await read(store, session_id="ghost") == LogSlice(known=False)


async def test_appends_number_from_one_and_reads_answer_what_follows(store: AsyncStore, session: str) -> None:
    await store.execute(OpenStream(session, "p1", NOW))
    assert [await append(store, b"e%d" % n) for n in range(1, 6)] == [1, 2, 3, 4, 5]
    everything = tuple((n, b"e%d" % n) for n in range(1, 6))
    assert await read(store) == LogSlice(True, everything, 1, 5, False)
    assert await read(store, -7) == LogSlice(True, everything, 1, 5, False)
    assert await read(store, 3) == LogSlice(True, everything[3:], 1, 5, False)
    assert await read(store, 5) == LogSlice(True, (), 1, 5, False)
    assert await read(store, 10**30) == LogSlice(True, (), 1, 5, False)


async def test_an_append_without_open_creates_the_log(store: AsyncStore, session: str) -> None:
    assert await append(store, b"a", stream="0") == 1
    assert await read(store, stream="0") == LogSlice(True, ((1, b"a"),), 1, 1, False)


async def test_event_data_is_kept_byte_for_byte(store: AsyncStore, session: str) -> None:
    blobs = [b"", b"\r\n\r\n", b"\x00\xff\xfe binary", "ünïcode ☃".encode(), b"x" * 200_000]
    for blob in blobs:
        await append(store, blob)
    assert [data for _, data in (await read(store)).events] == blobs


async def test_a_log_keeps_at_most_keep_events(store: AsyncStore, session: str) -> None:
    for n in range(1, 8):
        await append(store, b"e%d" % n, keep=3)
    assert await read(store) == LogSlice(True, ((5, b"e5"), (6, b"e6"), (7, b"e7")), 5, 7, False)
    assert await read(store, 6) == LogSlice(True, ((7, b"e7"),), 5, 7, False)
    assert await append(store, b"e8", keep=0) == 8  # kept by nothing: numbered all the same
    assert await read(store) == LogSlice(True, (), 9, 8, False)
    assert await append(store, b"e9", keep=5) == 9
    assert await read(store) == LogSlice(True, ((9, b"e9"),), 9, 9, False)


async def test_events_older_than_max_age_are_dropped_on_append_and_on_read(store: AsyncStore, session: str) -> None:
    for n in range(4):
        await append(store, b"e%d" % (n + 1), now=NOW + 10 * n, max_age=25.0)  # times 1000, 1010, 1020, 1030
    # The append at 1030 dropped the event of 1000 (30 > 25); 1010 is exactly 20 old.
    assert await read(store, max_age=25.0, now=1030.0) == LogSlice(
        True, ((2, b"e2"), (3, b"e3"), (4, b"e4")), 2, 4, False
    )
    assert await read(store, now=1040.0, max_age=20.0) == LogSlice(True, ((3, b"e3"), (4, b"e4")), 3, 4, False)
    # A read drops for good: a later read with a larger max_age does not bring them back.
    assert await read(store, now=1040.0, max_age=1000.0) == LogSlice(True, ((3, b"e3"), (4, b"e4")), 3, 4, False)
    assert await read(store, now=5000.0, max_age=10.0) == LogSlice(True, (), 5, 4, False)
    assert await append(store, b"e5", now=5000.0) == 5  # the numbering survives an empty log
    assert await read(store, now=5000.0) == LogSlice(True, ((5, b"e5"),), 5, 5, False)


async def test_age_eviction_stops_at_the_first_event_young_enough(store: AsyncStore, session: str) -> None:
    # Clock readings out of order (instances whose clocks differ): only the oldest end is trimmed.
    for seq_time in (900.0, 1000.0, 950.0):
        await append(store, b"%d" % seq_time, now=seq_time)
    assert await read(store, now=1020.0, max_age=50.0) == LogSlice(True, ((2, b"1000"), (3, b"950")), 2, 3, False)


async def test_the_final_event_finishes_the_log_which_expires_finished_age_later(
    store: AsyncStore, session: str
) -> None:
    await append(store, b"a")
    assert await append(store, b"end", now=NOW + 1, final=True, finished_age=30.0) == 2
    expected = LogSlice(True, ((1, b"a"), (2, b"end")), 1, 2, True)
    assert await read(store, now=NOW + 30.9) == expected
    assert await read(store, now=NOW + 31.0) == LogSlice(known=False)  # expires <= now
    assert await read(store, now=NOW + 20.0) == expected  # only the clock reading decides
    # An event after the final one (the core never sends one) keeps the log finished.
    assert await append(store, b"stray", now=NOW + 2) == 3
    assert (await read(store, now=NOW + 5)).final is True
    assert await read(store, now=NOW + 31.0) == LogSlice(known=False)


async def test_a_final_event_with_no_finished_age_never_expires(store: AsyncStore, session: str) -> None:
    await append(store, b"end", final=True)
    assert await read(store, now=1e12) == LogSlice(True, (), 2, 1, True)


async def test_open_stream_drops_finished_logs_that_expired(store: AsyncStore, session: str) -> None:
    await append(store, b"done", stream="p1", final=True, finished_age=10.0)
    await append(store, b"done", stream="p2", final=True, finished_age=100.0)
    await append(store, b"running", stream="p3")
    await store.execute(OpenStream(session, "p4", NOW + 50.0))
    assert not (await read(store, stream="p1", now=NOW)).known  # dropped: gone even for an older clock
    assert (await read(store, stream="p2", now=NOW)).known
    assert (await read(store, stream="p3", now=NOW)).known
    assert await append(store, b"again", stream="p1") == 1  # a dropped log starts over


async def test_open_stream_drops_the_oldest_finished_logs_beyond_max_streams(store: AsyncStore, session: str) -> None:
    await append(store, b"x", stream="f1", final=True)
    await append(store, b"x", stream="r1")
    await append(store, b"x", stream="f2", final=True)
    await append(store, b"x", stream="f3", final=True)
    await store.execute(OpenStream(session, "new", NOW, max_streams=3))
    # 4 logs >= 3: f1 goes; 3 >= 3: f2 goes; then 2 < 3 and "new" is added.
    found = {s: (await read(store, stream=s)).known for s in ("f1", "r1", "f2", "f3", "new")}
    assert found == {"f1": False, "r1": True, "f2": False, "f3": True, "new": True}
    # Unfinished logs are never dropped, whatever their number.
    for n in range(4):
        await store.execute(OpenStream(session, f"run{n}", NOW, max_streams=2))
    found = {s: (await read(store, stream=s)).known for s in ("r1", "f3", "new", "run0", "run1", "run2", "run3")}
    assert found == {"r1": True, "f3": False, "new": True, "run0": True, "run1": True, "run2": True, "run3": True}


async def test_creation_order_not_finishing_order_decides_which_finished_log_goes(
    store: AsyncStore, session: str
) -> None:
    for stream in ("a", "b", "c"):
        await store.execute(OpenStream(session, stream, NOW))
    for stream in ("c", "b", "a"):
        await append(store, b"end", stream=stream, final=True)
    await store.execute(OpenStream(session, "d", NOW, max_streams=3))
    assert [(await read(store, stream=s)).known for s in "abcd"] == [False, True, True, True]


async def test_reopening_a_stream_keeps_its_events(store: AsyncStore, session: str) -> None:
    await append(store, b"a")
    await store.execute(OpenStream(session, "p1", NOW))
    assert await read(store) == LogSlice(True, ((1, b"a"),), 1, 1, False)


async def test_logs_of_different_streams_and_sessions_are_separate(store: AsyncStore, session: str) -> None:
    await store.execute(SaveSession(record("s2")))
    await append(store, b"s1-p1")
    await append(store, b"s1-p2", stream="p2")
    await append(store, b"s2-p1", session_id="s2")
    assert (await read(store)).events == ((1, b"s1-p1"),)
    assert (await read(store, stream="p2")).events == ((1, b"s1-p2"),)
    assert (await read(store, session_id="s2")).events == ((1, b"s2-p1"),)
    assert not (await read(store, stream="p2", session_id="s2")).known


async def test_two_instances_appending_concurrently_never_share_a_seq(stores: Stores) -> None:
    first, second = stores.new(), stores.new()
    await first.execute(SaveSession(record("s1")))
    got: dict[int, bytes] = {}

    async def appender(store: AsyncStore, name: str) -> None:
        data = name.encode()
        seq = await append(store, data, keep=1000)
        assert seq not in got
        got[seq] = data

    async with anyio.create_task_group() as tg:
        for n in range(200):
            tg.start_soon(appender, first, f"first-{n}")
            tg.start_soon(appender, second, f"second-{n}")
    assert sorted(got) == list(range(1, 401))
    log = await read(second)
    assert log.first_seq == 1 and log.last_seq == 400
    assert log.events == tuple(sorted(got.items()))  # in seq order, each event where its appender was told


# -- AppendEvents ------------------------------------------------------------------------------


async def append_many(
    store: AsyncStore,
    data: list[bytes],
    *,
    stream: str = "p1",
    now: float = NOW,
    keep: int = 100,
    max_age: float = AGE,
    session_id: str = "s1",
    **options: Any,
) -> int:
    seq: int = await store.execute(AppendEvents(session_id, stream, tuple(data), now, keep, max_age, **options))
    return seq


async def test_append_events_numbers_them_in_order_as_one_append_each_would(store: AsyncStore, session: str) -> None:
    assert await append(store, b"e1") == 1
    assert await append_many(store, [b"e2", b"e3", b"e4"]) == 2
    assert await append_many(store, [b"e5"]) == 5
    for n in range(1, 6):
        await append(store, b"e%d" % n, stream="single")
    batched, single = await read(store), await read(store, stream="single")
    assert batched == single == LogSlice(True, tuple((n, b"e%d" % n) for n in range(1, 6)), 1, 5, False)
    assert await read(store, 2) == LogSlice(True, tuple((n, b"e%d" % n) for n in range(3, 6)), 1, 5, False)


async def test_append_events_keeps_the_limits_and_marks_only_the_last_final(store: AsyncStore, session: str) -> None:
    assert await append_many(store, [b"e%d" % n for n in range(1, 11)], keep=4) == 1
    assert await read(store) == LogSlice(True, tuple((n, b"e%d" % n) for n in range(7, 11)), 7, 10, False)
    assert await append(store, b"old", stream="aged", now=NOW - 100.0) == 1
    assert await append_many(store, [b"a", b"b"], stream="aged", max_age=50.0) == 2  # the old one goes
    assert (await read(store, stream="aged", max_age=50.0)).events == ((2, b"a"), (3, b"b"))
    first = await append_many(store, [b"x", b"y", b"z"], stream="done", final=True, finished_age=30.0)
    assert first == 1
    assert await read(store, stream="done") == LogSlice(True, ((1, b"x"), (2, b"y"), (3, b"z")), 1, 3, True)
    assert await read(store, 2, stream="done", now=NOW + 29.0) == LogSlice(True, ((3, b"z"),), 1, 3, True)
    assert await read(store, stream="done", now=NOW + 30.0) == LogSlice(known=False)


async def test_append_events_keeps_nothing_for_no_session_or_no_events(store: AsyncStore, session: str) -> None:
    assert await append_many(store, [b"late", b"later"], session_id="ghost") == 0
    assert await read(store, session_id="ghost") == LogSlice(known=False)
    assert await append_many(store, []) == 0
    assert await read(store) == LogSlice(known=False)


async def test_two_instances_appending_batches_concurrently_never_interleave_them(stores: Stores) -> None:
    first, second = stores.new(), stores.new()
    await first.execute(SaveSession(record("s1", NOW)))
    starts: dict[int, bytes] = {}

    async def batch(store: AsyncStore, n: int) -> None:
        starts[await append_many(store, [b"%d-%d" % (n, i) for i in range(5)])] = b"%d" % n

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(batch, (first, second)[n % 2], n)
    log = await read(first)
    assert [seq for seq, _ in log.events] == list(range(1, 101))
    assert sorted(starts) == list(range(1, 101, 5))  # every batch is contiguous
    for start, n in starts.items():
        assert [data for _, data in log.events[start - 1 : start + 4]] == [b"%s-%d" % (n, i) for i in range(5)]


# -- appends that open their stream (max_streams) -------------------------------------------------


@pytest.mark.parametrize("many", [False, True], ids=["AppendEvent", "AppendEvents"])
async def test_an_append_with_max_streams_opens_the_stream_first_as_open_stream_does(
    store: AsyncStore, session: str, many: bool
) -> None:
    await append(store, b"x", stream="f1", final=True, finished_age=10.0)  # expired by NOW + 50
    await append(store, b"x", stream="f2", final=True)
    await append(store, b"x", stream="r1")
    await append(store, b"x", stream="f3", final=True)
    await append(store, b"x", stream="f4", final=True)
    # f1 expired; then 4 logs >= 3: f2 goes (the oldest finished), then 3 >= 3: f3 goes.
    if many:
        seq = await store.execute(AppendEvents("s1", "new", (b"a", b"b"), NOW + 50.0, 100, AGE, max_streams=3))
    else:
        seq = await store.execute(AppendEvent("s1", "new", b"a", NOW + 50.0, 100, AGE, max_streams=3))
    assert seq == 1
    found = {s: (await read(store, stream=s)).known for s in ("f1", "f2", "r1", "f3", "f4", "new")}
    assert found == {"f1": False, "f2": False, "r1": True, "f3": False, "f4": True, "new": True}
    assert (await read(store, stream="new")).events[0] == (1, b"a")
    # An open stream's events stay: opening it again appends after them.
    assert await store.execute(AppendEvent("s1", "new", b"c", NOW, 100, AGE, max_streams=3)) == (3 if many else 2)
    assert await store.execute(AppendEvent("ghost", "new", b"a", NOW, 100, AGE, max_streams=3)) == 0
    assert await read(store, session_id="ghost", stream="new") == LogSlice(known=False)


async def test_logs_opened_and_finished_in_any_order_are_dropped_as_in_memory(store: AsyncStore, session: str) -> None:
    # Streams open (by OpenStream or by an opening append), finish out of creation order, some
    # expire: at every step each store keeps exactly the logs the in-memory store keeps.
    oracle = MemoryStore()
    oracle.execute(SaveSession(record("s1", NOW)))
    created: list[str] = []

    async def both(command: Any) -> None:
        assert await store.execute(command) == oracle.execute(command), command

    for n in range(60):
        now, name = NOW + n, f"s{n}"
        if n % 4:
            await both(AppendEvent("s1", name, b"x", now, 100, AGE, max_streams=6))
        else:
            await both(OpenStream("s1", name, now, max_streams=6))
        created.append(name)
        if n % 3 == 2:  # each three finish last, first, middle; a few soon expire
            for target in (created[-1], created[-3], created[-2]):
                age = 2.5 if int(target[1:]) % 5 == 1 else 1000.0
                await both(AppendEvent("s1", target, b"end", now, 100, AGE, True, age))
        for stream in created[-12:]:
            await both(ReadEvents("s1", stream, 0, now, AGE))
    kept = [s for s in created if oracle.execute(ReadEvents("s1", s, 0, NOW + 60, AGE)).known]
    assert 4 <= len(kept) <= 6  # the test drops logs, and keeps some
