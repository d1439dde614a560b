"""The response to one POST that carried requests: JSON or an SSE stream.

The exchange answers ``application/json`` when every handler finished without
sending anything else first, and switches to ``text/event-stream`` the moment
a handler streams, notifies or asks the client something (a streaming tool
starts in SSE). In the handshake revisions every SSE event is appended to the
stream's log before it is delivered, so a client that drops can resume with
``Last-Event-ID``; stateless (2026-07-28) streams have no ids and no log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._config import Config
from ._errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    REQUEST_CANCELLED,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import Call, DisconnectStream, EndStream, Output, SendEvent, SendResponse, StartStream
from ._jsonrpc import ErrorResponse, Notification, Request, RequestId, Response, dumps, request_key
from ._mrtr import CAPABILITY_FOR, InputRequest, InputRequired, RequestState, missing_capability
from ._peer import Peer
from ._results import ToolError, chunk_blocks, tool_error_result
from ._results import text as text_block
from ._session import LOG_LEVELS
from ._sse import format_event_id, frame_event, frame_log_event
from ._state import EXCHANGE_TRANSITIONS, ExchangeEvent, ExchangeState, transition
from ._stateless_rules import CACHEABLE_METHODS, META_SERVER_INFO
from ._store import AppendEvent, AppendEvents, OpenStream, Plan, ReleaseRequest
from ._tasks import TaskFactory, TaskRun
from ._versions import has_priming

__all__ = ["Exchange", "CHUNK_META_KEY", "JSON_HEADERS", "sse_headers", "error_response"]

# Where a streamed chunk's content block travels inside notifications/progress.
CHUNK_META_KEY = "io.github.mcp-sansio/chunk"
_CHUNK_KEY_BYTES = CHUNK_META_KEY.encode()
JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
StandaloneSender = Callable[[Notification | Request], Plan[list[Output]]]
# What each kind of input answer must contain to be usable.
_ANSWER_KEYS = {"elicitation/create": "action", "sampling/createMessage": "content", "roots/list": "roots"}


def sse_headers(session_id: str | None) -> tuple[tuple[str, str], ...]:
    """Response headers of an SSE stream."""
    headers = [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache, no-transform"),
        ("x-accel-buffering", "no"),
    ]
    if session_id is not None:
        headers.append(("mcp-session-id", session_id))
    return tuple(headers)


def error_response(
    exc: ProtocolError, request_id: Any = None, headers: tuple[tuple[str, str], ...] = ()
) -> SendResponse:
    """The HTTP answer to a refused request: its status, and a JSON-RPC error body."""
    if exc.code is None:
        return SendResponse(exc.error_status_hint, headers)
    body = ErrorResponse(request_id, exc.code, exc.message, exc.data).to_json()
    return SendResponse(exc.error_status_hint, (*JSON_HEADERS, *headers), dumps(body))


def _no_standalone(message: Notification | Request) -> Plan[list[Output]]:
    return []
    yield  # pragma: no cover - makes this a generator


class Exchange:
    """The state of one POST's response; driven by the adapter as handlers run.

    Every method that may emit returns a plan (see :mod:`mcp_sansio._store`)
    whose result is the outputs to carry out, in order.
    """

    # One per POST: slots make it smaller and quicker to build.
    __slots__ = (
        "_answers",
        "_cache",
        "_chunks",
        "_collected",
        "_now",
        "_open",
        "_outgoing",
        "_progress",
        "_progress_head",
        "_request_state",
        "_seq",
        "_since_disconnect",
        "_standalone",
        "_status",
        "_stream",
        "batch",
        "config",
        "peer",
        "session_id",
        "state",
        "tasks",
    )

    def __init__(
        self,
        *,
        config: Config,
        peer: Peer,
        stream: str | Callable[[], str],
        requests: list[Request],
        batch: bool,
        now: Callable[[], float],
        standalone: StandaloneSender = _no_standalone,
        request_state: RequestState | None = None,
        cache: tuple[int, str] = (0, "private"),
    ) -> None:
        self.config = config
        self.peer = peer
        #: The handshake session this exchange belongs to (None when stateless).
        self.session_id: str | None = peer.session_id
        # A stream key is drawn only when a stream starts: most answers are plain JSON.
        self._stream: str | Callable[[], str] = stream
        self.batch = batch
        self.state = ExchangeState.PENDING
        self._now = now
        self._standalone = standalone
        self._request_state = request_state
        self._cache = cache
        self._open: dict[str, Request] = {request_key(r.id): r for r in requests}
        self._answers: list[Response | ErrorResponse] = []
        self._status = 200
        self._progress: dict[str, float] = {}
        self._progress_head: dict[str, bytes] = {}
        self._chunks: dict[str, list[dict[str, Any]]] = {}
        self._outgoing = 0
        self._seq = 0
        self._since_disconnect = 0
        # While chunks() runs: the data of the events it will append together.
        self._collected: list[bytes] | None = None
        # Set when a call of this exchange may become a task (a tool with task_start="manual").
        self.tasks: TaskFactory | None = None

    @property
    def stream(self) -> str:
        """The stream key of this exchange (unique within the session; drawn on first use)."""
        if not isinstance(self._stream, str):
            self._stream = self._stream()
        return self._stream


    @property
    def asks_in_rounds(self) -> bool:
        """Whether handlers get client input in rounds through :meth:`inputs` (2026-07-28).

        Otherwise (handshake) they send :meth:`server_request` on their stream and await it.
        """
        return self.peer.stateless

    @property
    def cancel_on_disconnect(self) -> bool:
        """Whether a client that closes the response cancels its handlers (2026-07-28 only)."""
        return self.peer.stateless

    def is_open(self, request_id: RequestId) -> bool:
        """Whether request ``request_id`` still awaits its response here."""
        return request_key(request_id) in self._open

    def refuse(self, error: ErrorResponse) -> None:
        """Add the answer to a batch entry that was refused before it could run."""
        self._answers.append(error)

    # -- stream plumbing ----------------------------------------------------

    def _resumable(self) -> bool:
        return not self.peer.stateless and has_priming(self.peer.protocol_version)

    def start_stream(self) -> Plan[list[Output]]:
        """Switch to SSE (if not yet): headers, and a priming event for 2025-11-25 clients."""
        if self.state is not ExchangeState.PENDING:
            return []
        if self.session_id is not None:
            yield OpenStream(self.session_id, self.stream, self._now(), self.config.max_streams_per_session)
        out = self._started()
        # Answers computed before the switch (built-in methods in a batch) go first.
        for answer in self._answers:
            out += yield from self._append(dumps(answer.to_json()), final=False)
        self._answers.clear()
        return out

    def _started(self) -> list[Output]:
        """The switch to SSE once the stream's log is open: its headers and priming event."""
        self.state = transition(EXCHANGE_TRANSITIONS, self.state, ExchangeEvent.START_STREAM)
        priming, close_after = None, None
        if self._resumable():
            event_id = format_event_id(self.stream, 0)
            priming = frame_event(b"", event_id=event_id, retry_ms=self.config.sse_retry_ms)
            close_after = self.config.sse_close_after_seconds
        headers = sse_headers(self.session_id)
        return [StartStream(self.session_id, self.stream, headers, priming, close_after)]

    def _append(self, data: bytes, *, final: bool, opens: bool = False) -> Plan[list[Output]]:
        # opens: the stream's log is not open yet; the append opens it (see AppendEvent.max_streams).
        if self.session_id is None:
            # Stateless streams are not resumable: no log, no event ids.
            self._seq += 1
            out: list[Output] = [SendEvent(None, self.stream, self._seq, frame_event(data))]
            if final:
                out.append(EndStream(None, self.stream, self._seq))
            return out
        if self._collected is not None and not final:
            self._collected.append(data)  # appended with the others of chunks(), numbered then
            return []
        config, stream = self.config, self.stream
        seq: int = yield AppendEvent(
            self.session_id,
            stream,
            data,
            self._now(),
            config.max_events_per_stream,
            config.max_event_age,
            final,
            config.finished_stream_age,
            config.max_streams_per_session if opens else None,
        )
        return self._appended(data, seq, final)

    def _appended(self, data: bytes, seq: int, final: bool) -> list[Output]:
        """The outputs of event ``seq`` once it is in the log."""
        session_id, stream = self.session_id, self.stream
        assert session_id is not None
        frame = frame_log_event(data, stream, seq)
        out: list[Output] = [SendEvent(session_id, stream, seq, frame)]
        if final:
            out.append(EndStream(session_id, stream, seq))
            return out
        budget = self.config.sse_close_after_events
        if budget is not None and self._resumable():
            self._since_disconnect += 1
            if self._since_disconnect >= budget:
                # Stream polling (SEP-1699): the client reconnects with Last-Event-ID.
                self._since_disconnect = 0
                out.append(DisconnectStream(session_id, stream))
        return out

    def _send(self, request_id: RequestId, message: Notification | Request) -> Plan[list[Output]]:
        if not self.is_open(request_id):
            # The request already has its response: its stream is done, so the
            # message goes to the session's standalone stream instead.
            return (yield from self._standalone(message))
        if (
            self.state is ExchangeState.PENDING
            and self.session_id is not None
            and self._collected is None
            and not self._answers
        ):
            # The stream's first event: one store command opens its log and appends the event,
            # and the client sees the priming event only once both are stored, as below.
            out = yield from self._append(dumps(message.to_json()), final=False, opens=True)
            return self._started() + out
        out = yield from self.start_stream()
        out += yield from self._append(dumps(message.to_json()), final=False)
        return out

    # -- what handlers do while they run ------------------------------------

    def notify(self, request_id: RequestId, method: str, params: dict[str, Any] | None) -> Plan[list[Output]]:
        """Send a notification related to request ``request_id``."""
        return (yield from self._send(request_id, Notification(method, params)))

    def log(self, request_id: RequestId, level: str, data: Any, logger: str | None) -> Plan[list[Output]]:
        """Send ``notifications/message`` if the client's log level lets it through."""
        if level not in LOG_LEVELS:
            raise LocalProtocolError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        if not self.peer.wants_log(level):
            return []
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return (yield from self.notify(request_id, "notifications/message", params))

    def progress(
        self, call: Call, progress: float, total: float | None, message: str | None, meta: dict[str, Any] | None = None
    ) -> Plan[list[Output]]:
        """Send ``notifications/progress`` for ``call``; nothing if the client gave no token.

        Raises:
            LocalProtocolError: ``progress`` does not increase.
        """
        if call.progress_token is None:
            return []
        key = request_key(call.request_id)
        last = self._progress.get(key)
        if last is not None and progress <= last:
            raise LocalProtocolError(f"progress must increase: {progress} after {last}")
        self._progress[key] = progress
        params: dict[str, Any] = {"progressToken": call.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        if meta is not None:
            params["_meta"] = meta
        return (yield from self.notify(call.request_id, "notifications/progress", params))

    def _require(self, method: str) -> None:
        capability = CAPABILITY_FOR.get(method)
        if capability is not None and not self.peer.has_capability(capability):
            if self.peer.stateless:
                raise missing_capability(capability)
            raise LocalProtocolError(f"the client did not declare the {capability!r} capability needed for {method}")

    def server_request(
        self, request_id: RequestId, method: str, params: dict[str, Any] | None
    ) -> Plan[tuple[str, list[Output]]]:
        """Send a request to the client on this request's stream (handshake); returns its id and the outputs.

        Raises:
            LocalProtocolError: the client did not declare the capability the
                method needs, or the exchange is stateless (use :meth:`inputs`).
        """
        if self.peer.stateless:
            raise LocalProtocolError("2026-07-28 has no server-to-client requests; ask through Exchange.inputs")
        self._require(method)
        self._outgoing += 1
        outgoing = f"{self.stream}-{self._outgoing}"
        out = yield from self._send(request_id, Request(outgoing, method, params))
        return outgoing, out

    def abandon_request(self, request_id: RequestId, outgoing: str, reason: str) -> Plan[list[Output]]:
        """Give up waiting for the answer to server request ``outgoing`` (sent for ``request_id``).

        The client is told with ``notifications/cancelled``, as the specification asks of a
        sender that times out; an answer that comes later is ignored.
        """
        params = {"requestId": outgoing, "reason": reason}
        return (yield from self.notify(request_id, "notifications/cancelled", params))

    def inputs(self, call: Call, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """The client's answers to ``requests`` (stateless revision), from this round or earlier ones.

        Raises:
            RemoteProtocolError: -32021 if the client lacks a needed capability,
                -32602 if an answer is malformed.
            InputRequired: some answers are missing; the handler's round ends here.
        """
        if not self.peer.stateless:
            raise LocalProtocolError("Exchange.inputs is for 2026-07-28; handshake sessions use server_request")
        if call.kind not in ("tool", "prompt", "resource"):
            # InputRequiredResult is only allowed on tools/call, prompts/get and resources/read.
            raise LocalProtocolError(f"a {call.kind} handler cannot ask the client for input")
        answers = call.answers or {}
        found: dict[str, dict[str, Any]] = {}
        for key, request in requests.items():
            self._require(request.method)
            answer = answers.get(key)
            if answer is None:
                continue
            required = _ANSWER_KEYS.get(request.method)
            if not isinstance(answer, dict) or (required is not None and required not in answer):
                raise RemoteProtocolError(
                    f"Invalid params: inputResponses[{key!r}] is not a {request.method} result", code=INVALID_PARAMS
                )
            found[key] = answer
        missing = {key: request for key, request in requests.items() if key not in found}
        if missing:
            raise InputRequired(missing, answers)
        return found

    def chunk(self, call: Call, value: Any) -> Plan[list[Output]]:
        """One chunk yielded by a streaming tool: its own event, now; kept for the final result."""
        key = request_key(call.request_id)
        chunks = self._chunks.get(key)
        if chunks is None:
            chunks = self._chunks[key] = []
        # Only the first chunk starts the stream: no generator per later chunk.
        out = (yield from self.start_stream()) if self.state is ExchangeState.PENDING else []
        if type(value) is str and call.progress_token is not None and key in self._open:
            # The hot path of a text-streaming tool: the same bytes the general path below
            # builds, without building and encoding the notification's dicts.
            blocks = [text_block(value)]
            chunks += blocks
            count = len(chunks)
            last = self._progress.get(key)
            if last is None or count > last:
                self._progress[key] = count
                head = self._progress_head.get(key)
                if head is None:  # the part every progress event of this request starts with
                    head = self._progress_head[key] = b"".join(
                        (
                            b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":',
                            dumps(call.progress_token),
                            b',"progress":',
                        )
                    )
                text = dumps(value)
                encoded = b"".join(
                    (
                        head,
                        str(count).encode(),
                        b',"message":',
                        text,
                        b',"_meta":{"',
                        _CHUNK_KEY_BYTES,
                        b'":{"type":"text","text":',
                        text,
                        b"}}}}",
                    )
                )
                out += yield from self._append(encoded, final=False)
                return out
        else:
            blocks = chunk_blocks(value)
            chunks.extend(blocks)
        before = len(chunks) - len(blocks)  # one progress step per block: a list yields several
        for index, block in enumerate(blocks, start=1):
            label = block.get("text") if block.get("type") == "text" else None
            if call.progress_token is not None:
                out += yield from self.progress(call, before + index, None, label, {CHUNK_META_KEY: block})
            elif self.peer.wants_log("info"):
                data = {"requestId": call.request_id, "chunk": block}
                params = {"level": "info", "logger": f"tool/{call.name}", "data": data}
                out += yield from self.notify(call.request_id, "notifications/message", params)
        return out

    def chunks(self, call: Call, values: list[Any]) -> Plan[list[Output]]:
        """Several chunks a streaming tool yielded, in order: :meth:`chunk` for each, one log append for all.

        The outputs are those of :meth:`chunk` for each value in turn; their events are
        appended to the stream's log with one :class:`AppendEvents`. Should a value be
        refused, the events of the chunks before it are appended before the error is raised.
        """
        out = yield from self.start_stream()
        if self.session_id is None or self._collected is not None:
            for value in values:  # no log to append to (stateless)
                out += yield from self.chunk(call, value)
            return out
        collected: list[bytes] = []
        self._collected = collected
        try:
            for value in values:
                out += yield from self.chunk(call, value)
        except Exception:
            self._collected = None
            out += yield from self._append_collected(collected)
            raise
        self._collected = None
        out += yield from self._append_collected(collected)
        return out

    def _append_collected(self, collected: list[bytes]) -> Plan[list[Output]]:
        if not collected:
            return []
        assert self.session_id is not None
        config = self.config
        first: int = yield AppendEvents(
            self.session_id,
            self.stream,
            tuple(collected),
            self._now(),
            config.max_events_per_stream,
            config.max_event_age,
        )
        out: list[Output] = []
        for offset, data in enumerate(collected):
            out += self._appended(data, first + offset if first else 0, False)
        return out

    def close_stream(self, request_id: RequestId) -> Plan[list[Output]]:
        """Close the client's connection to this request's stream, leaving the request running.

        Only for clients that can resume (2025-11-25: the stream starts with a
        priming event carrying an id and ``retry:``); for others it does nothing,
        since they could not get the rest. The handler's later events go to the
        log, and the client gets them with GET and ``Last-Event-ID``.
        """
        if not self._resumable() or not self.is_open(request_id) or self.session_id is None:
            return []
        out = yield from self.start_stream()
        out.append(DisconnectStream(self.session_id, self.stream))
        return out

    # -- endings -------------------------------------------------------------

    def complete(self, call: Call, value: Any) -> Plan[list[Output]]:
        """The handler for ``call`` returned ``value``: send its result.

        A streaming call's result is built from its chunks, so it completes with ``None``.

        Raises:
            LocalProtocolError: a streaming call completed with a value (it would be lost).
        """
        if call.streaming and value is not None:
            raise LocalProtocolError(
                f"streaming call {call.name!r} completes with None: its result is built from its chunks"
            )
        result = self._result(call, value)
        return (yield from self.respond(Response(call.request_id, result)))

    def fail(self, call: Call, exc: BaseException) -> Plan[list[Output]]:
        """The handler for ``call`` raised.

        Missing inputs become an ``InputRequiredResult``; protocol errors a
        JSON-RPC error; other tool failures an ``isError`` result; anything
        else an internal error.
        """
        if isinstance(exc, InputRequired):
            return (yield from self.respond(Response(call.request_id, self._input_required(call, exc))))
        if isinstance(exc, ProtocolError) and exc.code is not None:
            if self.peer.stateless and isinstance(exc, RemoteProtocolError):
                self._status = exc.error_status_hint
            answer: Response | ErrorResponse = ErrorResponse(call.request_id, exc.code, exc.message, exc.data)
        elif call.kind == "tool":
            message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
            answer = Response(call.request_id, tool_error_result(message))
        else:
            answer = ErrorResponse(call.request_id, INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}")
        return (yield from self.respond(answer))

    def cancelled(self, call: Call) -> Plan[list[Output]]:
        """The handler for ``call`` was stopped (client cancellation or disconnect): end its request.

        The client has stopped waiting, but the stream must still end after exactly one
        answer, so it gets a -32800 error that clients drop for a request they cancelled.
        """
        return (yield from self.respond(ErrorResponse(call.request_id, REQUEST_CANCELLED, "Request cancelled")))

    def start_task(self, call: Call) -> Plan[tuple[list[Output], TaskRun]]:
        """Turn ``call`` into a task now: store it, answer the request with its ``CreateTaskResult``.

        The outputs answer the request; the handler goes on reporting to the returned run.

        Raises:
            LocalProtocolError: This call cannot become a task (its tool does not support
                tasks, or the client did not declare the extension).
        """
        if self.tasks is None:
            raise LocalProtocolError(
                f"{call.name!r} cannot become a task: its tool does not support tasks or the client lacks the extension"
            )
        record, run = yield from self.tasks.create(call)
        self.tasks = None
        out = yield from self.respond(Response(call.request_id, record.created()))
        return out, run

    def interrupted(self, request_id: RequestId) -> Plan[list[Output]]:
        """The store failed while request ``request_id`` ran (or answered): end it with an error.

        Run it once the store answers again. What the handler sent since the failure
        is lost, and it may have failed halfway through :meth:`respond`, so this works
        from any point: the request is no longer open, its claim is released, and a
        stream gets one final error event to end on (a JSON answer was already given
        by the adapter: a 503).
        """
        key = request_key(request_id)
        self._open.pop(key, None)
        self._progress.pop(key, None)
        self._progress_head.pop(key, None)
        self._chunks.pop(key, None)
        if self.session_id is not None:
            yield ReleaseRequest(self.session_id, key)
        if self.state is not ExchangeState.STREAMING:
            return []
        message = "Internal error: the session store failed while this request ran; what it sent since then is lost"
        done = not self._open
        out = yield from self._append(dumps(ErrorResponse(request_id, INTERNAL_ERROR, message).to_json()), final=done)
        if done:
            self.state = transition(EXCHANGE_TRANSITIONS, self.state, ExchangeEvent.FINISH)
        return out

    def _input_required(self, call: Call, signal: InputRequired) -> dict[str, Any]:
        if self._request_state is None:
            raise LocalProtocolError("input requests need a stateless exchange with a request-state key")
        request = self._open[request_key(call.request_id)]
        state = self._request_state.seal(request.method, call.name, signal.answers, self._now())
        requests = {key: r.to_json() for key, r in signal.requests.items()}
        return {"resultType": "input_required", "inputRequests": requests, "requestState": state}

    def _result(self, call: Call, value: Any) -> dict[str, Any]:
        if call.streaming:
            # An async generator returns nothing: its result is every chunk it yielded.
            return {"content": self._chunks.pop(request_key(call.request_id), [])}
        result: dict[str, Any] = call.convert(value)
        if call.cache is not None and self.peer.stateless:
            result = {**result, "ttlMs": call.cache[0], "cacheScope": call.cache[1]}
        return result

    def _envelope(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        """A stateless result: ``resultType``, ``serverInfo`` in ``_meta``, cache hints where required."""
        out = dict(result)
        out.setdefault("resultType", "complete")
        meta = dict(out.get("_meta") or {})
        meta.setdefault(META_SERVER_INFO, self.peer.server_info)
        out["_meta"] = meta
        if method in CACHEABLE_METHODS and out["resultType"] == "complete":
            out.setdefault("ttlMs", self._cache[0])
            out.setdefault("cacheScope", self._cache[1])
        return out

    def respond(self, answer: Response | ErrorResponse) -> Plan[list[Output]]:
        """Send the response to one of this exchange's requests (exactly once)."""
        assert answer.id is not None
        key = request_key(answer.id)
        request = self._open.pop(key, None)
        if request is None:
            raise LocalProtocolError(f"request {answer.id!r} already has its response (or is not in this exchange)")
        self._progress.pop(key, None)
        self._progress_head.pop(key, None)
        if self.peer.stateless and isinstance(answer, Response):
            answer = Response(answer.id, self._envelope(request.method, answer.result))
        if self.session_id is not None:
            yield ReleaseRequest(self.session_id, key)
        done = not self._open
        if self.state is ExchangeState.STREAMING:
            out = yield from self._append(dumps(answer.to_json()), final=done)
            if done:
                self.state = transition(EXCHANGE_TRANSITIONS, self.state, ExchangeEvent.FINISH)
            return out
        self._answers.append(answer)
        if not done:
            return []
        self.state = transition(EXCHANGE_TRANSITIONS, self.state, ExchangeEvent.FINISH)
        payload: Any = [a.to_json() for a in self._answers] if self.batch else answer.to_json()
        headers = JSON_HEADERS if self.session_id is None else (*JSON_HEADERS, ("mcp-session-id", self.session_id))
        return [SendResponse(self._status, headers, dumps(payload))]
