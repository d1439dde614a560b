"""The response to one POST that carried requests: JSON or an SSE stream.

The exchange answers ``application/json`` when every handler finished without
sending anything else first, and switches to ``text/event-stream`` the moment
a handler streams, notifies or asks the client something (a streaming tool
starts in SSE). Every SSE event is appended to the stream's log before it is
delivered, so a client that drops can resume with ``Last-Event-ID``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._config import Config
from ._errors import INTERNAL_ERROR, LocalProtocolError, ProtocolError
from ._events import Call, DisconnectStream, EndStream, Output, SendEvent, SendResponse, StartStream
from ._jsonrpc import ErrorResponse, Notification, Request, RequestId, Response, dumps, id_key
from ._results import ToolError, chunk_blocks, tool_error_result
from ._session import LOG_LEVELS, SessionRecord
from ._sse import format_event_id, frame_event
from ._state import EXCHANGE_TRANSITIONS, ExchangeEvent, ExchangeState, transition
from ._store import AppendEvent, OpenStream, Plan, ReleaseRequest
from ._versions import has_priming

__all__ = ["Exchange", "CHUNK_META_KEY", "JSON_HEADERS", "sse_headers"]

# Where a streamed chunk's content block travels inside notifications/progress.
CHUNK_META_KEY = "io.github.mcp-sansio/chunk"
JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
_CAPABILITY_FOR = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"}
StandaloneSender = Callable[[Notification | Request], Plan[list[Output]]]


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


class Exchange:
    """The state of one POST's response; driven by the adapter as handlers run.

    Every method that may emit returns a plan (see :mod:`mcp_sansio._store`)
    whose result is the outputs to carry out, in order.
    """

    def __init__(
        self,
        *,
        config: Config,
        session: SessionRecord,
        stream: str,
        requests: list[Request],
        batch: bool,
        now: Callable[[], float],
        standalone: StandaloneSender,
    ) -> None:
        self.config = config
        self.session = session
        self.stream = stream
        self.batch = batch
        self.state = ExchangeState.PENDING
        self._now = now
        self._standalone = standalone
        self._open: dict[str, Request] = {id_key(r.id): r for r in requests}
        self._answers: list[Response | ErrorResponse] = []
        self._progress: dict[str, float] = {}
        self._chunks: dict[str, list[dict[str, Any]]] = {}
        self._outgoing = 0
        self._last_seq = 0

    @property
    def session_id(self) -> str:
        """The session this exchange belongs to."""
        return self.session.id

    def is_open(self, request_id: RequestId) -> bool:
        """Whether request ``request_id`` still awaits its response here."""
        return id_key(request_id) in self._open

    def refuse(self, error: ErrorResponse) -> None:
        """Add the answer to a batch entry that was refused before it could run."""
        self._answers.append(error)

    # -- stream plumbing ----------------------------------------------------

    def start_stream(self) -> Plan[list[Output]]:
        """Switch to SSE (if not yet): headers, and a priming event for 2025-11-25 clients."""
        if self.state is not ExchangeState.PENDING:
            return []
        self.state = transition(EXCHANGE_TRANSITIONS, self.state, ExchangeEvent.START_STREAM)
        yield OpenStream(self.session.id, self.stream)
        priming = None
        if has_priming(self.session.protocol_version):
            event_id = format_event_id(self.stream, 0)
            priming = frame_event(b"", event_id=event_id, retry_ms=self.config.sse_retry_ms)
        out: list[Output] = [StartStream(self.session.id, self.stream, sse_headers(self.session.id), priming)]
        # Answers computed before the switch (built-in methods in a batch) go first.
        for answer in self._answers:
            out += yield from self._append(dumps(answer.to_json()), final=False)
        self._answers.clear()
        return out

    def _append(self, data: bytes, *, final: bool) -> Plan[list[Output]]:
        seq: int = yield AppendEvent(
            self.session.id,
            self.stream,
            data,
            self._now(),
            self.config.max_events_per_stream,
            self.config.max_event_age,
            final,
        )
        self._last_seq = seq
        frame = frame_event(data, event_id=format_event_id(self.stream, seq))
        out: list[Output] = [SendEvent(self.session.id, self.stream, seq, frame)]
        if final:
            out.append(EndStream(self.session.id, self.stream, seq))
        return out

    def _send(self, request_id: RequestId, message: Notification | Request) -> Plan[list[Output]]:
        if not self.is_open(request_id):
            # The request already has its response: its stream is done, so the
            # message goes to the session's standalone stream instead.
            return (yield from self._standalone(message))
        out = yield from self.start_stream()
        out += yield from self._append(dumps(message.to_json()), final=False)
        return out

    # -- what handlers do while they run ------------------------------------

    def notify(self, request_id: RequestId, method: str, params: dict[str, Any] | None) -> Plan[list[Output]]:
        """Send a notification related to request ``request_id``."""
        return (yield from self._send(request_id, Notification(method, params)))

    def log(self, request_id: RequestId, level: str, data: Any, logger: str | None) -> Plan[list[Output]]:
        """Send ``notifications/message`` if the session's log level lets it through."""
        if level not in LOG_LEVELS:
            raise LocalProtocolError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        if not self.session.wants_log(level):
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
        key = id_key(call.request_id)
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

    def server_request(
        self, request_id: RequestId, method: str, params: dict[str, Any] | None
    ) -> Plan[tuple[str, list[Output]]]:
        """Send a request to the client on this request's stream; returns its id and the outputs.

        Raises:
            LocalProtocolError: the client did not declare the capability the method needs.
        """
        capability = _CAPABILITY_FOR.get(method)
        if capability is not None and not self.session.has_capability(capability):
            raise LocalProtocolError(f"the client did not declare the {capability!r} capability needed for {method}")
        self._outgoing += 1
        outgoing = f"{self.stream}-{self._outgoing}"
        out = yield from self._send(request_id, Request(outgoing, method, params))
        return outgoing, out

    def chunk(self, call: Call, value: Any) -> Plan[list[Output]]:
        """One chunk yielded by a streaming tool: its own event, now; kept for the final result."""
        blocks = chunk_blocks(value)
        self._chunks.setdefault(id_key(call.request_id), []).extend(blocks)
        out = yield from self.start_stream()
        for block in blocks:
            label = block.get("text") if block.get("type") == "text" else None
            if call.progress_token is not None:
                count = len(self._chunks[id_key(call.request_id)])
                out += yield from self.progress(call, count, None, label, {CHUNK_META_KEY: block})
            else:
                data = {"requestId": call.request_id, "chunk": block}
                out += yield from self.notify(
                    call.request_id,
                    "notifications/message",
                    {
                        "level": "info",
                        "logger": f"tool/{call.name}",
                        "data": data,
                    },
                )
        return out

    def close_stream(self, request_id: RequestId) -> Plan[list[Output]]:
        """Close the client's connection to this request's stream, leaving the request running.

        Only for clients that can resume (2025-11-25: the stream starts with a
        priming event carrying an id and ``retry:``); for others it does nothing,
        since they could not get the rest. The handler's later events go to the
        log, and the client gets them with GET and ``Last-Event-ID``.
        """
        if not has_priming(self.session.protocol_version) or not self.is_open(request_id):
            return []
        out = yield from self.start_stream()
        out.append(DisconnectStream(self.session.id, self.stream))
        return out

    # -- endings -------------------------------------------------------------

    def complete(self, call: Call, value: Any) -> Plan[list[Output]]:
        """The handler for ``call`` returned ``value``: send its result."""
        result = self._result(call, value)
        return (yield from self.respond(Response(call.request_id, result)))

    def fail(self, call: Call, exc: BaseException) -> Plan[list[Output]]:
        """The handler for ``call`` raised: a tool gets an ``isError`` result, others a JSON-RPC error."""
        if isinstance(exc, ProtocolError) and exc.code is not None:
            answer: Response | ErrorResponse = ErrorResponse(call.request_id, exc.code, exc.message, exc.data)
        elif call.kind == "tool":
            message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
            answer = Response(call.request_id, tool_error_result(message))
        else:
            answer = ErrorResponse(call.request_id, INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}")
        return (yield from self.respond(answer))

    def _result(self, call: Call, value: Any) -> dict[str, Any]:
        if call.streaming:
            # An async generator returns nothing: its result is every chunk it yielded.
            return {"content": self._chunks.pop(id_key(call.request_id), [])}
        return call.convert(value)

    def respond(self, answer: Response | ErrorResponse) -> Plan[list[Output]]:
        """Send the response to one of this exchange's requests (exactly once)."""
        assert answer.id is not None
        key = id_key(answer.id)
        if key not in self._open:
            raise LocalProtocolError(f"request {answer.id!r} already has its response (or is not in this exchange)")
        del self._open[key]
        self._progress.pop(key, None)
        yield ReleaseRequest(self.session.id, key)
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
        payload: Any = [a.to_json() for a in self._answers] if self.batch else self._answers[0].to_json()
        headers = (*JSON_HEADERS, ("mcp-session-id", self.session.id))
        return [SendResponse(200, headers, dumps(payload))]
