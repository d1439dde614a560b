"""Running the h11 server: inside a task group, or as a whole program."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from contextlib import suppress

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from mcp_sansio import App, Server, Store
from mcp_sansio_runtime import AsyncStore, Runtime, as_server

from ._connection import H11Connection, Timeouts

__all__ = ["serve", "serve_in", "run"]


async def serve_in(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    keepalive: float = 15.0,
    store: Store | AsyncStore | None = None,
    task_status: TaskStatus[tuple[str, int, Runtime]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; start it with ``task_group.start(...)`` inside your own program.

    ``task_status`` receives (host, port, runtime) once the socket listens (port 0
    picks a free port). Call ``runtime.stop(grace)`` before cancelling for a graceful stop.
    """
    runtime = Runtime(as_server(target, host), store, path=path, keepalive=keepalive)
    timeouts = timeouts or Timeouts()
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port, reuse_port=False)

    async def handle(stream: SocketStream) -> None:
        await H11Connection(stream, runtime, timeouts).run()

    bound = listener.extra(SocketAttribute.local_address)
    actual_port = listener.extra(SocketAttribute.local_port)
    async with listener, runtime.running(), anyio.create_task_group() as connections:
        task_status.started((str(bound[0]), actual_port, runtime))
        await listener.serve(handle, task_group=connections)


async def run(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    store: Store | AsyncStore | None = None,
    on_ready: Callable[[str], None] | None = None,
    grace: float = 5.0,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop.

    Open SSE streams end at once with a final comment (clients resume them with
    ``Last-Event-ID``); in-flight requests get ``grace`` seconds to finish and
    answer; then whatever still runs is cancelled.
    """
    async with anyio.create_task_group() as tg:
        bound_host, bound_port, runtime = await tg.start(
            lambda task_status: serve_in(
                target, host=host, port=port, path=path, timeouts=timeouts, store=store, task_status=task_status
            )
        )
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown}:{bound_port}{path}"
        (on_ready or (lambda u: print(f"mcp-sansio serving {u}", flush=True)))(url)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        await runtime.stop(grace)
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
    store: Store | AsyncStore | None = None,
) -> None:
    """Serve ``target`` over HTTP/1.1 until SIGINT/SIGTERM (blocking).

    Raises:
        OSError: The server could not start listening (address in use, unresolvable
            host, permission denied, ...): the error from binding, bare rather than
            wrapped in the task groups' ExceptionGroup. Errors after startup propagate
            unchanged.
    """
    options = {"use_uvloop": True} if backend == "asyncio" and uvloop else {}
    listening = False

    def on_ready(url: str) -> None:
        nonlocal listening
        listening = True
        print(f"mcp-sansio serving {url}", flush=True)

    try:
        with suppress(KeyboardInterrupt):
            anyio.run(
                lambda: run(target, host=host, port=port, path=path, timeouts=timeouts, store=store, on_ready=on_ready),
                backend=backend,
                backend_options=options,
            )
    except ExceptionGroup as group:
        bind_errors, others = group.split(OSError)
        if listening or bind_errors is None or others is not None:
            raise
        error: OSError | ExceptionGroup[OSError] = bind_errors
        while isinstance(error, ExceptionGroup):
            error = error.exceptions[0]
        raise error from None
    sys.stdout.flush()
