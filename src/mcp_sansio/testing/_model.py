"""What the machine knows, as the client and as the runtime: connections, requests, streams, sessions.

Everything the server emitted is kept here, so every later answer can be checked
against it: a resume against the events of that stream, a 404 against what the
client knows about the session, a 429 against the requests still in flight.
Session expiry is modelled with bounds, since the core refreshes ``last_seen`` at
most once a second: a session is *surely alive*, *surely gone*, or in between
(where either answer is right, and the first 404 settles it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp_sansio import Config, RequestId, SendResponse

from ._requests import Expect

__all__ = ["Connection", "RequestRecord", "StreamLog", "SessionModel", "ServerRequest", "Retry"]


@dataclass(eq=False)
class Connection:
    """One HTTP request and its response (JSON, or an SSE stream that stays open a while).

    Attributes:
        number: Its number in the transcript (``#3``).
        method: The HTTP method.
        session: The session id it carried (None: none, or stateless).
        modeled: Whether the machine built it and knows what it asks (False for junk).
        requests: Its JSON-RPC requests, by request key.
        status: The status it was answered with (200 for a stream), None while waiting.
        stream: The stream it reads, for an SSE answer.
        open: Whether the client is still connected (reading a stream or waiting).
        delivered: The last seq delivered on it.
        seen: Every seq delivered on it, in order, and the priming id's seq.
        opened_at: When its stream opened (for ``close_after``).
        close_after: Seconds after which the server ends it (stream polling), or None.
        plain_get: A GET without ``Last-Event-ID`` (its replay may miss evicted events).
        response: The complete response it got, if any.
        claim: Its claim on the session's GET stream (renewed while open, released at the end).
    """

    number: int
    method: str
    session: str | None
    modeled: bool = True
    requests: dict[str, RequestRecord] = field(default_factory=dict)
    status: int | None = None
    stream: StreamLog | None = None
    open: bool = True
    delivered: int = 0
    seen: list[int] = field(default_factory=list)
    opened_at: float = 0.0
    close_after: float | None = None
    plain_get: bool = False
    response: SendResponse | None = None
    claim: str | None = None

    @property
    def waiting(self) -> bool:
        """Whether it has no answer yet."""
        return self.status is None


@dataclass(eq=False)
class RequestRecord:
    """One JSON-RPC request the client sent, and how often it was answered."""

    session: str | None
    id: RequestId
    method: str
    conn: Connection
    expect: Expect | None
    body: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    answers: int = 0
    progress_token: str | None = None


@dataclass(eq=False)
class StreamLog:
    """Every event the server emitted on one stream, in emission order.

    Attributes:
        session: Its session (None: a stateless stream, without ids or log).
        key: Its key (``"0"``: the session's GET stream).
        events: (seq, frame, time emitted).
        ended: Whether an ``EndStream`` came.
        ended_at: When.
        readers: The connections reading it now.
        requests: The requests whose responses travel on it (none for GET and listen streams).
        resumable: Whether its event ids can be resumed (a handshake session's stream).
    """

    session: str | None
    key: str
    events: list[tuple[int, bytes, float]] = field(default_factory=list)
    ended: bool = False
    ended_at: float = 0.0
    readers: list[Connection] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    resumable: bool = True
    listen: bool = False
    modeled: bool = True

    @property
    def last_seq(self) -> int:
        """The seq of its newest event (0: none yet)."""
        return self.events[-1][0] if self.events else 0

    @property
    def where(self) -> str:
        """How the transcript names it."""
        return f"stream {self.key}" + (f" of {self.session}" if self.session else " (stateless)")

    def after(self, seq: int) -> list[tuple[int, bytes]]:
        """The events after ``seq``: what a resume from ``seq`` must deliver."""
        return [(s, frame) for s, frame, _ in self.events if s > seq]

    def may_be_gone(self, now: float, config: Config, streams_in_session: int) -> bool:
        """Whether its log may have been dropped (finished long ago, or pushed out by newer streams)."""
        return self.ended and (
            now >= self.ended_at + config.finished_stream_age or streams_in_session >= config.max_streams_per_session
        )

    def may_have_lost(self, seq: int, now: float, config: Config) -> bool:
        """Whether the event after ``seq`` may have been evicted (too old, or too many since)."""
        following = [t for s, _, t in self.events if s == seq + 1]
        if not following:
            return False
        return now - following[0] > config.max_event_age or self.last_seq - seq > config.max_events_per_stream


@dataclass(eq=False)
class ServerRequest:
    """A request the server sent to the client (elicitation, sampling, roots), not yet answered."""

    session: str
    id: RequestId
    method: str


@dataclass(eq=False)
class Retry:
    """A stateless request answered with ``input_required``: what the client retries with."""

    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...]
    requests: dict[str, Any]
    state: Any


@dataclass(eq=False)
class SessionModel:
    """A handshake session, as far as the client can tell.

    Attributes:
        id: Its ``Mcp-Session-Id``.
        version: The negotiated protocol version.
        capabilities: What the client declared.
        dead: Known to be gone (deleted, expired, or answered 404).
        fresh_at: When a request surely refreshed its ``last_seen`` (to within a second).
        touched_at: When a request last may have refreshed it.
        in_flight: Its requests without a response yet, by request key.
        streams: Its streams, by key.
        next_id: The next request id the client uses.
        get_cursor: How far its previous GET readers got on stream ``"0"``.
    """

    id: str
    version: str
    capabilities: dict[str, Any]
    dead: bool = False
    fresh_at: float = 0.0
    touched_at: float = 0.0
    in_flight: dict[str, RequestRecord] = field(default_factory=dict)
    streams: dict[str, StreamLog] = field(default_factory=dict)
    next_id: int = 1
    get_cursor: int = 0

    def alive(self, now: float, config: Config) -> bool:
        """Surely still stored: not ended, and refreshed recently enough."""
        return not self.dead and now - self.fresh_at + 1.0 <= config.session_idle_timeout

    def gone(self, now: float, config: Config) -> bool:
        """Surely ended: deleted, or idle past the timeout whatever the refresh grain."""
        return self.dead or now - self.touched_at > config.session_idle_timeout

    def refreshed(self, now: float) -> None:
        """A request surely loaded (and, if due, refreshed) the session."""
        self.fresh_at = max(self.fresh_at, now)
        self.touched_at = max(self.touched_at, now)

    def get_readers(self) -> list[Connection]:
        """The open readers of its GET stream."""
        log = self.streams.get("0")
        return list(log.readers) if log is not None else []
