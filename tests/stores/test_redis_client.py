"""The Redis client's commands in flight together: order, posted commands, lost connections; asyncio and trio."""

from __future__ import annotations

import random

import anyio
import pytest
import redis
from anyio.abc import SocketAttribute, SocketStream

from mcp_sansio_redis import RedisClient
from tests.stores.conftest import REDIS_URL

pytestmark = pytest.mark.anyio


async def test_concurrent_commands_and_posts_each_get_their_own_reply_in_order(prefix: str) -> None:
    client = RedisClient(REDIS_URL)
    rng = random.Random(7)

    async def worker(n: int) -> None:
        key = f"{prefix}w{n}"
        for i in range(100):
            if rng.random() < 0.5:
                await client.post("SET", key, i, "PX", 60_000)
                # Sent after the post by the same client: Redis has the post's value by then.
                assert await client.execute("GET", key) == b"%d" % i
            assert await client.execute("ECHO", f"{n}-{i}") == f"{n}-{i}".encode()
            if rng.random() < 0.2:
                await anyio.sleep(0.001)

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(worker, n)
    assert await client.pipeline([("ECHO", "a"), ("ECHO", "b")]) == [b"a", b"b"]
    await client.aclose()


async def test_a_posted_command_reaches_redis_without_a_command_after_it(prefix: str, redis_sync: redis.Redis) -> None:
    client = RedisClient(REDIS_URL)
    await client.execute("PING")
    await client.post("SET", f"{prefix}k", "v", "PX", 60_000)
    with anyio.fail_after(5):
        while redis_sync.get(f"{prefix}k") != b"v":
            await anyio.sleep(0.001)
    await client.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_posted_command_whose_connection_died_is_sent_again_on_the_next(
    prefix: str, redis_sync: redis.Redis
) -> None:
    client = RedisClient(REDIS_URL)
    assert redis_sync.client_kill_filter(_id=await client.execute("CLIENT", "ID")) == 1
    await client.post("SET", f"{prefix}k", "v", "PX", 60_000)  # on the connection Redis just closed
    await anyio.sleep(0.05)  # the client notices the connection is gone
    assert await client.execute("GET", f"{prefix}k") == b"v"  # a new connection sent the post again first
    await client.aclose()


async def test_a_cancelled_command_leaves_the_commands_after_it_their_replies(prefix: str) -> None:
    client = RedisClient(REDIS_URL)
    with anyio.move_on_after(0.05):
        await client.execute("BLPOP", f"{prefix}list", 0.3)
    # Sent after the cancelled BLPOP: each still gets its own reply (none gets the BLPOP's nil).
    assert await client.execute("ECHO", "mine") == b"mine"
    assert await client.execute("ECHO", "and mine") == b"and mine"
    await client.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_task_waiting_for_a_connection_whose_opener_was_cancelled_opens_one_itself() -> None:
    accepted: list[SocketStream] = []

    async def silent(stream: SocketStream) -> None:  # accepts, never answers (SELECT waits)
        accepted.append(stream)
        await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    client = RedisClient(f"redis://127.0.0.1:{port}/1", timeout=None)
    waited: list[bool] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, silent)
        opener = anyio.CancelScope()

        async def first() -> None:
            with opener:
                await client.execute("PING")

        async def second() -> None:
            with anyio.move_on_after(0.5) as scope:
                await client.execute("PING")
            waited.append(scope.cancelled_caught)

        tg.start_soon(first)
        with anyio.fail_after(5):
            while not accepted:
                await anyio.sleep(0.01)
        tg.start_soon(second)
        await anyio.sleep(0.05)  # the second waits for the first's connection
        opener.cancel()
        with anyio.fail_after(5):
            while len(accepted) < 2:  # the second opens one of its own, not cancelled by the first's end
                await anyio.sleep(0.01)
            while not waited:
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert waited == [True]  # it waited until its own deadline
    await client.aclose()
