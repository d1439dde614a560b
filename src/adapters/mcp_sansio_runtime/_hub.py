"""Live delivery of stream events to the connections reading them (this process only).

Every event is in the stream's log before it reaches the hub, so the hub only
has to get it to a reader that is connected now. A reader's queue is bounded:
when it is full the producers wait (backpressure), unless the reader leaves.
Producers of one stream may publish out of seq order (a remote store's answers,
or several producers released at once); the reader hands events out in seq
order, and the runtime fills any gap from the log.
"""

from __future__ import annotations

from collections import deque

import anyio

__all__ = ["Hub", "Reader"]

Key = tuple[str | None, str]


class Reader:
    """One connection's view of one stream: a bounded queue of (seq, frame) pairs."""

    def __init__(self, hub: Hub, key: Key, limit: int, delivered: int) -> None:
        self._hub = hub
        self.key = key
        self.limit = limit
        self.delivered = delivered
        self.end_seq: int | None = None
        self.closed = False
        self.interrupted = False
        # Written last when the reader was disconnected because the store failed under it.
        self.farewell: bytes | None = None
        self._queue: deque[tuple[int, bytes]] = deque()
        self._readable = anyio.Event()
        self._writable = anyio.Event()

    async def put(self, seq: int, data: bytes) -> None:
        """Queue an event, waiting while the queue is full and the reader is still here."""
        while len(self._queue) >= self.limit and not self.closed:
            # Every waiting producer waits on the same event: replacing one that is not set
            # yet would strand the producers already waiting on it.
            if self._writable.is_set():
                self._writable = anyio.Event()
            await self._writable.wait()
        if self.closed:
            return
        self._queue.append((seq, data))
        self._readable.set()

    def end(self, last_seq: int) -> None:
        """The stream finishes with event ``last_seq``."""
        self.end_seq = last_seq
        self._readable.set()

    @property
    def finished(self) -> bool:
        """Whether every event up to the stream's end has been taken."""
        return self.end_seq is not None and self.delivered >= self.end_seq and not self._queue

    @property
    def done(self) -> bool:
        """Whether :meth:`take` would return nothing more (finished, closed or interrupted)."""
        return self.finished or self.closed or self.interrupted

    def take_nowait(self) -> list[tuple[int, bytes]]:
        """The queued events not delivered yet, in seq order, without waiting (possibly none).

        The caller writes them and then advances :attr:`delivered`.
        """
        if not self._queue:
            return []
        # One event may arrive twice (published here, and read back from the log by a broker).
        batch = sorted({seq: data for seq, data in self._queue if seq > self.delivered}.items())
        self._queue.clear()
        self._writable.set()
        return batch

    async def take(self) -> list[tuple[int, bytes]]:
        """Wait for events not delivered yet, in seq order; an empty list means the stream has finished."""
        while True:
            batch = self.take_nowait()
            if batch:
                return batch
            if self.done:
                return []
            self._readable = anyio.Event()
            await self._readable.wait()

    def disconnect(self, farewell: bytes | None = None) -> None:
        """End this reader's response after what it has queued (then ``farewell``); the stream goes on in the log."""
        self.farewell = farewell
        self.closed = True
        self._writable.set()
        self._readable.set()

    def interrupt(self) -> None:
        """Make :meth:`take` return what is queued and then nothing (server shutdown)."""
        self.interrupted = True
        self._readable.set()

    def close(self) -> None:
        """The connection is gone: release waiting producers and leave the hub."""
        self.closed = True
        self._writable.set()
        self._readable.set()
        self._hub.leave(self)


class Hub:
    """Readers by (session, stream)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._readers: dict[Key, list[Reader]] = {}

    def join(self, session_id: str | None, stream: str, delivered: int = -1) -> Reader:
        """Start reading ``stream``; events up to ``delivered`` will be skipped."""
        reader = Reader(self, (session_id, stream), self.limit, delivered)
        self._readers.setdefault(reader.key, []).append(reader)
        return reader

    def reader_count(self) -> int:
        """How many readers are connected."""
        return sum(len(readers) for readers in self._readers.values())

    def leave(self, reader: Reader) -> None:
        """Stop delivering to ``reader``."""
        readers = self._readers.get(reader.key)
        if readers is not None and reader in readers:
            readers.remove(reader)
            if not readers:
                del self._readers[reader.key]

    async def publish(self, session_id: str | None, stream: str, seq: int, data: bytes) -> None:
        """Deliver an event to the stream's current readers."""
        for reader in list(self._readers.get((session_id, stream), ())):
            await reader.put(seq, data)

    def end(self, session_id: str | None, stream: str, last_seq: int) -> None:
        """Tell the stream's readers it ends at ``last_seq``."""
        for reader in self._readers.get((session_id, stream), ()):
            reader.end(last_seq)

    def disconnect(self, session_id: str | None, stream: str) -> None:
        """End the responses of the stream's current readers (they may resume later)."""
        for reader in list(self._readers.get((session_id, stream), ())):
            reader.disconnect()

    def interrupt_all(self) -> None:
        """Interrupt every reader (server shutdown)."""
        for readers in self._readers.values():
            for reader in readers:
                reader.interrupt()

    def close_session(self, session_id: str) -> None:
        """Close every reader of the session's streams."""
        for key in [k for k in self._readers if k[0] == session_id]:
            for reader in list(self._readers.get(key, ())):
                reader.close()
