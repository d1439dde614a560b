"""Real servers on 127.0.0.1, on asyncio and on trio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest

from mcp_sansio import App, Config, Server
from mcp_sansio_h11 import Timeouts, serve_in
from mcp_sansio_runtime import Runtime


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Running:
    host: str
    port: int
    runtime: Runtime

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/mcp"


async def start(
    task_group: anyio.abc.TaskGroup,
    app: App,
    config: Config | None = None,
    timeouts: Timeouts | None = None,
    keepalive: float = 15.0,
) -> Running:
    target = Server(app, config) if config is not None else app
    host, port, runtime = await task_group.start(
        lambda task_status: serve_in(target, port=0, timeouts=timeouts, keepalive=keepalive, task_status=task_status)
    )
    return Running(host, port, runtime)


@pytest.fixture
async def running(anyio_backend: str) -> AsyncIterator[Running]:
    from tests.apps import demo_app

    async with anyio.create_task_group() as tg:
        yield await start(tg, demo_app())
        tg.cancel_scope.cancel()
