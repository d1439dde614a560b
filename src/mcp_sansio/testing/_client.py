"""The machine as a client: it sends well-formed requests and knows what each must get.

Every method sends one HTTP request through the runtime and then checks the
transport-level outcome against the model: 404 exactly when the session is gone
(either way while its expiry is uncertain), 409 exactly for an id already in flight,
429 exactly at ``max_in_flight``, 503 exactly at ``max_sessions``, 409 for a second
GET stream, 202 for notifications and answers, and for a resume either the exact
replay (checked by the runtime) or a refusal the model allows.
"""

from __future__ import annotations

import itertools
from typing import Any

from mcp_sansio import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION, RequestId, request_key

from ._checks import header, json_body
from ._model import Connection, RequestRecord, Retry, ServerRequest, SessionModel, StreamLog
from ._mutations import Mutation
from ._requests import Expect, McpRequest
from ._runtime import SyncRuntime
from ._wire import Header, dumps, post_headers, routing_headers, session_headers, stateless_meta

__all__ = ["Client", "ANSWERS"]

# What a client answers to each kind of server request.
ANSWERS: dict[str, dict[str, Any]] = {
    "elicitation/create": {"action": "accept", "content": {}},
    "sampling/createMessage": {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"},
    "roots/list": {"roots": []},
}


class Client:
    """Sends requests through a :class:`SyncRuntime` and checks how the server answered."""

    def __init__(self, runtime: SyncRuntime) -> None:
        self.rt = runtime
        self.config = runtime.config
        self._tokens = itertools.count(1)

    # -- sessions ---------------------------------------------------------------------

    def _check_session(self, session: SessionModel, conn: Connection, alive: bool, gone: bool) -> bool:
        """404 exactly when the session is gone; True if the request was served."""
        if conn.status in (413, 431):
            return False  # refused for its size before the session was looked up (checked by the runtime)
        if conn.status == 404:
            if alive:
                self.rt.violation(f"session {session.id} is alive, but #{conn.number} got 404")
            if not session.dead:
                self.rt.note(f"session {session.id} has expired")
            session.dead = True
            return False
        if gone:
            self.rt.violation(f"session {session.id} has ended, but #{conn.number} was served ({conn.status})")
        return True

    def initialize(self, version: str, capabilities: dict[str, Any]) -> SessionModel | None:
        """``initialize`` then ``notifications/initialized``; the new session, or None at the limit (503)."""
        now, limit = self.rt.now(), self.config.max_sessions
        # Sessions idle past the timeout may still be stored (and counted) until swept or looked up.
        stored = [s for s in self.rt.sessions.values() if not s.dead]
        surely = [s for s in stored if s.alive(now, self.config)]
        info = {"name": "hypothesis", "version": "1"}
        params = {"protocolVersion": version, "capabilities": capabilities, "clientInfo": info}
        body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
        conn = self.rt.reserve(None)
        conn.requests[request_key(0)] = RequestRecord(None, 0, "initialize", conn, None, body)
        self.rt.send_on(conn, "POST", post_headers(self.config), dumps(body))
        if conn.status in (413, 431):
            return None  # the configuration's limits refuse even this (checked by the runtime)
        if conn.status == 503:
            if len(stored) < limit:
                self.rt.violation(f"initialize refused with 503, but only {len(stored)} of {limit} sessions exist")
            return None
        if len(surely) >= limit:
            self.rt.violation(f"{len(surely)} sessions exist (limit {limit}), yet initialize succeeded")
        if conn.status != 200 or conn.response is None:
            self.rt.violation(f"initialize got {conn.status}")
        session_id = header(conn.response.headers, "mcp-session-id")
        if session_id is None:
            self.rt.violation(f"initialize answered #{conn.number} without an Mcp-Session-Id")
        if session_id in self.rt.sessions:
            self.rt.violation(f"initialize handed out session id {session_id}, which an earlier session has")
        result = (json_body(conn.response) or {}).get("result") or {}
        chosen = version if version in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
        if result.get("protocolVersion") != chosen:
            self.rt.violation(f"initialize with {version} must negotiate {chosen}, got {result.get('protocolVersion')}")
        session = SessionModel(session_id, chosen, capabilities, fresh_at=now, touched_at=now)
        self.rt.sessions[session_id] = session
        self.notify(session, "notifications/initialized")
        return session

    def headers(self, session: SessionModel) -> list[Header]:
        """The headers of a POST in ``session``."""
        return post_headers(self.config) + session_headers(session.id, session.version)

    # -- requests -----------------------------------------------------------------------

    def next_id(self, session: SessionModel, kind: str) -> RequestId:
        """A fresh id (``kind`` "int" or "text"), or, for "reuse", one already in flight."""
        if kind == "reuse" and session.in_flight:
            return next(iter(session.in_flight.values())).id
        session.next_id += 1
        return session.next_id if kind != "text" else str(session.next_id)

    def request(
        self, session: SessionModel, requests: list[McpRequest], *, token: bool = False, id_kind: str = "int"
    ) -> Connection:
        """POST requests in ``session`` (several: a batch) and check the session-level outcome."""
        now = self.rt.now()
        alive, gone = session.alive(now, self.config), session.gone(now, self.config)
        batch = len(requests) > 1
        records, duplicate, too_many = [], False, False
        in_flight = set(session.in_flight)
        before = len(in_flight)
        conn = self.rt.reserve(session.id)
        for index, mcp in enumerate(requests):
            rid = self.next_id(session, id_kind if index == 0 else "int")  # ids within a batch stay distinct
            key = request_key(rid)
            meta = {"progressToken": f"t{next(self._tokens)}"} if token else None
            body = mcp.body(rid, meta)
            record = RequestRecord(session.id, rid, mcp.method, conn, mcp.expect, body, mcp.headers)
            record.progress_token = meta["progressToken"] if meta else None
            refused_here = key in in_flight or len(in_flight) >= self.config.max_in_flight
            duplicate |= key in in_flight
            too_many |= key not in in_flight and len(in_flight) >= self.config.max_in_flight
            if batch and refused_here:
                record.expect = Expect.error(-32600)
            elif not refused_here and mcp.expect.status == 200:
                in_flight.add(key)
                session.in_flight[key] = record
            conn.requests[key] = record
            self.rt.track(record)
            records.append(record)
        # Batches outside 2025-03-26 are refused (400) once the session is loaded (so 404 comes first).
        refused = batch and session.version != "2025-03-26"
        if refused:
            for record in records:
                record.expect = Expect.error(-32600, status=400)
        bodies = [r.body for r in records]
        payload = dumps(bodies if batch else bodies[0])
        extra = [h for r in records for h in r.headers]
        self.rt.send_on(conn, "POST", self.headers(session) + extra, payload)
        session.touched_at = now
        if not batch and requests[0].expect.status != 200:
            self._unclaim(session, records)  # refused before the session is even looked up
            return conn
        served = self._check_session(session, conn, alive, gone)
        if not served or refused:
            self._unclaim(session, records)
            return conn
        session.refreshed(now)
        if batch:
            return conn
        if conn.status == 409 and not duplicate:
            self.rt.violation(f"409 for request id {records[0].id!r}, which was not in flight")
        if duplicate and conn.status != 409:
            self.rt.violation(f"request id {records[0].id!r} is already in flight in {session.id}: expected 409")
        if conn.status == 429 and not too_many:
            self.rt.violation(f"429 with {before} requests in flight (limit {self.config.max_in_flight})")
        if too_many and conn.status != 429:
            self.rt.violation(f"{before} requests in flight (limit {self.config.max_in_flight}): expected 429")
        if conn.status in (409, 429):
            self._unclaim(session, records)
        return conn

    def _unclaim(self, session: SessionModel, records: list[RequestRecord]) -> None:
        for record in records:
            self.rt.release(record)

    def stateless(
        self, mcp: McpRequest, *, capabilities: dict[str, Any], token: bool, log_level: str | None
    ) -> Connection:
        """POST one 2026-07-28 request, with its ``_meta`` and routing headers."""
        extra: dict[str, Any] = {"progressToken": f"t{next(self._tokens)}"} if token else {}
        if log_level is not None:
            extra["io.modelcontextprotocol/logLevel"] = log_level
        rid = f"r{next(self._tokens)}"
        body = mcp.body(rid, stateless_meta(capabilities, **extra))
        headers = post_headers(self.config) + routing_headers(body) + list(mcp.headers)
        return self._stateless_send(mcp.method, mcp.expect, body, headers, extra.get("progressToken"))

    def _stateless_send(
        self, method: str, expect: Expect, body: dict[str, Any], headers: list[Header], token: str | None
    ) -> Connection:
        conn = self.rt.reserve(None)
        record = RequestRecord(None, body["id"], method, conn, expect, body, tuple(headers), progress_token=token)
        conn.requests[request_key(record.id)] = record
        self.rt.track(record)
        self.rt.send_on(conn, "POST", headers, dumps(body))
        return conn

    def retry(self, retry: Retry) -> Connection:
        """Retry an ``input_required`` request with answers to what it asked, and its request state."""
        params = dict(retry.body.get("params") or {})
        # A new request: the old progress token stays with the old one.
        params["_meta"] = {k: v for k, v in (params.get("_meta") or {}).items() if k != "progressToken"}
        params["inputResponses"] = {
            key: ANSWERS.get(str(asked.get("method")) if isinstance(asked, dict) else "", {})
            for key, asked in retry.requests.items()
        }
        if retry.state is not None:
            params["requestState"] = retry.state
        body = {**retry.body, "id": f"r{next(self._tokens)}", "params": params}
        return self._stateless_send(body["method"], Expect(any_error=True), body, list(retry.headers), None)

    # -- notifications and answers ---------------------------------------------------------

    def _accepted(self, session: SessionModel, message: dict[str, Any]) -> Connection:
        now = self.rt.now()
        alive, gone = session.alive(now, self.config), session.gone(now, self.config)
        conn = self.rt.send("POST", self.headers(session), dumps(message), session=session.id)
        session.touched_at = now
        if self._check_session(session, conn, alive, gone):
            if conn.status != 202:
                self.rt.violation(f"a notification or answer must get 202 Accepted, #{conn.number} got {conn.status}")
            session.refreshed(now)
        return conn

    def notify(self, session: SessionModel, method: str, params: dict[str, Any] | None = None) -> Connection:
        """POST a notification in ``session``: 202, or 404 once the session is gone."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        return self._accepted(session, message)

    def answer(self, session: SessionModel, asked: ServerRequest, error: bool) -> Connection:
        """Answer a server-to-client request (with a result, or an error)."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": asked.id}
        if error:
            message["error"] = {"code": -1, "message": "the user declined"}
        else:
            message["result"] = ANSWERS.get(asked.method, {})
        return self._accepted(session, message)

    # -- GET and DELETE -------------------------------------------------------------------

    def _get_headers(self, session: SessionModel) -> list[Header]:
        headers = [("host", post_headers(self.config)[0][1]), ("accept", "text/event-stream")]
        return headers + session_headers(session.id, session.version)

    def get(self, session: SessionModel) -> Connection:
        """Open the session's GET stream: a replay from where the last reader left off, or 409/404."""
        now = self.rt.now()
        alive, gone = session.alive(now, self.config), session.gone(now, self.config)
        busy = bool(session.get_readers()) and self.config.single_get_stream
        conn = self.rt.reserve(session.id)
        conn.plain_get = True
        self.rt.send_on(conn, "GET", self._get_headers(session), b"")
        if not self._check_session(session, conn, alive, gone):
            return conn
        if busy != (conn.status == 409):
            self.rt.violation(f"a second GET stream gets 409 exactly when one is open; #{conn.number}: {conn.status}")
        if not busy and conn.stream is None:
            self.rt.violation(f"GET #{conn.number} answered {conn.status} instead of a stream")
        return conn

    def resume(self, session: SessionModel, log: StreamLog, seq: int) -> Connection:
        """GET with ``Last-Event-ID`` naming event ``seq`` of ``log`` (perhaps from another session)."""
        now = self.rt.now()
        alive, gone = session.alive(now, self.config), session.gone(now, self.config)
        own = session.streams.get(log.key)
        allowed = {400} if own is None else set()
        if own is not None:
            if own.may_be_gone(now, self.config, len(session.streams)) or not alive or seq > own.last_seq:
                allowed.add(400)
            if own.may_have_lost(seq, now, self.config):
                allowed.add(410)
            if log.key == "0" and session.get_readers() and self.config.single_get_stream:
                allowed.add(409)
        headers = [*self._get_headers(session), ("last-event-id", f"{log.key}-{seq}")]
        conn = self.rt.send("GET", headers, b"", session=session.id)
        if not self._check_session(session, conn, alive, gone):
            return conn
        if conn.stream is None and conn.status not in allowed:
            self.rt.violation(
                f"resume of {log.where} after seq {seq} in {session.id} got {conn.status}; the model allows "
                + (", ".join(str(s) for s in sorted(allowed)) if allowed else "only the replay")
            )
        if conn.stream is not None and own is None:
            self.rt.violation(f"{session.id} resumed {log.where}, a stream of another session")
        if conn.stream is not None and 409 in allowed:
            self.rt.violation(f"a second GET stream of {session.id} was opened; expected 409")
        return conn

    def delete(self, session: SessionModel) -> Connection:
        """DELETE the session: 200 (and its handlers stop), or 404 once it is gone."""
        now = self.rt.now()
        alive, gone = session.alive(now, self.config), session.gone(now, self.config)
        headers = [("host", post_headers(self.config)[0][1]), *session_headers(session.id, session.version)]
        conn = self.rt.send("DELETE", headers, b"", session=session.id)
        if self._check_session(session, conn, alive, gone):
            if conn.status != 200:
                self.rt.violation(f"DELETE of live session {session.id} got {conn.status}")
            if not session.dead:
                self.rt.violation(f"DELETE of {session.id} answered 200 but did not end the session (SessionClosed)")
        return conn

    def invalid_message(self, value: Any, session: SessionModel | None) -> Connection:
        """POST a JSON value that is no valid JSON-RPC message: 400 and -32600, in any era."""
        if session is not None:
            headers = self.headers(session)
        else:
            headers = post_headers(self.config) + routing_headers({"method": "ping"})
        conn = self.rt.send("POST", headers, dumps(value), session=session.id if session else None)
        self.expect_refusal(conn, 400, {-32600}, "an invalid JSON-RPC message")
        return conn

    def drain(self) -> None:
        """Answer every server request, finish every handler (cancel what never ends); then check."""
        for _ in range(3):
            for asked in list(self.rt.server_requests):
                self.rt.server_requests.remove(asked)
                session = self.rt.sessions[asked.session]
                if session.alive(self.rt.now(), self.config):
                    self.answer(session, asked, False)
            for task in self.rt.live_tasks():
                self.rt.finish(task)
        for task in self.rt.live_tasks():
            task.cancel("the client stops waiting for it")
        self.rt.check_all_answered(self.rt.connections)

    # -- requests wrong in one way ------------------------------------------------------------

    def mutated(self, mutation: Mutation, session: SessionModel | None) -> Connection:
        """Send a well-formed request broken by ``mutation``; it must get the answer the mutation names."""
        rid: RequestId
        if mutation.target == "stateless" or session is None:
            rid = f"r{next(self._tokens)}"
            body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": "server/discover"}
            body["params"] = {"_meta": stateless_meta({})}
            parts = ("POST", post_headers(self.config) + routing_headers(body), dumps(body))
        elif mutation.target == "post":
            rid = self.next_id(session, "int")
            body = {"jsonrpc": "2.0", "id": rid, "method": "ping"}
            parts = ("POST", self.headers(session), dumps(body))
        else:
            rid, body = 0, {}
            method = "GET" if mutation.target == "get" else "DELETE"
            headers = self._get_headers(session)
            if method == "DELETE":
                headers = [h for h in headers if h[0] != "accept"]
            parts = (method, headers, b"")
        method, headers, payload = mutation.apply(parts)
        conn = self.rt.reserve(session.id if session is not None and mutation.target != "stateless" else None)
        if body:
            conn.requests[request_key(rid)] = RequestRecord(conn.session, rid, str(body["method"]), conn, None, body)
        self.rt.send_on(conn, method, headers, payload)
        self.expect_refusal(conn, mutation.status, mutation.codes, mutation.name)
        return conn

    def expect_refusal(self, conn: Connection, status: int, codes: frozenset[int] | set[int], what: str) -> None:
        """``conn`` must have been refused with ``status`` and (if any are given) one of ``codes``."""
        if conn.status != status:
            self.rt.violation(f"{what} must get HTTP {status}; #{conn.number} got {conn.status}")
        body = json_body(conn.response) if conn.response is not None and conn.response.body else None
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if codes and code not in codes:
            self.rt.violation(f"{what} must carry error {' or '.join(map(str, sorted(codes)))}; #{conn.number}: {code}")
