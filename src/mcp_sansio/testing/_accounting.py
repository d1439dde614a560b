"""Who answered what: responses matched to the requests that asked, stream by stream.

A JSON answer must hold one response for each request of its POST; an SSE stream
must carry one response for each request it serves, and no response for a request
it does not serve; a refusal answers every request of the POST at once. Each
response is checked against what the request expected, and the request is then no
longer in flight. Messages on a stream are classified on the way: server requests
wait for the client's answer, progress must name a token of this client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

from mcp_sansio import SESSION_NOT_FOUND, Config, RequestId, SendResponse, request_key

from ._checks import event_problem, json_body
from ._model import Connection, RequestRecord, Retry, ServerRequest, SessionModel, StreamLog
from ._transcript import ProtocolViolation, Transcript

__all__ = ["Accounting"]


def _key(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return request_key(value)


class Accounting:
    """The bookkeeping half of the runtime: sessions, streams, requests and their answers."""

    def __init__(self, transcript: Transcript, config: Config, clock: Callable[[], float]) -> None:
        self.transcript = transcript
        self.config = config
        self._clock = clock
        self.sessions: dict[str, SessionModel] = {}
        self.stateless_streams: dict[str, StreamLog] = {}
        self.server_requests: list[ServerRequest] = []
        self.retries: list[Retry] = []
        self.tokens: dict[str, RequestRecord] = {}

    def violation(self, problem: str) -> NoReturn:
        """Stop the run: the server broke the protocol."""
        raise ProtocolViolation(problem, self.transcript)

    def now(self) -> float:
        """The machine's clock."""
        return self._clock()

    def note(self, text: str) -> None:
        """Add a line to the transcript."""
        self.transcript.note(text)

    # -- streams ------------------------------------------------------------------------

    def log_for(self, session_id: str | None, key: str) -> StreamLog | None:
        """The model of a stream (a session's GET stream is created on first use)."""
        if session_id is None:
            return self.stateless_streams.get(key)
        session = self.sessions.get(session_id)
        if session is None:
            return None
        log = session.streams.get(key)
        if log is None and key == "0":
            log = session.streams[key] = StreamLog(session_id, key)
        return log

    def open_log(self, session_id: str | None, key: str, conn: Connection) -> StreamLog:
        """The model of a stream a POST just started."""
        log = StreamLog(session_id, key, modeled=conn.modeled, resumable=session_id is not None)
        log.requests = [r for r in conn.requests.values() if r.answers == 0]
        log.listen = any(r.expect is not None and r.expect.listen for r in log.requests)
        if session_id is None:
            old = self.stateless_streams.get(key)
            if old is not None and not old.ended and old.readers:
                self.violation(f"two open stateless streams share the key {key!r}: their events would mix")
            self.stateless_streams[key] = log
            return log
        session = self.sessions.get(session_id)
        if session is None:
            self.violation(f"a stream for session {session_id}, which was never initialized")
        if key in session.streams:
            self.violation(
                f"stream key {key!r} reused in session {session_id}: event ids {key}-N would name two streams"
            )
        session.streams[key] = log
        return log

    def classify(self, log: StreamLog, frame: bytes, seq: int) -> None:
        """Check one event's frame and account for the JSON-RPC message it carries."""
        expected_id = f"{log.key}-{seq}" if log.session is not None else None
        problem, message = event_problem(frame, expected_id)
        if problem is not None:
            self.violation(f"{log.where}: {problem}")
        method = message.get("method")
        if isinstance(method, str) and "id" in message:
            if log.session is None:
                self.violation(f"{log.where} carries a server-to-client request; 2026-07-28 has none")
            self.server_requests.append(ServerRequest(log.session, message["id"], method))
        elif isinstance(method, str):
            self._notification(log, message)
        elif log.modeled:
            record = next((r for r in log.requests if _key(message.get("id")) == request_key(r.id)), None)
            if record is None:
                rid = message.get("id")
                self.violation(f"{log.where} carries a response to id {rid!r}, a request it does not serve")
            self.answered(record, message, None)

    def _notification(self, log: StreamLog, message: dict[str, Any]) -> None:
        params = message.get("params")
        token = params.get("progressToken") if isinstance(params, dict) else None
        if message.get("method") != "notifications/progress" or token is None or not log.modeled:
            return
        record = self.tokens.get(json.dumps(token))
        mine = record is not None and (record in log.requests if log.session is None else record.session == log.session)
        if not mine:
            self.violation(f"progress on {log.where} names token {token!r}, which no request of this client sent")

    # -- answers ------------------------------------------------------------------------

    def account_response(self, response: SendResponse, conn: Connection) -> None:
        """Match a complete response to the requests of its POST."""
        if not conn.modeled:
            self._learn_session(response)
            return
        if not conn.requests:
            return
        if response.status == 202:
            self.violation(f"202 Accepted for #{conn.number}, which carried requests")
        body = json_body(response)
        if response.status >= 400:
            rid = body.get("id") if isinstance(body, dict) else None
            if rid is not None and _key(rid) not in conn.requests:
                self.violation(f"the refusal of #{conn.number} names request id {rid!r}, which it did not send")
            for record in conn.requests.values():
                self.answered(record, body if isinstance(body, dict) else {}, response.status)
            return
        for message in body if isinstance(body, list) else [body]:
            found = conn.requests.get(_key(message.get("id")) or "")
            if found is None:
                self.violation(f"the answer to #{conn.number} holds a response to id {message.get('id')!r}")
            self.answered(found, message, response.status)
        missing = [r.id for r in conn.requests.values() if r.answers == 0]
        if missing:
            self.violation(f"the JSON answer to #{conn.number} has no response for request(s) {missing}")

    def answered(self, record: RequestRecord, message: dict[str, Any], status: int | None) -> None:
        """Request ``record`` got ``message`` (with HTTP ``status``; None on a stream)."""
        record.answers += 1
        where = f"request {record.id!r} ({record.method}) of #{record.conn.number}"
        if record.answers > 1:
            self.violation(f"{where} got a second response: {json.dumps(message)[:160]}")
        rid = message.get("id")
        if rid is not None and _key(rid) != request_key(record.id):
            self.violation(f"{where} was answered with id {rid!r}")
        self.release(record)
        error = message.get("error")
        session_refusal = status in (409, 413, 429, 431) or (
            status == 404 and isinstance(error, dict) and error.get("code") == SESSION_NOT_FOUND
        )
        if record.expect is not None and not session_refusal:
            problem = record.expect.problem(status, message)
            if problem is not None:
                self.violation(f"{where}: {problem}")
        result = message.get("result")
        if isinstance(result, dict) and result.get("resultType") == "input_required":
            asked = result.get("inputRequests") or {}
            self.retries.append(Retry(record.body, record.headers, asked, result.get("requestState")))

    def release(self, record: RequestRecord) -> None:
        """``record`` has its response: it is no longer in flight."""
        session = self.sessions.get(record.session or "")
        if session is not None and session.in_flight.get(request_key(record.id)) is record:
            del session.in_flight[request_key(record.id)]

    def track(self, record: RequestRecord) -> RequestId:
        """Remember a request's progress token (so progress naming it can be checked)."""
        if record.progress_token is not None:
            self.tokens[json.dumps(record.progress_token)] = record
        return record.id

    def check_all_answered(self, connections: list[Connection]) -> None:
        """After everything finished: one response per request, and every served stream ended."""
        for conn in connections:
            for record in conn.requests.values() if conn.modeled else ():
                if record.answers != 1 and not (record.expect is not None and record.expect.listen):
                    self.violation(f"request {record.id!r} ({record.method}) of #{conn.number} got no response")
            log = conn.stream
            if log is None or log.ended or log.listen or not log.requests or not log.modeled:
                continue
            session = self.sessions.get(log.session or "")
            if session is None or not session.dead:
                self.violation(f"{log.where} answered all its requests but never ended")

    def _learn_session(self, response: SendResponse) -> None:
        """A session made by a request the machine did not model (junk that happened to initialize)."""
        session_id = next((v for k, v in response.headers if k == "mcp-session-id"), None)
        body = json_body(response) if response.status == 200 and response.body else None
        result = body.get("result") if isinstance(body, dict) else None
        if session_id is None or not isinstance(result, dict) or session_id in self.sessions:
            return
        now = self.now()
        version = str(result.get("protocolVersion"))
        self.sessions[session_id] = SessionModel(session_id, version, {}, fresh_at=now, touched_at=now)
