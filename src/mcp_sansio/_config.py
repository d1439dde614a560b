"""The core's configuration: every limit in one validated, immutable object."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Config"]


@dataclass(frozen=True, slots=True)
class Config:
    """Limits and policies of a server built on the core.

    Attributes:
        max_body_size: Largest request body accepted, in bytes (413 beyond).
        max_header_count: Most request headers accepted (431 beyond).
        max_header_size: Largest total size of the request headers in bytes (431 beyond).
        max_in_flight: Most concurrent requests one session may have running (429 beyond).
        max_events_per_stream: Events kept per stream for replay; older ones are evicted.
        max_event_age: Seconds an event is kept for replay.
        max_streams_per_session: Event logs kept per session; beyond it the oldest
            finished streams are dropped (streams still running are never dropped).
        finished_stream_age: Seconds a finished stream stays resumable.
        max_queue_events: Events buffered for one connected SSE reader before the
            producer is paused (backpressure).
        max_sessions: Most live sessions (503 beyond).
        session_idle_timeout: Seconds after which an idle session expires.
        allowed_origins: Origins accepted besides loopback ones (``Origin`` header).
        allowed_hosts: Host names accepted besides loopback ones (``Host`` header).
            Leave empty to skip the Host check, which is what a server bound
            to a public interface behind its own allow-list wants.
        validate_loopback: Check Origin/Host against loopback names (DNS-rebinding
            protection); the bundled server enables it when bound to loopback.
        sse_retry_ms: ``retry:`` advice sent on priming events (2025-11-25 clients).
        sse_close_after_events: Close a client's connection to a stream after this many
            events (stream polling, SEP-1699); it resumes with GET and ``Last-Event-ID``.
            Only for 2025-11-25 clients, which can resume. None keeps streams open.
        sse_close_after_seconds: Likewise, after this many seconds of one connection.
        single_get_stream: Refuse (409) a second concurrent GET stream per session.
        get_stream_lease: Seconds a GET stream's claim lasts unless its reader renews it
            (the runtime does, while the stream is open): after an instance dies, its
            session's GET stream is free again this long afterwards.
        page_size: Items per page of list results.
        server_request_timeout: Seconds a handler waits for the client's answer to a
            server-to-client request (elicitation, sampling, roots) before giving up; the
            client then gets ``notifications/cancelled`` for it. Also the longest a
            2025-11-25 ``tasks/result`` waits for its task (then it answers -32603 and the
            client asks again).
        max_json_depth: The deepest nesting of arrays and objects a body may have (-32700 beyond).
        task_ttl: Seconds a task is kept after its creation (its ``ttlMs``); in 2025-11-25, the
            longest ``ttl`` a client may ask for (and the default).
        task_poll_interval: Seconds clients are told to wait between polls (``pollIntervalMs``,
            ``pollInterval``); also how often a 2025-11-25 ``tasks/result`` looks at a task
            that runs on another instance.
        task_lease: Seconds a runtime's claim on a running task lasts unless renewed (it renews
            every third of it); past it, another runtime restarts or fails the task as its tool
            declares.
    """

    max_body_size: int = 4 * 1024 * 1024
    max_header_count: int = 100
    max_header_size: int = 16 * 1024
    max_in_flight: int = 64
    max_events_per_stream: int = 10_000
    max_event_age: float = 3600.0
    max_streams_per_session: int = 256
    finished_stream_age: float = 60.0
    max_queue_events: int = 256
    max_sessions: int = 10_000
    session_idle_timeout: float = 3600.0
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    validate_loopback: bool = True
    sse_retry_ms: int = 1000
    sse_close_after_events: int | None = None
    sse_close_after_seconds: float | None = None
    single_get_stream: bool = True
    get_stream_lease: float = 60.0
    page_size: int = 100
    server_request_timeout: float = 300.0
    max_json_depth: int = 64
    task_ttl: float = 3600.0
    task_poll_interval: float = 0.5
    task_lease: float = 30.0

    def __post_init__(self) -> None:
        positive = {
            "max_body_size": self.max_body_size,
            "max_header_count": self.max_header_count,
            "max_header_size": self.max_header_size,
            "max_in_flight": self.max_in_flight,
            "max_events_per_stream": self.max_events_per_stream,
            "max_event_age": self.max_event_age,
            "max_streams_per_session": self.max_streams_per_session,
            "finished_stream_age": self.finished_stream_age,
            "max_queue_events": self.max_queue_events,
            "max_sessions": self.max_sessions,
            "session_idle_timeout": self.session_idle_timeout,
            "sse_retry_ms": self.sse_retry_ms,
            "page_size": self.page_size,
            "get_stream_lease": self.get_stream_lease,
            "server_request_timeout": self.server_request_timeout,
            "max_json_depth": self.max_json_depth,
            "task_ttl": self.task_ttl,
            "task_poll_interval": self.task_poll_interval,
            "task_lease": self.task_lease,
        }
        for name, value in positive.items():
            # `not value > 0` also refuses NaN, which compares false with everything.
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Config.{name} must be a positive number, got {value!r}")
        if self.sse_close_after_events is not None and self.sse_close_after_events < 1:
            raise ValueError("Config.sse_close_after_events must be None or at least 1")
        if self.sse_close_after_seconds is not None and not self.sse_close_after_seconds > 0:
            raise ValueError("Config.sse_close_after_seconds must be None or positive")
        object.__setattr__(self, "allowed_origins", frozenset(self.allowed_origins))
        object.__setattr__(self, "allowed_hosts", frozenset(h.lower() for h in self.allowed_hosts))
