"""Real servers on 127.0.0.1: the h11 server and the ASGI app under uvicorn and hypercorn.

Every adapter test that takes the ``flavour`` fixture runs against each of them:
h11 on asyncio and trio, the ASGI app under uvicorn (asyncio) and under hypercorn
(asyncio and trio). The event loop follows the flavour.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from mcp_sansio import App, Config, Server
from mcp_sansio_asgi import AsgiApp
from mcp_sansio_h11 import Timeouts, serve_in
from mcp_sansio_runtime import Runtime

FLAVOURS = ("h11-asyncio", "h11-trio", "uvicorn-asyncio", "hypercorn-asyncio", "hypercorn-trio")
H11_FLAVOURS = ("h11-asyncio", "h11-trio")


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return flavour.rsplit("-", 1)[1]


@dataclass
class Running:
    host: str
    port: int
    runtime: Runtime
    path: str = "/mcp"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"


async def start(
    task_group: anyio.abc.TaskGroup,
    flavour: str,
    app: App,
    config: Config | None = None,
    timeouts: Timeouts | None = None,
    keepalive: float = 15.0,
    nodelay: bool = False,
) -> Running:
    """Serve ``app`` the ``flavour`` way until ``task_group`` is cancelled.

    ``nodelay`` sets TCP_NODELAY on an ASGI server's pre-bound socket, as uvicorn and hypercorn have it when
    they bind themselves (asyncio only sets it on sockets it creates): no 40 ms Nagle delay per response.
    """
    target = Server(app, config) if config is not None else app
    if flavour.startswith("h11-"):
        host, port, runtime = await task_group.start(
            lambda task_status: serve_in(
                target, port=0, timeouts=timeouts, keepalive=keepalive, task_status=task_status
            )
        )
        return Running(host, port, runtime)
    assert timeouts is None, "deadlines against slow clients belong to the ASGI server, not the app"
    asgi = AsgiApp(target, keepalive=keepalive, grace=0.2)
    return await serve_asgi(task_group, flavour, asgi, nodelay=nodelay)


async def serve_asgi(
    task_group: anyio.abc.TaskGroup, flavour: str, asgi: Any, runtime: Runtime | None = None, nodelay: bool = False
) -> Running:
    """Serve an ASGI application under uvicorn or hypercorn, in-process, on a pre-bound socket."""
    sock = socket.socket()
    if nodelay:  # accepted connections inherit it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    if flavour.startswith("uvicorn"):
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(asgi, lifespan="on", log_level="warning", timeout_graceful_shutdown=1))
        stop_uvicorn = lambda: setattr(server, "should_exit", True)  # noqa: E731
        task_group.start_soon(_until_cancelled, lambda: server.serve([sock]), stop_uvicorn)
    else:
        from hypercorn.config import Config as HypercornConfig

        config = HypercornConfig()
        config.bind = [f"fd://{sock.detach()}"]
        config.graceful_timeout = 1
        config.accesslog = None
        stop = anyio.Event()
        if flavour.endswith("trio"):
            from hypercorn.trio import serve as hypercorn_trio_serve

            run = lambda: hypercorn_trio_serve(asgi, config, shutdown_trigger=stop.wait)  # noqa: E731
        else:
            from hypercorn.asyncio import serve as hypercorn_asyncio_serve

            run = lambda: hypercorn_asyncio_serve(asgi, config, shutdown_trigger=stop.wait)  # noqa: E731
        task_group.start_soon(_until_cancelled, run, stop.set)
    found = runtime or asgi.runtime
    with anyio.fail_after(10):
        while not found.started:  # its lifespan has started the runtime: requests are served
            await anyio.sleep(0.01)
    return Running("127.0.0.1", port, found)


async def _until_cancelled(serve: Callable[[], Awaitable[Any]], stop: Callable[[], None]) -> None:
    """Run a server until the surrounding task group is cancelled, then stop it cleanly."""
    async with anyio.create_task_group() as inner:

        async def stopper() -> None:
            try:
                await anyio.sleep_forever()
            finally:
                stop()

        inner.start_soon(stopper)
        with anyio.CancelScope(shield=True):
            await serve()
        inner.cancel_scope.cancel()


@pytest.fixture
async def running(flavour: str) -> AsyncIterator[Running]:
    from tests.apps import demo_app

    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, demo_app())
        tg.cancel_scope.cancel()
