"""Hostile HTTP over real sockets: heads, framing, body limits, slow clients, resets, a reader that stops.

Every test runs under :func:`~tests.adapters.hostile.guarded`: a healthy client is served
throughout, and afterwards the runtime holds nothing, no file descriptor is left open and
nothing in ``mcp_sansio`` logged an error or a traceback.

Who answers what. The h11 server parses HTTP itself (h11) and owns the deadlines against
slow clients (``Timeouts``). Under ASGI the server parses HTTP and owns the deadlines:
uvicorn (httptools) refuses malformed heads and framing with its own 400, has no deadline
for a head or body in progress and no limit on the size of a head (the app refuses a large
header set with 431 itself); hypercorn (h11) refuses malformed heads itself, answers 431 for
a head over its own 16 KiB limit and 501 for transfer codings it does not know. What reaches
the app is checked there: the app's own answers (413, 431, 4xx of the core) are the same
under every server.
"""

from __future__ import annotations

import json
import socket

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from mcp_sansio import Config
from mcp_sansio_h11 import Timeouts
from tests.adapters.conftest import H11_FLAVOURS
from tests.adapters.hostile import (
    EMPTY_RUNTIME,
    HOSTILE_FLAVOURS,
    call,
    exchange,
    guarded,
    hostile_app,
    http_request,
    new_session,
    read_replies,
    reset,
    session_headers,
    wait_closed,
)
from tests.adapters.test_http import INIT

pytestmark = pytest.mark.anyio
ASGI_FLAVOURS = ("uvicorn-asyncio", "hypercorn-trio")


@pytest.fixture(params=HOSTILE_FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


BODY = json.dumps(INIT).encode()
CHUNKED_HEAD = http_request(headers=[(b"Transfer-Encoding", b"chunked")], length=False)


def chunked(*parts: bytes, end: bool = True) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + (b"0\r\n\r\n" if end else b"")


# -- heads ----------------------------------------------------------------------------


async def test_header_limits_answer_431(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog, config=Config(max_header_count=20, max_header_size=4096)) as g:
        many = [(b"X-H%d" % i, b"v") for i in range(20)]  # with Host, Accept, Content-Type...: more than 20
        got = await exchange(g.running, http_request(body=INIT, headers=many))
        assert got.reply.status == 431
        assert "Request Header Fields Too Large" in got.reply.error()["message"]
        # Over the size limit: the core answers, or h11 first if the head arrives in more than one read.
        got = await exchange(g.running, http_request(body=INIT, headers=[(b"X-Big", b"a" * 6000)]))
        assert got.reply.status == 431
        if got.reply.headers.get("content-type") == "application/json":
            assert "Request Header Fields Too Large" in got.reply.error()["message"]
        # A 100 KiB head: h11 (and hypercorn's h11) stop at their incomplete-event limit and answer 431
        # themselves; uvicorn has no limit of its own and hands it to the app, which answers 431.
        got = await exchange(g.running, http_request(body=INIT, headers=[(b"X-Huge", b"a" * 100_000)]))
        assert got.reply.status == 431
        if flavour in H11_FLAVOURS:
            assert got.reply.headers["connection"] == "close"


MALFORMED_HEADS = {
    "garbage request line": b"GARBAGE\r\n\r\n",
    "header without colon": http_request(headers=[(b"BadHeader", b"")]).replace(b"BadHeader: ", b"BadHeader"),
    "space before colon": http_request(headers=[(b"Bad Header", b"x")]),
    "NUL in a value": http_request(headers=[(b"X-A", b"a\x00b")]),
    "TLS client hello": bytes.fromhex("16030100c4010000c00303") + b"\x00" * 40,
    "two Content-Lengths that differ": http_request(body=INIT, headers=[(b"Content-Length", b"5")]),
}


async def test_malformed_heads_get_400_and_the_connection_closes(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog) as g:
        for name, data in MALFORMED_HEADS.items():
            got = await exchange(g.running, data + http_request(body=INIT), until_closed=True)
            assert [r.status for r in got.replies] == [400], name  # the request behind it is never served
            assert got.closed, name
        # A missing or repeated Host: h11 and hypercorn refuse the head themselves (and close); uvicorn
        # passes it on and the core answers 400 (Host is required for the DNS-rebinding check).
        for data, words in (
            (http_request(body=INIT, host=None), "missing Host header"),
            (http_request(body=INIT, headers=[(b"Host", b"127.0.0.1")]), "header host appears 2 times"),
        ):
            got = await exchange(g.running, data)
            assert got.reply.status == 400, words
            if flavour.startswith("uvicorn"):
                assert words in got.reply.error()["message"]


@pytest.mark.parametrize(
    "flavour",
    [
        *H11_FLAVOURS,
        "uvicorn-asyncio",  # httptools refuses the request itself: 400 and close
        # hypercorn frames by Transfer-Encoding and keeps the connection open (its choice, not the app's).
    ],
)
async def test_content_length_with_chunked_closes_the_connection(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog) as g:
        head = http_request(headers=[(b"Content-Length", b"3"), (b"Transfer-Encoding", b"chunked")], length=False)
        smuggled = http_request(body=INIT)
        got = await exchange(g.running, head + chunked(BODY) + smuggled, until_closed=True, timeout=0.5)
        # RFC 9112 6.1: refused, or served by its chunked framing, and the connection closes after it,
        # so that nothing a proxy framed differently (a smuggled request) is ever served.
        assert len(got.replies) == 1 and got.closed, [r.status for r in got.replies]


@pytest.mark.parametrize("flavour", [*H11_FLAVOURS, "hypercorn-trio"])  # uvicorn passes it on
async def test_unknown_transfer_coding_gets_501(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g:
        head = http_request(headers=[(b"Transfer-Encoding", b"gzip, chunked")], length=False)
        got = await exchange(g.running, head + chunked(b"{}"), until_closed=True)
        assert [r.status for r in got.replies] == [501]
        assert got.closed


BAD_CHUNKS = {
    "size not hex": b"zz\r\n{}\r\n0\r\n\r\n",
    "negative size": b"-2\r\n{}\r\n0\r\n\r\n",
    "longer than its size": b"2\r\n{}}}\r\n0\r\n\r\n",
    "no CRLF after the data": b"2\r\n{}XX0\r\n\r\n",
}


async def test_bad_chunk_framing_gets_400_and_a_cut_body_400_or_a_close(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog) as g:
        for name, body in BAD_CHUNKS.items():
            got = await exchange(g.running, CHUNKED_HEAD + body, until_closed=True)
            assert [r.status for r in got.replies] == [400], name
            assert got.closed, name
        for data in (CHUNKED_HEAD + b"10\r\n{}", http_request(body=BODY)[:-10]):
            got = await exchange(g.running, data, until_closed=True, half_close=True)
            # h11 answers 400 (the body ended early); the ASGI servers answer 400 or just close.
            statuses = [r.status for r in got.replies]
            assert statuses == [400] if flavour in H11_FLAVOURS else statuses in ([], [400])
            assert got.closed


# -- body limits -----------------------------------------------------------------------


async def test_bodies_over_the_limit_get_413_before_or_while_they_are_read(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    # hypercorn answers Expect: 100-continue itself, before the app is asked (and under trio its 100 then
    # races the app's 413 for the socket: "another task is currently sending data"), so not there.
    expects = [[]] if flavour.startswith("hypercorn") else [[], [(b"Expect", b"100-continue")]]
    async with guarded(flavour, caplog, config=Config(max_body_size=1000)) as g:
        # Content-Length says it is too large: 413 before one byte of the body is sent.
        for expect in expects:
            head = http_request(headers=[(b"Content-Length", b"1000000000"), *expect], length=False)
            got = await exchange(g.running, head)
            assert got.reply.status == 413
            assert "Payload Too Large" in got.reply.error()["message"]
            assert not got.raw.startswith(b"HTTP/1.1 100")  # no invitation to send it either
            if flavour in H11_FLAVOURS:
                assert got.reply.headers["connection"] == "close"
        # Chunked: 413 as soon as it outgrows the limit, while the rest has not been sent.
        async with await anyio.connect_tcp(g.running.host, g.running.port) as stream:
            await stream.send(CHUNKED_HEAD + chunked(b" " * 600, b" " * 600, end=False))
            got = await read_replies(stream)
            assert got.reply.status == 413
            assert "Payload Too Large" in got.reply.error()["message"]


# -- slow clients ------------------------------------------------------------------------


async def trickle(stream: SocketStream, data: bytes, interval: float = 0.02) -> None:
    """Send ``data`` a byte at a time until it is sent or the server closes the connection."""
    try:
        for byte in data:
            await stream.send(bytes([byte]))
            await anyio.sleep(interval)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass


async def trickled_until_closed(host: str, port: int, data: bytes, within: float) -> bytes:
    """What the server answers a client that trickles ``data``, which it must close within ``within`` s."""
    async with await anyio.connect_tcp(host, port) as stream, anyio.create_task_group() as tg:
        tg.start_soon(trickle, stream, data)
        received = await wait_closed(stream, within)
        tg.cancel_scope.cancel()
    return received


@pytest.mark.parametrize("flavour", H11_FLAVOURS)
async def test_a_head_sent_byte_by_byte_is_cut_at_the_header_deadline(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog, timeouts=Timeouts(header=0.3, body=10, idle=10)) as g:
        received = await trickled_until_closed(g.running.host, g.running.port, http_request(body=INIT), within=1)
        assert received.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("flavour", H11_FLAVOURS)
async def test_a_body_sent_byte_by_byte_is_cut_at_the_body_deadline(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog, timeouts=Timeouts(header=10, body=0.3, idle=10)) as g:
        for data in (http_request(body=INIT), CHUNKED_HEAD + chunked(BODY)):
            head, body = data.split(b"\r\n\r\n", 1)
            async with await anyio.connect_tcp(g.running.host, g.running.port) as stream:
                await stream.send(head + b"\r\n\r\n")
                async with anyio.create_task_group() as tg:
                    tg.start_soon(trickle, stream, body)
                    received = await wait_closed(stream, 3)
                    tg.cancel_scope.cancel()
            assert received.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("flavour", H11_FLAVOURS)
async def test_a_crowd_of_slowloris_clients_is_cut_while_a_healthy_client_is_served(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Every deadline equal, so that which one applies to a trickled head does not matter here.
    async with guarded(flavour, caplog, timeouts=Timeouts(header=0.5, body=0.5, idle=0.5)) as g:
        answers: list[bytes] = []

        async def slow(data: bytes) -> None:
            answers.append(await trickled_until_closed(g.running.host, g.running.port, data, within=4))

        async def silent() -> None:
            async with await anyio.connect_tcp(g.running.host, g.running.port) as stream:
                idle.append(await wait_closed(stream, 4))

        idle: list[bytes] = []
        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(slow, http_request(body=INIT) if i % 2 else CHUNKED_HEAD + chunked(BODY))
                if i % 3 == 0:
                    tg.start_soon(silent)
            await anyio.sleep(0.1)
            await g.health.check()  # served at once while forty connections hang on
        assert len(answers) == 30
        assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a[:20] for a in answers}
        assert idle == [b""] * 10  # connections that never sent a byte are closed without a word


@pytest.mark.parametrize("flavour", ASGI_FLAVOURS)
async def test_slow_clients_under_asgi_reach_the_app_only_as_a_waiting_body(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The ASGI server owns the deadlines against slow clients (uvicorn has none for a head or body in
    # progress; hypercorn's read_timeout is off by default). The app sees nothing of a trickled head and,
    # for a trickled body, a request waiting for it: the runtime holds no handler, reader or waiter, and
    # everyone else is served.
    async with guarded(flavour, caplog) as g:
        head, body = http_request(body=INIT).split(b"\r\n\r\n", 1)
        streams = [await anyio.connect_tcp(g.running.host, g.running.port) for _ in range(10)]
        try:
            async with anyio.create_task_group() as tg:
                for i, stream in enumerate(streams):
                    if i % 2:
                        await stream.send(head + b"\r\n\r\n")
                        tg.start_soon(trickle, stream, body, 0.05)
                    else:
                        tg.start_soon(trickle, stream, head, 0.05)
                await anyio.sleep(0.3)
                await g.health.check()
                with anyio.fail_after(5):  # (the healthy client's calls come and go meanwhile)
                    while g.running.runtime.census() != EMPTY_RUNTIME:
                        await anyio.sleep(0.005)
                for stream in streams:
                    reset(stream)
                    await stream.aclose()  # the trickles stop
        finally:
            for stream in streams:
                await stream.aclose()


# -- resets and readers that stop ---------------------------------------------------------


async def test_clients_that_reset_at_any_point_leave_nothing_behind(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = anyio.Event()
    async with guarded(flavour, caplog, app=hostile_app(gate)) as g:
        async with httpx.AsyncClient(timeout=5) as client:
            session = await new_session(client, g.url)
        with_session = session_headers(session)
        streaming = http_request(body=call(1, "tick", {"n": 20, "interval_ms": 10}, "t"), headers=with_session)
        get_stream = http_request(b"GET", headers=[(b"Accept", b"text/event-stream"), *with_session], standard=False)
        held = http_request(body=call(2, "hold"), headers=with_session)
        cases = [
            (http_request(body=INIT)[:40], False),  # in the middle of the head
            (http_request(body=BODY)[:-20], False),  # in the middle of the body
            (streaming, True),  # in the middle of an SSE response
            (get_stream, True),  # on an open GET stream
            (held, False),  # while the handler has not answered yet
        ]
        for data, wait_for_bytes in cases:
            async with await anyio.connect_tcp(g.running.host, g.running.port) as stream:
                await stream.send(data)
                if wait_for_bytes:
                    with anyio.fail_after(5):
                        await stream.receive()
                else:
                    await anyio.sleep(0.05)
                reset(stream)
        gate.set()  # the held handler answers into a closed connection
        await g.census_settles()


async def test_a_reader_that_stops_reading_10000_events_holds_back_the_producer_only(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    produced: list[int] = []
    config = Config(max_events_per_stream=100)
    async with guarded(flavour, caplog, app=hostile_app(produced=produced), config=config) as g:
        async with httpx.AsyncClient(timeout=5) as client:
            session = await new_session(client, g.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the kernel buffers little
        try:
            sock.connect((g.running.host, g.running.port))
            sock.sendall(http_request(body=call(1, "flood", {"count": 10_000}, "p"), headers=session_headers(session)))
            # It never reads. The producer runs until the socket buffers and the reader's queue are full,
            # then waits: the count stops well short of 10,000 (a megabyte or two of events is in flight).
            with anyio.fail_after(10):
                last = -1
                while len(produced) != last or not produced:
                    last = len(produced)
                    await anyio.sleep(0.1)
            assert len(produced) < 5000
            await g.health.check()  # nobody else waits for it
            assert len(produced) == last and g.running.runtime.census()["readers"] == 1
        finally:
            sock.close()  # unread data: the kernel resets the connection
        # Gone: the producer is released and runs to its end into the log (a disconnect cancels nothing).
        with anyio.fail_after(10):
            while len(produced) < 10_000:
                await anyio.sleep(0.02)
        await g.census_settles()


# -- what HTTP/1.1 requires of every request ---------------------------------------------


@pytest.mark.parametrize("flavour", H11_FLAVOURS)  # uvicorn and hypercorn answer unparseable heads themselves
async def test_a_head_that_does_not_parse_is_answered_without_a_body(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the fuzzer: "HEAD /m\x00cp" fails to parse, so the method is not known; a reason in
    # the body would be read by the HEAD's client as the start of another response.
    async with guarded(flavour, caplog) as g:
        for first in (b"", http_request(body=INIT)):  # alone, and after a POST on the same connection
            broken = http_request(b"HEAD", standard=False, target=b"/m\x00cp")
            methods = [b"POST", b"HEAD"] if first else [b"HEAD"]
            got = await exchange(g.running, first + broken, len(methods), until_closed=True, methods=methods)
            refused = got.replies[-1]
            assert refused.status == 400 and refused.body == b"" and got.closed
            assert refused.headers["content-length"] == "0" and refused.headers["connection"] == "close"


async def test_head_gets_405_without_a_body(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g:
        head = http_request(b"HEAD", standard=False)
        got = await exchange(g.running, head + http_request(body=INIT), 2, methods=[b"HEAD", b"POST"])
        refused = got.reply
        assert refused.status == 405 and refused.body == b"" and "POST" in refused.headers["allow"]
        # The connection may go on (uvicorn, hypercorn) or close as the answer says (the h11 server).
        if refused.headers.get("connection") == "close":
            assert len(got.replies) == 1 and got.closed
        else:
            assert [r.status for r in got.replies] == [405, 200]


@pytest.mark.parametrize(
    "flavour",
    [*H11_FLAVOURS, "uvicorn-asyncio"],  # hypercorn puts the absolute URI in scope["path"]: 404 from the app
)
async def test_an_absolute_form_target_is_served(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    # RFC 9112 3.2.2: a server MUST accept the absolute form (what a client sends to a proxy).
    async with guarded(flavour, caplog) as g:
        target = b"http://127.0.0.1:%d/mcp?x=1" % g.running.port
        got = await exchange(g.running, http_request(body=INIT, target=target))
        assert got.reply.status == 200


@pytest.mark.parametrize(
    "flavour",
    [*H11_FLAVOURS, "uvicorn-asyncio"],  # hypercorn upper-cases the method before the app sees it
)
async def test_methods_are_case_sensitive(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    # RFC 9110 9.1: "post" is not POST. The core answers 405; httptools refuses an unknown method itself.
    async with guarded(flavour, caplog) as g:
        got = await exchange(g.running, http_request(b"post", body=INIT))
        assert got.reply.status == (400 if flavour.startswith("uvicorn") else 405)
