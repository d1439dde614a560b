"""The ASGI app's own behaviour: lifespan, mounting in a host application, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from mcp_sansio_asgi import AsgiApp
from tests.adapters.conftest import serve_asgi
from tests.adapters.test_http import HEADERS, INIT, initialize
from tests.apps import demo_app

pytestmark = pytest.mark.anyio
ASGI_FLAVOURS = ("uvicorn-asyncio", "hypercorn-asyncio", "hypercorn-trio")


def host_application(mcp: AsgiApp) -> Starlette:
    """A host application with its own route, the MCP endpoint mounted at /tools, and its lifespan."""

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with mcp.lifespan():  # mounted apps get no lifespan of their own: the host starts it
            yield

    return Starlette(routes=[Route("/health", health), Mount("/tools", app=mcp)], lifespan=lifespan)


@pytest.mark.parametrize("flavour", ASGI_FLAVOURS)
async def test_mounted_in_starlette_beside_other_routes(flavour: str) -> None:
    mcp = AsgiApp(demo_app(), grace=0.2)
    async with anyio.create_task_group() as tg:
        running = await serve_asgi(tg, flavour, host_application(mcp), runtime=mcp.runtime)
        base = f"http://{running.host}:{running.port}"
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(f"{base}/health")).text == "ok"
            session = await initialize(client, f"{base}/tools/mcp")  # root_path /tools, then our /mcp
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}}
            response = await client.post(f"{base}/tools/mcp", json=call, headers={**HEADERS, "mcp-session-id": session})
            assert response.json()["result"]["content"] == [{"type": "text", "text": "3"}]
            assert (await client.post(f"{base}/mcp", json=INIT, headers=HEADERS)).status_code == 404
            assert (await client.post(f"{base}/tools/other", json=INIT, headers=HEADERS)).status_code == 404
        tg.cancel_scope.cancel()
    assert not mcp.runtime.started  # the host's lifespan stopped it


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_requests_before_the_lifespan_get_503_naming_the_cause() -> None:
    mcp = AsgiApp(demo_app())
    transport = httpx.ASGITransport(app=mcp)  # runs no lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/mcp", json=INIT, headers=HEADERS)
    assert response.status_code == 503
    assert "lifespan" in response.text


class Lifespan:
    """Plays the server's side of the ASGI lifespan protocol."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.shutdown = anyio.Event()
        self._startup_sent = False

    async def receive(self) -> dict[str, Any]:
        if not self._startup_sent:
            self._startup_sent = True
            return {"type": "lifespan.startup"}
        await self.shutdown.wait()
        return {"type": "lifespan.shutdown"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_lifespan_starts_and_stops_the_runtime() -> None:
    mcp = AsgiApp(demo_app(), grace=0.1)
    server = Lifespan()
    async with anyio.create_task_group() as tg:
        tg.start_soon(mcp, {"type": "lifespan"}, server.receive, server.send)
        with anyio.fail_after(5):
            while not mcp.runtime.started:
                await anyio.sleep(0.01)
        assert server.sent == [{"type": "lifespan.startup.complete"}]
        server.shutdown.set()
    assert server.sent[-1] == {"type": "lifespan.shutdown.complete"}
    assert not mcp.runtime.started and mcp.runtime.closing


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_failing_startup_is_reported_to_the_server() -> None:
    mcp = AsgiApp(demo_app())

    @asynccontextmanager
    async def broken() -> AsyncIterator[Any]:
        raise RuntimeError("store unreachable")
        yield  # pragma: no cover

    mcp.runtime.running = broken  # type: ignore[method-assign]
    server = Lifespan()
    await mcp({"type": "lifespan"}, server.receive, server.send)
    assert server.sent == [{"type": "lifespan.startup.failed", "message": "RuntimeError: store unreachable"}]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_websockets_are_refused() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    await AsgiApp(demo_app())({"type": "websocket", "path": "/mcp"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]
