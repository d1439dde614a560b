"""The Context a handler gets: log, progress, and a server-to-client request answered by a later POST."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_sansio import Config
from tests.runtime.apps import controlled_app, controls
from tests.runtime.conftest import Event, Harness, Served, call_tool, running, split_id

pytestmark = pytest.mark.anyio

ELICITATION = {"elicitation": {}}


async def asked(h: Harness, session: str) -> tuple[Served, list[Event]]:
    """Call ``interview`` and wait for its elicitation request; the POST and its events."""
    post = h.post_soon(call_tool(5, "interview", token="prog"), session)
    events = await post.transport.wait_events(4)  # priming, log, progress, elicitation/create
    assert len(events) == 4
    return post, events


def answer(ask: dict[str, Any], **outcome: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ask["id"], **outcome}


async def test_a_handler_logs_reports_progress_and_elicits_on_its_stream() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        session = await h.initialize(capabilities=ELICITATION)
        post, events = await asked(h, session)
        log, progress, ask = (e.data for e in events[1:])
        assert log == {
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": {"level": "info", "data": "starting"},
        }
        assert progress["method"] == "notifications/progress"
        assert progress["params"] == {"progressToken": "prog", "progress": 1, "total": 2, "message": "half way"}
        assert ask["method"] == "elicitation/create"
        assert ask["params"]["message"] == "Your name?"
        assert ask["params"]["requestedSchema"]["properties"] == {"name": {"type": "string"}}
        assert not post.finished.is_set()
        reply = await h.post(answer(ask, result={"action": "accept", "content": {"name": "Ada"}}), session)
        assert reply.transport.status == 202
        assert await post.wait() is True
    transport = post.transport
    stream = split_id(transport.events[0].id or "")[0]
    assert [e.id for e in transport.events] == [f"{stream}-{n}" for n in range(6)]
    last_progress, final = transport.messages[-2:]
    assert last_progress["params"] == {"progressToken": "prog", "progress": 2, "total": 2}
    assert final == {"jsonrpc": "2.0", "id": 5, "result": {"content": [{"type": "text", "text": "hello Ada"}]}}
    assert transport.ended


async def test_an_error_answer_raises_client_error_in_the_handler() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        session = await h.initialize(capabilities=ELICITATION)
        post, events = await asked(h, session)
        ask = events[-1].data
        reply = await h.post(answer(ask, error={"code": -1, "message": "User declined"}), session)
        assert reply.transport.status == 202
        await post.wait()
    assert c.log == ["client error -1: User declined"]
    assert post.transport.messages[-1]["result"]["content"] == [{"type": "text", "text": "declined"}]


async def test_an_answer_from_another_session_does_not_reach_the_handler() -> None:
    c = controls()
    async with running(controlled_app(c)) as h:
        session = await h.initialize(capabilities=ELICITATION)
        intruder = await h.initialize(capabilities=ELICITATION)
        post, events = await asked(h, session)
        ask = events[-1].data
        forged = await h.post(answer(ask, result={"action": "accept", "content": {"name": "Mallory"}}), intruder)
        assert forged.transport.status == 202
        await anyio.wait_all_tasks_blocked()
        assert not post.finished.is_set()
        assert len(post.transport.events) == 4
        await h.post(answer(ask, result={"action": "accept", "content": {"name": "Ada"}}), session)
        await post.wait()
    assert post.transport.messages[-1]["result"]["content"] == [{"type": "text", "text": "hello Ada"}]


async def test_an_unanswered_request_times_out_and_the_client_is_told() -> None:
    c = controls()
    async with running(controlled_app(c), Config(server_request_timeout=0.2)) as h:
        session = await h.initialize(capabilities=ELICITATION)
        post, events = await asked(h, session)
        ask = events[-1].data
        assert await post.wait() is True  # the handler gave up and answered
        late = await h.post(answer(ask, result={"action": "accept", "content": {"name": "Late"}}), session)
        assert late.transport.status == 202  # a late answer is accepted and ignored
    assert c.log == ["timed out: the client gave no answer to elicitation/create within 0.2s"]
    cancelled, final = post.transport.messages[-2:]
    assert cancelled == {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": ask["id"], "reason": "no answer to elicitation/create within 0.2s"},
    }
    assert final["result"]["content"] == [{"type": "text", "text": "no answer"}]
