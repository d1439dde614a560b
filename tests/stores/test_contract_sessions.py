"""The store contract, sessions and requests in flight: each command's answer as its docstring states it.

Every test runs on the memory store (the reference) and on Redis, on asyncio and trio.
"""

from __future__ import annotations

import anyio
import pytest

from mcp_sansio import (
    AppendEvent,
    ClaimOutcome,
    ClaimRequest,
    CountSessions,
    DeleteSession,
    ExpireSessions,
    ListSessions,
    LoadAndClaim,
    LoadSession,
    OpenStream,
    ReadEvents,
    ReleaseRequest,
    SaveSession,
    SessionRecord,
    SessionState,
    UpdateSession,
)
from mcp_sansio_runtime import AsyncStore
from tests.stores.conftest import Stores, record

pytestmark = pytest.mark.anyio

IDLE = 3600.0


async def load(store: AsyncStore, session_id: str, now: float = 1000.0, idle: float = IDLE) -> SessionRecord | None:
    found: SessionRecord | None = await store.execute(LoadSession(session_id, now, idle))
    return found


async def with_log(store: AsyncStore, session_id: str, stream: str = "p1") -> None:
    """A stored session with one event in one stream and one request in flight."""
    await store.execute(SaveSession(record(session_id)))
    await store.execute(OpenStream(session_id, stream, 1000.0))
    assert await store.execute(AppendEvent(session_id, stream, b"x", 1000.0, 100, 3600.0)) == 1
    assert await store.execute(ClaimRequest(session_id, "r1", 8)) is ClaimOutcome.CLAIMED


async def known(store: AsyncStore, session_id: str, stream: str = "p1") -> bool:
    log = await store.execute(ReadEvents(session_id, stream, 0, 1000.0, 3600.0))
    return bool(log.known)


# -- LoadSession / SaveSession -----------------------------------------------------


async def test_an_unknown_session_loads_as_none(store: AsyncStore) -> None:
    assert await load(store, "nobody") is None


async def test_a_saved_record_round_trips_exactly_every_field(store: AsyncStore) -> None:
    full = SessionRecord(
        id="Zk3-_~.x",
        protocol_version="2025-06-18",
        state=SessionState.READY,
        client_info={"name": "clïent ☃", "version": "1.2", "nested": {"list": [1, 2.5, None, True, "x"], "e": {}}},
        client_capabilities={"elicitation": {}, "roots": {"listChanged": True}, "sampling": {"n": 0.1 + 0.2}},
        log_level="warning",
        subscriptions=frozenset({"file:///b", "file:///a", "memo://ü"}),
        created_at=1234.000001,
        last_seen=1700000000.123456789,
    )
    plain = SessionRecord("plain", "2025-11-25")  # the defaults: empty dicts, no log level, no subscriptions
    for item in (full, plain):
        await store.execute(SaveSession(item))
        got = await load(store, item.id, now=item.last_seen)
        assert got == item
        assert got is not None
        assert type(got.state) is SessionState and isinstance(got.subscriptions, frozenset)
        assert list(got.client_info) == list(item.client_info)  # key order too


async def test_saving_a_record_again_replaces_it(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1", client_info={"name": "a"}, log_level="debug")))
    newer = record("s1", 1010.0, created_at=1000.0, client_info={"other": 1}, state=SessionState.READY)
    assert await store.execute(SaveSession(newer)) is None
    assert await load(store, "s1", now=1010.0) == newer
    assert await store.execute(CountSessions()) == 1


# -- UpdateSession ---------------------------------------------------------------------


async def test_an_update_changes_only_the_fields_it_names(store: AsyncStore) -> None:
    base = record("s1", client_info={"name": "a"}, log_level="debug", subscriptions=frozenset({"a://1"}))
    await store.execute(SaveSession(base))
    assert await store.execute(UpdateSession("s1", log_level="error")) is True
    assert await store.execute(UpdateSession("s1", state=SessionState.READY)) is True
    assert await store.execute(UpdateSession("s1", subscribe=frozenset({"b://ü", "c://3"}))) is True
    assert await store.execute(UpdateSession("s1", unsubscribe=frozenset({"a://1", "never://x"}))) is True
    assert await store.execute(UpdateSession("s1", last_seen=1005.5)) is True
    want = record(
        "s1",
        1005.5,
        created_at=1000.0,
        client_info={"name": "a"},
        log_level="error",
        state=SessionState.READY,
        subscriptions=frozenset({"b://ü", "c://3"}),
    )
    assert await load(store, "s1", now=1006.0) == want


async def test_updates_made_from_two_stale_copies_both_survive(store: AsyncStore) -> None:
    # Two instances load the same record, then each changes a different field: last-writer-wins
    # on the whole record would lose one change.
    await store.execute(SaveSession(record("s1")))
    await store.execute(UpdateSession("s1", log_level="alert"))
    await store.execute(UpdateSession("s1", subscribe=frozenset({"x://1"})))
    await store.execute(UpdateSession("s1", subscribe=frozenset({"x://2"})))
    await store.execute(UpdateSession("s1", state=SessionState.READY, last_seen=1001.0))
    got = await load(store, "s1", now=1001.0)
    assert got is not None
    assert (got.log_level, got.subscriptions, got.state) == ("alert", frozenset({"x://1", "x://2"}), SessionState.READY)


async def test_concurrent_updates_of_one_session_all_land(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1")))
    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(store.execute, UpdateSession("s1", subscribe=frozenset({f"r://{i}"})))
    got = await load(store, "s1")
    assert got is not None and got.subscriptions == frozenset(f"r://{i}" for i in range(40))


async def test_last_seen_never_moves_back(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1", 1000.0)))
    await store.execute(UpdateSession("s1", last_seen=1500.0))
    await store.execute(UpdateSession("s1", last_seen=1200.0))  # an instance whose clock lags
    got = await load(store, "s1", now=1500.0)
    assert got is not None and got.last_seen == 1500.0
    # ...and idle expiry follows the newest reading.
    assert await store.execute(ExpireSessions(1500.0 + IDLE, IDLE)) == []
    assert await store.execute(ExpireSessions(1500.5 + IDLE, IDLE)) == ["s1"]


async def test_updating_an_unknown_session_creates_nothing(store: AsyncStore) -> None:
    assert await store.execute(UpdateSession("ghost", log_level="info", subscribe=frozenset({"a://"}))) is False
    assert await load(store, "ghost") is None
    assert await store.execute(CountSessions()) == 0


async def test_a_session_idle_past_the_timeout_loads_as_none_and_is_gone(store: AsyncStore) -> None:
    await with_log(store, "s1")
    await store.execute(SaveSession(record("s2")))
    assert await load(store, "s1", now=1000.0 + IDLE) is not None  # exactly the timeout: not past it
    assert await load(store, "s1", now=1000.5 + IDLE) is None
    assert await store.execute(CountSessions()) == 1
    assert not await known(store, "s1")
    assert await store.execute(DeleteSession("s1")) is False
    assert await load(store, "s2", now=1000.0) is not None


# -- DeleteSession ---------------------------------------------------------------------


async def test_delete_answers_whether_the_session_existed_and_removes_all_it_had(store: AsyncStore) -> None:
    await with_log(store, "s1")
    await with_log(store, "s2")
    assert await store.execute(DeleteSession("s1")) is True
    assert await store.execute(DeleteSession("s1")) is False
    assert await store.execute(DeleteSession("never")) is False
    assert await load(store, "s1") is None
    assert not await known(store, "s1")
    # Saved again under the same id, the session starts clean: no logs, nothing in flight.
    await store.execute(SaveSession(record("s1")))
    assert not await known(store, "s1")
    assert await store.execute(ClaimRequest("s1", "r1", 1)) is ClaimOutcome.CLAIMED
    # The other session is untouched.
    assert await known(store, "s2")
    assert await store.execute(ClaimRequest("s2", "r1", 8)) is ClaimOutcome.DUPLICATE


# -- CountSessions / ListSessions / ExpireSessions ---------------------------------------


async def test_count_and_list_answer_every_stored_session(store: AsyncStore) -> None:
    assert await store.execute(CountSessions()) == 0
    assert await store.execute(ListSessions()) == []
    saved = [record(f"s{n}", 1000.0 + n, client_info={"n": n}) for n in range(3)]
    for item in saved:
        await store.execute(SaveSession(item))
    assert await store.execute(CountSessions()) == 3
    listed = await store.execute(ListSessions())
    assert sorted(listed, key=lambda r: r.id) == saved
    await store.execute(DeleteSession("s1"))
    assert await store.execute(CountSessions()) == 2
    assert sorted(r.id for r in await store.execute(ListSessions())) == ["s0", "s2"]


async def test_expire_deletes_exactly_the_sessions_idle_past_the_timeout(store: AsyncStore) -> None:
    for session_id, seen in (("old", 100.0), ("older", 50.0), ("edge", 250.0), ("fresh", 340.0)):
        await with_log(store, session_id)
        await store.execute(SaveSession(record(session_id, seen)))
    gone = await store.execute(ExpireSessions(350.0, 100.0))
    assert sorted(gone) == ["old", "older"]  # "edge" is idle exactly the timeout: not past it
    assert sorted(r.id for r in await store.execute(ListSessions())) == ["edge", "fresh"]
    assert not await known(store, "old")
    assert await store.execute(ClaimRequest("old", "r1", 8)) is ClaimOutcome.CLAIMED  # its in-flight set went too
    assert await known(store, "edge")
    assert await store.execute(ExpireSessions(350.0, 100.0)) == []
    assert await store.execute(ExpireSessions(1e9, float("inf"))) == []
    assert await store.execute(ExpireSessions(float("-inf"), 1.0)) == []
    assert sorted(await store.execute(ExpireSessions(float("inf"), 1.0))) == ["edge", "fresh"]


async def test_a_session_saved_with_a_newer_clock_reading_is_not_expired(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1", 100.0)))
    await store.execute(SaveSession(record("s1", 300.0, created_at=100.0)))
    assert await store.execute(ExpireSessions(350.0, 100.0)) == []
    assert await store.execute(ExpireSessions(400.5, 100.0)) == ["s1"]


async def test_ids_with_colons_and_percent_signs_never_collide(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("a:b")))
    await store.execute(SaveSession(record("a")))
    await store.execute(SaveSession(record("a%3Ab")))
    assert await store.execute(AppendEvent("a:b", "c", b"one", 1000.0, 10, 60.0)) == 1
    assert await store.execute(AppendEvent("a", "b:c", b"two", 1000.0, 10, 60.0)) == 1
    one = await store.execute(ReadEvents("a:b", "c", 0, 1000.0, 60.0))
    two = await store.execute(ReadEvents("a", "b:c", 0, 1000.0, 60.0))
    assert (one.events, two.events) == (((1, b"one"),), ((1, b"two"),))
    assert not (await store.execute(ReadEvents("a%3Ab", "c", 0, 1000.0, 60.0))).known
    assert await store.execute(DeleteSession("a:b")) is True
    assert (await store.execute(ReadEvents("a", "b:c", 0, 1000.0, 60.0))).events == ((1, b"two"),)
    assert await load(store, "a%3Ab") is not None


# -- ClaimRequest / ReleaseRequest --------------------------------------------------------


async def test_claims_answer_claimed_duplicate_and_too_many(store: AsyncStore) -> None:
    assert await store.execute(ClaimRequest("s1", "a", 2)) is ClaimOutcome.CLAIMED
    assert await store.execute(ClaimRequest("s1", "a", 2)) is ClaimOutcome.DUPLICATE
    assert await store.execute(ClaimRequest("s1", "b", 2)) is ClaimOutcome.CLAIMED
    assert await store.execute(ClaimRequest("s1", "c", 2)) is ClaimOutcome.TOO_MANY
    assert await store.execute(ClaimRequest("s1", "a", 2)) is ClaimOutcome.DUPLICATE  # duplicate wins over full
    assert await store.execute(ClaimRequest("s2", "a", 2)) is ClaimOutcome.CLAIMED  # per session
    assert await store.execute(ReleaseRequest("s1", "a")) is None
    assert await store.execute(ClaimRequest("s1", "c", 2)) is ClaimOutcome.CLAIMED
    assert await store.execute(ClaimRequest("s1", "a", 2)) is ClaimOutcome.TOO_MANY
    assert await store.execute(ReleaseRequest("s1", "never-claimed")) is None
    assert await store.execute(ReleaseRequest("nobody", "a")) is None
    assert await store.execute(ClaimRequest("s3", "a", 0)) is ClaimOutcome.TOO_MANY


async def test_concurrent_claims_from_two_instances_admit_exactly_the_limit(stores: Stores) -> None:
    first, second = stores.new(), stores.new()
    distinct: list[ClaimOutcome] = []
    same: list[ClaimOutcome] = []

    async def claim(store: AsyncStore, session_id: str, key: str, into: list[ClaimOutcome]) -> None:
        into.append(await store.execute(ClaimRequest(session_id, key, 10)))

    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(claim, (first, second)[n % 2], "s1", f"k{n}", distinct)
            tg.start_soon(claim, (first, second)[n % 2], "s2", "same", same)
    assert distinct.count(ClaimOutcome.CLAIMED) == 10
    assert distinct.count(ClaimOutcome.TOO_MANY) == 30
    assert same.count(ClaimOutcome.CLAIMED) == 1
    assert same.count(ClaimOutcome.DUPLICATE) == 39


# -- LoadAndClaim ------------------------------------------------------------------------------


async def load_and_claim(
    store: AsyncStore, key: str, *, now: float = 1000.0, principal: str | None = None, limit: int = 2, **options: float
) -> tuple[SessionRecord | None, ClaimOutcome | None]:
    found: tuple[SessionRecord | None, ClaimOutcome | None] = await store.execute(
        LoadAndClaim("s1", now, options.get("idle", IDLE), principal, key, limit, options.get("touch_after", 1e9))
    )
    return found


async def test_load_and_claim_loads_then_claims_as_the_two_commands_would(store: AsyncStore) -> None:
    assert await load_and_claim(store, "a") == (None, None)  # no session: nothing claimed
    await store.execute(SaveSession(record("s1", client_info={"n": 1})))
    assert await load_and_claim(store, "a") == (record("s1", client_info={"n": 1}), ClaimOutcome.CLAIMED)
    assert (await load_and_claim(store, "a"))[1] is ClaimOutcome.DUPLICATE
    assert (await load_and_claim(store, "b"))[1] is ClaimOutcome.CLAIMED
    assert (await load_and_claim(store, "c"))[1] is ClaimOutcome.TOO_MANY
    assert (await load_and_claim(store, "a"))[1] is ClaimOutcome.DUPLICATE  # duplicate wins over full
    # The claims are the ones ClaimRequest and ReleaseRequest see.
    assert await store.execute(ClaimRequest("s1", "b", 3)) is ClaimOutcome.DUPLICATE
    await store.execute(ReleaseRequest("s1", "a"))
    assert (await load_and_claim(store, "c"))[1] is ClaimOutcome.CLAIMED


async def test_load_and_claim_claims_nothing_in_another_principals_session(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1", 1000.0, principal="alice")))
    found, outcome = await load_and_claim(store, "a", now=1500.0, principal="mallory", touch_after=1.0)
    assert found is not None and found.principal == "alice" and outcome is None
    assert (await load(store, "s1", 1500.0)).last_seen == 1000.0  # not touched either
    assert await store.execute(ClaimRequest("s1", "a", 8)) is ClaimOutcome.CLAIMED  # "a" was free
    assert (await load_and_claim(store, "b", principal="alice"))[1] is ClaimOutcome.CLAIMED
    # A session of nobody's (no authorization) is claimed in by nobody else.
    await store.execute(SaveSession(record("s1", 1000.0)))
    assert (await load_and_claim(store, "c", principal="alice", limit=8))[1] is None
    assert (await load_and_claim(store, "c", limit=8))[1] is ClaimOutcome.CLAIMED


async def test_load_and_claim_refreshes_last_seen_once_it_is_touch_after_old(store: AsyncStore) -> None:
    await store.execute(SaveSession(record("s1", 1000.0)))
    found, _ = await load_and_claim(store, "a", now=1000.5, touch_after=1.0)
    assert found is not None and found.last_seen == 1000.0  # younger than touch_after: left alone
    found, _ = await load_and_claim(store, "b", now=1001.25, touch_after=1.0)
    assert found is not None and found.last_seen == 1001.25  # the answer holds the refreshed record
    assert (await load(store, "s1", 1001.25)).last_seen == 1001.25
    assert await store.execute(ExpireSessions(1050.0, 49.0)) == []  # the index moved too
    assert await store.execute(ExpireSessions(1050.5, 49.0)) == ["s1"]


async def test_load_and_claim_of_a_session_idle_past_the_timeout_deletes_it(store: AsyncStore) -> None:
    await with_log(store, "s1")
    await store.execute(SaveSession(record("s1", 100.0)))
    assert await load_and_claim(store, "a", now=500.0, idle=100.0) == (None, None)
    assert await store.execute(CountSessions()) == 0
    assert not await known(store, "s1")


async def test_concurrent_loads_and_claims_from_two_instances_admit_exactly_the_limit(stores: Stores) -> None:
    first, second = stores.new(), stores.new()
    await first.execute(SaveSession(record("s1")))
    outcomes: list[ClaimOutcome | None] = []

    async def claim(store: AsyncStore, key: str) -> None:
        outcomes.append((await load_and_claim(store, key, limit=10))[1])

    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(claim, (first, second)[n % 2], f"k{n % 30}")
    assert outcomes.count(ClaimOutcome.CLAIMED) == 10
    assert outcomes.count(ClaimOutcome.TOO_MANY) + outcomes.count(ClaimOutcome.DUPLICATE) == 30
