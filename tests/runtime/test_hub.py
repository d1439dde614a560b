"""The hub's readers: events in seq order, each once, whatever order and however often they arrive."""

from __future__ import annotations

import pytest

from mcp_sansio_runtime import Hub

pytestmark = pytest.mark.anyio


async def test_a_reader_hands_out_each_event_once_in_seq_order() -> None:
    hub = Hub(limit=10)
    reader = hub.join("s", "k", 0)
    for seq in (2, 1, 2, 3, 1):  # out of order, and twice (published here and read back from the log)
        await hub.publish("s", "k", seq, f"e{seq}".encode())
    assert reader.take_nowait() == [(1, b"e1"), (2, b"e2"), (3, b"e3")]
    reader.delivered = 3
    await hub.publish("s", "k", 3, b"e3")  # late copy of what was written already
    assert reader.take_nowait() == []
