"""The stateless revision over real sockets: streaming, cancellation by closing, listen streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import App, Context
from tests.adapters.conftest import Running, start
from tests.adapters.test_resume import Events

pytestmark = pytest.mark.anyio

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def headers(method: str, name: str | None = None) -> dict[str, str]:
    out = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": method,
    }
    if name is not None:
        out["mcp-name"] = name
    return out


def request(rid: int, method: str, params: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {**params, "_meta": {**META, **meta}}}


def stateless_app(finalized: list[str]) -> App:
    app = App("stateless")

    @app.tool()
    async def ticks(count: int) -> AsyncIterator[str]:
        """Streams slowly."""
        try:
            for i in range(count):
                await anyio.sleep(0.02)
                yield str(i)
        finally:
            finalized.append("ticks")

    @app.tool()
    async def touch(ctx: Context) -> str:
        """Announces a tool list change."""
        await ctx.list_changed("tools")
        return "touched"

    return app


@pytest.fixture
async def server(flavour: str) -> AsyncIterator[tuple[Running, list[str]]]:
    finalized: list[str] = []
    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, stateless_app(finalized)), finalized
        tg.cancel_scope.cancel()


async def test_streaming_tool_in_the_stateless_revision(server: tuple[Running, list[str]]) -> None:
    running, _ = server
    body = request(1, "tools/call", {"name": "ticks", "arguments": {"count": 3}})
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", running.url, json=body, headers=headers("tools/call", "ticks")) as response:
            assert response.headers["content-type"] == "text/event-stream"
            assert "mcp-session-id" not in response.headers
            text = (await response.aread()).decode()
    assert "id:" not in text  # no resumption in 2026-07-28, so no event ids
    final = json.loads([line for line in text.splitlines() if line.startswith("data: ")][-1][6:])
    assert final["result"]["resultType"] == "complete"
    assert [block["text"] for block in final["result"]["content"]] == ["0", "1", "2"]


async def test_closing_the_stream_cancels_the_tool(server: tuple[Running, list[str]]) -> None:
    running, finalized = server
    body = request(2, "tools/call", {"name": "ticks", "arguments": {"count": 1000}}, progressToken="p")
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", running.url, json=body, headers=headers("tools/call", "ticks")) as response:
            await Events(response).read(limit=2)
    with anyio.fail_after(5):
        while finalized != ["ticks"]:
            await anyio.sleep(0.02)
    assert running.runtime.handlers_running == 0


async def test_listen_stream_gets_ack_then_only_what_it_asked_for(server: tuple[Running, list[str]]) -> None:
    running, _ = server
    listen = request(7, "subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", running.url, json=listen, headers=headers("subscriptions/listen")) as stream:
            events = Events(stream)
            [(_, ack)] = await events.read(limit=1)
            assert ack == {
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {
                    "notifications": {"toolsListChanged": True},
                    "_meta": {"io.modelcontextprotocol/subscriptionId": 7},
                },
            }
            touched = await client.post(
                running.url, json=request(8, "tools/call", {"name": "touch"}), headers=headers("tools/call", "touch")
            )
            assert touched.json()["result"]["content"][0]["text"] == "touched"
            with anyio.fail_after(2):
                [(_, changed)] = await events.read(limit=1)
            assert changed == {
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
                "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": 7}},
            }
    with anyio.fail_after(2):
        while len(running.runtime.server.listeners):
            await anyio.sleep(0.02)
