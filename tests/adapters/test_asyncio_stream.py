"""The h11 server's byte streams on asyncio (mcp_sansio_h11._asyncio_stream), against real sockets."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import pytest
from anyio.abc import SocketAttribute

from mcp_sansio_h11._asyncio_stream import READ_LIMIT, AsyncioStream, serve_sockets

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the module exists for asyncio only (trio serves anyio's own streams)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[AsyncioStream, socket.socket]]:
    """A served connection's stream and the client's blocking socket."""
    listening = socket.create_server(("127.0.0.1", 0))
    accepted: list[AsyncioStream] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_sockets, [listening], accepted.append)
        client = await anyio.to_thread.run_sync(socket.create_connection, listening.getsockname())
        while not accepted:
            await anyio.sleep(0.001)
        try:
            yield accepted[0], client
        finally:
            client.close()
            await accepted[0].aclose()
            tg.cancel_scope.cancel()


async def _recv(client: socket.socket, size: int) -> bytes:
    return await anyio.to_thread.run_sync(client.recv, size)


async def test_bytes_travel_both_ways_and_small_writes_are_not_delayed(
    pair: tuple[AsyncioStream, socket.socket],
) -> None:
    stream, client = pair
    raw = stream.extra(SocketAttribute.raw_socket)
    # asyncio leaves Nagle on for accepted sockets: SSE heads and events would wait for delayed ACKs.
    assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert stream.extra(SocketAttribute.remote_address) == client.getsockname()
    client.sendall(b"hello")
    assert await stream.receive() == b"hello"
    await stream.send(b"world")
    assert await _recv(client, 100) == b"world"


async def test_a_chunk_larger_than_asked_for_is_split(pair: tuple[AsyncioStream, socket.socket]) -> None:
    stream, client = pair
    client.sendall(b"abcdef")
    with anyio.fail_after(5):
        received = b""
        while len(received) < 6:
            received += await stream.receive(4)
            assert len(received) <= 6
    assert received == b"abcdef"


async def test_the_end_of_the_clients_bytes_comes_after_them(pair: tuple[AsyncioStream, socket.socket]) -> None:
    stream, client = pair
    client.sendall(b"last words")
    client.shutdown(socket.SHUT_WR)
    received = b""
    with anyio.fail_after(5):
        while True:
            try:
                received += await stream.receive()
            except anyio.EndOfStream:
                break
    assert received == b"last words"
    await stream.send(b"still answered")  # a half-closed client still gets its answer
    assert await _recv(client, 100) == b"still answered"


async def test_a_reset_connection_breaks_the_stream(pair: tuple[AsyncioStream, socket.socket]) -> None:
    stream, client = pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # RST
    with anyio.fail_after(5), pytest.raises(anyio.BrokenResourceError):
        while True:
            await stream.receive()
    with pytest.raises(anyio.BrokenResourceError):
        await stream.send(b"nobody there")


async def test_a_closed_stream_refuses_both_ways(pair: tuple[AsyncioStream, socket.socket]) -> None:
    stream, client = pair
    client.sendall(b"unread")
    with anyio.fail_after(5):
        while not stream._chunks:  # the bytes are buffered in the stream, not yet received
            await anyio.sleep(0.001)
    await stream.aclose()
    with pytest.raises(anyio.ClosedResourceError):
        await stream.receive()
    with pytest.raises(anyio.ClosedResourceError):
        await stream.send(b"x")
    assert await _recv(client, 100) == b""  # the client sees the connection end


async def test_a_full_write_buffer_makes_send_wait_until_the_client_reads(
    pair: tuple[AsyncioStream, socket.socket],
) -> None:
    stream, client = pair
    block, bound = b"x" * 65536, 64 * 1024 * 1024
    sent = 0
    with anyio.move_on_after(2):
        while sent < bound:  # the client reads nothing: the kernel's buffers, then the transport's, fill up
            sent += len(block)  # written at once; a send cancelled while it waits has still written it
            await stream.send(block)
    assert 0 < sent < bound  # send waited instead of buffering without bound
    got = 0

    def drain() -> None:
        nonlocal got
        client.settimeout(2)
        while got < sent + len(block):
            got += len(client.recv(1 << 20))

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, drain)
        with anyio.fail_after(10):
            await stream.send(block)  # goes once the client reads
    assert got == sent + len(block)


async def test_reading_stops_past_the_limit_and_resumes_as_bytes_are_taken(
    pair: tuple[AsyncioStream, socket.socket],
) -> None:
    stream, client = pair
    total = 8 * READ_LIMIT

    def flood() -> None:
        client.sendall(b"y" * total)

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, flood)
        await anyio.sleep(0.2)  # the client writes what the kernel lets it; the stream keeps only so much
        assert stream._buffered <= READ_LIMIT + (1 << 18)  # one read past the limit at most
        received = 0
        with anyio.fail_after(10):
            while received < total:
                received += len(await stream.receive())
    assert received == total


async def test_a_waiting_receive_is_cancelled_like_any_await(pair: tuple[AsyncioStream, socket.socket]) -> None:
    stream, client = pair
    with anyio.move_on_after(0.05) as scope:
        await stream.receive()
    assert scope.cancelled_caught
    client.sendall(b"later")
    assert await stream.receive() == b"later"  # the stream still works after the cancelled wait

