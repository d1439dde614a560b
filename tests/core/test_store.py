"""Store commands, MemoryStore and run_plan (mcp_sansio._store)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_sansio import ClaimOutcome, LogSlice, MemoryStore, SessionRecord, run_plan
from mcp_sansio._store import (
    AppendEvent,
    ClaimRequest,
    CountSessions,
    DeleteSession,
    ExpireSessions,
    LoadSession,
    OpenStream,
    ReadEvents,
    ReleaseRequest,
    SaveSession,
)

KEEP = 100
AGE = 60.0


def record(sid: str, last_seen: float = 0.0) -> SessionRecord:
    return SessionRecord(sid, "2025-11-25", created_at=last_seen, last_seen=last_seen)


def append(
    store: MemoryStore,
    data: bytes,
    *,
    sid: str = "s",
    stream: str = "k",
    now: float = 0.0,
    keep: int = KEEP,
    max_age: float = AGE,
    final: bool = False,
) -> int:
    if sid not in store.session_ids():  # logs belong to a stored session
        store.execute(SaveSession(record(sid, now)))
    return store.execute(AppendEvent(sid, stream, data, now, keep, max_age, final))  # type: ignore[no-any-return]


def read(
    store: MemoryStore, *, sid: str = "s", stream: str = "k", after: int = 0, now: float = 0.0, max_age: float = AGE
) -> LogSlice:
    return store.execute(ReadEvents(sid, stream, after, now, max_age))  # type: ignore[no-any-return]


# --- sessions ------------------------------------------------------------------------------------


def test_save_load_count() -> None:
    store = MemoryStore()
    assert store.execute(CountSessions()) == 0
    r = record("a", 10.0)
    assert store.execute(SaveSession(r)) is None
    assert store.execute(LoadSession("a", now=10.0, idle_timeout=5.0)) is r
    assert store.execute(LoadSession("missing", now=10.0, idle_timeout=5.0)) is None
    assert store.execute(CountSessions()) == 1
    assert store.session_ids() == ["a"]


def test_save_replaces_record() -> None:
    store = MemoryStore()
    store.execute(SaveSession(record("a", 1.0)))
    newer = record("a", 2.0).initialized()
    store.execute(SaveSession(newer))
    assert store.execute(LoadSession("a", now=2.0, idle_timeout=1.0)) is newer
    assert store.execute(CountSessions()) == 1


def test_load_expires_idle_session_strictly_after_timeout() -> None:
    store = MemoryStore()
    store.execute(SaveSession(record("a", 100.0)))
    assert store.execute(LoadSession("a", now=110.0, idle_timeout=10.0)) is not None  # exactly at the limit
    assert store.execute(LoadSession("a", now=110.001, idle_timeout=10.0)) is None
    # Expiry deleted it: a later, lenient load does not bring it back.
    assert store.execute(LoadSession("a", now=110.0, idle_timeout=1e9)) is None
    assert store.execute(CountSessions()) == 0


def test_load_expiry_removes_logs_and_in_flight_requests() -> None:
    store = MemoryStore()
    store.execute(SaveSession(record("s", 0.0)))
    append(store, b"x")
    assert store.execute(ClaimRequest("s", "i1", 1)) is ClaimOutcome.CLAIMED
    assert store.execute(LoadSession("s", now=100.0, idle_timeout=10.0)) is None
    assert read(store, now=100.0, max_age=1e9) == LogSlice(known=False)
    assert store.execute(ClaimRequest("s", "i1", 1)) is ClaimOutcome.CLAIMED


def test_expire_sessions() -> None:
    store = MemoryStore()
    for sid, seen in (("old", 0.0), ("edge", 50.0), ("fresh", 90.0)):
        store.execute(SaveSession(record(sid, seen)))
        append(store, b"e", sid=sid)
    assert store.execute(ExpireSessions(now=100.0, idle_timeout=50.0)) == ["old"]
    assert sorted(store.session_ids()) == ["edge", "fresh"]
    assert read(store, sid="old").known is False
    assert read(store, sid="edge").known is True
    assert store.execute(ExpireSessions(now=100.0, idle_timeout=50.0)) == []
    assert sorted(store.execute(ExpireSessions(now=1000.0, idle_timeout=50.0))) == ["edge", "fresh"]
    assert store.execute(CountSessions()) == 0


def test_delete_session() -> None:
    store = MemoryStore()
    store.execute(SaveSession(record("s")))
    store.execute(SaveSession(record("other")))
    append(store, b"1")
    append(store, b"2", sid="other")
    store.execute(ClaimRequest("s", "i1", 1))
    assert store.execute(DeleteSession("s")) is True
    assert store.execute(DeleteSession("s")) is False
    assert store.session_ids() == ["other"]
    assert read(store) == LogSlice(known=False)
    assert read(store, sid="other").events == ((1, b"2"),)  # other sessions untouched
    assert store.execute(ClaimRequest("s", "i1", 1)) is ClaimOutcome.CLAIMED


def test_events_of_a_deleted_session_are_not_kept() -> None:
    # A handler cancelled by DELETE still reports its end: that must not bring the logs back.
    store = MemoryStore()
    append(store, b"x", sid="gone")
    assert store.execute(DeleteSession("gone")) is True
    assert store.execute(AppendEvent("gone", "k", b"late", 0.0, KEEP, AGE, True)) == 0
    assert store.execute(OpenStream("gone", "k2")) is None
    assert read(store, sid="gone").known is False and read(store, sid="gone", stream="k2").known is False
    assert store.execute(DeleteSession("gone")) is False
    assert store._logs == {}  # nothing left behind


# --- in-flight requests ----------------------------------------------------------------------------


def test_claim_duplicate_and_release() -> None:
    store = MemoryStore()
    assert store.execute(ClaimRequest("s", "i1", 10)) is ClaimOutcome.CLAIMED
    assert store.execute(ClaimRequest("s", "i1", 10)) is ClaimOutcome.DUPLICATE
    assert store.execute(ClaimRequest("s", "s1", 10)) is ClaimOutcome.CLAIMED  # "1" and 1 are different ids
    assert store.execute(ReleaseRequest("s", "i1")) is None
    assert store.execute(ClaimRequest("s", "i1", 10)) is ClaimOutcome.CLAIMED


def test_claim_too_many() -> None:
    store = MemoryStore()
    assert store.execute(ClaimRequest("s", "a", 2)) is ClaimOutcome.CLAIMED
    assert store.execute(ClaimRequest("s", "b", 2)) is ClaimOutcome.CLAIMED
    assert store.execute(ClaimRequest("s", "c", 2)) is ClaimOutcome.TOO_MANY
    # A duplicate is reported as such even at the limit.
    assert store.execute(ClaimRequest("s", "a", 2)) is ClaimOutcome.DUPLICATE
    # The limit is per session.
    assert store.execute(ClaimRequest("t", "c", 2)) is ClaimOutcome.CLAIMED
    store.execute(ReleaseRequest("s", "b"))
    assert store.execute(ClaimRequest("s", "c", 2)) is ClaimOutcome.CLAIMED
    assert store.execute(ClaimRequest("s", "d", 2)) is ClaimOutcome.TOO_MANY


def test_claim_with_zero_limit() -> None:
    assert MemoryStore().execute(ClaimRequest("s", "a", 0)) is ClaimOutcome.TOO_MANY


def test_release_unknown_is_harmless() -> None:
    store = MemoryStore()
    assert store.execute(ReleaseRequest("nobody", "x")) is None
    store.execute(ClaimRequest("s", "a", 1))
    assert store.execute(ReleaseRequest("s", "zzz")) is None
    assert store.execute(ClaimRequest("s", "b", 1)) is ClaimOutcome.TOO_MANY


def test_claim_outcome_values() -> None:
    assert [o.value for o in ClaimOutcome] == ["claimed", "duplicate", "too_many"]


# --- event logs -------------------------------------------------------------------------------------


def test_unknown_stream() -> None:
    store = MemoryStore()
    assert read(store) == LogSlice(known=False, events=(), first_seq=1, last_seq=0, final=False)
    append(store, b"x", stream="other")
    assert read(store).known is False  # another stream of the session does not count


def test_open_stream_makes_an_empty_known_log() -> None:
    store = MemoryStore()
    store.execute(SaveSession(record("s")))
    assert store.execute(OpenStream("s", "k")) is None
    assert read(store) == LogSlice(known=True, events=(), first_seq=1, last_seq=0, final=False)
    # Opening again keeps what is there.
    append(store, b"a")
    store.execute(OpenStream("s", "k"))
    assert read(store).events == ((1, b"a"),)


def test_append_numbers_events_from_one_per_stream() -> None:
    store = MemoryStore()
    assert [append(store, b"a"), append(store, b"b"), append(store, b"c")] == [1, 2, 3]
    assert append(store, b"z", stream="other") == 1
    assert append(store, b"z", sid="t") == 1
    assert read(store) == LogSlice(True, ((1, b"a"), (2, b"b"), (3, b"c")), 1, 3, False)


def test_read_after() -> None:
    store = MemoryStore()
    for data in (b"a", b"b", b"c"):
        append(store, data)
    assert read(store, after=1).events == ((2, b"b"), (3, b"c"))
    assert read(store, after=3) == LogSlice(True, (), 1, 3, False)
    assert read(store, after=99) == LogSlice(True, (), 1, 3, False)
    assert read(store, after=-5).events == ((1, b"a"), (2, b"b"), (3, b"c"))


def test_eviction_by_count() -> None:
    store = MemoryStore()
    for i in range(1, 6):
        append(store, b"%d" % i, keep=3)
    got = read(store)
    assert got == LogSlice(True, ((3, b"3"), (4, b"4"), (5, b"5")), 3, 5, False)
    # The client can tell events 1 and 2 are gone: first_seq > after + 1.
    assert read(store, after=1).first_seq == 3


def test_eviction_by_age_on_append() -> None:
    store = MemoryStore()
    append(store, b"old", now=0.0, max_age=10.0)
    append(store, b"mid", now=5.0, max_age=10.0)
    append(store, b"new", now=15.5, max_age=10.0)  # "old" is 15.5s old, "mid" 10.5s
    assert read(store, now=15.5, max_age=10.0) == LogSlice(True, ((3, b"new"),), 3, 3, False)


def test_eviction_by_age_is_strict() -> None:
    store = MemoryStore()
    append(store, b"a", now=0.0)
    assert read(store, now=10.0, max_age=10.0).events == ((1, b"a"),)  # exactly max_age old: kept
    assert read(store, now=10.01, max_age=10.0) == LogSlice(True, (), 2, 1, False)


def test_eviction_by_age_on_read_keeps_count() -> None:
    store = MemoryStore()
    for t in (0.0, 1.0, 2.0, 3.0):
        append(store, b"%d" % t, now=t, keep=10, max_age=100.0)
    got = read(store, now=11.5, max_age=10.0)
    assert got == LogSlice(True, ((3, b"2"), (4, b"3")), 3, 4, False)
    # Evicted events stay evicted.
    assert read(store, now=11.5, max_age=1000.0).first_seq == 3


def test_everything_evicted_leaves_an_empty_known_log() -> None:
    store = MemoryStore()
    append(store, b"a", now=0.0)
    append(store, b"b", now=0.0)
    got = read(store, now=1000.0, max_age=1.0)
    assert got == LogSlice(known=True, events=(), first_seq=3, last_seq=2, final=False)
    assert append(store, b"c", now=1000.0) == 3  # numbering continues


def test_final_flag_is_sticky() -> None:
    store = MemoryStore()
    append(store, b"a")
    assert read(store).final is False
    append(store, b"done", final=True)
    assert read(store) == LogSlice(True, ((1, b"a"), (2, b"done")), 1, 2, True)
    append(store, b"late", final=False)
    assert read(store).final is True


def test_final_survives_eviction_of_its_event() -> None:
    store = MemoryStore()
    append(store, b"done", now=0.0, final=True)
    assert read(store, now=100.0, max_age=1.0) == LogSlice(True, (), 2, 1, True)


@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40), st.integers(min_value=1, max_value=10)
)
def test_log_keeps_the_newest_events_in_order(gaps: list[int], keep: int) -> None:
    store = MemoryStore()
    now = 0.0
    times = []
    for i, gap in enumerate(gaps, start=1):
        now += gap
        times.append(now)
        assert append(store, b"%d" % i, now=now, keep=keep, max_age=AGE) == i
    got = read(store, now=now, max_age=AGE)
    seqs = [seq for seq, _ in got.events]
    assert seqs == sorted(seqs)
    assert len(seqs) <= keep
    assert got.last_seq == len(gaps)
    assert seqs == list(range(got.first_seq, got.last_seq + 1))
    assert all(data == b"%d" % seq for seq, data in got.events)
    assert all(now - times[seq - 1] <= AGE for seq in seqs)


# --- run_plan -----------------------------------------------------------------------------------------


def test_run_plan_feeds_answers_back() -> None:
    store = MemoryStore()
    seen: list[Any] = []

    def plan() -> Generator[Any, Any, str]:
        seen.append((yield SaveSession(record("a", 1.0))))
        seen.append((yield ClaimRequest("a", "i1", 1)))
        seen.append((yield ClaimRequest("a", "i2", 1)))
        seq = yield AppendEvent("a", "k", b"x", 1.0, KEEP, AGE)
        seen.append(seq)
        seen.append((yield CountSessions()))
        return f"done {seq}"

    assert run_plan(plan(), store) == "done 1"
    assert seen == [None, ClaimOutcome.CLAIMED, ClaimOutcome.TOO_MANY, 1, 1]


def test_run_plan_without_commands() -> None:
    def plan() -> Generator[Any, Any, int]:
        return 7
        yield  # pragma: no cover

    assert run_plan(plan(), MemoryStore()) == 7


def test_run_plan_returning_none() -> None:
    def plan() -> Generator[Any, Any, None]:
        yield CountSessions()

    assert run_plan(plan(), MemoryStore()) is None


def test_run_plan_propagates_plan_errors() -> None:
    class Boom(Exception):
        pass

    def plan() -> Generator[Any, Any, None]:
        found = yield LoadSession("x", 0.0, 1.0)
        if found is None:
            raise Boom("no session")

    with pytest.raises(Boom, match="no session"):
        run_plan(plan(), MemoryStore())
