"""Arbitrary bytes, and mangled HTTP requests, sent to the h11 server over a socket.

Whatever arrives, every response is well-formed HTTP/1.1 (parsed with h11 as the client,
explicitly framed, nothing after a response that says it closes) and the server closes the
connection once the client has said all it will (its half-close); the server stays healthy:
a client is served between examples, the runtime holds nothing afterwards, nothing in
``mcp_sansio`` logs an error or a traceback and no file descriptor is left open.

The server runs in a thread (a blocking portal), so that hypothesis drives plain sockets.
"""

from __future__ import annotations

import functools
import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_sansio import MemoryStore
from mcp_sansio_h11 import Timeouts, serve_in
from mcp_sansio_runtime import Runtime
from tests.adapters.hostile import (
    EMPTY_RUNTIME,
    MalformedResponse,
    assert_quiet,
    call,
    hostile_app,
    open_fds,
    parse_responses,
    running_tasks,
)
from tests.adapters.test_http import HEADERS, INIT

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@dataclass
class Threaded:
    host: str
    port: int
    runtime: Runtime
    portal: anyio.from_thread.BlockingPortal

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/mcp"

    def healthy(self) -> None:
        """A client is served at once: a session, a tool call, the session's end."""
        with httpx.Client(timeout=5) as client:
            response = client.post(self.url, json=INIT, headers=HEADERS)
            assert response.status_code == 200, response.text
            session = {**HEADERS, "mcp-session-id": response.headers["mcp-session-id"]}
            answer = client.post(self.url, json=call(2, "add", {"a": 40}), headers=session)
            assert answer.json()["result"]["content"][0]["text"] == "42", answer.text
            assert client.delete(self.url, headers=session).status_code == 200


@contextmanager
def threaded_h11(backend: str) -> Iterator[Threaded]:
    baseline = open_fds()
    with anyio.from_thread.start_blocking_portal(backend) as portal:
        serve = functools.partial(serve_in, hostile_app(), port=0, timeouts=Timeouts(header=2, body=2, idle=2))
        future, (host, port, runtime) = portal.start_task(serve)
        tasks = portal.call(our_tasks)
        try:
            yield Threaded(host, port, runtime, portal)
            settle(lambda: portal.call(runtime.census) == EMPTY_RUNTIME, "the runtime still holds something")
            store = runtime.store
            assert isinstance(store, MemoryStore)
            settle(lambda: not portal.call(store.census)["in_flight"], "requests still in flight")
            settle(lambda: len(portal.call(our_tasks)) <= len(tasks), "tasks leaked")
        finally:
            future.cancel()
    settle(lambda: open_fds() <= baseline, "file descriptors leaked")


async def our_tasks() -> list[str]:
    return running_tasks()


def settle(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds, for at most ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, what
        time.sleep(0.01)


def send_and_read(server: Threaded, data: bytes) -> tuple[bytes, bool]:
    """Send ``data``, half-close, and read until the server closes (True) or 5 s pass (False)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed before reading everything: read what it said
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received, True
            except TimeoutError:
                return received, False
            if not chunk:
                return received, True
            received += chunk


def check(server: Threaded, data: bytes, methods: list[bytes]) -> None:
    received, closed = send_and_read(server, data)
    assert closed, f"the server neither answered nor closed after the client's end: {data[:200]!r} -> {received!r}"
    try:
        _, partial = parse_responses(received, closed, methods)
    except MalformedResponse as exc:
        raise AssertionError(f"{exc}\nsent: {data[:300]!r}") from None
    assert not partial, f"a response cut short: {received[-200:]!r}\nsent: {data[:300]!r}"


# -- structured-ish requests ----------------------------------------------------------------------

METHODS = [b"POST", b"GET", b"DELETE", b"PUT", b"OPTIONS", b"CONNECT", b"post", b"PO ST", b"", b"\xff"]
TARGETS = [b"/mcp", b"/", b"*", b"/mcp?x=1", b"http://127.0.0.1/mcp", b"//mcp", b"/mcp/../mcp", b"/m\x00cp", b""]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1", b"http/1.1", b"HTTP/1.1 x", b""]
HEADER_VALUES = {
    b"Host": [b"127.0.0.1", b"localhost:8000", b"evil.example", b"", b"[::1", b"a b"],
    b"Accept": [b"application/json, text/event-stream", b"text/event-stream", b"*/*;q=0", b"\xff"],
    b"Content-Type": [b"application/json", b"application/json; charset=utf-8", b"text/plain", b""],
    b"Content-Length": [b"0", b"5", b"-1", b"1e3", b"99999999999999999999", b"5, 6", b" 2 "],
    b"Transfer-Encoding": [b"chunked", b"gzip, chunked", b"identity", b"chunked, chunked", b"CHUNKED"],
    b"Mcp-Session-Id": [b"nope", b"", b"\x7f", b"x" * 300],
    b"Last-Event-ID": [b"0-0", b"a-1", b"-", b"\xe9-1"],
    b"Origin": [b"http://localhost", b"http://evil.example", b"null"],
    b"Expect": [b"100-continue", b"nothing"],
    b"Connection": [b"close", b"keep-alive", b"upgrade"],
    b"Upgrade": [b"h2c", b"websocket"],
    b"MCP-Protocol-Version": [b"2025-11-25", b"2026-07-28", b"1999-01-01"],
}
BODIES = [json.dumps(INIT).encode(), json.dumps(PING).encode(), json.dumps([PING]).encode(), b"{", b"", b"\xff\xfe"]


MUTATIONS = ["method", "target", "version", "eol", "add header", "drop header", "header value", "body", "framing"]


@st.composite
def one_request(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(its bytes, its method): a valid request with a few of its parts plausibly or wildly wrong."""
    method, target, version, eol = b"POST", b"/mcp", b"HTTP/1.1", b"\r\n"
    headers = [
        (b"Host", b"127.0.0.1"),
        (b"Accept", b"application/json, text/event-stream"),
        (b"Content-Type", b"application/json"),
    ]
    body = draw(st.sampled_from(BODIES))
    framing = "length"
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        if mutation == "method":
            method = draw(st.sampled_from(METHODS) | st.binary(max_size=6))
        elif mutation == "target":
            target = draw(st.sampled_from(TARGETS) | st.binary(max_size=12))
        elif mutation == "version":
            version = draw(st.sampled_from(VERSIONS))
        elif mutation == "eol":
            eol = draw(st.sampled_from([b"\n", b"\r", b"\n\r", b"\r\r\n"]))
        elif mutation == "add header":
            name = draw(st.sampled_from(sorted(HEADER_VALUES)) | st.binary(min_size=1, max_size=8))
            value = draw(st.sampled_from(HEADER_VALUES.get(name, [b"x"])) | st.binary(max_size=16))
            headers.insert(draw(st.integers(0, len(headers))), (name, value))
        elif mutation == "drop header" and headers:
            del headers[draw(st.integers(0, len(headers) - 1))]
        elif mutation == "header value" and headers:
            at = draw(st.integers(0, len(headers) - 1))
            name = headers[at][0]
            headers[at] = (name, draw(st.sampled_from(HEADER_VALUES.get(name, [b""])) | st.binary(max_size=16)))
        elif mutation == "body":
            body = draw(st.binary(max_size=64))
        elif mutation == "framing":
            framing = draw(st.sampled_from(["chunked", "chunked-broken", "none", "wrong-length", "both"]))
    if framing in ("length", "both"):
        headers.append((b"Content-Length", b"%d" % len(body)))
    if framing == "wrong-length":
        headers.append((b"Content-Length", b"%d" % draw(st.integers(0, 200))))
    if framing.startswith("chunked") or framing == "both":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        if framing == "chunked-broken":
            body = body.replace(b"\r\n", draw(st.sampled_from([b"\n", b"", b"\r\n\r\n"])), 1)
    lines = [method + b" " + target + (b" " + version if version else b"")]
    lines += [name + b": " + value for name, value in headers]
    return eol.join(lines) + eol + eol + body, method


@st.composite
def mangled_requests(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """One to three pipelined requests, perhaps truncated or with a byte changed."""
    requests = draw(st.lists(one_request(), min_size=1, max_size=3))
    data = b"".join(r for r, _ in requests)
    mangle = draw(st.sampled_from(["none", "truncate", "flip", "insert"]))
    if data and mangle != "none":
        at = draw(st.integers(0, len(data) - 1))
        if mangle == "truncate":
            data = data[:at]
        elif mangle == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        else:
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data, [m for _, m in requests]


FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_any_bytes_get_well_formed_http_or_a_close(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    with threaded_h11(backend) as server:
        examples = [0]

        @FUZZ
        @given(data=st.binary(max_size=2048) | mangled_requests().map(lambda pair: pair[0]))
        def arbitrary(data: bytes) -> None:
            check(server, data, [])
            examples[0] += 1
            if examples[0] % 20 == 0:
                server.healthy()

        @FUZZ
        @given(requests=mangled_requests())
        def mangled(requests: tuple[bytes, list[bytes]]) -> None:
            check(server, *requests)
            examples[0] += 1
            if examples[0] % 20 == 0:
                server.healthy()

        arbitrary()
        mangled()
        server.healthy()
    assert_quiet(caplog)
