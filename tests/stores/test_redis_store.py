"""What only the Redis store has: keys, TTLs, errors, connections; on asyncio and trio."""

from __future__ import annotations

import re

import anyio
import pytest
import redis

from mcp_sansio import (
    AppendEvent,
    ClaimRequest,
    ClaimStandalone,
    CountSessions,
    DeleteSession,
    ListSessions,
    LoadSession,
    OpenStream,
    ReadEvents,
    ReleaseStandalone,
    SaveSession,
    SaveTask,
)
from mcp_sansio_redis import (
    KeyLayout,
    RedisClient,
    RedisStore,
    RedisStoreError,
    RedisUnavailableError,
    event_seq,
    parse_url,
)
from mcp_sansio_runtime import PlanRunner
from tests.runtime.test_streams import disconnect_then_resume
from tests.stores.conftest import REDIS_URL, keys_under, record
from tests.stores.test_contract_tasks import session_task

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(prefix: str, redis_stores: list[RedisStore]) -> RedisStore:
    made = RedisStore(REDIS_URL, prefix=prefix, idle_timeout=100.0, ttl_grace=5.0)
    redis_stores.append(made)
    return made


async def workload(store: RedisStore) -> None:
    """Something of every kind: a session, claims (a request, the GET stream), open, finished, appended-only logs."""
    await store.execute(SaveSession(record("s:1")))
    await store.execute(ClaimRequest("s:1", "r1", 8))
    await store.execute(ClaimStandalone("s:1", "g1", 1000.0, 60.0))
    await store.execute(OpenStream("s:1", "0", 1000.0))
    await store.execute(AppendEvent("s:1", "0", b"live", 1000.0, 10, 50.0))
    await store.execute(AppendEvent("s:1", "p1", b"done", 1000.0, 10, 50.0, True, 20.0))


# -- errors that name the URL -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0"),
        ("redis://user:s3cret@127.0.0.1:1/2", "redis://user:***@127.0.0.1:1/2"),
    ],
)
async def test_an_unreachable_redis_raises_a_clear_error_naming_the_url(url: str, shown: str) -> None:
    store = RedisStore(url, prefix="never-written:")
    assert store.url == shown
    with pytest.raises(RedisUnavailableError, match=f"^cannot connect to Redis at {re.escape(shown)}: ") as caught:
        await store.execute(LoadSession("s1", 0.0, 60.0))
    assert "s3cret" not in str(caught.value)
    # The start-up check: one line, the same words on asyncio and trio.
    with pytest.raises(RedisUnavailableError) as caught:
        await store.ping()
    assert str(caught.value) == f"cannot reach Redis at {shown}: Connection refused"
    assert caught.value.reason == "Connection refused"
    await store.aclose()


async def test_a_redis_that_refuses_the_login_fails_the_start_up_check(redis_sync: redis.Redis) -> None:
    address = parse_url(REDIS_URL)
    url = f"redis://:wr0ng@{address.host}:{address.port}/{address.db}"
    store = RedisStore(url, prefix="never-written:")
    with pytest.raises(
        RedisUnavailableError, match=r"^cannot reach Redis at redis://:\*\*\*@.*: refused AUTH: "
    ) as caught:
        await store.ping()
    assert "wr0ng" not in str(caught.value)
    await store.aclose()


async def test_a_redis_that_does_not_answer_in_time_is_unavailable(redis_sync: redis.Redis, prefix: str) -> None:
    client = RedisClient(REDIS_URL, timeout=0.1)
    with pytest.raises(RedisUnavailableError, match=r"did not answer within 0\.1 s"):
        await client.execute("BLPOP", f"{prefix}nothing", 2)
    assert await client.execute("PING") == b"PONG"  # the timed-out connection was dropped, not reused
    await client.aclose()


async def test_unexpected_replies_raise_redis_store_error(store: RedisStore, redis_sync: redis.Redis) -> None:
    redis_sync.set(store.keys.session("s1"), "not a hash", px=60_000)
    with pytest.raises(RedisStoreError, match=r"LoadSession.*WRONGTYPE"):
        await store.execute(LoadSession("s1", 1000.0, 60.0))
    with pytest.raises(RedisStoreError, match=r"SaveSession.*WRONGTYPE"):
        await store.execute(SaveSession(record("s1")))
    redis_sync.delete(store.keys.session("s1"))
    redis_sync.hset(store.keys.session("s2"), mapping={"id": "s2", "last_seen": "1000.0"})
    with pytest.raises(RedisStoreError, match="does not decode"):
        await store.execute(LoadSession("s2", 1000.0, 60.0))
    await store.execute(SaveSession(record("s3")))
    redis_sync.hset(store.keys.streams("s3"), "p1", "garbage")
    with pytest.raises(RedisStoreError, match="corrupt stream head"):
        await store.execute(AppendEvent("s3", "p1", b"x", 1000.0, 10, 60.0))



async def test_opening_a_stream_reads_no_head_it_does_not_drop(store: RedisStore, redis_sync: redis.Redis) -> None:
    # Every POST that streams opens a log: its cost must not grow with the session's logs. A head
    # OpenStream read would raise here (as AppendEvent does above); only the indexes are read.
    await store.execute(SaveSession(record("s3")))
    for n in range(50):
        await store.execute(AppendEvent("s3", f"f{n}", b"x", 1000.0, 10, 60.0, True, 5.0))
    redis_sync.hset(store.keys.streams("s3"), "p1", "garbage")
    await store.execute(OpenStream("s3", "new", 1000.0, 64))
    await store.execute(AppendEvent("s3", "new2", b"x", 1000.0, 10, 60.0, max_streams=64))
    assert redis_sync.zcard(store.keys.finished("s3")) == 50
    await store.execute(OpenStream("s3", "new3", 1006.0, 64))  # all 50 expired: swept through the index
    assert redis_sync.zcard(store.keys.finished("s3")) == redis_sync.zcard(store.keys.expiry("s3")) == 0
    assert sorted(redis_sync.hkeys(store.keys.streams("s3"))) == [b"#", b"new", b"new2", b"new3", b"p1"]

# -- keys and TTLs -------------------------------------------------------------------------


async def test_every_key_is_under_the_prefix_named_by_the_layout_and_has_a_ttl(
    store: RedisStore, redis_sync: redis.Redis, prefix: str
) -> None:
    await workload(store)
    layout = KeyLayout(prefix)
    expected = {
        layout.sessions,
        layout.session("s:1"),
        layout.in_flight("s:1"),
        layout.standalone("s:1"),
        layout.streams("s:1"),
        layout.finished("s:1"),
        layout.expiry("s:1"),
        layout.log("s:1", "0"),
        layout.log("s:1", "p1"),
    }
    assert set(keys_under(redis_sync, prefix)) == expected
    assert layout.session("s:1") == f"{prefix}session:s%3A1"
    for key in expected:
        assert redis_sync.pttl(key) > 0, key
    types = {key: redis_sync.execute_command("TYPE", key).decode() for key in expected}
    assert types == {
        layout.sessions: "zset",
        layout.session("s:1"): "hash",
        layout.in_flight("s:1"): "set",
        layout.standalone("s:1"): "hash",
        layout.streams("s:1"): "hash",
        layout.finished("s:1"): "zset",
        layout.expiry("s:1"): "zset",
        layout.log("s:1", "0"): "stream",
        layout.log("s:1", "p1"): "stream",
    }


async def test_ttls_follow_the_lifetimes_plus_grace(store: RedisStore, redis_sync: redis.Redis) -> None:
    await workload(store)
    keys = store.keys
    assert 100_000 < redis_sync.pttl(keys.session("s:1")) <= 105_000  # idle_timeout 100 + grace 5
    assert 100_000 < redis_sync.pttl(keys.standalone("s:1")) <= 105_000
    assert 50_000 < redis_sync.pttl(keys.log("s:1", "0")) <= 55_000  # max_age 50 + grace
    assert 20_000 < redis_sync.pttl(keys.log("s:1", "p1")) <= 25_000  # finished_age 20 + grace
    # A larger idle timeout carried by a command raises the session TTL from then on.
    await store.execute(LoadSession("s:1", 1000.0, 500.0))
    await store.execute(SaveSession(record("s:1")))
    assert 500_000 < redis_sync.pttl(keys.session("s:1")) <= 505_000
    for key in (keys.streams("s:1"), keys.finished("s:1"), keys.expiry("s:1")):
        assert 500_000 < redis_sync.pttl(key) <= 505_000, key
    # An instance configured with a shorter idle timeout never shortens a session's TTLs.
    other = RedisStore(REDIS_URL, prefix=store.prefix, idle_timeout=10.0, ttl_grace=0.0)
    await other.execute(SaveSession(record("s:1")))
    await other.execute(ClaimRequest("s:1", "r2", 8))
    await other.execute(ClaimStandalone("s:1", "g2", 1000.0, 60.0))
    await other.execute(ReleaseStandalone("s:1", "g2", 3))
    await other.aclose()
    kept = (keys.session("s:1"), keys.streams("s:1"), keys.finished("s:1"), keys.expiry("s:1"))
    for key in (*kept, keys.in_flight("s:1"), keys.standalone("s:1"), keys.sessions):
        assert redis_sync.pttl(key) > 400_000, key


async def test_a_sessions_tasks_are_listed_in_a_zset_named_by_the_layout(
    store: RedisStore, redis_sync: redis.Redis, prefix: str
) -> None:
    await store.execute(SaveSession(record("s:1")))
    short = session_task("t1", 0.0, session="s:1", ttl_ms=30_000)
    long = session_task("t2", 1.0, session="s:1", ttl_ms=60_000)
    for made in (long, short):  # the shorter TTL second: the list's TTL is never shortened
        assert await store.execute(SaveTask(made, None)) is True
    key = KeyLayout(prefix).session_tasks("s:1")
    assert key == f"{prefix}tasks:session:s%3A1"
    assert redis_sync.execute_command("TYPE", key).decode() == "zset"
    assert [m.decode() for m in redis_sync.zrange(key, 0, -1)] == [short.position, long.position]
    assert set(redis_sync.zrange(key, 0, -1, withscores=True)) == {
        (short.position.encode(), 0.0),
        (long.position.encode(), 0.0),
    }
    assert 55_000 < redis_sync.pttl(key) <= 65_000  # the longest task's TTL plus the grace
    assert set(keys_under(redis_sync, prefix)) >= {key, KeyLayout(prefix).task("t1"), KeyLayout(prefix).task("t2")}
    # The session's end drops its list; its tasks' records stay until their TTL (their runs may still write).
    await store.execute(DeleteSession("s:1"))
    assert not redis_sync.exists(key) and redis_sync.exists(KeyLayout(prefix).task("t1"))


async def test_the_log_is_a_redis_stream_a_broker_can_tail(store: RedisStore, redis_sync: redis.Redis) -> None:
    await workload(store)
    entries: list[tuple[bytes, dict[bytes, bytes]]] = redis_sync.execute_command(
        "XRANGE", store.keys.log("s:1", "p1"), "-", "+"
    )
    assert [(event_seq(i), f) for i, f in entries] == [(1, {b"d": b"done", b"t": b"1000.0", b"f": b"1"})]
    head = await store.execute(ReadEvents("s:1", "0", 0, 1000.0, 50.0))
    appended: list[int] = []

    async def tail() -> None:
        client = store.client
        async with client.connection() as conn:
            key = store.keys.log("s:1", "0")
            reply = await conn.call("XREAD", "BLOCK", 5000, "STREAMS", key, f"{head.last_seq}-0", timeout=None)
            appended.extend(event_seq(entry[0]) for entry in reply[0][1])

    async with anyio.create_task_group() as tg:
        tg.start_soon(tail)
        await anyio.sleep(0.05)
        await store.execute(AppendEvent("s:1", "0", b"next", 1001.0, 10, 50.0))
    assert appended == [head.last_seq + 1]


async def test_nothing_outside_the_prefix_is_touched(store: RedisStore, redis_sync: redis.Redis, prefix: str) -> None:
    neighbour = prefix[:-1] + "-neighbour:sessions"
    redis_sync.zadd(neighbour, {"other": 1.0})
    try:
        await workload(store)
        assert await store.execute(CountSessions()) == 1
        assert redis_sync.zrange(neighbour, 0, -1) == [b"other"]
    finally:
        redis_sync.delete(neighbour)


# -- connections ---------------------------------------------------------------------------


async def test_the_store_recovers_by_itself_after_redis_drops_its_connections(
    store: RedisStore, redis_sync: redis.Redis
) -> None:
    await store.execute(SaveSession(record("s1")))
    ours = await store.client.execute("CLIENT", "ID")  # sequential commands: one pooled connection
    assert redis_sync.client_kill_filter(_id=ours) == 1  # only our own connection: others share this Redis
    outcomes: list[str] = []
    for _ in range(3):
        try:
            assert await store.execute(LoadSession("s1", 1000.0, 60.0)) is not None
            outcomes.append("ok")
        except RedisUnavailableError:
            outcomes.append("unavailable")
    assert outcomes[-1] == "ok" and outcomes.count("unavailable") <= 1


async def test_an_idle_connection_is_checked_before_reuse(redis_sync: redis.Redis) -> None:
    client = RedisClient(REDIS_URL, health_check_interval=0.0)
    assert redis_sync.client_kill_filter(_id=await client.execute("CLIENT", "ID")) == 1
    assert await client.execute("ECHO", b"still here") == b"still here"  # PING found it dead, a new one served
    await client.aclose()


async def test_a_cancelled_command_never_hands_its_reply_to_the_next(redis_sync: redis.Redis, prefix: str) -> None:
    client = RedisClient(REDIS_URL, max_connections=1)
    with anyio.move_on_after(0.05):
        await client.execute("BLPOP", f"{prefix}list", 1)
    redis_sync.rpush(f"{prefix}list", "late")  # would be the BLPOP's reply, were the connection reused
    assert await client.execute("ECHO", "mine") == b"mine"
    await client.aclose()


async def test_one_connection_serves_many_concurrent_commands_in_turn(redis_sync: redis.Redis) -> None:
    client = RedisClient(REDIS_URL, max_connections=1)
    answers: dict[int, bytes] = {}

    async def echo(n: int) -> None:
        answers[n] = await client.execute("ECHO", n)

    async with anyio.create_task_group() as tg:
        for n in range(50):
            tg.start_soon(echo, n)
    assert answers == {n: b"%d" % n for n in range(50)}
    await client.aclose()
    with pytest.raises(RedisStoreError, match="closed"):
        await client.execute("PING")


async def test_the_runtime_runs_the_store_awaited(store: RedisStore) -> None:
    assert PlanRunner(store)._sync is None


async def test_a_client_resumes_through_the_redis_store(store: RedisStore) -> None:
    await disconnect_then_resume(store)  # the runtime's own end-to-end flow: initialize, stream, leave, resume


async def test_a_store_on_a_shared_client_leaves_the_client_open(prefix: str, redis_sync: redis.Redis) -> None:
    client = RedisClient(REDIS_URL)
    async with RedisStore.from_client(client, prefix=prefix) as store:  # entering PINGs Redis
        await store.execute(SaveSession(record("s1")))
        assert store.url == client.url
    assert await client.execute("HGET", KeyLayout(prefix).session("s1"), "id") == b"s1"
    await client.aclose()


async def test_a_session_whose_record_redis_dropped_leaves_the_index_when_listed(
    store: RedisStore, redis_sync: redis.Redis
) -> None:
    await workload(store)
    redis_sync.delete(store.keys.session("s:1"))  # as its TTL would
    assert await store.execute(LoadSession("s:1", 1000.0, 60.0)) is None
    assert await store.execute(CountSessions()) == 1  # the index still counts it...
    assert await store.execute(ListSessions()) == []  # ...until a listing (or an expiry) drops it with its keys
    assert await store.execute(CountSessions()) == 0
    gone = (store.keys.streams("s:1"), store.keys.finished("s:1"), store.keys.expiry("s:1"))
    assert not redis_sync.exists(*gone, store.keys.log("s:1", "0"), store.keys.log("s:1", "p1"))


async def test_the_pure_python_reply_parser_serves_the_store(prefix: str, redis_stores: list[RedisStore]) -> None:
    store = RedisStore(REDIS_URL, prefix=prefix, prefer_hiredis=False)
    redis_stores.append(store)
    await workload(store)
    log = await store.execute(ReadEvents("s:1", "p1", 0, 1000.0, 50.0))
    assert (log.events, log.final) == (((1, b"done"),), True)
    assert [r.id for r in await store.execute(ListSessions())] == ["s:1"]


async def test_the_get_stream_record_is_a_hash_in_the_sessions_keys(
    store: RedisStore, redis_sync: redis.Redis, prefix: str
) -> None:
    assert await store.execute(ClaimStandalone("ghost", "g1", 1000.0, 60.0)) is None
    await store.execute(ReleaseStandalone("ghost", "g1", 4))
    assert keys_under(redis_sync, prefix) == []  # nothing for a session that is not stored
    await store.execute(SaveSession(record("s:1")))
    key = store.keys.standalone("s:1")
    assert key == f"{prefix}standalone:s%3A1"
    assert await store.execute(ClaimStandalone("s:1", "g1", 1000.0, 60.0)) == 0
    assert redis_sync.hgetall(key) == {b"h": b"g1", b"x": b"1060.0", b"c": b"0"}
    await store.execute(ReleaseStandalone("s:1", "g1", 4))
    assert redis_sync.hgetall(key) == {b"c": b"4"}
    assert redis_sync.pttl(key) > 0
    # Redis dropped the record (its TTL): a late release removes the GET record instead of keeping it alive.
    redis_sync.delete(store.keys.session("s:1"))
    await store.execute(ReleaseStandalone("s:1", "g1", 9))
    assert not redis_sync.exists(key)
    await store.execute(SaveSession(record("s:1")))
    await store.execute(ClaimStandalone("s:1", "g1", 1000.0, 60.0))
    assert await store.execute(DeleteSession("s:1")) is True
    assert keys_under(redis_sync, prefix) == []
