"""JSON-vs-SSE choice, event numbering, streaming tools and replay, through the core alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mcp_sansio import (
    CHUNK_META_KEY,
    AppendEvent,
    Config,
    EndStream,
    LocalProtocolError,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    StartStream,
)
from mcp_sansio._sse import frame_event
from tests.apps import demo_app
from tests.conftest import Harness, body_of, make_harness, only_response


def call(name: str, arguments: dict[str, Any] | None = None, rid: Any = 1, token: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


def run_handler(outputs: list[Any]) -> RunHandler:
    handlers = [o for o in outputs if isinstance(o, RunHandler)]
    assert len(handlers) == 1, outputs
    return handlers[0]


def events(outputs: list[Any]) -> list[dict[str, Any]]:
    """The JSON-RPC messages carried by SendEvent outputs (priming events excluded)."""
    found = []
    for out in outputs:
        if isinstance(out, SendEvent):
            data = out.data.split(b"data: ", 1)[1].rstrip(b"\n")
            if data:
                found.append(json.loads(data))
    return found


def test_plain_tool_answers_json(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("add", {"a": 1}), session))
    assert run.call.kwargs == {"a": 1}
    out = harness.run(run.exchange.complete(run.call, asyncio.run(run.call.fn(**run.call.kwargs))))
    response = only_response(out)
    assert dict(response.headers)["content-type"] == "application/json"
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"content": [{"type": "text", "text": "3"}]},
    }


def test_unknown_tool_and_bad_arguments(harness: Harness) -> None:
    session = harness.initialize()
    assert body_of(harness.post(call("nope"), session))["error"]["code"] == -32602
    result = body_of(harness.post(call("add", {"a": "x"}), session))["result"]
    assert result["isError"] is True
    assert "arguments.a must be of type integer" in result["content"][0]["text"]
    missing = body_of(harness.post(call("add", {}), session))["result"]
    assert "arguments.a is required" in missing["content"][0]["text"]


def test_tool_errors_become_is_error_results(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("fail"), session))
    from mcp_sansio import ToolError

    out = harness.run(run.exchange.fail(run.call, ToolError("it broke")))
    assert json.loads(only_response(out).body)["result"] == {
        "content": [{"type": "text", "text": "it broke"}],
        "isError": True,
    }
    run = run_handler(harness.post(call("fail", rid=2), session))
    out = harness.run(run.exchange.fail(run.call, ValueError("bad value")))
    assert json.loads(only_response(out).body)["result"]["content"][0]["text"] == "ValueError: bad value"


def test_structured_output(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("structured", {"a": 4}), session))
    out = harness.run(run.exchange.complete(run.call, {"sum": 4}))
    result = json.loads(only_response(out).body)["result"]
    assert result == {"content": [{"type": "text", "text": '{"sum":4}'}], "structuredContent": {"sum": 4}}


def test_a_notification_switches_to_sse_with_priming(harness: Harness) -> None:
    session = harness.initialize("2025-11-25")
    run = run_handler(harness.post(call("chatty"), session))
    out = harness.run(run.exchange.log(1, "info", "hello", None))
    start = out[0]
    assert isinstance(start, StartStream)
    assert ("content-type", "text/event-stream") in start.headers
    assert start.priming == b"id: s1-0\nretry: 1000\nevent: message\ndata: \n\n"
    assert out[1] == SendEvent(
        session,
        "s1",
        1,
        frame_event(
            b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hello"}}',
            event_id="s1-1",
        ),
    )
    final = harness.run(run.exchange.complete(run.call, "done"))
    assert [type(o) for o in final] == [SendEvent, EndStream]
    assert final[0].seq == 2 and final[1] == EndStream(session, "s1", 2)
    assert events(final)[0]["result"]["content"][0]["text"] == "done"


def test_log_level_filter(harness: Harness) -> None:
    session = harness.initialize()
    assert (
        body_of(
            harness.post(
                {"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel", "params": {"level": "warning"}}, session
            )
        )["result"]
        == {}
    )
    run = run_handler(harness.post(call("chatty"), session))
    assert harness.run(run.exchange.log(1, "info", "quiet", None)) == []
    assert isinstance(harness.run(run.exchange.log(1, "error", "loud", None))[0], StartStream)
    with pytest.raises(LocalProtocolError):
        harness.run(run.exchange.log(1, "shouting", "x", None))
    bad = body_of(
        harness.post({"jsonrpc": "2.0", "id": 6, "method": "logging/setLevel", "params": {"level": "loud"}}, session)
    )
    assert bad["error"]["code"] == -32602


def test_streaming_tool_with_progress_token(harness: Harness) -> None:
    session = harness.initialize()
    outputs = harness.post(call("count", {"n": 3}, token="tok"), session)
    assert isinstance(outputs[0], StartStream)
    run = run_handler(outputs)
    assert run.call.streaming
    sent: list[Any] = []
    for chunk in ("1", "2", "3"):
        sent += harness.run(run.exchange.chunk(run.call, chunk))
    sent += harness.run(run.exchange.complete(run.call, None))
    messages = events(sent)
    assert [m["params"]["progress"] for m in messages[:3]] == [1, 2, 3]
    assert [m["params"]["message"] for m in messages[:3]] == ["1", "2", "3"]
    assert messages[0]["params"]["_meta"][CHUNK_META_KEY] == {"type": "text", "text": "1"}
    assert messages[3]["result"]["content"] == [{"type": "text", "text": t} for t in "123"]
    seqs = [o.seq for o in sent if isinstance(o, SendEvent)]
    assert seqs == [1, 2, 3, 4]
    assert isinstance(sent[-1], EndStream)


def test_streaming_tool_without_token_uses_related_log_messages(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}), session))
    messages = events(harness.run(run.exchange.chunk(run.call, "1")))
    assert messages == [
        {
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {
                "level": "info",
                "logger": "tool/count",
                "data": {"requestId": 1, "chunk": {"type": "text", "text": "1"}},
            },
        }
    ]


def test_progress_needs_a_token_and_must_increase(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("chatty"), session))
    assert harness.run(run.exchange.progress(run.call, 1, None, None)) == []
    run = run_handler(harness.post(call("chatty", rid=2, token=7), session))
    assert events(harness.run(run.exchange.progress(run.call, 1, 10, "a")))[0]["params"] == {
        "progressToken": 7,
        "progress": 1,
        "total": 10,
        "message": "a",
    }
    with pytest.raises(LocalProtocolError):
        harness.run(run.exchange.progress(run.call, 1, 10, "again"))



def test_a_text_chunk_behind_a_larger_progress_step_is_refused_and_kept(harness: Harness) -> None:
    # The text fast path numbers chunks by count; a handler that already reported a larger
    # step gets the general path's refusal, and the chunk still counts for the final result.
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 2}, token=7), session))
    harness.run(run.exchange.progress(run.call, 5, None, None))
    with pytest.raises(LocalProtocolError, match="progress"):
        harness.run(run.exchange.chunk(run.call, "a"))
    final = events(harness.run(run.exchange.complete(run.call, None)))
    assert final[-1]["result"]["content"] == [{"type": "text", "text": "a"}]

def test_a_streaming_call_completed_with_a_value_is_a_local_error(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}), session))
    harness.run(run.exchange.chunk(run.call, "1"))
    with pytest.raises(LocalProtocolError, match="completes with None"):
        harness.run(run.exchange.complete(run.call, "lost"))
    assert events(harness.run(run.exchange.complete(run.call, None)))[-1]["result"]["content"] == [
        {"type": "text", "text": "1"}
    ]


def test_responding_twice_is_a_local_error(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("add", {"a": 1}), session))
    harness.run(run.exchange.complete(run.call, "3"))
    with pytest.raises(LocalProtocolError):
        harness.run(run.exchange.complete(run.call, "3"))


def test_messages_after_the_response_go_to_the_standalone_stream(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("chatty"), session))
    harness.run(run.exchange.complete(run.call, "done"))
    out = harness.run(run.exchange.log(1, "info", "late", None))
    assert [(o.stream, o.seq) for o in out if isinstance(o, SendEvent)] == [("0", 1)]


def test_server_request_needs_the_capability() -> None:
    harness = make_harness(demo_app())
    session = harness.initialize(capabilities={"sampling": {}})
    run = run_handler(harness.post(call("chatty"), session))
    with pytest.raises(LocalProtocolError, match="elicitation"):
        harness.run(run.exchange.server_request(1, "elicitation/create", {}))
    outgoing, out = harness.run(run.exchange.server_request(1, "sampling/createMessage", {"maxTokens": 1}))
    assert outgoing == "s1-1"
    assert events(out) == [
        {"jsonrpc": "2.0", "id": "s1-1", "method": "sampling/createMessage", "params": {"maxTokens": 1}}
    ]


def resume(harness: Harness, session: str, last_event_id: str) -> list[Any]:
    return harness.request("GET", None, [("mcp-session-id", session), ("last-event-id", last_event_id)])


def test_resume_replays_exactly_the_missed_events(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 3}, token="t"), session))
    live: list[Any] = []
    for chunk in ("1", "2", "3"):
        live += harness.run(run.exchange.chunk(run.call, chunk))
    live += harness.run(run.exchange.complete(run.call, None))
    live_events = [o for o in live if isinstance(o, SendEvent)]
    for k in range(0, 4):
        out = resume(harness, session, f"s1-{k}")
        assert out == [ResumeStream(session, "s1", k, out[0].headers)]
        replayed, final = harness.run(harness.server.replay(session, "s1", k))
        assert replayed == live_events[k:]
        assert final is True


def test_resume_refusals(harness: Harness) -> None:
    session = harness.initialize()
    other = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}), session))
    harness.run(run.exchange.chunk(run.call, "1"))
    # Another session cannot reach this stream; nor can an id ahead of the log.
    assert only_response(resume(harness, other, "s1-0")).status == 400
    assert only_response(resume(harness, session, "s1-5")).status == 400
    assert only_response(resume(harness, session, "zz-0")).status == 400


def test_resume_after_eviction_is_410() -> None:
    harness = make_harness(demo_app(), Config(max_events_per_stream=2))
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 5}), session))
    for chunk in "12345":
        harness.run(run.exchange.chunk(run.call, chunk))
    out = resume(harness, session, "s1-1")
    assert only_response(out).status == 410
    assert "no longer retained" in body_of(out)["error"]["message"]
    assert isinstance(resume(harness, session, "s1-3")[0], ResumeStream)


def test_a_replay_after_events_left_the_log_is_the_410_a_later_get_would_get() -> None:
    # The GET is checked, then the adapter replays: a long stream may evict events in between.
    harness = make_harness(demo_app(), Config(max_events_per_stream=3))
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 5}), session))
    for chunk in "123":
        harness.run(run.exchange.chunk(run.call, chunk))
    assert isinstance(resume(harness, session, "s1-0")[0], ResumeStream)  # all three are still there
    events, final = harness.run(harness.server.replay(session, "s1", 0))
    assert [e.seq for e in events] == [1, 2, 3] and not final
    harness.run(run.exchange.chunk(run.call, "4"))  # event 1 leaves the log
    events, final = harness.run(harness.server.replay(session, "s1", 0))
    assert len(events) == 1 and isinstance(events[0], SendResponse) and events[0].status == 410 and not final
    events, _ = harness.run(harness.server.replay(session, "s1", 1))  # from event 1 on, nothing is missing
    assert [e.seq for e in events] == [2, 3, 4]


def test_a_plain_get_is_not_refused_for_what_the_standalone_log_evicted() -> None:
    # Its cursor names no event the client asked for: evicted messages are skipped, not refused.
    harness = make_harness(demo_app(), Config(max_events_per_stream=2))
    session = harness.initialize()
    for n in range(4):
        harness.run(harness.server.notify_session(session, "notifications/message", {"level": "info", "data": n}))
    start = harness.request("GET", None, [("mcp-session-id", session)])[-1]
    assert isinstance(start, ResumeStream) and start.after == 0 and not start.named
    events, _ = harness.run(harness.server.replay(session, start.stream, start.after, start.named))
    assert [e.seq for e in events] == [3, 4]  # events 3 and 4 are kept
    events, _ = harness.run(harness.server.replay(session, start.stream, start.after))
    assert [type(e) for e in events] == [SendResponse]  # a named start would have been refused


def test_events_age_out() -> None:
    harness = make_harness(demo_app(), Config(max_event_age=10))
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 2}), session))
    harness.run(run.exchange.chunk(run.call, "1"))
    harness.now[0] += 11
    assert only_response(resume(harness, session, "s1-0")).status == 410


def test_standalone_messages_are_kept_until_a_get_reads_them(harness: Harness) -> None:
    session = harness.initialize()
    out = harness.run(harness.server.notify_session(session, "notifications/tools/list_changed"))
    assert [(o.stream, o.seq) for o in out if isinstance(o, SendEvent)] == [("0", 1)]
    get = harness.request("GET", None, [("mcp-session-id", session)])
    assert isinstance(get[0], ResumeStream) and get[0].after == 0
    replayed, final = harness.run(harness.server.replay(session, "0", 0))
    assert events(replayed) == [{"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}]
    assert final is False
    harness.run(harness.server.stream_detached(session, "0", 1, get[0].claim))
    get = harness.request("GET", None, [("mcp-session-id", session)])
    assert isinstance(get[0], ResumeStream) and get[0].after == 1
    assert harness.run(harness.server.notify_session("gone", "notifications/x")) == []


def test_batch_mixes_immediate_and_handler_answers() -> None:
    harness = make_harness(demo_app())
    session = harness.initialize("2025-03-26")
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        call("add", {"a": 2}, rid=2),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]
    outputs = harness.post(batch, session)
    run = run_handler(outputs)
    assert not any(isinstance(o, SendResponse) for o in outputs)
    final = harness.run(run.exchange.complete(run.call, "4"))
    assert [a["id"] for a in json.loads(only_response(final).body)] == [1, 2]


def test_resources_and_prompts(harness: Harness) -> None:
    session = harness.initialize()
    listed = body_of(harness.post({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}, session))["result"]
    assert [r["uri"] for r in listed["resources"]] == ["test://text", "test://blob"]
    templates = body_of(harness.post({"jsonrpc": "2.0", "id": 2, "method": "resources/templates/list"}, session))
    assert templates["result"]["resourceTemplates"][0]["uriTemplate"] == "test://items/{id}"
    run = run_handler(
        harness.post(
            {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "test://items/42"}}, session
        )
    )
    assert run.call.kwargs == {"id": "42"}
    out = harness.run(run.exchange.complete(run.call, '{"id": "42"}'))
    assert json.loads(only_response(out).body)["result"] == {
        "contents": [{"uri": "test://items/42", "text": '{"id": "42"}', "mimeType": "application/json"}]
    }
    missing = body_of(
        harness.post({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "test://none"}}, session)
    )
    assert missing["error"] == {
        "code": -32002,
        "message": "Resource not found: test://none",
        "data": {"uri": "test://none"},
    }
    prompt = body_of(
        harness.post({"jsonrpc": "2.0", "id": 5, "method": "prompts/get", "params": {"name": "greet"}}, session)
    )
    assert prompt["error"]["code"] == -32602
    run = run_handler(
        harness.post(
            {
                "jsonrpc": "2.0",
                "id": 6,
                "method": "prompts/get",
                "params": {"name": "greet", "arguments": {"name": "Ada"}},
            },
            session,
        )
    )
    out = harness.run(run.exchange.complete(run.call, "Hello Ada!"))
    assert json.loads(only_response(out).body)["result"] == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Hello Ada!"}}],
        "description": "Greets someone.",
    }


def test_pagination_with_opaque_cursors() -> None:
    from mcp_sansio import App

    app = App("many")
    for i in range(5):
        app.tool(name=f"t{i}")(demo_app().tools["add"].fn)
    harness = make_harness(app, Config(page_size=2))
    session = harness.initialize()
    names: list[str] = []
    cursor = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        result = body_of(harness.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}, session))[
            "result"
        ]
        names += [t["name"] for t in result["tools"]]
        cursor = result.get("nextCursor")
        if cursor is None:
            break
    assert names == [f"t{i}" for i in range(5)]
    bad = body_of(
        harness.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "bogus!"}}, session)
    )
    assert bad["error"]["code"] == -32602


def test_subscriptions_update_the_session(harness: Harness) -> None:
    session = harness.initialize()
    harness.post(
        {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "test://text"}}, session
    )
    record = harness.store.execute(__import__("mcp_sansio")._store.LoadSession(session, harness.now[0], 1e9))
    assert record.subscriptions == frozenset({"test://text"})
    harness.post(
        {"jsonrpc": "2.0", "id": 2, "method": "resources/unsubscribe", "params": {"uri": "test://text"}}, session
    )
    record = harness.store.execute(__import__("mcp_sansio")._store.LoadSession(session, harness.now[0], 1e9))
    assert record.subscriptions == frozenset()


def finish_stream(harness: Harness, session: str, rid: int) -> str:
    run = run_handler(harness.post(call("count", {"n": 1}, rid=rid), session))
    harness.run(run.exchange.chunk(run.call, "1"))
    harness.run(run.exchange.complete(run.call, None))
    return run.exchange.stream


def test_finished_streams_stay_resumable_for_a_while_only() -> None:
    harness = make_harness(demo_app(), Config(finished_stream_age=30))
    session = harness.initialize()
    stream = finish_stream(harness, session, 1)
    harness.now[0] += 29
    assert isinstance(resume(harness, session, f"{stream}-1")[0], ResumeStream)
    harness.now[0] += 2
    assert only_response(resume(harness, session, f"{stream}-1")).status == 400


def test_a_session_keeps_a_bounded_number_of_finished_logs() -> None:
    harness = make_harness(demo_app(), Config(max_streams_per_session=3))
    session = harness.initialize()
    # One stream still running: never dropped, however many finish after it.
    running = run_handler(harness.post(call("count", {"n": 9}, rid=100), session))
    harness.run(running.exchange.chunk(running.call, "1"))
    finished = [finish_stream(harness, session, rid) for rid in range(1, 6)]
    logs = harness.store._logs[session]
    assert set(logs) == {running.exchange.stream, finished[-2], finished[-1]}
    assert only_response(resume(harness, session, f"{finished[0]}-1")).status == 400
    assert isinstance(resume(harness, session, f"{running.exchange.stream}-1")[0], ResumeStream)
    # The running stream keeps its numbering.
    out = harness.run(running.exchange.chunk(running.call, "2"))
    assert [o.seq for o in out if isinstance(o, SendEvent)] == [2]


@pytest.mark.parametrize("text", ["1", 'quote " and \\ backslash', "line\nbreak", "snowman \u2603", ""])
def test_text_chunk_fast_path_sends_the_general_paths_bytes(harness: Harness, text: str) -> None:
    from mcp_sansio import Notification
    from mcp_sansio._jsonrpc import dumps

    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}, token=["not", "a", "string"]), session))
    token = run.call.progress_token
    run = run_handler(harness.post(call("count", {"n": 1}, token="tok", rid=2), session))
    out = [o for o in harness.run(run.exchange.chunk(run.call, text)) if isinstance(o, SendEvent)]
    expected = Notification(
        "notifications/progress",
        {
            "progressToken": "tok",
            "progress": 1,
            "message": text,
            "_meta": {CHUNK_META_KEY: {"type": "text", "text": text}},
        },
    )
    assert out[0].data == frame_event(dumps(expected.to_json()), event_id=f"{out[0].stream}-1")
    assert token is None  # a non-scalar token is no token


def test_a_chunk_of_several_blocks_is_one_progress_step_per_block(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}, token="tok"), session))
    harness.run(run.exchange.chunk(run.call, "a"))
    out = harness.run(run.exchange.chunk(run.call, ["b", {"type": "text", "text": "c"}]))
    sent = events(out)
    assert [e["params"]["progress"] for e in sent] == [2, 3]  # it raised "progress must increase" before
    assert [e["params"]["message"] for e in sent] == ["b", "c"]
    final = events(harness.run(run.exchange.complete(run.call, None)))[-1]
    assert [block["text"] for block in final["result"]["content"]] == ["a", "b", "c"]


@pytest.mark.parametrize(("version", "expected"), [("2025-11-25", 2.5), ("2025-06-18", None)])
def test_time_budget_for_streams_only_for_clients_that_can_resume(version: str, expected: float | None) -> None:
    harness = make_harness(demo_app(), Config(sse_close_after_seconds=2.5))
    session = harness.initialize(version)
    outputs = harness.post(call("count", {"n": 1}), session)
    assert isinstance(outputs[0], StartStream) and outputs[0].close_after == expected
    get = harness.request("GET", None, [("mcp-session-id", session)])
    assert isinstance(get[0], ResumeStream) and get[0].close_after == expected
    harness.run(harness.server.stream_detached(session, "0", 0, get[0].claim))
    resumed = resume(harness, session, f"{outputs[0].stream}-0")
    assert isinstance(resumed[0], ResumeStream) and resumed[0].close_after == expected


def test_url_mode_elicitation_travels_like_any_server_request() -> None:
    from mcp_sansio import InputRequest

    harness = make_harness(demo_app())
    session = harness.initialize(capabilities={"elicitation": {"url": {}}})
    run = run_handler(harness.post(call("chatty"), session))
    ask = InputRequest.elicitation_url("Sign in", "https://example.com/login", "e1")
    assert ask.to_json() == {
        "method": "elicitation/create",
        "params": {"mode": "url", "message": "Sign in", "url": "https://example.com/login", "elicitationId": "e1"},
    }
    outgoing, out = harness.run(run.exchange.server_request(1, ask.method, ask.params))
    assert events(out) == [{"jsonrpc": "2.0", "id": outgoing, **ask.to_json()}]
    # The client's answer is routed back to the waiting handler by session and id.
    answer = harness.post({"jsonrpc": "2.0", "id": outgoing, "result": {"action": "accept"}}, session)
    assert answer[0].request_id == outgoing and answer[0].session_id == session


def _recorded(harness: Harness, plan: Any) -> tuple[list[Any], list[str]]:
    """Run a plan against the harness's store; its outputs and the names of the commands it issued."""
    names: list[str] = []
    try:
        command = next(plan)
        while True:
            names.append(type(command).__name__)
            command = plan.send(harness.store.execute(command))
    except StopIteration as stop:
        return stop.value, names


@pytest.mark.parametrize("config", [Config(), Config(sse_close_after_events=2)])
def test_chunks_send_what_chunk_sends_with_one_log_append(config: Config) -> None:
    values: list[Any] = ["1", {"type": "text", "text": "two"}, ["3"], None, {"n": 5}, "6"]
    one_by_one, together = make_harness(demo_app(), config), make_harness(demo_app(), config)
    expected: list[Any] = []
    for harness in (one_by_one, together):
        session = harness.initialize()
        run = run_handler(harness.post(call("count", {"n": 5}, token="tok"), session))
        if harness is one_by_one:
            for value in values:
                expected += harness.run(run.exchange.chunk(run.call, value))
            expected += harness.run(run.exchange.complete(run.call, None))
            continue
        sent, commands = _recorded(harness, run.exchange.chunks(run.call, values))
        assert commands == ["AppendEvents"]
        sent += harness.run(run.exchange.complete(run.call, None))
        assert sent == expected  # same events, same seqs, same stream polling disconnects
        assert [o.seq for o in sent if isinstance(o, SendEvent)] == list(range(1, len(events(sent)) + 1))


def test_chunks_append_the_chunks_before_a_refused_one_then_raise(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 3}, token="tok"), session))
    with pytest.raises(TypeError):
        harness.run(run.exchange.chunks(run.call, ["1", "2", object(), "4"]))
    stream = run.exchange.stream
    replayed = harness.run(harness.server.replay(session, stream, 0))[0]
    assert [m["params"]["message"] for m in events(replayed)] == ["1", "2"]
    more = harness.run(run.exchange.chunks(run.call, ["5"]))  # the stream goes on after them
    assert [o.seq for o in more if isinstance(o, SendEvent)] == [3]


def test_chunks_of_a_stateless_stream_are_sent_as_chunk_sends_them(harness: Harness) -> None:
    from tests.conftest import post_stateless, stateless_meta, stateless_request

    params = {"name": "count", "arguments": {"n": 2}}
    body = stateless_request("tools/call", params, meta=stateless_meta(progressToken="tok"))
    runs = [run_handler(post_stateless(harness, body)) for _ in range(2)]
    one_by_one = [o for v in ("1", "2") for o in harness.run(runs[0].exchange.chunk(runs[0].call, v))]
    together, commands = _recorded(harness, runs[1].exchange.chunks(runs[1].call, ["1", "2"]))
    assert commands == []  # no log: nothing to append
    assert [o.data for o in together if isinstance(o, SendEvent)] == [
        o.data for o in one_by_one if isinstance(o, SendEvent)
    ]
    assert len(events(together)) == 2


def test_chunks_that_carry_no_content_append_nothing(harness: Harness) -> None:
    session = harness.initialize()
    run = run_handler(harness.post(call("count", {"n": 1}, token="tok"), session))
    harness.run(run.exchange.chunk(run.call, "1"))  # the stream has started
    sent, commands = _recorded(harness, run.exchange.chunks(run.call, [None, []]))
    assert (sent, commands) == ([], [])


def test_the_first_event_of_a_post_stream_opens_its_log_in_the_same_store_command(harness: Harness) -> None:
    # One round trip for a remote store: the append carries OpenStream's max_streams, and the
    # priming event goes out only with (after) the stored first event.
    harness = make_harness(demo_app(), Config(max_streams_per_session=2))
    session = harness.initialize("2025-11-25")
    finished = [finish_stream(harness, session, rid) for rid in (1, 2)]
    run = run_handler(harness.post(call("chatty", rid=3), session))
    plan = run.exchange.log(3, "info", "hello", None)
    command = next(plan)
    assert isinstance(command, AppendEvent) and command.max_streams == 2
    with pytest.raises(StopIteration) as done:
        plan.send(harness.store.execute(command))
    assert [type(o) for o in done.value.value] == [StartStream, SendEvent]
    assert set(harness.store._logs[session]) == {finished[1], run.exchange.stream}  # the oldest went
    later, commands = _recorded(harness, run.exchange.log(3, "info", "again", None))
    assert commands == ["AppendEvent"] and [o.seq for o in later] == [2]
