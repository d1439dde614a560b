"""A slow SSE reader pauses its producer (bounded buffering) and stalls nobody else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from mcp_sansio import App, Config
from tests.adapters.conftest import start
from tests.adapters.test_http import HEADERS, initialize

pytestmark = pytest.mark.anyio
CHUNK = "x" * 65536


def firehose(produced: list[int]) -> App:
    app = App("firehose")

    @app.tool()
    async def flood(count: int) -> AsyncIterator[str]:
        """Yields big chunks as fast as it can."""
        for i in range(count):
            produced.append(i)
            yield CHUNK

    @app.tool()
    async def quick() -> str:
        """Answers at once."""
        return "quick"

    return app


async def test_slow_reader_pauses_the_generator_and_others_proceed(flavour: str) -> None:
    produced: list[int] = []
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, firehose(produced), Config(max_queue_events=4))
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "flood", "arguments": {"count": 400}, "_meta": {"progressToken": "p"}},
        }
        async with httpx.AsyncClient(timeout=20) as slow, httpx.AsyncClient(timeout=20) as other:
            session = await initialize(slow, running.url)
            async with slow.stream(
                "POST", running.url, json=body, headers={**HEADERS, "mcp-session-id": session}
            ) as response:
                # Do not read: the socket buffers fill, then the reader's queue, then the tool waits.
                await anyio.sleep(0.5)
                stalled_at = len(produced)
                await anyio.sleep(0.3)
                assert len(produced) == stalled_at < 400
                # Meanwhile another session is served at once.
                other_session = await initialize(other, running.url)
                with anyio.fail_after(2):
                    quick = await other.post(
                        running.url,
                        headers={**HEADERS, "mcp-session-id": other_session},
                        json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "quick"}},
                    )
                assert quick.json()["result"]["content"][0]["text"] == "quick"
                # Reading resumes the producer; everything arrives, in order.
                text = (await response.aread()).decode()
        progress = [
            json.loads(line[6:])["params"]["progress"]
            for line in text.splitlines()
            if line.startswith("data: {") and '"notifications/progress"' in line
        ]
        assert progress == list(range(1, 401))
        assert len(produced) == 400
        tg.cancel_scope.cancel()


async def test_a_vanished_reader_does_not_block_the_producer(flavour: str) -> None:
    produced: list[int] = []
    async with anyio.create_task_group() as tg:
        running = await start(tg, flavour, firehose(produced), Config(max_queue_events=4))
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "flood", "arguments": {"count": 300}},
        }
        async with httpx.AsyncClient(timeout=20) as client:
            session = await initialize(client, running.url)
            async with client.stream(
                "POST", running.url, json=body, headers={**HEADERS, "mcp-session-id": session}
            ) as response:
                async for _ in response.aiter_bytes():
                    break  # leave after the first bytes
        # Handshake revisions: a disconnect is not a cancellation; the tool runs to the end, into the log.
        with anyio.fail_after(10):
            while len(produced) < 300:
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
