"""The ASGI 3 application: ASGI messages in, the runtime's answers out.

Theory of operation: each HTTP scope becomes an :class:`~mcp_sansio.HttpRequest`
handed to the runtime with the body's ``http.request`` messages as its chunks;
:class:`_Exchange` is the runtime's transport for that one request. A client
that leaves is noticed by a watcher awaiting ``http.disconnect``, started only
once a stream or a cancellable wait needs it (no task per plain request).
The runtime lives in the ASGI lifespan, or in the host application's lifespan
through :meth:`AsgiApp.lifespan`; so does a Redis store's start-up check (PING)
and, for a store the app made from ``redis_url``, closing its connections.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio

from mcp_sansio import App, HttpRequest, ResourceServer, SendResponse, Server, Store
from mcp_sansio_redis import choose_store, store_in_service
from mcp_sansio_runtime import AsyncStore, ClientGone, Runtime, TokenVerifier, as_server

__all__ = ["AsgiApp"]

log = logging.getLogger("mcp_sansio.asgi")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AsgiApp:
    """An ASGI 3 application serving an MCP endpoint (uvicorn, hypercorn, granian, Starlette mounts).

    Args:
        target: The :class:`~mcp_sansio.App` or core :class:`~mcp_sansio.Server` to serve. An App
            gets the core's defaults, which check Origin and Host against loopback names; to
            serve other host names, pass a Server whose Config lists them in ``allowed_hosts``.
        path: The endpoint's path below the mount point (``root_path``); other paths get 404.
        store: Where sessions and event logs live (in memory if None and no ``redis_url``).
            A :class:`~mcp_sansio_redis.RedisStore` is PINGed when the lifespan starts; it stays open.
        keepalive: Seconds of silence after which an SSE stream gets a comment.
        grace: Seconds running handlers get to finish when the lifespan ends.
        redis_url: Keep sessions and event logs in Redis at this URL (``redis://[user:password@]host[:port][/db]``,
            ``rediss://...``, ``unix:///path?db=N``), shared by every app given the same URL and prefix;
            not with ``store``. The lifespan's startup PINGs Redis (failing it with ``cannot reach Redis at
            <url>: <reason>``) and its shutdown closes the connections.
        redis_prefix: The key prefix in Redis (default ``mcp:``).
        auth: Serve as an OAuth 2.1 resource server (with ``verifier``). The metadata is
            answered at ``auth.metadata_path`` when that path reaches the app; mounted below
            a prefix, route ``/.well-known/oauth-protected-resource...`` to it from the host.
        verifier: Checks bearer tokens (``mcp_sansio_auth.JwtVerifier``, ``IntrospectionVerifier``).

    Raises:
        ValueError: Both ``store`` and ``redis_url`` were given, or ``redis_url`` is not a Redis URL.
    """

    def __init__(
        self,
        target: App | Server,
        *,
        path: str = "/mcp",
        store: Store | AsyncStore | None = None,
        keepalive: float = 15.0,
        grace: float = 5.0,
        redis_url: str | None = None,
        redis_prefix: str = "mcp:",
        auth: ResourceServer | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        server = as_server(target, auth=auth)
        chosen, self._made_store = choose_store(store, redis_url, redis_prefix, server.config.session_idle_timeout)
        self.runtime = Runtime(server, chosen, path=path, keepalive=keepalive, verifier=verifier)
        self.grace = grace

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[Runtime]:
        """Run the runtime for the duration of the block; on exit stop gracefully.

        Served alone, ASGI lifespan does this; mounted inside a host application,
        enter it from the host's lifespan. A Redis store is PINGed first; one made
        from ``redis_url`` has its connections closed at the end.

        Raises:
            RedisUnavailableError: Redis did not answer the PING (``cannot reach Redis at <url>: <reason>``).
        """
        async with store_in_service(self.runtime.store, self._made_store), self.runtime.running():
            try:
                yield self.runtime
            finally:
                with anyio.CancelScope(shield=True):
                    await self.runtime.stop(self.grace)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry point."""
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:  # websocket: not an MCP transport
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        phase = "startup"
        try:
            async with self.lifespan():
                await send({"type": "lifespan.startup.complete"})
                phase = "shutdown"
                await receive()  # lifespan.shutdown
        except Exception as exc:  # tell the server (a failed startup makes it refuse to start)
            await send({"type": f"lifespan.{phase}.failed", "message": f"{type(exc).__name__}: {exc}"})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"  # servers differ on whether path includes root_path
        query = scope.get("query_string", b"")
        target = f"{path}?{query.decode('latin-1')}" if query else path
        request = HttpRequest.build(scope["method"], target, scope["headers"])
        exchange = _Exchange(self.runtime, receive, send)
        try:
            async with aclosing(exchange.body()) as body:
                await self.runtime.serve(request, body, exchange)
        except ClientGone:
            pass  # the client left; nothing to answer
        finally:
            exchange.finish()


class _Exchange:
    """One request's :class:`~mcp_sansio_runtime.Transport` over ASGI ``send`` and ``receive``."""

    def __init__(self, runtime: Runtime, receive: Receive, send: Send) -> None:
        self._runtime = runtime
        self._receive = receive
        self._send = send
        self._body_done = False
        self._gone = False
        self._finished = False
        self._watching = False
        self._watch_scope: anyio.CancelScope | None = None
        self._callbacks: list[Callable[[], None]] = []

    async def body(self) -> AsyncGenerator[bytes, None]:
        """The body's chunks from ``http.request`` messages, read on demand."""
        while not self._body_done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._client_left()
                raise ClientGone
            self._body_done = not message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk:
                yield chunk

    def finish(self) -> None:
        """The request is over: stop watching for a disconnect."""
        self._finished = True
        if self._watch_scope is not None:
            self._watch_scope.cancel()

    def _watch(self) -> None:
        # Only once the body is read does the next receive() mean "the client left".
        if not self._watching and self._body_done and not self._gone:
            self._watching = True
            self._runtime.start_soon(self._watch_disconnect)

    async def _watch_disconnect(self) -> None:
        with anyio.CancelScope() as self._watch_scope:
            while not self._finished:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self._client_left()
                    return

    def _client_left(self) -> None:
        self._gone = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    async def _out(self, message: Message) -> None:
        if self._gone:
            raise ClientGone
        try:
            await self._send(message)
        except OSError as exc:  # ASGI: send on a closed connection raises an OSError subclass
            self._client_left()
            raise ClientGone from exc

    async def send_response(self, response: SendResponse) -> None:
        """Send a complete response."""
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await self._out({"type": "http.response.start", "status": response.status, "headers": headers})
        await self._out({"type": "http.response.body", "body": response.body, "more_body": False})

    async def start_stream(self, headers: Sequence[tuple[str, str]], body: bytes = b"") -> None:
        """Send the SSE response head and the body's start; from now on a disconnect is watched for."""
        self._watch()
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await self._out({"type": "http.response.start", "status": 200, "headers": raw})
        if body:
            await self.write(body)

    async def write(self, data: bytes) -> None:
        """Send part of the body; ``send`` returns once the server has room (backpressure)."""
        await self._out({"type": "http.response.body", "body": data, "more_body": True})

    async def end_stream(self, body: bytes = b"") -> None:
        """Send the body's last bytes and end it, in one message."""
        await self._out({"type": "http.response.body", "body": body, "more_body": False})

    def on_disconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when ``http.disconnect`` arrives; returns an unregister function."""
        if self._gone:
            callback()
            return lambda: None
        self._callbacks.append(callback)
        self._watch()
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None
