"""The machine in the runtime's seat: carry out the core's outputs, synchronously, and check each.

It does what ``mcp_sansio_runtime`` does (answer connections, publish events to their
readers, run handlers, replay logs, wake waiters, cancel) with a store and no event
loop, and it checks every output on the way: one answer per connection, event ids
that count up per stream, a replay equal to the events the stream really had,
responses only for requests that stream carries, nothing addressed to another session.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from mcp_sansio import (
    CancelRequest,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    HttpRequest,
    Output,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
    SessionClosed,
    StartStream,
    Store,
    request_key,
)

from ._checks import header, response_problem
from ._handlers import HandlerTask
from ._model import Connection, SessionModel
from ._streams import Streams
from ._transcript import Transcript

__all__ = ["SyncRuntime"]


class SyncRuntime(Streams):
    """Runs one core server against one store for the machine, recording and checking everything."""

    def __init__(self, server: Server, store: Store, clock: Callable[[], float], transcript: Transcript) -> None:
        super().__init__(server, store, clock, transcript)
        self.tasks: list[HandlerTask] = []
        self._numbers = itertools.count(1)
        self._dispatch: dict[type, Callable[[Any, Connection | None], None]] = {
            SendResponse: self._response,
            StartStream: self._start,
            SendEvent: self._event,
            EndStream: self._end,
            DisconnectStream: self._disconnect,
            ResumeStream: self._resume,
            RunHandler: self._run_handler,
            DeliverResponse: self._deliver,
            CancelRequest: self._cancel,
            SessionClosed: self._session_closed,
        }

    # -- connections -------------------------------------------------------------------

    def reserve(self, session: str | None, *, modeled: bool = True) -> Connection:
        """A new connection (its requests can be recorded before it is sent)."""
        conn = Connection(next(self._numbers), "", session, modeled)
        self.connections.append(conn)
        return conn

    def send(
        self, method: str, headers: list[tuple[str, str]], body: bytes, *, session: str | None, modeled: bool = True
    ) -> Connection:
        """One HTTP request through ``Server.receive``; its connection, with whatever answered it so far."""
        conn = self.reserve(session, modeled=modeled)
        self.send_on(conn, method, headers, body)
        return conn

    def send_on(self, conn: Connection, method: str, headers: list[tuple[str, str]], body: bytes) -> None:
        """Send a request on a reserved connection."""
        conn.method = method
        self.transcript.request(conn.number, method, "/mcp", headers, body)
        head = HttpRequest.build(method, "/mcp", headers)
        outputs = self.run(self.server.receive(head, body))
        if not outputs:
            self.violation(f"the server gave no outputs for request #{conn.number}")
        self.carry_out(outputs, conn)
        if conn.modeled and method in ("POST", "GET", "DELETE"):
            self._check_limits(conn, head, body)
        if conn.waiting and not any(t.conn is conn and not t.done for t in self.tasks):
            self.violation(f"request #{conn.number} got no answer, and no handler runs that could give one")

    def _check_limits(self, conn: Connection, head: HttpRequest, body: bytes) -> None:
        """431 exactly beyond the header limits; 413 exactly beyond the body limit (once the head is fine)."""
        limits = self.config
        too_many = len(head.headers) > limits.max_header_count or head.headers.size() > limits.max_header_size
        if too_many != (conn.status == 431):
            self.violation(
                f"#{conn.number} has {len(head.headers)} headers, {head.headers.size()} bytes (limits "
                f"{limits.max_header_count}, {limits.max_header_size}): "
                + ("expected 431" if too_many else "431 is wrong")
            )
        declared = head.headers.get_all("content-length")
        too_big = head.method == "POST" and (
            len(body) > limits.max_body_size or any(v.isdigit() and int(v) > limits.max_body_size for v in declared)
        )
        if not too_many and too_big != (conn.status == 413) and conn.status in (413, 200, 202, None):
            self.violation(
                f"#{conn.number} has {len(body)} bytes (limit {limits.max_body_size}): "
                + ("expected 413" if too_big else "413 is wrong")
            )

    def carry_out(self, outputs: list[Output], conn: Connection | None) -> None:
        """Do what the core said, in order, for connection ``conn`` (None: no connection)."""
        for output in outputs:
            handler = self._dispatch.get(type(output))
            if handler is None:
                self.violation(f"the server emitted {output!r}, which is not an output of the core")
            handler(output, conn)

    def resumable(self) -> list[Connection]:
        """Connections that saw events of a stream that can be resumed (a session's)."""
        return [c for c in self.connections if c.stream is not None and c.stream.session is not None and c.seen]

    def notify_session(self, session: SessionModel) -> None:
        """``Server.notify_session``: an alive session must get the notification on its GET stream."""
        params = {"level": "info", "data": "hello"}
        outputs = self.run(self.server.notify_session(session.id, "notifications/message", params))
        if not outputs and session.alive(self.now(), self.config):
            self.violation(f"notify_session sent nothing to {session.id}, which is alive")
        session.dead |= not outputs
        self.carry_out(outputs, None)

    def live_tasks(self) -> list[HandlerTask]:
        """The handlers still running."""
        self.tasks = [t for t in self.tasks if not t.done]
        return self.tasks

    def finish(self, task: HandlerTask, cap: int = 64) -> None:
        """Run a handler until it ends or waits for the client (at most ``cap`` steps: some never end)."""
        for _ in range(cap):
            if not task.advance():
                return

    def finish_conn(self, conn: Connection) -> None:
        """Run the handlers of one request until they end or wait."""
        for task in [t for t in self.live_tasks() if t.conn is conn]:
            self.finish(task)

    def hang_up(self, conn: Connection) -> None:
        """The client closes ``conn``; in 2026-07-28 that cancels the request's handlers."""
        if not conn.open:
            return
        if conn.stream is not None:
            self.detach(conn, "the client disconnects")
        else:
            conn.open = False
            self.note(f"#{conn.number} closes: the client stops waiting")
        for task in self.live_tasks():
            if task.conn is conn and task.exchange.cancel_on_disconnect:
                task.cancel("its client disconnected")

    def expire_sessions(self) -> None:
        """What the runtime does every minute: ``Server.expire``, checked against the model."""
        outputs = self.run(self.server.expire())
        now = self.now()
        for output in outputs:
            session = self.sessions.get(output.session_id) if isinstance(output, SessionClosed) else None
            if session is not None and session.alive(now, self.config):
                self.violation(f"{session.id} was expired though it was used within the idle timeout")
        self.carry_out(outputs, None)
        for session in self.sessions.values():
            if session.gone(now, self.config) and not session.dead:
                self.violation(f"{session.id} has been idle past the timeout, yet expire() kept it")

    # -- answers ----------------------------------------------------------------------

    def _response(self, response: SendResponse, conn: Connection | None) -> None:
        if conn is not None:
            self.transcript.response(conn.number, response.status, response.headers, response.body)
        conn = self._answerable(conn, f"response ({response.status})")
        problem = response_problem(response)
        if problem is not None:
            self.violation(f"malformed answer to #{conn.number}: {problem}")
        conn.status, conn.response = response.status, response
        conn.open = False
        self._same_session(conn, header(response.headers, "mcp-session-id"), "a response")
        self.account_response(response, conn)

    def _start(self, start: StartStream, conn: Connection | None) -> None:
        if conn is not None:
            self.transcript.stream(conn.number, 200, start.headers, start.priming)
        conn = self._answerable(conn, "stream")
        self._same_session(conn, start.session_id, "a stream")
        if (header(start.headers, "content-type") or "") != "text/event-stream":
            self.violation(f"the stream of #{conn.number} lacks Content-Type text/event-stream")
        log = self.open_log(start.session_id, start.stream, conn)
        self._open_reader(conn, log, start.priming, start.close_after)

    # -- handlers, waiters, cancellations -------------------------------------------------

    def _run_handler(self, run: RunHandler, conn: Connection | None) -> None:
        if conn is None:
            self.violation(f"a handler for {run.call.name} with no request to answer")
        if conn.modeled and request_key(run.call.request_id) not in conn.requests:
            self.violation(f"#{conn.number} did not send request {run.call.request_id!r}, yet a handler runs for it")
        self._same_session(conn, run.exchange.session_id, "a handler")
        self.tasks.append(HandlerTask(run.call, run.exchange, conn, self))

    def _deliver(self, deliver: DeliverResponse, conn: Connection | None) -> None:
        if conn is not None:
            self._same_session(conn, deliver.session_id, "the answer to a server request")
        wanted = (deliver.session_id, request_key(deliver.request_id))
        for task in self.live_tasks():
            if task.waiting is not None and task.reply is None and (task.key[0], request_key(task.waiting)) == wanted:
                task.reply = deliver.message.to_json()

    def _cancel(self, cancel: CancelRequest, conn: Connection | None) -> None:
        if conn is not None:
            self._same_session(conn, cancel.session_id, "a cancellation")
        for task in self.live_tasks():
            if task.key == (cancel.session_id, request_key(cancel.request_id)):
                task.cancel("the client cancelled it")

    def _session_closed(self, closed: SessionClosed, conn: Connection | None) -> None:
        session = self.sessions.get(closed.session_id)
        if conn is not None:
            self._same_session(conn, closed.session_id, "the end of a session")
        if session is None:
            return
        session.dead = True
        for task in self.live_tasks():
            if task.key[0] == closed.session_id:
                task.cancel("its session ended")
        for log in session.streams.values():
            for reader in list(log.readers):
                self.detach(reader, "its session ended")
        self.server_requests = [r for r in self.server_requests if r.session != closed.session_id]
