"""Shared fixtures: a deterministic core harness (no sockets, no sleeps)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings

from mcp_sansio import App, Config, HttpRequest, MemoryStore, Output, SendResponse, Server, run_plan

# Wall-clock deadlines make property tests flaky on a loaded 2-core machine; CI also runs them
# derandomized so a red run can be replayed exactly.
settings.register_profile("mcp-sansio", deadline=None, derandomize=os.environ.get("CI") == "true", print_blob=True)
settings.load_profile("mcp-sansio")

HEAD = (
    ("host", "127.0.0.1:8000"),
    ("accept", "application/json, text/event-stream"),
    ("content-type", "application/json"),
)


@dataclass
class Harness:
    """A core server with a memory store, a fake clock and counting id sources."""

    server: Server
    store: MemoryStore
    now: list[float] = field(default_factory=lambda: [1000.0])

    def request(
        self,
        method: str,
        body: Any = None,
        headers: Iterable[tuple[str, str]] = (),
        *,
        raw: bytes | None = None,
        base: Iterable[tuple[str, str]] = HEAD,
    ) -> list[Output]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        req = HttpRequest.build(method, "/mcp", [*base, *headers])
        return run_plan(self.server.receive(req, data), self.store)

    def post(self, body: Any, session: str | None = None, **kw: Any) -> list[Output]:
        headers = list(kw.pop("headers", ()))
        if session is not None:
            headers.append(("mcp-session-id", session))
        return self.request("POST", body, headers, **kw)

    def initialize(self, version: str = "2025-11-25", capabilities: dict[str, Any] | None = None) -> str:
        out = self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": capabilities or {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )
        response = only_response(out)
        assert response.status == 200, response
        session = dict(response.headers)["mcp-session-id"]
        assert self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session) == [SendResponse(202)]
        return session

    def run(self, plan: Any) -> Any:
        return run_plan(plan, self.store)


def only_response(outputs: list[Output]) -> SendResponse:
    assert len(outputs) == 1 and isinstance(outputs[0], SendResponse), outputs
    return outputs[0]


def body_of(outputs: list[Output]) -> Any:
    return json.loads(only_response(outputs).body)


def make_harness(app: App, config: Config | None = None) -> Harness:
    counter = itertools.count(1)
    streams = itertools.count(1)
    harness_now = [1000.0]
    server = Server(
        app,
        config or Config(),
        clock=lambda: harness_now[0],
        new_session_id=lambda: f"session{next(counter)}",
        new_stream_key=lambda: f"s{next(streams)}",
    )
    return Harness(server, MemoryStore(), harness_now)


@pytest.fixture
def harness() -> Harness:
    from tests.apps import demo_app

    return make_harness(demo_app())


# -- the stateless revision (2026-07-28) ------------------------------------------

STATELESS = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"
META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
_NAME_FIELDS = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}


def stateless_meta(capabilities: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The required ``_meta`` of a stateless request, plus ``extra`` keys."""
    return {META_VERSION: STATELESS, META_CAPABILITIES: capabilities or {}, **extra}


def stateless_request(
    method: str,
    params: dict[str, Any] | None = None,
    *,
    rid: Any = 1,
    capabilities: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A well-formed stateless request body (``meta`` replaces the default ``_meta`` when given)."""
    body_params = dict(params or {})
    body_params["_meta"] = stateless_meta(capabilities) if meta is None else meta
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": body_params}


def routing_headers(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The headers a conforming client sends with ``body``: version, Mcp-Method and Mcp-Name."""
    headers = [("mcp-protocol-version", STATELESS), ("mcp-method", body["method"])]
    name_field = _NAME_FIELDS.get(body["method"])
    if name_field is not None and isinstance(body["params"].get(name_field), str):
        headers.append(("mcp-name", body["params"][name_field]))
    return headers


def post_stateless(
    harness: Harness,
    body: dict[str, Any],
    *,
    replace: dict[str, str | bytes | None] | None = None,
    extra: Iterable[tuple[str, str | bytes]] = (),
) -> list[Output]:
    """POST ``body`` with its routing headers; ``replace`` overrides (None drops) some of them."""
    headers: dict[str, str | bytes] = dict(routing_headers(body))
    for name, value in (replace or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return harness.post(body, headers=[*headers.items(), *extra])
