"""What every transport does with a Redis store: choose it, check it before serving, close what it made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from mcp_sansio import Store
from mcp_sansio_runtime import AsyncStore

from ._store import RedisStore

__all__ = ["choose_store", "store_in_service"]


def choose_store(
    store: Store | AsyncStore | None, redis_url: str | None, redis_prefix: str, idle_timeout: float
) -> tuple[Store | AsyncStore | None, RedisStore | None]:
    """The store to serve with, and the :class:`RedisStore` made here from ``redis_url`` (its maker closes it).

    Raises:
        ValueError: Both ``store`` and ``redis_url`` were given, or ``redis_url`` is not a Redis URL.
    """
    if redis_url is None:
        return store, None
    if store is not None:
        raise ValueError("pass either store or redis_url, not both")
    made = RedisStore(redis_url, prefix=redis_prefix, idle_timeout=idle_timeout)
    return made, made


@asynccontextmanager
async def store_in_service(store: Store | AsyncStore | None, made: RedisStore | None) -> AsyncIterator[None]:
    """PING a Redis store before serving (a clear error, nothing listens yet); close the one made here at the end.

    Raises:
        RedisUnavailableError: Redis did not answer (``cannot reach Redis at <url>: <reason>``).
    """
    try:
        if isinstance(store, RedisStore):
            await store.ping()
        yield
    finally:
        if made is not None:
            with anyio.CancelScope(shield=True):
                await made.aclose()
