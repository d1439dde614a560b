"""Bad input gets the same precise answer from every adapter (h11, and the ASGI app under each server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import Config
from tests.adapters.conftest import Running, start
from tests.adapters.test_http import HEADERS, INIT, initialize
from tests.apps import demo_app

pytestmark = pytest.mark.anyio
CALL = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}}
NO_SESSION = "no-such-session"

# (what is sent, expected status, expected JSON-RPC error code or None, words the message must hold)
CASES: list[tuple[str, dict[str, Any], int, int | None, str]] = [
    ("put", {"method": "PUT", "headers": HEADERS, "json": INIT}, 405, None, "Method Not Allowed"),
    (
        "no accept",
        {"method": "POST", "headers": {**HEADERS, "accept": "application/json"}, "json": INIT},
        406,
        None,
        "Accept",
    ),
    (
        "text body",
        {"method": "POST", "headers": {**HEADERS, "content-type": "text/plain"}, "content": b"{}"},
        415,
        None,
        "Content-Type",
    ),
    ("bad json", {"method": "POST", "headers": HEADERS, "content": b"{"}, 400, -32700, "Parse error"),
    ("not json-rpc", {"method": "POST", "headers": HEADERS, "json": {"hello": 1}}, 400, -32600, "Invalid Request"),
    (
        "foreign origin",
        {"method": "POST", "headers": {**HEADERS, "origin": "http://evil.example"}, "json": INIT},
        403,
        None,
        "Origin",
    ),
    (
        "foreign host",
        {"method": "POST", "headers": {**HEADERS, "host": "evil.example"}, "json": INIT},
        421,
        None,
        "Host",
    ),
    (
        "unknown session",
        {"method": "POST", "headers": {**HEADERS, "mcp-session-id": NO_SESSION}, "json": CALL},
        404,
        -32001,
        "session",
    ),
    ("no session", {"method": "POST", "headers": HEADERS, "json": CALL}, 400, None, "Mcp-Session-Id"),
    ("get without session", {"method": "GET", "headers": {"accept": "text/event-stream"}}, 405, None, "session"),
    ("too large", {"method": "POST", "headers": HEADERS, "content": b" " * 2000}, 413, None, "Payload Too Large"),
]


@pytest.fixture
async def running(flavour: str) -> AsyncIterator[Running]:
    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, demo_app(), Config(max_body_size=1000))
        tg.cancel_scope.cancel()


@pytest.mark.parametrize(("request_", "status", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bad_input_gets_its_precise_answer(
    running: Running, request_: dict[str, Any], status: int, code: int | None, words: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.request(url=running.url, **request_)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["jsonrpc"] == "2.0" and words in body["error"]["message"]
        if code is not None:
            assert body["error"]["code"] == code
        # The server is still healthy afterwards.
        assert await initialize(client, running.url)
