"""The runtime's broker over Redis: the event logs themselves, and one bus stream for the rest.

Theory of operation: live events reach readers on other instances by reading the logs
(Redis Streams) with one blocking ``XREAD`` per instance over every stream a local reader
follows, from the last seq it delivered, so nothing is fire-and-forget: an event is in the
log before anyone can read it, entries come in seq order, and a reader that joins after a
replay misses nothing (the runtime joins, then replays, then follows). Everything else an
instance must tell the others (an answer to a server-to-client request, a cancellation, a
session's end, a stream polling disconnect, a ``list_changed`` for listen streams) is one
entry of the bus stream ``P bus`` (trimmed to about ``max_bus`` entries, expiring ``bus_ttl``
seconds after its last entry), read by the same
``XREAD`` from the last id seen, so each instance gets each entry once, in order, and a
reconnect resumes where it stopped. An instance skips its own entries. The loop's blocking
read wakes every ``block_ms`` to pick up streams that local readers started following.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from mcp_sansio import (
    CancelRequest,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    ErrorResponse,
    Response,
    SendEvent,
    SessionClosed,
)
from mcp_sansio_runtime import Appended, ListChanged, Reader, ResourceUpdated, Signal

from ._client import RedisClient
from ._layout import EVENT_DATA, EVENT_FINAL, KeyLayout, event_seq
from ._resp import RedisStoreError, ReplyError

__all__ = ["RedisBroker"]

log = logging.getLogger("mcp_sansio.redis")


class RedisBroker:
    """Connects the runtimes that share one Redis prefix.

    Args:
        client: The Redis client (share the store's: ``RedisBroker(store.client, store.prefix)``).
        prefix: The key prefix of the deployment's store.
        block_ms: How long one blocking read waits; new follows are picked up this often.
        max_bus: About how many bus entries Redis keeps (enough for the slowest instance to catch up).
        bus_ttl: Seconds the bus key lives after its last entry.
    """

    shares = True

    def __init__(
        self, client: RedisClient, prefix: str, *, block_ms: int = 200, max_bus: int = 10_000, bus_ttl: float = 3600.0
    ) -> None:
        self.client = client
        self.keys = KeyLayout(prefix)
        self.bus = f"{prefix}bus"
        self.block_ms = block_ms
        self.max_bus = max_bus
        self.bus_ttl = bus_ttl
        self.origin = secrets.token_hex(8)
        # Followed streams: (session, stream) -> [readers, position (last seq read from the log)].
        self._followed: dict[tuple[str, str], tuple[list[Reader], int]] = {}

    # -- sending -------------------------------------------------------------------

    async def share(self, signal: Signal) -> None:
        """Put a signal on the bus (events and stream ends travel in the logs instead)."""
        if isinstance(signal, (SendEvent, EndStream, Appended)):
            return
        body = json.dumps(_encode(signal)).encode()
        replies = await self.client.pipeline(
            [
                ("XADD", self.bus, "MAXLEN", "~", self.max_bus, "*", "o", self.origin, "s", body),
                ("PEXPIRE", self.bus, int(self.bus_ttl * 1000)),  # like every key, it ends when unused
            ]
        )
        for reply in replies:
            if isinstance(reply, ReplyError):
                raise RedisStoreError(f"the broker could not share {type(signal).__name__}: {reply}")

    # -- following logs ------------------------------------------------------------------

    def follow(self, reader: Reader) -> None:
        """Tail the reader's stream from what it has delivered."""
        session_id, stream = reader.key
        assert session_id is not None
        readers, position = self._followed.get((session_id, stream), ([], reader.delivered))
        readers.append(reader)
        self._followed[(session_id, stream)] = (readers, min(position, max(reader.delivered, 0)))

    def unfollow(self, reader: Reader) -> None:
        """Stop tailing once the stream has no local reader."""
        session_id, stream = reader.key
        assert session_id is not None
        entry = self._followed.get((session_id, stream))
        if entry is None:
            return
        readers, _ = entry
        if reader in readers:
            readers.remove(reader)
        if not readers:
            del self._followed[(session_id, stream)]

    # -- receiving -------------------------------------------------------------------

    async def run(self, receive: Callable[[Signal], Awaitable[None]]) -> None:
        """Read the bus and the followed logs until cancelled; reconnects by itself after a failure."""
        last_bus = await self._bus_end()
        while True:
            try:
                async with self.client.connection() as conn:
                    while True:
                        last_bus = await self._read_once(conn, last_bus, receive)
            except RedisStoreError as exc:  # Redis went away: try again, from where we stopped
                log.warning("broker lost Redis (%s); retrying", exc)
                await anyio.sleep(1.0)

    async def _bus_end(self) -> bytes:
        while True:
            try:
                reply = await self.client.execute("XREVRANGE", self.bus, "+", "-", "COUNT", 1)
            except RedisStoreError as exc:
                log.warning("broker cannot reach Redis (%s); retrying", exc)
                await anyio.sleep(1.0)
                continue
            return bytes(reply[0][0]) if reply else b"0-0"

    async def _read_once(self, conn: Any, last_bus: bytes, receive: Callable[[Signal], Awaitable[None]]) -> bytes:
        followed = list(self._followed.items())
        keys = [self.bus] + [self.keys.log(sid, stream) for (sid, stream), _ in followed]
        ids = [last_bus] + [f"{position}-0".encode() for _, (_, position) in followed]
        reply = await conn.call("XREAD", "BLOCK", self.block_ms, "STREAMS", *keys, *ids, timeout=None)
        if not reply:
            return last_bus
        by_key = {bytes(key): entries for key, entries in _pairs(reply)}
        for (sid, stream), _ in followed:
            for entry_id, fields in by_key.get(self.keys.log(sid, stream).encode(), ()):
                seq = event_seq(bytes(entry_id))
                current = self._followed.get((sid, stream))
                if current is not None:
                    self._followed[(sid, stream)] = (current[0], max(current[1], seq))
                values = _fields(fields)
                await receive(Appended(sid, stream, seq, values.get(EVENT_DATA, b""), EVENT_FINAL in values))
        for entry_id, fields in by_key.get(self.bus.encode(), ()):
            last_bus = bytes(entry_id)
            values = _fields(fields)
            if values.get(b"o") == self.origin.encode():
                continue  # our own signal: applied here already
            try:
                signal = _decode(json.loads(values[b"s"]))
            except (KeyError, ValueError, TypeError):
                log.warning("broker skipped a malformed bus entry %r", entry_id)
                continue
            await receive(signal)
        return last_bus


def _pairs(reply: Any) -> list[tuple[Any, Any]]:
    # RESP2 answers XREAD with a list of [key, entries]; RESP3 with a map.
    return list(reply.items()) if isinstance(reply, dict) else [(item[0], item[1]) for item in reply]


def _fields(flat: Any) -> dict[bytes, bytes]:
    return {bytes(flat[i]): bytes(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _encode(signal: Signal) -> dict[str, Any]:
    if isinstance(signal, DeliverResponse):
        return {"t": "deliver", "sid": signal.session_id, "rid": signal.request_id, "m": signal.message.to_json()}
    if isinstance(signal, CancelRequest):
        return {"t": "cancel", "sid": signal.session_id, "rid": signal.request_id, "r": signal.reason}
    if isinstance(signal, SessionClosed):
        return {"t": "closed", "sid": signal.session_id}
    if isinstance(signal, DisconnectStream):
        return {"t": "disconnect", "sid": signal.session_id, "st": signal.stream}
    if isinstance(signal, ListChanged):
        return {"t": "list_changed", "k": signal.kind}
    if isinstance(signal, ResourceUpdated):
        return {"t": "resource_updated", "u": signal.uri}
    raise TypeError(f"not a bus signal: {signal!r}")


def _decode(value: dict[str, Any]) -> Signal:
    kind = value["t"]
    if kind == "deliver":
        m = value["m"]
        message: Response | ErrorResponse = (
            Response(m["id"], m["result"])
            if "result" in m
            else ErrorResponse(m["id"], m["error"]["code"], m["error"]["message"], m["error"].get("data"))
        )
        return DeliverResponse(value["sid"], value["rid"], message)
    if kind == "cancel":
        return CancelRequest(value["sid"], value["rid"], value.get("r"))
    if kind == "closed":
        return SessionClosed(value["sid"])
    if kind == "disconnect":
        return DisconnectStream(value["sid"], value["st"])
    if kind == "list_changed":
        return ListChanged(value["k"])
    if kind == "resource_updated":
        return ResourceUpdated(value["u"])
    raise ValueError(f"unknown bus signal {kind!r}")
