"""Running the h11 server: inside a task group, or as a whole program."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import suppress

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskGroup, TaskStatus

from mcp_sansio import App, Config, MemoryStore, Server

from ._connection import H11Connection, Timeouts
from ._driver import Driver

__all__ = ["serve", "serve_in", "run", "as_server", "is_loopback_host"]

log = logging.getLogger("mcp_sansio.h11")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` binds only the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def as_server(target: App | Server, host: str) -> Server:
    """The core server for ``target``; an App gets defaults that fit the bind address."""
    if isinstance(target, Server):
        return target
    return Server(target, Config(validate_loopback=is_loopback_host(host)))


async def serve_in(
    task_group: TaskGroup,
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    keepalive: float = 15.0,
    task_status: TaskStatus[tuple[str, int, Driver]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; for embedding in an existing task group with ``task_group.start``.

    ``task_status`` receives (host, port, driver) once the socket listens (port 0 picks a free port).
    Handlers run in ``task_group``, so they outlive the connection that started them.
    """
    server = as_server(target, host)
    driver = Driver(server, MemoryStore(), task_group, keepalive=keepalive)
    timeouts = timeouts or Timeouts()
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port, reuse_port=False)

    async def handle(stream: SocketStream) -> None:
        await H11Connection(stream, driver, path, timeouts).run()

    async def expire() -> None:
        while True:
            await anyio.sleep(min(60.0, server.config.session_idle_timeout))
            await driver.expire_sessions()

    bound = listener.extra(SocketAttribute.local_address)
    actual_port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as inner:
        inner.start_soon(expire)
        task_status.started((str(bound[0]), actual_port, driver))
        try:
            await listener.serve(handle, task_group=inner)
        finally:
            driver.shutdown()


async def run(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    on_ready: Callable[[str], None] | None = None,
    grace: float = 5.0,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop.

    Open SSE streams end at once with a final comment (clients resume them with
    ``Last-Event-ID``); in-flight requests get ``grace`` seconds to finish and
    answer; then whatever still runs is cancelled.
    """
    async with anyio.create_task_group() as tg:
        bound_host, bound_port, driver = await tg.start(
            lambda task_status: serve_in(
                tg, target, host=host, port=port, path=path, timeouts=timeouts, task_status=task_status
            )
        )
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown}:{bound_port}{path}"
        (on_ready or (lambda u: print(f"mcp-sansio serving {u}", flush=True)))(url)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        driver.shutdown()
        await driver.drain(grace)
        await anyio.sleep(0.05)  # let pumps and the last responses reach their sockets
        tg.cancel_scope.cancel()


def serve(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    backend: str = "asyncio",
    uvloop: bool = False,
    timeouts: Timeouts | None = None,
) -> None:
    """Serve ``target`` over HTTP/1.1 until SIGINT/SIGTERM (blocking)."""
    options = {"use_uvloop": True} if backend == "asyncio" and uvloop else {}
    with suppress(KeyboardInterrupt):
        anyio.run(
            lambda: run(target, host=host, port=port, path=path, timeouts=timeouts),
            backend=backend,
            backend_options=options,
        )
    sys.stdout.flush()
