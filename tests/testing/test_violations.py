"""Each check of the machine, shown catching the bug it is there for (scripted, deterministic)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import pytest

from mcp_sansio import (
    ClaimOutcome,
    Config,
    DeleteSession,
    DeliverResponse,
    EndStream,
    HttpRequest,
    MemoryStore,
    Output,
    Plan,
    Response,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
    SessionClosed,
    StartStream,
    StoreCommand,
)
from mcp_sansio.testing import ProtocolMachine, ProtocolViolation, machine_for
from mcp_sansio.testing._requests import ANSWER, McpRequest
from tests.apps import demo_app
from tests.testing.conftest import Given

Mangle = Callable[[list[Output]], list[Output]]
JSON = (("content-type", "application/json"),)
PING = McpRequest("ping")
COUNT = McpRequest("tools/call", {"name": "count", "arguments": {"n": 2}}, ANSWER)
ADD = McpRequest("tools/call", {"name": "add", "arguments": {"a": 1}}, ANSWER)


class _Exchange:
    """An exchange whose every plan's outputs pass through ``mangle``."""

    def __init__(self, inner: Any, mangle: Mangle) -> None:
        self._inner, self._mangle = inner, mangle

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            return self._plan(result) if inspect.isgenerator(result) else result

        return wrapped

    def _plan(self, plan: Plan[Any]) -> Generator[Any, Any, Any]:
        out = yield from plan
        return self._mangle(out) if isinstance(out, list) else out


StoreHook = Callable[[StoreCommand, Any], Any]


def broken(mangle: Mangle, config: Config | None = None, **store: StoreHook) -> ProtocolMachine:
    """A machine whose server passes every output through ``mangle`` and whose store answers through ``store``."""

    class Mangled(Server):
        def receive(self, request: HttpRequest, body: bytes = b"", *, checked: bool = False) -> Plan[list[Output]]:
            outputs = yield from super().receive(request, body, checked=checked)
            outputs = [RunHandler(o.call, _Exchange(o.exchange, mangle)) if isinstance(o, RunHandler) else o
                       for o in outputs]  # type: ignore[arg-type]
            return mangle(outputs)

    class Store(MemoryStore):
        def execute(self, command: StoreCommand) -> Any:
            answer = super().execute(command)
            hook = store.get(type(command).__name__)
            return hook(command, answer) if hook else answer

    return machine_for(Mangled(demo_app(), config), store=Store)()


def each(kind: type, change: Callable[[Any], Any]) -> Mangle:
    return lambda outputs: [change(o) if isinstance(o, kind) else o for o in outputs]


def caught(m: ProtocolMachine, action: Callable[[], Any], problem: str) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation, match=problem) as info:
        action()
    return info.value


def session(m: ProtocolMachine, version: int = 3) -> None:
    m.initialize(version=version, capabilities={})


def call(m: ProtocolMachine, request: McpRequest, eager: bool = True) -> None:
    m.call(Given(request), pick=0, token=True, eager=eager)


def error(status: int, code: object, rid: str = "null") -> SendResponse:
    """A refusal with a JSON-RPC error body."""
    return SendResponse(status, JSON, b'{"jsonrpc":"2.0","id":%s,"error":{"code":%s,"message":""}}' % (
        rid.encode(), str(code).encode()))


def ping_answer(change: Callable[[SendResponse], SendResponse]) -> Mangle:
    return each(SendResponse, lambda o: change(o) if b'"result":{}' in o.body else o)


# -- answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda o: [*o, "junk"], "not an output of the core"),
        (lambda o: [], "gave no outputs"),
        (ping_answer(lambda r: SendResponse(500)), "500 is not a status"),
        (ping_answer(lambda r: SendResponse(202, (), b"{}")), "202 must have an empty body"),
        (ping_answer(lambda r: SendResponse(405, JSON, r.body)), "405 must say which methods"),
        (ping_answer(lambda r: SendResponse(200, (), r.body)), "Content-Type application/json"),
        (ping_answer(lambda r: SendResponse(200, JSON, b"{")), "not JSON"),
        (ping_answer(lambda r: SendResponse(200, JSON, b"[]")), "must carry JSON-RPC responses"),
        (ping_answer(lambda r: error(404, -32600)), "pairs 404"),
        (ping_answer(lambda r: error(400, '"x"')), "integer code"),
        (ping_answer(lambda r: SendResponse(400, JSON, b'"x"')), "must carry a JSON-RPC error"),
        (ping_answer(lambda r: SendResponse(200, (("x", 1),), r.body)), "must be strings"),  # type: ignore[arg-type]
        (ping_answer(lambda r: SendResponse(202)), "202 Accepted for"),
        (ping_answer(lambda r: replace(r, body=r.body.replace(b'"id":2', b'"id":9'))), "response to id 9"),
        (ping_answer(lambda r: replace(error(200, -32603, "2"), headers=r.headers)), "expected a result, got error"),
        (ping_answer(lambda r: error(400, -32600, "7")), "names request id 7"),
        (ping_answer(lambda r: replace(r, headers=(*JSON, ("mcp-session-id", "other")))), "for session other went"),
        (ping_answer(lambda r: error(431, -32600)), "431 is wrong"),
        (ping_answer(lambda r: error(413, -32600)), "413 is wrong"),
        (ping_answer(lambda r: error(409, -32600, "2")), "409 for request id 2"),
        (ping_answer(lambda r: error(429, -32600, "2")), "429 with 0 requests"),
        (ping_answer(lambda r: error(404, -32001)), "is alive, but #3 got 404"),
    ],
)
def test_answers_are_checked(change: Mangle, problem: str) -> None:
    m = broken(lambda o: o)
    session(m)
    m.rt.server.receive = _after_initialize(m.rt.server, change)  # type: ignore[method-assign]
    caught(m, lambda: m.request(Given(PING), pick=0, token=False, id_kind="int", eager=True, batch=0), problem)


def _after_initialize(server: Server, change: Mangle) -> Callable[..., Plan[list[Output]]]:
    receive = type(server).receive

    def mangled(request: HttpRequest, body: bytes = b"", *, checked: bool = False) -> Plan[list[Output]]:
        outputs = yield from receive(server, request, body, checked=checked)
        return change(outputs)

    return mangled


def test_the_server_raising_is_a_violation_and_the_machine_raising_is_not() -> None:
    m = broken(lambda o: o)
    session(m)

    def explode(request: HttpRequest, body: bytes = b"", *, checked: bool = False) -> Plan[list[Output]]:
        raise KeyError("boom")
        yield

    m.rt.server.receive = explode  # type: ignore[method-assign]
    caught(m, lambda: m.request(Given(PING), pick=0, token=False, id_kind="int", eager=True, batch=0),
           "the server raised KeyError")
    m2 = broken(lambda o: o)
    m2.rt.sessions = None  # type: ignore[assignment]  # the machine's own state broken: its error shows as is
    with pytest.raises(AttributeError):
        m2.initialize(version=0, capabilities={})


# -- streams --------------------------------------------------------------------------------


def _seq(delta: int, at: int = 2) -> Mangle:
    return each(SendEvent, lambda e: replace(e, seq=e.seq + delta) if e.seq == at else e)


def _event_after_the_end(outputs: list[Output]) -> list[Output]:
    late = b"id: s1-4\nevent: message\ndata: {}\n\n"
    ends = [e for e in outputs if isinstance(e, EndStream)]
    return outputs + [SendEvent(e.session_id, e.stream, e.last_seq + 1, late) for e in ends]


def _final_dropped(outputs: list[Output]) -> list[Output]:
    if not any(isinstance(o, EndStream) for o in outputs):
        return outputs
    kept = [o for o in outputs if not isinstance(o, SendEvent)]
    return [replace(o, last_seq=o.last_seq - 1) if isinstance(o, EndStream) else o for o in kept]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_seq(-1), "must strictly increase"),
        (_seq(+1), "skipped from seq 1 to 3"),
        (each(EndStream, lambda e: replace(e, last_seq=e.last_seq + 1)), "ended at seq 4"),
        (_final_dropped, r"ended before request\(s\) \[2\]"),
        (_event_after_the_end, "after it ended"),
        (each(SendEvent, lambda e: replace(e, data=e.data.replace(b'"id":2', b'"id":8'))), "response to id 8"),
        (each(SendEvent, lambda e: replace(e, data=e.data[:-1])), "malformed SSE event"),
        (each(SendEvent, lambda e: replace(e, data=b"id: s1-1\nevent: message\ndata: {\n\n")), "not JSON"),
        (each(SendEvent, lambda e: replace(e, data=b"id: s1-1\nevent: message\ndata: []\n\n")), "not a JSON-RPC"),
        (each(SendEvent, lambda e: replace(e, data=e.data.replace(b"id: s1-", b"id: s9-"))), "SSE event id"),
        (each(SendEvent, lambda e: replace(e, data=e.data.replace(b'"t1"', b'"t99"'))), "names token 't99'"),
        (each(SendEvent, lambda e: replace(e, stream="nowhere")), "never started"),
        (each(EndStream, lambda e: replace(e, stream="nowhere")), "never started"),
        (each(StartStream, lambda s: replace(s, headers=JSON)), "lacks Content-Type"),
        (each(StartStream, lambda s: replace(s, priming=b"id: s1-0\nevent: message\ndata: \n\n")), "malformed priming"),
        (each(SendEvent, lambda e: replace(e, seq=0)), "kept no event"),
    ],
)
def test_streams_are_checked(change: Mangle, problem: str) -> None:
    m = broken(change)
    session(m)
    caught(m, lambda: call(m, COUNT), problem)


def test_two_open_stateless_streams_must_not_share_a_key() -> None:
    class SameKey(Server):
        def __init__(self, app: Any, config: Any = None, **sources: Any) -> None:
            sources["new_stream_key"] = lambda: "k"
            super().__init__(app, config, **sources)

    m = machine_for(SameKey(demo_app()), eras=("stateless",))()
    m.stateless(Given(COUNT), capabilities={}, token=False, log_level=None, eager=False)
    caught(m, lambda: m.stateless(Given(COUNT), capabilities={}, token=False, log_level=None, eager=False),
           "two open stateless streams share the key 'k'")


def test_a_server_request_on_a_stateless_stream() -> None:
    request = b'event: message\ndata: {"jsonrpc":"2.0","id":"x","method":"roots/list"}\n\n'
    m = broken(each(SendEvent, lambda e: replace(e, data=request) if e.session_id is None else e))
    caught(m, lambda: m.stateless(Given(COUNT), capabilities={}, token=False, log_level=None, eager=True),
           "2026-07-28 has none")


# -- resumes and GET streams --------------------------------------------------------------------


def _resumed(m: ProtocolMachine) -> None:
    call(m, COUNT)
    m.resume(pick=0, which=0, elsewhere=False)


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        (lambda s: lambda sid, stream, after, named=True: _replay(s, sid, "other", after), "another stream or session"),
        (
            lambda s: lambda sid, stream, after, named=True: _replay(s, sid, stream, after, final=False),
            "finished=False",
        ),
    ],
)
def test_replays_are_checked(server: Callable[[Server], Any], problem: str) -> None:
    m = broken(lambda o: o)
    session(m)
    m.rt.server.replay = server(m.rt.server)  # type: ignore[method-assign]
    caught(m, lambda: _resumed(m), problem)


def _replay(server: Server, sid: str, stream: str, after: int, final: bool | None = None) -> Plan[Any]:
    events, done = yield from Server.replay(server, sid, "s1", after)
    events = [replace(e, stream=stream) for e in events]
    return events, done if final is None else final


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (each(ResumeStream, lambda r: replace(r, claim=None)), "without a claim"),
        (each(ResumeStream, lambda r: replace(r, after=r.after + 1)), "must start where the last reader stopped"),
        (each(ResumeStream, lambda r: replace(r, session_id="other")), "went to request"),
    ],
)
def test_get_streams_are_checked(change: Mangle, problem: str) -> None:
    m = broken(change)
    session(m)
    m.announce(kind="tools", pick=0)
    caught(m, lambda: m.get(pick=0), problem)


def test_get_answers_are_checked() -> None:
    conflict = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"busy"}}'
    m = broken(each(ResumeStream, lambda r: SendResponse(409, JSON, conflict)))
    session(m)
    caught(m, lambda: m.get(pick=0), "409 exactly when one is open")
    m = broken(each(ResumeStream, lambda r: SendResponse(400, JSON, conflict)))
    session(m)
    caught(m, lambda: m.get(pick=0), "instead of a stream")
    m = broken(lambda o: o, ClaimStandalone=lambda c, a: 0)  # every claim granted: two GET streams at once
    session(m)
    m.get(pick=0)
    caught(m, lambda: m.get(pick=0), "409 exactly when one is open")
    m = broken(lambda o: o, ClaimStandalone=lambda c, a: 0)
    session(m)
    m.get(pick=0)
    caught(m, lambda: m.resume(pick=0, which=0, elsewhere=False), "expected 409")


def test_resume_refusals_are_checked() -> None:
    gone = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"gone"}}'
    m = broken(each(ResumeStream, lambda r: SendResponse(410, JSON, gone) if r.stream != "0" else r))
    session(m)
    caught(m, lambda: _resumed(m), "the model allows only the replay")


def test_renewed_claims_and_lost_ones() -> None:
    m = broken(lambda o: o, ClaimStandalone=lambda c, a: None if c.now > 1000 else a)
    session(m)
    m.get(pick=0)
    caught(m, lambda: m.tick(jump=0, expire=False), "was lost")


# -- sessions and limits ---------------------------------------------------------------------


def test_initialize_is_checked() -> None:
    m = broken(lambda o: o, CountSessions=lambda c, a: 10**6)
    caught(m, lambda: session(m), "refused with 503")
    m = broken(lambda o: o, Config(max_sessions=1), CountSessions=lambda c, a: 0)
    session(m)
    caught(m, lambda: session(m), "yet initialize succeeded")
    m = broken(each(SendResponse, lambda r: replace(r, headers=JSON) if b"protocolVersion" in r.body else r))
    caught(m, lambda: session(m), "without an Mcp-Session-Id")
    m = broken(each(SendResponse, lambda r: replace(r, body=r.body.replace(b"2025-11-25", b"2025-06-18"))))
    caught(m, lambda: session(m), "must negotiate 2025-11-25")
    refused = b'{"jsonrpc":"2.0","id":0,"error":{"code":-32600,"message":"no"}}'
    m = broken(each(SendResponse, lambda r: SendResponse(400, JSON, refused) if b"protocolVersion" in r.body else r))
    caught(m, lambda: session(m), "initialize got 400")

    class OneId(Server):
        def __init__(self, app: Any, config: Any = None, **sources: Any) -> None:
            sources["new_session_id"] = lambda: "same"
            super().__init__(app, config, **sources)

    m = machine_for(OneId(demo_app()))()
    session(m)
    caught(m, lambda: session(m), "which an earlier session has")


def test_notifications_must_be_accepted() -> None:
    refused = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}'
    m = broken(each(SendResponse, lambda r: SendResponse(400, JSON, refused) if r.status == 202 else r))
    caught(m, lambda: session(m), "must get 202 Accepted")


def test_in_flight_limits_and_duplicates() -> None:
    # A store that claims whatever it is asked to, alone or with the session's load.
    always = {
        "ClaimRequest": lambda c, a: ClaimOutcome.CLAIMED,
        "LoadAndClaim": lambda c, a: (a[0], None if a[1] is None else ClaimOutcome.CLAIMED),
    }
    m = broken(lambda o: o, **always)
    session(m)
    call(m, COUNT, eager=False)
    caught(m, lambda: m.request(Given(PING), pick=0, token=False, id_kind="reuse", eager=True, batch=0),
           "already in flight")
    m = broken(lambda o: o, Config(max_in_flight=1), **always)
    session(m)
    call(m, COUNT, eager=False)
    caught(m, lambda: call(m, PING), "expected 429")


def test_deleted_sessions_stay_deleted() -> None:
    m = broken(lambda o: o)
    m.rt.store._dispatch[DeleteSession] = lambda c: True  # type: ignore[attr-defined]  # a store that never deletes
    session(m)
    m.delete(pick=0)
    caught(m, lambda: m.notify(pick=7, method="x/y"), "has ended, but")
    m = broken(lambda o: [x for x in o if not isinstance(x, SessionClosed)])
    session(m)
    caught(m, lambda: m.delete(pick=0), "did not end the session")
    m = broken(each(SendResponse, lambda r: SendResponse(202) if r.status == 200 and not r.body else r))
    session(m)
    caught(m, lambda: m.delete(pick=0), "DELETE of live session")


def test_expiry_is_checked() -> None:
    m = broken(lambda o: o, ExpireSessions=lambda c, a: ["session1"])
    session(m)
    caught(m, lambda: m.tick(jump=0, expire=True), "expired though it was used")
    m = broken(lambda o: o, ExpireSessions=lambda c, a: [])
    session(m)
    caught(m, lambda: m.tick(jump=5, expire=True), "yet expire\\(\\) kept it")


def test_session_notifications_reach_alive_sessions() -> None:
    m = broken(lambda o: o)
    session(m)
    m.rt.server.notify_session = lambda *a: iter(())  # type: ignore[method-assign, assignment]
    caught(m, lambda: m.announce(kind="session", pick=0), "sent nothing")


def test_nothing_crosses_sessions() -> None:
    m = broken(each(RunHandler, lambda r: replace(r, call=replace(r.call, request_id=99))))
    session(m)
    caught(m, lambda: call(m, ADD), "did not send request 99")
    elsewhere = DeliverResponse("other", 1, Response(1, {}))
    m = broken(lambda o: [*o, elsewhere] if any(isinstance(x, SendResponse) and x.status == 202 for x in o) else o)
    caught(m, lambda: session(m), "for session other went to request #2")  # notifications/initialized of session1


def test_limits_on_heads_and_bodies() -> None:
    class Lax(Server):
        def check_head(self, request: HttpRequest) -> SendResponse | None:
            return None

    m = machine_for(Lax(demo_app(), Config(max_header_count=3)))()
    caught(m, lambda: session(m), "expected 431")


def test_every_request_needs_its_response_in_the_end() -> None:
    m = broken(lambda o: o)
    session(m)
    call(m, ADD, eager=False)
    task = m.rt.live_tasks()[0]
    task.done = True  # a runtime that lost a handler
    caught(m, m.drain, "got no response")
