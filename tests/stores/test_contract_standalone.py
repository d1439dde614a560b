"""The store contract, the GET stream: ClaimStandalone and ReleaseStandalone, on every store and backend.

A session's GET stream has one claim (a holder and the end of its lease) and a
cursor, the seq where the last GET reader stopped. Claiming answers the cursor, or
None while another holder's lease runs (when exclusive); releasing raises the cursor
and ends the claim if it is still the releaser's.
"""

from __future__ import annotations

import anyio
import pytest

from mcp_sansio import (
    ClaimStandalone,
    DeleteSession,
    ExpireSessions,
    LoadSession,
    ReleaseStandalone,
    SaveSession,
)
from mcp_sansio_runtime import AsyncStore
from tests.stores.conftest import Stores, record

pytestmark = pytest.mark.anyio

NOW = 1000.0
LEASE = 60.0


async def claim(
    store: AsyncStore,
    holder: str,
    now: float = NOW,
    *,
    lease: float = LEASE,
    exclusive: bool = True,
    session_id: str = "s1",
) -> int | None:
    cursor: int | None = await store.execute(ClaimStandalone(session_id, holder, now, lease, exclusive))
    return cursor


async def release(store: AsyncStore, holder: str, delivered: int, session_id: str = "s1") -> None:
    assert await store.execute(ReleaseStandalone(session_id, holder, delivered)) is None


@pytest.fixture
async def session(store: AsyncStore) -> str:
    await store.execute(SaveSession(record("s1", NOW)))
    return "s1"


async def test_a_claim_answers_the_cursor_and_refuses_another_holder_until_the_lease_runs_out(
    store: AsyncStore, session: str
) -> None:
    assert await claim(store, "a") == 0
    assert await claim(store, "b") is None
    assert await claim(store, "b", NOW + LEASE - 0.5) is None
    assert await claim(store, "b", NOW + LEASE) == 0  # the lease ends at now + lease: free from then on
    assert await claim(store, "a", NOW + LEASE + 1) is None  # now b's, and a is refused in turn


async def test_the_same_holder_renews_its_claim(store: AsyncStore, session: str) -> None:
    assert await claim(store, "a") == 0
    assert await claim(store, "a", NOW + 50) == 0  # renewed: the lease now ends at NOW + 110
    assert await claim(store, "b", NOW + 100) is None
    assert await claim(store, "b", NOW + 110) == 0


async def test_release_moves_the_cursor_forward_only_and_frees_the_releasers_claim(
    store: AsyncStore, session: str
) -> None:
    assert await claim(store, "a") == 0
    await release(store, "a", 5)
    assert await claim(store, "b") == 5  # freed at once, and the next reader starts after 5
    await release(store, "b", 3)  # never back
    assert await claim(store, "c") == 5
    await release(store, "c", 9)
    assert await claim(store, "d") == 9
    await release(store, "d", 9)
    assert await claim(store, "e") == 9


async def test_a_release_by_a_reader_that_lost_its_claim_moves_the_cursor_but_keeps_the_claim(
    store: AsyncStore, session: str
) -> None:
    assert await claim(store, "a") == 0
    assert await claim(store, "b", NOW + LEASE + 1) == 0  # a's lease ran out (its instance died, say)
    await release(store, "a", 7)
    assert await claim(store, "c", NOW + LEASE + 2) is None  # still b's
    assert await claim(store, "b", NOW + LEASE + 2) == 7  # the cursor moved all the same
    await release(store, "b", 8)
    assert await claim(store, "c", NOW + LEASE + 3) == 8


async def test_a_release_without_a_claim_only_moves_the_cursor(store: AsyncStore, session: str) -> None:
    assert await claim(store, "a") == 0
    await release(store, "a", 4)
    await release(store, "a", 6)  # released twice: nothing to free, the cursor still moves forward
    await release(store, "other", 2)
    assert await claim(store, "b") == 6


async def test_non_exclusive_claims_always_succeed(store: AsyncStore, session: str) -> None:
    assert await claim(store, "a") == 0
    assert await claim(store, "b", exclusive=False) == 0
    assert await claim(store, "c", exclusive=False) == 0
    await release(store, "c", 3)
    assert await claim(store, "d", exclusive=False) == 3
    assert await claim(store, "e") is None  # a non-exclusive claim still holds the stream for an exclusive one
    await release(store, "d", 3)
    assert await claim(store, "e") == 3


async def test_nothing_is_created_for_a_session_that_is_not_stored(store: AsyncStore) -> None:
    assert await claim(store, "a", session_id="ghost") is None
    assert await claim(store, "a", session_id="ghost", exclusive=False) is None
    await release(store, "a", 5, session_id="ghost")
    await store.execute(SaveSession(record("ghost", NOW)))
    assert await claim(store, "b", session_id="ghost") == 0  # no claim, no cursor was kept for it


async def test_delete_and_expiry_remove_the_claim_and_the_cursor(store: AsyncStore, session: str) -> None:
    async def used() -> None:
        assert await claim(store, "a") == 0
        await release(store, "a", 5)
        assert await claim(store, "a") == 5

    await used()
    assert await store.execute(DeleteSession("s1")) is True
    await release(store, "a", 9)  # the reader leaves after its session ended: nothing to record
    assert await claim(store, "b") is None
    await store.execute(SaveSession(record("s1", NOW)))
    assert await claim(store, "b") == 0

    await store.execute(DeleteSession("s1"))
    await store.execute(SaveSession(record("s1", NOW)))
    await used()
    assert await store.execute(ExpireSessions(NOW + 101.0, 100.0)) == ["s1"]
    await store.execute(SaveSession(record("s1", NOW)))
    assert await claim(store, "b") == 0

    await store.execute(DeleteSession("s1"))
    await store.execute(SaveSession(record("s1", NOW)))
    await used()
    assert await store.execute(LoadSession("s1", NOW + 101.0, 100.0)) is None  # idle past the timeout
    await store.execute(SaveSession(record("s1", NOW)))
    assert await claim(store, "b") == 0


async def test_claims_are_per_session(store: AsyncStore, session: str) -> None:
    await store.execute(SaveSession(record("s2", NOW)))
    assert await claim(store, "a") == 0
    await release(store, "a", 4)
    assert await claim(store, "a") == 4
    assert await claim(store, "b", session_id="s2") == 0


async def test_two_instances_racing_to_claim_one_wins(stores: Stores) -> None:
    first, second = stores.new(), stores.new()
    await first.execute(SaveSession(record("s1", NOW)))
    answers: dict[str, int | None] = {}

    async def race(store: AsyncStore, holder: str) -> None:
        answers[holder] = await claim(store, holder)

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(race, (first, second)[n % 2], f"h{n}")
    winners = [holder for holder, cursor in answers.items() if cursor is not None]
    assert len(winners) == 1 and answers[winners[0]] == 0
    assert len(answers) == 20
    await release(second if int(winners[0][1:]) % 2 == 0 else first, winners[0], 2)
    assert await claim(first, "next") == 2  # released through the other instance: free for everyone
