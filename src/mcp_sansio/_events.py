"""What the core tells an adapter to do.

Inputs are method calls on :class:`~mcp_sansio.Server` (a request head, a body,
a handler's result, a disconnect); outputs are these frozen values, named for
the action they ask for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._fastinit import fast_init
from ._jsonrpc import ErrorResponse, RequestId, Response

if TYPE_CHECKING:  # the exchange module builds these outputs, so it is imported for typing only
    from ._exchange import Exchange
    from ._tasks import TaskRun

__all__ = [
    "Header",
    "SendResponse",
    "StartStream",
    "SendEvent",
    "EndStream",
    "DisconnectStream",
    "RunHandler",
    "ResumeStream",
    "DeliverResponse",
    "CancelRequest",
    "SessionClosed",
    "RunTask",
    "CancelTask",
    "WaitTask",
    "Output",
    "Call",
]

Header = tuple[str, str]


@fast_init
@dataclass(frozen=True, slots=True)
class SendResponse:
    """Send this complete response on the connection that made the request."""

    status: int
    headers: tuple[Header, ...] = ()
    body: bytes = b""


@fast_init
@dataclass(frozen=True, slots=True)
class StartStream:
    """Send SSE response headers on the connection that made the request.

    Then deliver the events of ``stream`` (see :class:`SendEvent`) on it.

    ``priming``, when set, is a priming event (2025-11-25) to send right after
    the headers, to this connection only. ``close_after``, when set, is how many
    seconds to serve this connection before ending it (stream polling); the
    client resumes with ``Last-Event-ID``.
    """

    session_id: str | None
    stream: str
    headers: tuple[Header, ...]
    priming: bytes | None = None
    close_after: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class SendEvent:
    """Deliver ``data`` (one framed SSE event) to whoever reads ``stream`` now.

    ``seq`` orders events within the stream, counting from 1 (a priming event,
    seq 0, travels in :class:`StartStream` / :class:`ResumeStream` instead). Events
    can reach a reader out of order when producers are paused by backpressure or a
    remote store answers out of order: deliver them in ``seq`` order, filling a gap
    from :meth:`Server.replay`.
    """

    session_id: str | None
    stream: str
    seq: int
    data: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class EndStream:
    """``stream`` is complete: readers end their response once they have delivered ``last_seq``."""

    session_id: str | None
    stream: str
    last_seq: int


@fast_init
@dataclass(frozen=True, slots=True)
class DisconnectStream:
    """End the HTTP responses reading ``stream`` without finishing the stream (SEP-1699 polling).

    The client reconnects with GET and ``Last-Event-ID``; events keep going to the log meanwhile.
    """

    session_id: str
    stream: str


@fast_init
@dataclass(frozen=True, slots=True)
class ResumeStream:
    """Start an SSE response replaying ``stream`` after ``after``.

    The adapter first subscribes to the stream's live events, then runs
    :meth:`Server.replay` and delivers its events, then the live ones it has
    not delivered yet (by ``seq``), so nothing is lost or repeated.

    ``claim``, on the session's GET stream, names this reader's claim on it: renew it
    with :meth:`Server.renew_claim` while the stream is open (well within
    ``Config.get_stream_lease``) and pass it to :meth:`Server.stream_detached` at the end.

    ``named``: the client named ``after`` (``Last-Event-ID``), so the replay must hold
    every event after it; a plain GET's ``after`` is where the last reader stopped, and
    events the log evicted since are skipped (pass it to :meth:`Server.replay`).
    """

    session_id: str
    stream: str
    after: int
    headers: tuple[Header, ...]
    priming: bytes | None = None
    close_after: float | None = None
    claim: str | None = None
    named: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class Call:
    """One user handler invocation the adapter must run.

    Attributes:
        request_id: The JSON-RPC id of the request it serves.
        kind: ``tool``, ``resource``, ``prompt`` or ``completion``.
        fn: The function to call (a coroutine function or an async generator function).
        kwargs: The keyword arguments to call it with (the context excluded).
        context_param: The name of the parameter that wants the Context, if any.
        streaming: Whether ``fn`` is an async generator (a streaming tool).
        progress_token: The client's progress token, if it sent one.
        name: The tool, prompt or resource URI being served (for messages).
        convert: Turns the handler's return value into the MCP result object.
        answers: Input responses collected so far (stateless revision); None in a handshake session.
        cache: (ttlMs, cacheScope) for the result, where the revision wants cache hints.
    """

    request_id: RequestId
    kind: str
    fn: Any
    kwargs: dict[str, Any]
    context_param: str | None = None
    streaming: bool = False
    progress_token: str | int | None = None
    name: str = ""
    convert: Callable[[Any], dict[str, Any]] = field(default=dict, compare=False, repr=False)
    answers: dict[str, Any] | None = None
    cache: tuple[int, str] | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class RunHandler:
    """Run ``call`` and report back through ``exchange``.

    ``exchange`` is a live handle, not a value: the :class:`~mcp_sansio.Exchange`
    of the POST that the call belongs to. Report each thing the handler does to it
    (``chunk``, ``log``, ``progress``, ``complete``, ``fail``, ``cancelled``...);
    each report returns a plan whose result is more outputs to carry out.
    """

    call: Call
    exchange: Exchange = field(compare=False)


@fast_init
@dataclass(frozen=True, slots=True)
class DeliverResponse:
    """The client answered server-to-client request ``request_id``: wake its waiter."""

    session_id: str
    request_id: RequestId
    message: Response | ErrorResponse


@fast_init
@dataclass(frozen=True, slots=True)
class CancelRequest:
    """The client cancelled request ``request_id``: stop its handler (closing a generator)."""

    session_id: str
    request_id: RequestId
    reason: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session ended (DELETE or idle): stop its handlers and close its streams."""

    session_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class RunTask:
    """Run ``call`` in the background as task ``run.task_id``, reporting to ``run``.

    Keep the run's lease (``run.renew()`` every third of ``Config.task_lease``) while it
    works, and stop it when renewing says the task no longer wants it.
    """

    call: Call
    run: TaskRun


@fast_init
@dataclass(frozen=True, slots=True)
class CancelTask:
    """Task ``task_id`` was cancelled: stop its tool if it runs here (elsewhere, its next renewal stops it)."""

    task_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class WaitTask:
    """Answer ``tasks/result`` request ``request_id`` (2025-11-25) once task ``task_id`` is over.

    Drive it with :meth:`Server.task_result`: call it now, then again every ``poll``
    seconds, and sooner when a run of the task on this runtime ends or is cancelled,
    until its step is done. The core decides everything else: when to give up, and
    which input requests of the task to send the client on this request's stream (a
    step's ``ask``: await the client's answer to it, then pass it to :meth:`Server.task_input`).
    Stop waiting when the request is cancelled (``notifications/cancelled``, the session's
    end), and tell :meth:`Server.task_result` so with ``cancelled=True``.

    Attributes:
        task_id: The task.
        request_id: The ``tasks/result`` request's id.
        exchange: The request's exchange (its answer, and the input requests, go there).
        poll: Seconds between two looks at the task's record.
        until: The core's clock reading after which the wait gives up with an error.
        waiter: Names this wait (its claim on the task while it asks the client).
    """

    task_id: str
    request_id: RequestId
    exchange: Exchange = field(compare=False)
    poll: float
    until: float
    waiter: str


Output = (
    SendResponse
    | StartStream
    | SendEvent
    | EndStream
    | DisconnectStream
    | ResumeStream
    | RunHandler
    | DeliverResponse
    | CancelRequest
    | SessionClosed
    | RunTask
    | CancelTask
    | WaitTask
)
