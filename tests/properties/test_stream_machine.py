"""A state machine over streaming tools: yields, logs, disconnects, resumes, cancellations, errors.

Invariants, checked after every step:
- per stream, sequence numbers count up 1, 2, 3, ... (so they strictly increase);
- event ids are unique within a session;
- a resume from any id seen delivers exactly the live events after it, in order;
- a resume never reaches another session's stream;
- every request gets exactly one final response, which ends its stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from mcp_sansio import EndStream, ResumeStream, RunHandler, SendEvent, SendResponse, ToolError
from tests.apps import demo_app
from tests.conftest import Harness, make_harness


@dataclass
class Stream:
    session: str
    request_id: int
    run: RunHandler
    events: list[SendEvent] = field(default_factory=list)
    ended: bool = False
    responses: int = 0

    @property
    def key(self) -> str:
        return self.run.exchange.stream


def data_of(event: SendEvent) -> Any:
    payload = event.data.split(b"data: ", 1)[1].rstrip(b"\n")
    return json.loads(payload) if payload else None


class StreamingMachine(RuleBasedStateMachine):
    streams = Bundle("streams")

    def __init__(self) -> None:
        super().__init__()
        self.harness: Harness = make_harness(demo_app())
        self.sessions = [self.harness.initialize("2025-11-25"), self.harness.initialize("2025-06-18")]
        self.all: list[Stream] = []
        self.next_id = 1

    def _record(self, stream: Stream, outputs: list[Any]) -> None:
        for output in outputs:
            if isinstance(output, SendEvent) and output.stream == stream.key:
                stream.events.append(output)
                message = data_of(output)
                if isinstance(message, dict) and message.get("id") == stream.request_id and "method" not in message:
                    stream.responses += 1
            elif isinstance(output, EndStream) and output.stream == stream.key:
                stream.ended = True
            elif isinstance(output, SendResponse):
                stream.responses += 1
                stream.ended = True

    @rule(target=streams, session=st.integers(0, 1), token=st.booleans())
    def start(self, session: int, token: bool) -> Stream:
        rid = self.next_id
        self.next_id += 1
        params: dict[str, Any] = {"name": "count", "arguments": {"n": 3}}
        if token:
            params["_meta"] = {"progressToken": f"t{rid}"}
        outputs = self.harness.post(
            {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}, self.sessions[session]
        )
        run = next(o for o in outputs if isinstance(o, RunHandler))
        stream = Stream(self.sessions[session], rid, run)
        self._record(stream, outputs)
        self.all.append(stream)
        return stream

    @rule(stream=streams, chunk=st.text(max_size=5))
    def yield_chunk(self, stream: Stream, chunk: str) -> None:
        if stream.ended:
            return
        self._record(stream, self.harness.run(stream.run.exchange.chunk(stream.run.call, chunk)))

    @rule(stream=streams)
    def log(self, stream: Stream) -> None:
        if stream.ended:
            return
        self._record(stream, self.harness.run(stream.run.exchange.log(stream.request_id, "info", "x", None)))

    @rule(stream=consumes(streams), how=st.sampled_from(["complete", "tool_error", "crash", "cancel"]))
    def finish(self, stream: Stream, how: str) -> None:
        if stream.ended:
            return
        exchange, call = stream.run.exchange, stream.run.call
        if how == "complete":
            plan = exchange.complete(call, None)
        elif how == "tool_error":
            plan = exchange.fail(call, ToolError("boom"))
        elif how == "crash":
            plan = exchange.fail(call, RuntimeError("bug"))
        else:
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": stream.request_id}}
            self.harness.post(cancel, stream.session)
            plan = exchange.cancelled(call)
        self._record(stream, self.harness.run(plan))
        assert stream.ended
        assert stream.responses == 1

    @precondition(lambda self: any(s.events for s in self.all))
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        stream = data.draw(st.sampled_from([s for s in self.all if s.events]))
        k = data.draw(st.integers(0, len(stream.events) - 1))
        after = stream.events[k].seq
        outputs = self.harness.request(
            "GET", None, [("mcp-session-id", stream.session), ("last-event-id", f"{stream.key}-{after}")]
        )
        assert isinstance(outputs[0], ResumeStream)
        replayed, final = self.harness.run(self.harness.server.replay(stream.session, stream.key, after))
        assert replayed == stream.events[k + 1 :]
        assert final == stream.ended

    @precondition(lambda self: any(s.events for s in self.all))
    @rule(data=st.data())
    def resume_from_the_other_session(self, data: st.DataObject) -> None:
        stream = data.draw(st.sampled_from([s for s in self.all if s.events]))
        other = next(s for s in self.sessions if s != stream.session)
        outputs = self.harness.request(
            "GET", None, [("mcp-session-id", other), ("last-event-id", f"{stream.key}-{stream.events[-1].seq}")]
        )
        assert isinstance(outputs[0], SendResponse) and outputs[0].status == 400

    @invariant()
    def sequences_count_up_and_ids_are_unique(self) -> None:
        for session in self.sessions:
            ids: set[str] = set()
            for stream in (s for s in self.all if s.session == session):
                assert [e.seq for e in stream.events] == list(range(1, len(stream.events) + 1))
                for event in stream.events:
                    event_id = event.data.split(b"\n", 1)[0].decode()
                    assert event_id == f"id: {stream.key}-{event.seq}"
                    assert event_id not in ids
                    ids.add(event_id)

    @invariant()
    def at_most_one_response_each(self) -> None:
        for stream in self.all:
            assert stream.responses == (1 if stream.ended else 0)


StreamingMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestStreamingMachine = StreamingMachine.TestCase
