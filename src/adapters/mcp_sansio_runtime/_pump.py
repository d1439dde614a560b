"""Pumping one stream's events to the transport that reads it.

A reader joined the hub before anything was replayed, so nothing published in
between is lost; what it receives out of seq order is put back in order, with
gaps filled from the log. Keep-alive comments go out when the stream is idle,
and a farewell comment when the server stops.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import anyio

from mcp_sansio import SendEvent, SendResponse, frame_comment

from ._hub import Reader
from ._sink import Sink
from ._transport import ClientGone, Transport

if TYPE_CHECKING:
    from ._runtime import Runtime

__all__ = ["StreamPump", "cancels_on_disconnect", "until_disconnected", "store_failure"]

log = logging.getLogger("mcp_sansio")
_DETACH_TIMEOUT = 5.0  # seconds for the store to record a reader's end during a shutdown


class StreamPump:
    """Moves a stream's events from its hub reader to a transport, for one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def run(self, sink: Sink, reader: Reader, transport: Transport) -> None:
        """Write the stream's head, what it replays, then its live events until it ends or the client leaves."""
        runtime = self._runtime
        session_id = reader.key[0]
        try:
            first = b"".join([sink.priming or b"", *(data for _, data in sink.replay)])
            if sink.replay:
                reader.delivered = max(reader.delivered, sink.replay[-1][0])
            if sink.replay_final:
                reader.end(reader.delivered)
            await transport.start_stream(sink.headers, first)
            last: list[bytes] = []  # the stream's last events, kept to go out with its end
            pump = self._pump_live(sink, reader, transport, last)
            # Streams that can sit idle (GET, listen) or whose closing cancels (2026-07-28) are
            # watched; a handshake-era POST stream learns of a vanished client from its next write.
            watched = not sink.exchanges or cancels_on_disconnect(sink)
            if await (until_disconnected(transport, pump) if watched else _completed(pump)):
                if runtime.closing and not reader.finished:
                    last.append(frame_comment("server shutting down; resume with Last-Event-ID"))
                elif reader.farewell is not None:
                    last.append(reader.farewell)
                await transport.end_stream(b"".join(last))
            elif not reader.finished:
                runtime.client_left(sink)
        except ClientGone:
            runtime.client_left(sink)
        finally:
            reader.close()
            if session_id is not None:
                runtime.broker.unfollow(reader)
            await self._detached(sink, reader)

    async def _detached(self, sink: Sink, reader: Reader) -> None:
        # Recorded even when the pump was cancelled: the next GET starts where this one stopped.
        runtime = self._runtime
        session_id, stream = reader.key
        with anyio.CancelScope(shield=True), anyio.move_on_after(_DETACH_TIMEOUT):
            try:
                await runtime.run(runtime.server.stream_detached(session_id, stream, reader.delivered, sink.claim))
            except Exception:  # a store that fails here must not take the connection's task down
                log.exception("could not record where the reader of stream %r stopped", stream)

    async def _pump_live(self, sink: Sink, reader: Reader, transport: Transport, last: list[bytes]) -> None:
        # The core may ask to end this connection after a while (stream polling, SEP-1699).
        with anyio.move_on_after(sink.close_after if sink.close_after is not None else math.inf):
            try:
                await self._pump_until_done(sink, reader, transport, last)
            except ClientGone:
                raise
            except Exception as exc:  # the store failed (renewing the claim, filling a gap): end with retry
                reason = store_failure(exc)
                log.warning("stream %r of session %s ends: %s", reader.key[1], reader.key[0], reason)
                reader.farewell = self._runtime.server.stream_interrupted(reason)

    async def _pump_until_done(self, sink: Sink, reader: Reader, transport: Transport, last: list[bytes]) -> None:
        """Write the live events until the stream is done; the final batch goes to ``last`` instead."""
        runtime = self._runtime
        renew_every = runtime.server.config.get_stream_lease / 3
        renew_at = anyio.current_time() + renew_every
        while not runtime.closing:
            if sink.claim is not None and anyio.current_time() >= renew_at:
                # The GET stream's claim lives in the store, so another instance can tell it is taken.
                session_id = reader.key[0]
                assert session_id is not None
                if not await runtime.run(runtime.server.renew_claim(session_id, sink.claim)):
                    return  # taken over after our lease ran out: this reader ends
                renew_at = anyio.current_time() + renew_every
            batch = reader.take_nowait()
            if not batch:
                if reader.done:
                    return
                wait = min(runtime.keepalive, max(0.0, renew_at - anyio.current_time()) if sink.claim else math.inf)
                with anyio.move_on_after(wait) as idle:
                    batch = await reader.take()
                if idle.cancelled_caught:
                    if wait >= runtime.keepalive:
                        await transport.write(frame_comment("keep-alive"))
                    continue
                if not batch:
                    return
            batch = await self._fill_gap(reader, batch)
            if not batch:
                return  # the log lost the missing events: end here, without a hole (a resume gets 410)
            reader.delivered = batch[-1][0]
            # Everything queued goes out in one write; the stream's final events with its end.
            data = b"".join(data for _, data in batch)
            if reader.finished:
                last.append(data)
                return
            await transport.write(data)

    async def _fill_gap(self, reader: Reader, batch: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """Events missing before ``batch`` (published late, out of seq order), read from the log."""
        session_id, stream = reader.key
        if session_id is None or batch[0][0] <= reader.delivered + 1:
            return batch  # no gap, or a stream without a log (2026-07-28)
        runtime = self._runtime
        events, _final = await runtime.run(runtime.server.replay(session_id, stream, reader.delivered))
        if any(isinstance(e, SendResponse) for e in events):
            after = reader.delivered
            log.warning("stream %r of session %s ends: events after %d left the log", stream, session_id, after)
            reader.farewell = frame_comment(f"events after {after} are no longer retained")
            return []
        missing = [(e.seq, e.data) for e in events if isinstance(e, SendEvent) and e.seq < batch[0][0]]
        return missing + batch


def store_failure(exc: BaseException) -> str:
    """A store failure in one line, for logs and for the stream's farewell."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def cancels_on_disconnect(sink: Sink) -> bool:
    """Whether closing the client's connection cancels the request's handlers (2026-07-28)."""
    return any(exchange.cancel_on_disconnect for exchange in sink.exchanges)


async def _completed(work: Awaitable[None]) -> bool:
    await work
    return True


async def until_disconnected(transport: Transport, work: Awaitable[None]) -> bool:
    """Await ``work`` unless the client leaves first; True if it completed.

    One cancel scope, cancelled by the transport: no task per request.
    """
    with anyio.CancelScope() as scope:
        unregister = transport.on_disconnect(scope.cancel)
        try:
            await work
        finally:
            unregister()
        return True
    return False
