"""Running the h11 server: inside a task group, or as a whole program."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import suppress

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskStatus

from mcp_sansio import App, Config, ResourceServer, Server, Store
from mcp_sansio_redis import choose_store, store_in_service
from mcp_sansio_runtime import AsyncStore, Runtime, TokenVerifier, as_server

from ._asyncio_stream import serve_sockets
from ._connection import H11Connection, Timeouts

__all__ = ["serve", "serve_in", "run"]

log = logging.getLogger("mcp_sansio.h11")


async def serve_in(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    keepalive: float = 15.0,
    store: Store | AsyncStore | None = None,
    auth: ResourceServer | None = None,
    verifier: TokenVerifier | None = None,
    task_status: TaskStatus[tuple[str, int, Runtime]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; start it with ``task_group.start(...)`` inside your own program.

    ``task_status`` receives (host, port, runtime) once the socket listens (port 0
    picks a free port). Call ``runtime.stop(grace)`` before cancelling for a graceful stop.
    ``auth`` and ``verifier`` turn authorization on (both, or neither).
    """
    server = as_server(target, host, auth)
    runtime = Runtime(server, store, path=path, keepalive=keepalive, verifier=verifier)
    timeouts = timeouts or Timeouts()
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port, reuse_port=False)

    async def handle(stream: ByteStream) -> None:
        try:
            await H11Connection(stream, runtime, timeouts).run()
        except Exception:  # one connection's failure (a store that stopped answering...) must not stop the server
            log.exception("connection from %s failed", _peer(stream))

    bound = listener.extra(SocketAttribute.local_address)
    actual_port = listener.extra(SocketAttribute.local_port)
    async with listener, runtime.running(), anyio.create_task_group() as connections:
        task_status.started((str(bound[0]), actual_port, runtime))
        if _on_asyncio():
            # Straight on asyncio transports: anyio's socket streams cost a loop iteration per send.
            sockets = [one.extra(SocketAttribute.raw_socket) for one in listener.listeners]
            await serve_sockets(sockets, lambda stream: connections.start_soon(handle, stream))
        else:
            await listener.serve(handle, task_group=connections)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # trio
    return True


def _peer(stream: ByteStream) -> str:
    try:
        address = stream.extra(SocketAttribute.remote_address)
    except Exception:  # pragma: no cover - a stream that closed underneath
        return "?"
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)


async def run(
    target: App | Server,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    timeouts: Timeouts | None = None,
    store: Store | AsyncStore | None = None,
    redis_url: str | None = None,
    redis_prefix: str = "mcp:",
    on_ready: Callable[[str], None] | None = None,
    grace: float = 5.0,
    auth: ResourceServer | None = None,
    verifier: TokenVerifier | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop.

    Open SSE streams end at once with a final comment (clients resume them with
    ``Last-Event-ID``); in-flight requests get ``grace`` seconds to finish and
    answer; then whatever still runs is cancelled.

    Args:
        target: The App or core Server to serve.
        host: The address to bind.
        port: The port to bind (0 picks a free one).
        path: The endpoint's path.
        timeouts: Deadlines for slow clients.
        store: Where sessions and event logs live (in memory if None and no ``redis_url``).
        redis_url: Keep sessions and event logs in Redis at this URL (a :class:`~mcp_sansio_redis.RedisStore`,
            closed at the end), so that several servers can share them; not with ``store``.
        redis_prefix: The key prefix in Redis; servers of one deployment share it.
        on_ready: Called with the endpoint's URL once the socket listens (default: print it).
        grace: Seconds in-flight requests get to finish when stopping.
        auth: Serve as an OAuth 2.1 resource server (with ``verifier``).
        verifier: Checks bearer tokens (``mcp_sansio_auth.JwtVerifier``, ``IntrospectionVerifier``).

    Raises:
        RedisUnavailableError: A Redis store did not answer the start-up PING (nothing listened yet).
        ValueError: Both ``store`` and ``redis_url`` were given, or ``redis_url`` is not a Redis URL.
    """
    idle_timeout = (target.config if isinstance(target, Server) else Config()).session_idle_timeout
    chosen, made = choose_store(store, redis_url, redis_prefix, idle_timeout)
    async with store_in_service(chosen, made):
        await _run(as_server(target, host, auth), host, port, path, timeouts, chosen, on_ready, grace, verifier)


async def _run(
    target: App | Server,
    host: str,
    port: int,
    path: str,
    timeouts: Timeouts | None,
    store: Store | AsyncStore | None,
    on_ready: Callable[[str], None] | None,
    grace: float,
    verifier: TokenVerifier | None,
) -> None:
    async with anyio.create_task_group() as tg:
        bound_host, bound_port, runtime = await tg.start(
            lambda task_status: serve_in(
                target,
                host=host,
                port=port,
                path=path,
                timeouts=timeouts,
                store=store,
                verifier=verifier,
                task_status=task_status,
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
    redis_url: str | None = None,
    redis_prefix: str = "mcp:",
    auth: ResourceServer | None = None,
    verifier: TokenVerifier | None = None,
) -> None:
    """Serve ``target`` over HTTP/1.1 until SIGINT/SIGTERM (blocking).

    Args:
        target: The App or core Server to serve.
        host: The address to bind.
        port: The port to bind (0 picks a free one).
        path: The endpoint's path.
        backend: ``"asyncio"`` or ``"trio"``.
        uvloop: Run asyncio on uvloop.
        timeouts: Deadlines for slow clients.
        store: Where sessions and event logs live (in memory if None and no ``redis_url``).
        redis_url: Keep sessions and event logs in Redis at this URL, shared by every server
            started with the same URL and ``redis_prefix`` (not with ``store``).
        redis_prefix: The key prefix in Redis (default ``mcp:``).
        auth: Serve as an OAuth 2.1 resource server (with ``verifier``).
        verifier: Checks bearer tokens.

    Raises:
        OSError: The server could not start listening (address in use, unresolvable
            host, permission denied, ...): the error from binding, bare rather than
            wrapped in the task groups' ExceptionGroup. Errors after startup propagate
            unchanged.
        RedisUnavailableError: Redis did not answer the start-up PING, before anything
            listened; its message is one line, ``cannot reach Redis at <url>: <reason>``
            (password hidden).
        ValueError: Both ``store`` and ``redis_url`` were given, or ``redis_url`` is not a Redis URL.
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
                lambda: run(
                    target,
                    host=host,
                    port=port,
                    path=path,
                    timeouts=timeouts,
                    store=store,
                    redis_url=redis_url,
                    redis_prefix=redis_prefix,
                    on_ready=on_ready,
                    auth=auth,
                    verifier=verifier,
                ),
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
