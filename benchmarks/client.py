"""A small MCP client over httpx: sessions, request bodies and headers, the same for every server."""

from __future__ import annotations

import asyncio
import json
import time
from types import TracebackType
from typing import Any

import httpx

__all__ = [
    "HANDSHAKE",
    "STATELESS",
    "McpClient",
    "post_headers",
    "session_headers",
    "stateless_meta",
    "tools_call",
    "open_sessions",
]

HANDSHAKE = "2025-11-25"
STATELESS = "2026-07-28"
_ACCEPT_BOTH = "application/json, text/event-stream"


def post_headers() -> dict[str, str]:
    """Headers every POST carries."""
    return {"accept": _ACCEPT_BOTH, "content-type": "application/json"}


def session_headers(session_id: str) -> dict[str, str]:
    """Headers of a POST in a handshake session."""
    return {**post_headers(), "mcp-session-id": session_id, "mcp-protocol-version": HANDSHAKE}


def stateless_meta() -> dict[str, Any]:
    """The ``_meta`` a 2026-07-28 request carries instead of a session."""
    return {"io.modelcontextprotocol/protocolVersion": STATELESS, "io.modelcontextprotocol/clientCapabilities": {}}


def tools_call(
    request_id: int | str, tool: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None
) -> bytes:
    """The body of a ``tools/call`` request."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if meta:
        params["_meta"] = meta
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


def _initialize_body() -> bytes:
    params = {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    return json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}).encode()


_INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()


def _session_of(response: httpx.Response) -> str:
    session = response.headers.get("mcp-session-id")
    if response.status_code != 200 or not session:
        raise RuntimeError(f"initialize failed: HTTP {response.status_code} {response.text[:200]!r}")
    return str(session)


class McpClient:
    """A blocking client for one server's endpoint."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self.http = httpx.Client(timeout=timeout)

    def __enter__(self) -> McpClient:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.http.close()

    def initialize(self) -> str:
        """Open a handshake session (initialize, then notifications/initialized); its id."""
        session = _session_of(self.http.post(self.url, headers=post_headers(), content=_initialize_body()))
        done = self.http.post(self.url, headers=session_headers(session), content=_INITIALIZED)
        if done.status_code != 202:
            raise RuntimeError(f"notifications/initialized answered HTTP {done.status_code}")
        return session

    def post(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        """POST one message."""
        return self.http.post(self.url, headers=headers, content=body)


async def open_sessions(url: str, count: int, *, concurrency: int = 4, timeout: float = 600.0) -> list[str]:
    """Open ``count`` handshake sessions with ``concurrency`` clients at once; their ids.

    Raises:
        TimeoutError: not done within ``timeout`` seconds.
    """
    sessions: list[str] = []
    claimed = 0
    deadline = time.monotonic() + timeout
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:

        async def worker() -> None:
            nonlocal claimed
            while claimed < count and time.monotonic() < deadline:
                claimed += 1  # before the await, so workers never overshoot ``count``
                response = await http.post(url, headers=post_headers(), content=_initialize_body())
                session = _session_of(response)
                sessions.append(session)
                done = await http.post(url, headers=session_headers(session), content=_INITIALIZED)
                if done.status_code != 202:
                    raise RuntimeError(f"notifications/initialized answered HTTP {done.status_code}")

        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    if len(sessions) < count:
        raise TimeoutError(f"opened {len(sessions)} of {count} sessions in {timeout:g}s")
    return sessions
