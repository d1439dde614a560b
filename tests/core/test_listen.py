"""subscriptions/listen (2026-07-28): acknowledgement, honored filters, fan-out, teardown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_sansio import App, RemoteProtocolError, SendEvent, StartStream
from mcp_sansio._exchange import sse_headers
from mcp_sansio._listen import LIST_CHANGED, Listener, Listeners, honored_filter
from mcp_sansio._sse import frame_event
from mcp_sansio._store import LoadSession
from tests.apps import demo_app, tools_only_app
from tests.conftest import (
    META_SUBSCRIPTION,
    Harness,
    body_of,
    make_harness,
    only_response,
    post_stateless,
    stateless_request,
)

ACKNOWLEDGED = "notifications/subscriptions/acknowledged"
EVERYTHING = {
    "toolsListChanged": True,
    "promptsListChanged": True,
    "resourcesListChanged": True,
    "resourceSubscriptions": ["test://text", "test://items/1"],
}


def message(event: Any) -> dict[str, Any]:
    """The JSON-RPC message of one SendEvent, checking it is framed without an id."""
    assert isinstance(event, SendEvent)
    assert event.data.startswith(b"event: message\ndata: "), event.data
    assert b"\nid:" not in event.data and not event.data.startswith(b"id:")
    return json.loads(event.data.split(b"data: ", 1)[1])


def listen(harness: Harness, notifications: Any, rid: Any = 1) -> list[Any]:
    return post_stateless(harness, stateless_request("subscriptions/listen", {"notifications": notifications}, rid=rid))


def test_listen_starts_a_stream_and_acknowledges_first(harness: Harness) -> None:
    out = listen(harness, {"toolsListChanged": True}, rid=1)
    assert len(out) == 2
    assert out[0] == StartStream(None, "s1", sse_headers(None))
    assert out[0].priming is None and out[0].close_after is None
    assert isinstance(out[1], SendEvent)
    assert (out[1].session_id, out[1].stream, out[1].seq) == (None, "s1", 1)
    assert message(out[1]) == {
        "jsonrpc": "2.0",
        "method": ACKNOWLEDGED,
        "params": {"notifications": {"toolsListChanged": True}, "_meta": {META_SUBSCRIPTION: 1}},
    }
    assert len(harness.server.listeners) == 1
    assert harness.store.session_ids() == []


@pytest.mark.parametrize(
    ("app", "requested", "honored"),
    [
        (demo_app, EVERYTHING, EVERYTHING),
        (
            tools_only_app,
            EVERYTHING,
            {"toolsListChanged": True},
        ),
        (App, EVERYTHING, {}),
        (
            demo_app,
            {"resourceSubscriptions": ["a://x", 5, None, "b://y"]},
            {"resourceSubscriptions": ["a://x", "b://y"]},
        ),
        (demo_app, {"resourceSubscriptions": "a://x"}, {}),
        (demo_app, {"resourceSubscriptions": []}, {"resourceSubscriptions": []}),
        (demo_app, {"toolsListChanged": "yes", "promptsListChanged": 1, "resourcesListChanged": False}, {}),
        (demo_app, {"unknownFilter": True, "toolsListChanged": True}, {"toolsListChanged": True}),
        (demo_app, {}, {}),
    ],
)
def test_the_acknowledgement_names_the_honored_subset(
    app: Any, requested: dict[str, Any], honored: dict[str, Any]
) -> None:
    harness = make_harness(app())
    ack = message(listen(harness, requested)[1])
    assert ack["params"]["notifications"] == honored


def test_templates_alone_honor_resource_notifications() -> None:
    app = App("templates")
    app.resource_template("t://{x}")(demo_app().templates[0].fn)
    ack = message(listen(make_harness(app), EVERYTHING)[1])
    assert ack["params"]["notifications"] == {
        "resourcesListChanged": True,
        "resourceSubscriptions": ["test://text", "test://items/1"],
    }


@pytest.mark.parametrize("rid", [7, "7", "listen-1", 0, -3])
def test_the_subscription_id_keeps_its_json_type(harness: Harness, rid: Any) -> None:
    out = listen(harness, {"toolsListChanged": True}, rid=rid)
    ack = message(out[1])
    assert ack["params"]["_meta"][META_SUBSCRIPTION] == rid
    assert type(ack["params"]["_meta"][META_SUBSCRIPTION]) is type(rid)
    changed = harness.run(harness.server.list_changed("tools"))
    note = message(changed[0])
    assert note == {
        "jsonrpc": "2.0",
        "method": "notifications/tools/list_changed",
        "params": {"_meta": {META_SUBSCRIPTION: rid}},
    }
    assert type(note["params"]["_meta"][META_SUBSCRIPTION]) is type(rid)
    assert json.dumps(rid).encode() + b"}}}" in changed[0].data


@pytest.mark.parametrize("notifications", [None, [], "tools", True, 1])
def test_invalid_notifications_param_is_invalid_params(harness: Harness, notifications: Any) -> None:
    params = {} if notifications is None else {"notifications": notifications}
    out = post_stateless(harness, stateless_request("subscriptions/listen", params, rid="L"))
    response = only_response(out)
    assert response.status == 400
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": "L",
        "error": {"code": -32602, "message": "Invalid params: subscriptions/listen needs a notifications object"},
    }
    assert len(harness.server.listeners) == 0


def test_listen_is_checked_like_any_stateless_request(harness: Harness) -> None:
    body = stateless_request("subscriptions/listen", {"notifications": {}}, rid=2)
    out = post_stateless(harness, body, replace={"mcp-method": "tools/list"})
    assert only_response(out).status == 400
    assert json.loads(only_response(out).body)["error"]["code"] == -32020
    assert len(harness.server.listeners) == 0


def test_listen_is_not_a_handshake_method(harness: Harness) -> None:
    session = harness.initialize()
    body = {"jsonrpc": "2.0", "id": 3, "method": "subscriptions/listen", "params": {"notifications": {}}}
    assert body_of(harness.post(body, session))["error"] == {
        "code": -32601,
        "message": "Method not found: subscriptions/listen",
    }


def test_list_changed_reaches_only_listeners_that_asked_and_every_session(harness: Harness) -> None:
    listen(harness, {"toolsListChanged": True}, rid="tools")  # stream s1
    listen(harness, {"promptsListChanged": True}, rid="prompts")  # stream s2
    listen(harness, {"toolsListChanged": True, "resourcesListChanged": True}, rid="both")  # stream s3
    session = harness.initialize()
    out = harness.run(harness.server.list_changed("tools"))
    assert [(o.session_id, o.stream, o.seq) for o in out] == [(None, "s1", 2), (None, "s3", 2), (session, "0", 1)]
    assert [message(o)["params"]["_meta"][META_SUBSCRIPTION] for o in out[:2]] == ["tools", "both"]
    handshake = b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}'
    assert out[2] == SendEvent(session, "0", 1, frame_event(handshake, event_id="0-1"))
    out = harness.run(harness.server.list_changed("prompts"))
    assert [(o.session_id, o.stream, o.seq) for o in out] == [(None, "s2", 2), (session, "0", 2)]
    assert message(out[0])["method"] == "notifications/prompts/list_changed"
    out = harness.run(harness.server.list_changed("resources"))
    assert [(o.session_id, o.stream, o.seq) for o in out] == [(None, "s3", 3), (session, "0", 3)]
    assert message(out[0]) == {
        "jsonrpc": "2.0",
        "method": "notifications/resources/list_changed",
        "params": {"_meta": {META_SUBSCRIPTION: "both"}},
    }


def test_list_changed_with_nobody_listening_is_nothing(harness: Harness) -> None:
    assert harness.run(harness.server.list_changed("tools")) == []
    with pytest.raises(KeyError):
        harness.run(harness.server.list_changed("widgets"))


def test_resource_updated_reaches_subscribers_only(harness: Harness) -> None:
    listen(harness, {"resourceSubscriptions": ["test://text"]}, rid=1)  # s1
    listen(harness, {"resourceSubscriptions": ["test://blob"], "toolsListChanged": True}, rid=2)  # s2
    listen(harness, {"resourcesListChanged": True}, rid=3)  # s3
    subscribed = harness.initialize()
    other = harness.initialize()
    harness.post(
        {"jsonrpc": "2.0", "id": 9, "method": "resources/subscribe", "params": {"uri": "test://text"}}, subscribed
    )
    out = harness.run(harness.server.resource_updated("test://text"))
    assert [(o.session_id, o.stream, o.seq) for o in out] == [(None, "s1", 2), (subscribed, "0", 1)]
    assert message(out[0]) == {
        "jsonrpc": "2.0",
        "method": "notifications/resources/updated",
        "params": {"uri": "test://text", "_meta": {META_SUBSCRIPTION: 1}},
    }
    handshake = b'{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"test://text"}}'
    assert out[1] == SendEvent(subscribed, "0", 1, frame_event(handshake, event_id="0-1"))
    assert harness.run(harness.server.resource_updated("test://none")) == []
    record = harness.store.execute(LoadSession(other, harness.now[0], 1e9))
    assert record.subscriptions == frozenset()


def test_a_detached_listen_stream_is_unsubscribed(harness: Harness) -> None:
    listen(harness, {"toolsListChanged": True}, rid=1)  # s1
    listen(harness, {"toolsListChanged": True}, rid=2)  # s2
    assert len(harness.server.listeners) == 2
    harness.run(harness.server.stream_detached(None, "s1", 1))
    assert len(harness.server.listeners) == 1
    out = harness.run(harness.server.list_changed("tools"))
    assert [(o.stream, o.seq) for o in out] == [("s2", 2)]
    harness.run(harness.server.stream_detached(None, "s1", 1))  # twice is harmless
    harness.run(harness.server.stream_detached(None, "unknown", 0))
    assert len(harness.server.listeners) == 1
    harness.run(harness.server.stream_detached(None, "s2", 2))
    assert harness.run(harness.server.list_changed("tools")) == []


def test_a_handshake_detach_does_not_touch_listeners(harness: Harness) -> None:
    listen(harness, {"toolsListChanged": True})  # s1
    session = harness.initialize()
    harness.run(harness.server.stream_detached(session, "s1", 0))
    assert len(harness.server.listeners) == 1


# -- the pieces ------------------------------------------------------------------------------


def test_listener_events_count_and_tag() -> None:
    listener = Listener("sub", "k", {"toolsListChanged": True})
    first = listener.event("notifications/x")
    second = listener.event("notifications/y", {"a": 1, "_meta": {"other": True}})
    assert (first.session_id, first.stream, first.seq) == (None, "k", 1)
    assert first.data == frame_event(
        b'{"jsonrpc":"2.0","method":"notifications/x","params":{"_meta":{"' + META_SUBSCRIPTION.encode() + b'":"sub"}}}'
    )
    assert second.seq == 2
    assert message(second)["params"] == {"a": 1, "_meta": {META_SUBSCRIPTION: "sub"}}
    assert listener.seq == 2


def test_listeners_registry() -> None:
    listeners = Listeners()
    ack = listeners.open(5, "a", {"resourceSubscriptions": ["u://1"]})
    assert message(ack)["params"] == {
        "notifications": {"resourceSubscriptions": ["u://1"]},
        "_meta": {META_SUBSCRIPTION: 5},
    }
    listeners.open(6, "b", {"promptsListChanged": True})
    assert len(listeners) == 2
    assert listeners.list_changed("tools") == []
    assert [o.stream for o in listeners.list_changed("prompts")] == ["b"]
    assert [o.stream for o in listeners.resource_updated("u://1")] == ["a"]
    assert listeners.resource_updated("u://2") == []
    listeners.close("a")
    assert listeners.resource_updated("u://1") == []
    assert len(listeners) == 1


def test_list_changed_table() -> None:
    assert LIST_CHANGED == {
        "tools": ("toolsListChanged", "notifications/tools/list_changed"),
        "prompts": ("promptsListChanged", "notifications/prompts/list_changed"),
        "resources": ("resourcesListChanged", "notifications/resources/list_changed"),
    }


def test_honored_filter_directly() -> None:
    app = demo_app()
    assert honored_filter({"toolsListChanged": True}, app) == {"toolsListChanged": True}
    with pytest.raises(RemoteProtocolError) as info:
        honored_filter(None, app)
    assert (info.value.code, info.value.error_status_hint) == (-32602, 400)
