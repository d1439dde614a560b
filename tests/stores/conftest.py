"""The store contract's fixtures: every test runs on each store kind (memory, redis) and each backend.

Redis tests use a real server (``MCP_SANSIO_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/0``) under a key prefix unique to the test run and the test
(``mcp-sansio-test:<run uuid>:<n>:``); every key under it is deleted afterwards, and no
other key is touched. Without a reachable Redis these tests skip, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
import redis

from mcp_sansio import MemoryStore, SessionRecord, StoreCommand
from mcp_sansio_redis import RedisStore
from mcp_sansio_runtime import AsyncStore

REDIS_URL = os.environ.get("MCP_SANSIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = uuid.uuid4().hex
_numbers = itertools.count(1)


class AwaitedMemoryStore:
    """The reference: MemoryStore behind an awaited ``execute`` that yields to the event loop first."""

    def __init__(self, inner: MemoryStore | None = None) -> None:
        self.inner = inner or MemoryStore()

    async def execute(self, command: StoreCommand) -> Any:
        await anyio.lowlevel.checkpoint()
        return self.inner.execute(command)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def redis_problem() -> str | None:
    """Why Redis cannot be used, or None when it answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_URL} ({exc})"
    finally:
        client.close()
    return None


@pytest.fixture
def redis_sync(redis_problem: str | None) -> Iterator[redis.Redis]:
    """A redis-py client to inspect what the store wrote (an independent client); skips without Redis."""
    if redis_problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{redis_problem}; CI=true, so Redis must be running", pytrace=False)
        pytest.skip(f"{redis_problem}: start redis-server or set MCP_SANSIO_TEST_REDIS_URL")
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def keys_under(client: redis.Redis, prefix: str) -> list[str]:
    """Every key under ``prefix`` (SCAN: fine in tests, never in the store)."""
    return sorted(k.decode() for k in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000))


@pytest.fixture
def prefix(redis_sync: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    name = f"mcp-sansio-test:{RUN}:{next(_numbers)}:"
    yield name
    found = keys_under(redis_sync, name)
    if found:
        redis_sync.delete(*found)


@pytest.fixture
async def redis_stores(prefix: str) -> AsyncIterator[list[RedisStore]]:
    """A list to which tests add RedisStore instances; each is closed afterwards."""
    stores: list[RedisStore] = []
    yield stores
    for store in stores:
        await store.aclose()


@pytest.fixture(params=["memory", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Stores:
    """Makes stores of one kind that share their data (two instances of one deployment)."""

    def __init__(self, kind: str, prefix: str | None, opened: list[RedisStore]) -> None:
        self.kind = kind
        self.prefix = prefix
        self._opened = opened
        self._memory = MemoryStore()

    def new(self, **options: Any) -> AsyncStore:
        if self.kind == "memory":
            return AwaitedMemoryStore(self._memory)
        assert self.prefix is not None
        store = RedisStore(REDIS_URL, prefix=self.prefix, **options)
        self._opened.append(store)
        return store


@pytest.fixture
def stores(store_kind: str, request: pytest.FixtureRequest) -> Stores:
    if store_kind == "memory":
        return Stores("memory", None, [])
    opened: list[RedisStore] = request.getfixturevalue("redis_stores")
    return Stores("redis", request.getfixturevalue("prefix"), opened)


@pytest.fixture
def store(stores: Stores) -> AsyncStore:
    return stores.new()


def record(session_id: str = "s1", last_seen: float = 1000.0, **fields: Any) -> SessionRecord:
    """A session record with the given id and clock reading."""
    created_at = fields.pop("created_at", last_seen)
    return SessionRecord(session_id, "2025-11-25", created_at=created_at, last_seen=last_seen, **fields)
