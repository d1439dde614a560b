"""Streams, as the runtime serves them: events to their readers, ends, disconnects, resumes and replays.

Every event is checked as it leaves: its seq is the stream's next (so ids strictly
increase), its frame is one ``message`` event with the id ``<stream>-<seq>`` (none when
stateless), its message is accounted for. A resume is checked against everything the
stream emitted: the replay must be exactly the events after the given id, no more, no
fewer, byte for byte; a new GET stream must start where the last reader stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mcp_sansio import (
    DisconnectStream,
    EndStream,
    Plan,
    ResumeStream,
    SendEvent,
    Server,
    Store,
    run_plan,
)

from ._accounting import Accounting
from ._model import Connection, StreamLog
from ._transcript import Transcript
from ._wire import parse_sse

__all__ = ["Streams"]

T = TypeVar("T")


class Streams(Accounting):
    """The streaming half of the runtime."""

    def __init__(self, server: Server, store: Store, clock: Callable[[], float], transcript: Transcript) -> None:
        super().__init__(transcript, server.config, clock)
        self.server = server
        self.store = store
        self.connections: list[Connection] = []

    def run(self, plan: Plan[T]) -> T:
        """Run a plan against the store."""
        return run_plan(plan, self.store)

    def _answerable(self, conn: Connection | None, what: str) -> Connection:
        if conn is None:
            self.violation(f"the server sent {what} with no request to answer")
        if not conn.waiting:
            self.violation(f"HTTP request #{conn.number} was answered twice: a second {what}")
        return conn

    def _same_session(self, conn: Connection, session_id: str | None, what: str) -> None:
        if conn.modeled and conn.session is not None and session_id not in (None, conn.session):
            self.violation(f"{what} for session {session_id} went to request #{conn.number} of {conn.session}")

    def _open_reader(self, conn: Connection, log: StreamLog, priming: bytes | None, close: float | None) -> None:
        conn.status, conn.stream, conn.opened_at, conn.close_after = 200, log, self.now(), close
        if priming is not None:
            try:
                event = parse_sse(priming)
            except ValueError as exc:
                self.violation(f"malformed priming event on {log.where}: {exc}")
            seq = (event.id or "").removeprefix(f"{log.key}-")
            if not seq.isdigit() or event.data or event.retry is None:
                self.violation(f"malformed priming event on {log.where}: {priming!r}")
            conn.seen.append(int(seq))
        if conn.open:
            log.readers.append(conn)

    def detach(self, conn: Connection, why: str) -> None:
        """Connection ``conn`` stops reading its stream (``why``); the core hears of it."""
        log = conn.stream
        if not conn.open:
            return
        conn.open = False
        self.note(f"#{conn.number} closes: {why}")
        if log is None:
            return
        if conn in log.readers:
            log.readers.remove(conn)
        session = self.sessions.get(log.session or "")
        if session is not None and log.key == "0" and conn.claim is not None:
            session.get_cursor = max(session.get_cursor, conn.delivered)
        self.run(self.server.stream_detached(log.session, log.key, conn.delivered, conn.claim))

    def renew_claims(self) -> None:
        """What GET readers do while open (well within ``Config.get_stream_lease``): renew their claims."""
        for conn in self.connections:
            if not (conn.open and conn.claim is not None and conn.session is not None):
                continue
            session = self.sessions[conn.session]
            if not self.run(self.server.renew_claim(conn.session, conn.claim)):
                if session.alive(self.now(), self.config):
                    self.violation(f"the claim of #{conn.number} on the GET stream of {session.id} was lost")
                session.dead = True
                self.detach(conn, "its session has ended")

    def close_expired_connections(self) -> None:
        """End the connections whose ``close_after`` has passed (stream polling)."""
        for conn in self.connections:
            due = conn.close_after is not None and self.now() - conn.opened_at >= conn.close_after
            if conn.open and conn.stream is not None and due:
                self.detach(conn, f"served for {conn.close_after:g}s; the client may resume")

    # -- events -----------------------------------------------------------------------

    def _event(self, event: SendEvent, conn: Connection | None) -> None:
        log = self.log_for(event.session_id, event.stream)
        if log is None:
            self.violation(f"an event for stream {event.stream} of {event.session_id}, which never started")
        session = self.sessions.get(event.session_id or "")
        if event.seq == 0 and session is not None:
            # The store keeps nothing for a session it no longer has: the event goes nowhere.
            if session.alive(self.now(), self.config):
                self.violation(f"the store kept no event for {log.where}, but {session.id} is alive")
            session.dead = True
            self.note(f"{log.where}: event not kept, {session.id} has ended")
            self.classify(log, event.data, event.seq)
            return
        if event.seq <= log.last_seq:
            self.violation(f"event ids must strictly increase on {log.where}: seq {event.seq} after {log.last_seq}")
        if event.seq != log.last_seq + 1:
            self.violation(f"{log.where} skipped from seq {log.last_seq} to {event.seq}")
        if log.ended:
            self.violation(f"an event on {log.where} after it ended")
        log.events.append((event.seq, event.data, self.now()))
        for reader in list(log.readers):
            reader.delivered = event.seq
            reader.seen.append(event.seq)
            self.transcript.event(reader.number, log.where, event.data)
        if not log.readers:
            self.transcript.event(None, log.where, event.data)
        self.classify(log, event.data, event.seq)

    def _end(self, end: EndStream, conn: Connection | None) -> None:
        log = self.log_for(end.session_id, end.stream)
        if log is None:
            self.violation(f"the end of stream {end.stream} of {end.session_id}, which never started")
        session = self.sessions.get(end.session_id or "")
        if end.last_seq == 0 and session is not None and session.dead:
            return
        if end.last_seq != log.last_seq:
            self.violation(f"{log.where} ended at seq {end.last_seq}, but its last event was {log.last_seq}")
        log.ended, log.ended_at = True, self.now()
        unanswered = [r.id for r in log.requests if r.answers == 0]
        if unanswered:
            self.violation(f"{log.where} ended before request(s) {unanswered} got their response")
        for reader in list(log.readers):
            self.detach(reader, "its stream is complete")

    def _disconnect(self, disconnect: DisconnectStream, conn: Connection | None) -> None:
        log = self.log_for(disconnect.session_id, disconnect.stream)
        for reader in list(log.readers if log is not None else []):
            self.detach(reader, "the server ends the connection; the client may resume")

    def _resume(self, resume: ResumeStream, conn: Connection | None) -> None:
        if conn is not None:
            self.transcript.stream(conn.number, 200, resume.headers, resume.priming)
        conn = self._answerable(conn, "resumed stream")
        self._same_session(conn, resume.session_id, "a resumed stream")
        session = self.sessions.get(resume.session_id)
        log = self.log_for(resume.session_id, resume.stream)
        if session is None or log is None:
            self.violation(f"#{conn.number} resumed stream {resume.stream} of {resume.session_id}, unknown to it")
        events, final = self.run(self.server.replay(resume.session_id, resume.stream, resume.after, resume.named))
        got = [(e.seq, e.data) for e in events if isinstance(e, SendEvent)]
        for _, frame in got:
            self.transcript.event(conn.number, log.where, frame)
        expected = log.after(resume.after)
        if len(got) != len(events) or any(
            e.session_id != resume.session_id or e.stream != resume.stream for e in events if isinstance(e, SendEvent)
        ):
            self.violation(f"the replay of {log.where} holds outputs of another stream or session: {events!r:.200}")
        evictable = conn.plain_get and log.may_have_lost(resume.after, self.now(), self.config)
        if got != expected and not (evictable and got == expected[len(expected) - len(got) :]):
            self.violation(
                f"a resume of {log.where} after seq {resume.after} must deliver exactly the missed events "
                f"{[s for s, _ in expected]}, but the server replayed {[s for s, _ in got]}"
                + (" (same seqs, different bytes)" if [s for s, _ in got] == [s for s, _ in expected] else "")
            )
        if final != log.ended:
            self.violation(f"the replay of {log.where} says finished={final}, but the stream ended={log.ended}")
        if resume.stream == "0" and resume.claim is None:
            self.violation(f"#{conn.number} reads the GET stream of {session.id} without a claim on it")
        if conn.plain_get and resume.after != session.get_cursor:
            self.violation(
                f"a new GET stream of {session.id} must start where the last reader stopped "
                f"(seq {session.get_cursor}), not after seq {resume.after}"
            )
        conn.claim = resume.claim
        self._open_reader(conn, log, resume.priming, resume.close_after)
        for seq, _ in got:
            conn.delivered = seq
            conn.seen.append(seq)
        if final:
            self.detach(conn, "its stream is complete")
