"""The protocol state machine: hypothesis plays every client and the runtime; the server under test decides.

Point it at an :class:`~mcp_sansio.App` or a :class:`~mcp_sansio.Server` in one line::

    TestMyServer = machine_for(app).TestCase

Each step is one thing a client, the network or time does: initialize a session,
POST a request (any method, valid or subtly wrong, in a session or stateless), send a
notification, answer a server request, advance a running handler, cancel it, drop a
connection, resume a stream, open the GET stream, DELETE, let time pass, or send
garbage. The server's every output is checked as it comes (see ``_runtime``,
``_streams`` and ``_client``); at the end everything is drained and every request
must have exactly one response. A failure raises :class:`ProtocolViolation` with the
HTTP transcript of the (shrunk) run.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from mcp_sansio import HANDSHAKE_VERSIONS, Config, MemoryStore, Store

from ._client import Client
from ._http import RawRequest
from ._kit import Kit, Target, build_server
from ._model import SessionModel
from ._requests import ERAS, McpRequest
from ._runtime import SyncRuntime
from ._transcript import ProtocolViolation, Transcript

__all__ = ["ProtocolMachine", "machine_for"]

T = TypeVar("T")
START = 1000.0
CAPABILITIES: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [{}, {"sampling": {}, "elicitation": {}, "roots": {}}, {"elicitation": {}}]
)
PICK = st.integers(0, 7)
_HERE = os.path.dirname(__file__)


def _pick(items: list[T], pick: int) -> T:
    return items[pick % len(items)]


def _raised_here(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by this package's own code (rather than the server's or a store's)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == _HERE


class ProtocolMachine(RuleBasedStateMachine):
    """Hypothesis drives clients, the network and the clock; the server under test must keep the protocol.

    Subclass it and set ``target`` (or call :func:`machine_for`); its ``TestCase`` is a test.

    Attributes:
        target: The :class:`~mcp_sansio.App` or :class:`~mcp_sansio.Server` under test, or a
            factory called with the keyword arguments ``clock``, ``new_session_id``,
            ``new_stream_key`` and ``state_key`` that returns a Server. A Server is rebuilt
            for every run as ``type(server)(server.app, server.config, **those)``.
        config: The :class:`~mcp_sansio.Config` to serve with (default: the target's).
        store_factory: Makes the store of each run (any :class:`~mcp_sansio.Store`).
        eras: Which eras to play: ``"handshake"``, ``"stateless"`` or both.
        versions: The handshake revisions clients ask for (an unknown one is added).
    """

    target: ClassVar[Target | None] = None
    config: ClassVar[Config | None] = None
    store_factory: ClassVar[Callable[[], Store]] = MemoryStore
    eras: ClassVar[tuple[str, ...]] = ERAS
    versions: ClassVar[tuple[str, ...]] = HANDSHAKE_VERSIONS
    _kits: ClassVar[weakref.WeakKeyDictionary[type, Kit]] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        if cls.target is None:
            raise TypeError(f"{cls.__name__}.target is not set: point the machine at an App or a Server")
        self._now = START
        sessions, streams = itertools.count(1), itertools.count(1)
        server = build_server(
            cls.target,
            cls.config,
            clock=lambda: self._now,
            new_session_id=lambda: f"session{next(sessions)}",
            new_stream_key=lambda: f"s{next(streams)}",
            state_key=b"mcp-sansio-testing",
        )
        self.transcript = Transcript()
        self.rt = SyncRuntime(server, cls.store_factory(), lambda: self._now, self.transcript)
        self.client = Client(self.rt)
        self.limits: Config = server.config
        kit = ProtocolMachine._kits.get(cls)
        self._kit = kit if kit is not None else ProtocolMachine._kits.setdefault(cls, Kit.of(server))
        self._failed = False

    # -- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _step(self, text: str) -> Iterator[None]:
        self.transcript.step(text)
        try:
            yield
        except ProtocolViolation:
            self._failed = True
            raise
        except Exception as exc:
            self._failed = True
            if _raised_here(exc):
                raise  # a bug of the machine itself, not of the server: show it as it is
            raise ProtocolViolation(f"the server raised {exc!r}", self.transcript) from exc

    def _sessions(self, *, alive: bool = False) -> list[SessionModel]:
        return [s for s in self.rt.sessions.values() if not alive or s.alive(self._now, self.limits)]

    def _live(self) -> list[SessionModel]:
        return [s for s in self.rt.sessions.values() if not s.dead]

    def _target(self, pick: int) -> SessionModel:
        """A session to send to: one not known to be gone, unless ``pick`` asks for any (7)."""
        live = self._live()
        return _pick(live if live and pick < 7 else self._sessions(), pick)

    def _has_era(self, era: str) -> bool:
        return era in type(self).eras

    # -- sessions and requests -------------------------------------------------------------

    @precondition(lambda self: self._has_era("handshake") and len(self._live()) < 3)
    @rule(version=st.integers(0, 9), capabilities=CAPABILITIES)
    def initialize(self, version: int, capabilities: dict[str, Any]) -> None:
        """A client initializes a session (sometimes asking for a revision the server lacks)."""
        chosen = _pick([*type(self).versions, "1999-01-01"], version)
        with self._step(f"initialize {chosen} with capabilities {sorted(capabilities)}"):
            self.client.initialize(chosen, capabilities)

    @precondition(lambda self: bool(self.rt.sessions))
    @rule(
        data=st.data(),
        pick=PICK,
        token=st.booleans(),
        id_kind=st.sampled_from(["int", "text", "reuse"]),
        eager=st.booleans(),
        batch=st.integers(0, 7),
    )
    def request(self, data: st.DataObject, pick: int, token: bool, id_kind: str, eager: bool, batch: int) -> None:
        """A client POSTs one MCP request in a session (now and then a JSON-RPC batch of two or three)."""
        session = self._target(pick)
        if batch >= 6:
            requests = [data.draw(self._kit.batchable, label=f"entry {i}") for i in range(batch - 4)]
        else:
            requests = [data.draw(self._kit.handshake, label="request")]
        what = repr(requests[0]) if len(requests) == 1 else f"batch of {[m.method for m in requests]}"
        with self._step(f"request in {session.id} ({session.version}): {what:.120} ({id_kind} id)"):
            conn = self.client.request(session, requests, token=token, id_kind=id_kind)
            if eager or len(requests) > 1:
                self.rt.finish_conn(conn)

    @precondition(lambda self: self._has_era("handshake") and bool(self._live()))
    @rule(data=st.data(), pick=PICK, token=st.booleans(), eager=st.booleans())
    def call(self, data: st.DataObject, pick: int, token: bool, eager: bool) -> None:
        """A client calls one of the app's tools, prompts or resources in a session."""
        session = self._target(pick)
        mcp: McpRequest = data.draw(self._kit.calls, label="call")
        with self._step(f"call in {session.id} ({session.version}): {mcp!r:.120}"):
            conn = self.client.request(session, [mcp], token=token)
            if eager:
                self.rt.finish_conn(conn)

    @precondition(lambda self: self._has_era("stateless"))
    @rule(
        data=st.data(),
        capabilities=CAPABILITIES,
        token=st.booleans(),
        log_level=st.sampled_from([None, "debug", "error"]),
        eager=st.booleans(),
    )
    def stateless(
        self, data: st.DataObject, capabilities: dict[str, Any], token: bool, log_level: str | None, eager: bool
    ) -> None:
        """A 2026-07-28 client POSTs one request, with ``_meta`` and routing headers."""
        mcp: McpRequest = data.draw(self._kit.stateless, label="request")
        with self._step(f"stateless {mcp!r:.120}"):
            conn = self.client.stateless(mcp, capabilities=capabilities, token=token, log_level=log_level)
            if eager:
                self.rt.finish_conn(conn)

    @precondition(lambda self: bool(self.rt.retries))
    @rule(pick=PICK)
    def retry(self, pick: int) -> None:
        """A stateless client retries an ``input_required`` request with the inputs it asked for."""
        retry = self.rt.retries.pop(pick % len(self.rt.retries))
        with self._step(f"retry {retry.body.get('method')} with inputs {sorted(retry.requests)}"):
            self.rt.finish_conn(self.client.retry(retry))

    @precondition(lambda self: bool(self.rt.sessions))
    @rule(
        pick=PICK,
        method=st.sampled_from(
            ["notifications/initialized", "notifications/roots/list_changed", "notifications/cancelled", "x/y"]
        ),
    )
    def notify(self, pick: int, method: str) -> None:
        """A client sends a notification (a cancellation of an id that is not in flight, too)."""
        session = self._target(pick)
        params = {"requestId": 10**9, "reason": "gone"} if method == "notifications/cancelled" else None
        with self._step(f"notify {method} in {session.id}"):
            self.client.notify(session, method, params)

    # -- handlers -----------------------------------------------------------------------

    @precondition(lambda self: any(not t.blocked for t in self.rt.live_tasks()))
    @rule(pick=PICK, steps=st.integers(0, 3))
    def advance(self, pick: int, steps: int) -> None:
        """A running handler gets to its next await, one to three times (0: until it ends or waits)."""
        task = _pick([t for t in self.rt.live_tasks() if not t.blocked], pick)
        how = f"by {steps}" if steps else "until it ends or waits for the client"
        with self._step(f"advance the {task.label} {how}"):
            if not steps:
                self.rt.finish(task)
            for _ in range(steps):
                task.advance()

    @precondition(lambda self: bool(self.rt.live_tasks()))
    @rule(pick=PICK)
    def cancel(self, pick: int) -> None:
        """The client cancels a running request (handshake: notifications/cancelled; stateless: it hangs up)."""
        task = _pick(self.rt.live_tasks(), pick)
        session = self.rt.sessions.get(task.key[0] or "")
        with self._step(f"the client cancels request {task.call.request_id!r}"):
            if session is None:
                self.rt.hang_up(task.conn)
            else:
                params = {"requestId": task.call.request_id, "reason": "the user pressed stop"}
                self.client.notify(session, "notifications/cancelled", params)

    @precondition(lambda self: any(not self.rt.sessions[r.session].dead for r in self.rt.server_requests))
    @rule(pick=PICK, error=st.booleans())
    def answer(self, pick: int, error: bool) -> None:
        """The client answers a request the server sent it (elicitation, sampling, roots)."""
        asked = _pick([r for r in self.rt.server_requests if not self.rt.sessions[r.session].dead], pick)
        self.rt.server_requests.remove(asked)
        with self._step(f"the client answers {asked.method} {asked.id!r}" + (" with an error" if error else "")):
            self.client.answer(self.rt.sessions[asked.session], asked, error)

    # -- connections --------------------------------------------------------------------

    @precondition(lambda self: any(c.open for c in self.rt.connections))
    @rule(pick=PICK)
    def disconnect(self, pick: int) -> None:
        """A client drops a connection: an SSE stream it reads, or a request still waiting."""
        conn = _pick([c for c in self.rt.connections if c.open], pick)
        with self._step(f"the client of #{conn.number} disconnects"):
            self.rt.hang_up(conn)

    @precondition(lambda self: bool(self.rt.resumable()))
    @rule(pick=PICK, which=PICK, elsewhere=st.booleans())
    def resume(self, pick: int, which: int, elsewhere: bool) -> None:
        """A client resumes a stream from an event id it saw (GET + Last-Event-ID), maybe in another session."""
        conn = _pick(self.rt.resumable(), pick)
        assert conn.stream is not None and conn.stream.session is not None
        seq = _pick(sorted(set(conn.seen)), which)
        session = self.rt.sessions[conn.stream.session]
        others = [s for s in self._sessions() if s is not session]
        if elsewhere and others:
            session = _pick(others, which)
        with self._step(f"resume {conn.stream.where} after seq {seq} from {session.id}"):
            self.client.resume(session, conn.stream, seq)

    @precondition(lambda self: bool(self.rt.sessions))
    @rule(pick=PICK)
    def get(self, pick: int) -> None:
        """A client opens the session's GET stream."""
        session = self._target(pick)
        with self._step(f"GET stream of {session.id}"):
            self.client.get(session)

    @precondition(lambda self: bool(self.rt.sessions))
    @rule(pick=PICK)
    def delete(self, pick: int) -> None:
        """A client ends its session with DELETE."""
        session = self._target(pick)
        with self._step(f"DELETE {session.id}"):
            self.client.delete(session)

    # -- time and the server's own initiative ---------------------------------------------

    @rule(jump=st.integers(0, 5), expire=st.booleans())
    def tick(self, jump: int, expire: bool) -> None:
        """Time passes (a little, or past a timeout); the runtime may sweep idle sessions."""
        limits = self.limits
        jumps = [0.5, 1.5, limits.finished_stream_age + 1, limits.server_request_timeout + 1]
        seconds = _pick(sorted({*jumps, limits.max_event_age + 1, limits.session_idle_timeout + 2}), jump)
        with self._step(f"{seconds:g}s pass" + (", then idle sessions are swept" if expire else "")):
            self._now += seconds
            self.rt.renew_claims()
            self.rt.close_expired_connections()
            if expire:
                self.rt.expire_sessions()

    @precondition(lambda self: bool(self.rt.sessions) or bool(self.rt.stateless_streams))
    @rule(kind=st.sampled_from(["tools", "prompts", "resources", "session", "updated"]), pick=PICK)
    def announce(self, kind: str, pick: int) -> None:
        """The server announces something: a list changed, a resource updated, a session notification."""
        with self._step(f"the server announces {kind}"):
            if kind == "session" and self.rt.sessions:
                self.rt.notify_session(_pick(self._sessions(), pick))
            elif kind == "updated":
                self.rt.carry_out(self.rt.run(self.rt.server.resource_updated("test://anything")), None)
            else:
                plan = self.rt.server.list_changed("tools" if kind == "session" else kind)
                self.rt.carry_out(self.rt.run(plan), None)

    # -- wrong requests -----------------------------------------------------------------

    def _mutation_targets(self) -> frozenset[str]:
        targets = {"stateless"} if self._has_era("stateless") else set()
        if self._has_era("handshake") and self._sessions(alive=True):
            targets |= {"post", "get", "delete"}
        return frozenset(targets)

    @rule(data=st.data(), kind=st.sampled_from(["mutation", "invalid", "junk"]), pick=PICK)
    def misbehave(self, data: st.DataObject, kind: str, pick: int) -> None:
        """A client sends something wrong: one broken rule, an invalid message, or any bytes at all."""
        alive = self._sessions(alive=True) if self._has_era("handshake") else []
        targets = self._mutation_targets()
        if kind == "mutation" and targets:
            mutation = data.draw(self._kit.mutations[targets], label="mutation")
            session = _pick(alive, pick) if alive and mutation.target != "stateless" else None
            with self._step(f"a request with {mutation.name}" + (f" in {session.id}" if session else "")):
                self.client.mutated(mutation, session)
        elif kind == "invalid":
            value = data.draw(self._kit.invalid, label="body")
            session = _pick(alive, pick) if alive and pick % 2 else None
            with self._step(f"an invalid JSON-RPC message {value!r:.60}" + (f" in {session.id}" if session else "")):
                self.client.invalid_message(value, session)
        else:
            raw: RawRequest = data.draw(self._kit.raw, label="raw request")
            with self._step(f"junk: {raw.method} with {len(raw.headers)} headers, {len(raw.body)} bytes"):
                self.rt.finish_conn(self.rt.send(raw.method, list(raw.headers), raw.body, session=None, modeled=False))

    # -- the end ------------------------------------------------------------------------

    @precondition(lambda self: bool(self.rt.live_tasks() or self.rt.server_requests))
    @rule()
    def drain(self) -> None:
        """Everything finishes: then every request has exactly one response and every stream ended."""
        with self._step("drain: answer every server request, finish every handler"):
            self.client.drain()

    def teardown(self) -> None:
        """At the end of a run that broke nothing so far, drain: every request must have its response."""
        if not self._failed:
            self.drain()


def machine_for(
    target: Target,
    *,
    config: Config | None = None,
    store: Callable[[], Store] = MemoryStore,
    eras: tuple[str, ...] = ERAS,
    versions: tuple[str, ...] = HANDSHAKE_VERSIONS,
    settings: Settings | None = None,
) -> type[ProtocolMachine]:
    """A :class:`ProtocolMachine` for ``target``; its ``TestCase`` attribute is a test.

    Example::

        TestMyServer = machine_for(app).TestCase

    Args:
        target: An App, a Server (rebuilt per run with the machine's clock and ids), or a
            factory taking ``clock``, ``new_session_id``, ``new_stream_key`` and ``state_key``.
        config: Limits and policies (default: the target's, or ``Config()``).
        store: Makes each run's store (default :class:`~mcp_sansio.MemoryStore`).
        eras: ``("handshake", "stateless")`` or one of them.
        versions: The handshake revisions clients ask for.
        settings: Hypothesis settings for the ``TestCase`` (examples, steps, ...).
    """
    if not eras or set(eras) - set(ERAS):
        raise ValueError(f"eras must be a non-empty subset of {ERAS}, got {eras!r}")
    name = getattr(target, "name", None) or getattr(getattr(target, "app", None), "name", None) or "server"
    attrs = {"target": target, "config": config, "store_factory": store, "eras": eras, "versions": versions}
    machine: type[ProtocolMachine] = type(f"ProtocolMachine[{name}]", (ProtocolMachine,), attrs)
    if settings is not None:
        machine.TestCase.settings = settings
    return machine
