"""Transport rules of the handshake revisions, through Server.receive (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_sansio import (
    INVALID_REQUEST,
    CancelRequest,
    Config,
    DeliverResponse,
    ResumeStream,
    RunHandler,
    SendResponse,
    SessionClosed,
)
from tests.apps import demo_app
from tests.conftest import HEAD, Harness, body_of, make_harness, only_response

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}},
}


def test_initialize_negotiates_and_creates_session(harness: Harness) -> None:
    out = harness.post(INIT)
    response = only_response(out)
    assert response.status == 200
    headers = dict(response.headers)
    assert headers["content-type"] == "application/json"
    assert headers["mcp-session-id"] == "session1"
    body = json.loads(response.body)
    assert body["id"] == 1
    assert body["result"]["protocolVersion"] == "2025-06-18"
    assert body["result"]["serverInfo"] == {"name": "demo", "version": "1.2.3"}
    assert body["result"]["capabilities"]["tools"] == {"listChanged": True}
    assert harness.store.session_ids() == ["session1"]


@pytest.mark.parametrize("requested", ["1999-01-01", "2026-07-28", 5])
def test_initialize_offers_newest_for_unknown_version(harness: Harness, requested: object) -> None:
    body = {**INIT, "params": {**INIT["params"], "protocolVersion": requested}}  # type: ignore[dict-item]
    if not isinstance(requested, str):
        assert only_response(harness.post(body)).status == 400
        return
    assert body_of(harness.post(body))["result"]["protocolVersion"] == "2025-11-25"


def test_initialize_with_missing_params_is_invalid_params(harness: Harness) -> None:
    out = harness.post({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}})
    assert only_response(out).status == 400
    assert body_of(out)["error"]["code"] == -32602
    assert body_of(out)["id"] == 7


def test_initialize_in_a_batch_is_refused(harness: Harness) -> None:
    out = harness.post([INIT])
    assert only_response(out).status == 400
    assert "batch" in body_of(out)["error"]["message"]


def test_method_not_allowed_lists_allow() -> None:
    harness = make_harness(demo_app())
    response = only_response(harness.request("PUT", {}))
    assert response.status == 405
    assert ("allow", "GET, POST, DELETE") in response.headers


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/json", 406),
        ("text/event-stream", 406),
        ("application/json, text/event-stream", 200),
        ("*/*", 200),
        ("application/*, text/*", 200),
        ("application/json, text/event-stream;q=0", 406),
    ],
)
def test_post_accept_rules(harness: Harness, accept: str, status: int) -> None:
    base = [h for h in HEAD if h[0] != "accept"] + [("accept", accept)]
    assert only_response(harness.request("POST", INIT, base=base)).status == status


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonx"])
def test_post_content_type_rules(harness: Harness, content_type: str | None) -> None:
    base = [h for h in HEAD if h[0] != "content-type"]
    if content_type is not None:
        base.append(("content-type", content_type))
    assert only_response(harness.request("POST", INIT, base=base)).status == 415


def test_content_type_with_charset_is_fine(harness: Harness) -> None:
    base = [h for h in HEAD if h[0] != "content-type"] + [("content-type", "application/json; charset=utf-8")]
    assert only_response(harness.request("POST", INIT, base=base)).status == 200


def test_get_needs_event_stream_accept(harness: Harness) -> None:
    session = harness.initialize()
    base = [h for h in HEAD if h[0] != "accept"] + [("accept", "application/json")]
    out = harness.request("GET", None, [("mcp-session-id", session)], base=base)
    assert only_response(out).status == 406


def test_missing_session_id_is_400(harness: Harness) -> None:
    out = harness.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert only_response(out).status == 400
    assert "Mcp-Session-Id" in body_of(out)["error"]["message"]


def test_unknown_session_is_404(harness: Harness) -> None:
    out = harness.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, "nope")
    assert only_response(out).status == 404
    assert body_of(out)["error"]["code"] == -32001


def test_repeated_session_header_is_400(harness: Harness) -> None:
    session = harness.initialize()
    out = harness.post(
        {"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=[("mcp-session-id", session), ("mcp-session-id", "x")]
    )
    assert only_response(out).status == 400


def test_delete_terminates_session(harness: Harness) -> None:
    session = harness.initialize()
    out = harness.request("DELETE", None, [("mcp-session-id", session)])
    assert out == [SessionClosed(session), SendResponse(200)]
    assert only_response(harness.post({"jsonrpc": "2.0", "id": 2, "method": "ping"}, session)).status == 404
    assert only_response(harness.request("DELETE", None, [("mcp-session-id", session)])).status == 404
    # Without a session there is nothing to delete: 2026-07-28 has no DELETE (405).
    assert only_response(harness.request("DELETE", None)).status == 405


@pytest.mark.parametrize(
    ("version", "status"), [("2025-06-18", 200), ("2024-11-05", 200), ("2099-01-01", 400), ("garbage", 400)]
)
def test_protocol_version_header(harness: Harness, version: str, status: int) -> None:
    session = harness.initialize()
    out = harness.post(
        {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session, headers=[("mcp-protocol-version", version)]
    )
    assert only_response(out).status == status


def test_ping_and_notifications_and_responses(harness: Harness) -> None:
    session = harness.initialize()
    assert body_of(harness.post({"jsonrpc": "2.0", "id": "p", "method": "ping"}, session)) == {
        "jsonrpc": "2.0",
        "id": "p",
        "result": {},
    }
    out = harness.post({"jsonrpc": "2.0", "id": "srv-1", "result": {"ok": True}}, session)
    assert isinstance(out[0], DeliverResponse) and out[0].request_id == "srv-1"
    assert out[-1] == SendResponse(202)
    out = harness.post({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}, session)
    assert out == [CancelRequest(session, 5, None), SendResponse(202)]


def test_big_integer_ids_are_echoed_exactly(harness: Harness) -> None:
    session = harness.initialize()
    big = 2**70 + 1
    out = harness.post({"jsonrpc": "2.0", "id": big, "method": "ping"}, session)
    assert f'"id":{big}'.encode() in only_response(out).body


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600),
        (b'{"JSONRPC":"2.0","id":1,"method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"Method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":{},"method":"ping"}', -32600),
    ],
)
def test_malformed_bodies(harness: Harness, raw: bytes, code: int) -> None:
    session = harness.initialize()
    out = harness.post(None, session, raw=raw)
    assert only_response(out).status == 400
    assert body_of(out)["error"]["code"] == code
    assert body_of(out)["id"] is None


def test_batches_only_under_2025_03_26() -> None:
    harness = make_harness(demo_app())
    old = harness.initialize("2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    answers = body_of(harness.post(batch, old))
    assert [a["id"] for a in answers] == [1, 2]
    new = harness.initialize("2025-06-18")
    out = harness.post(batch, new)
    assert only_response(out).status == 400
    assert "2025-06-18" in body_of(out)["error"]["message"]


def test_unknown_method(harness: Harness) -> None:
    session = harness.initialize()
    body = body_of(harness.post({"jsonrpc": "2.0", "id": 3, "method": "nope/nope"}, session))
    assert body["error"]["code"] == -32601


def test_duplicate_in_flight_id_is_refused_not_cross_wired(harness: Harness) -> None:
    session = harness.initialize()
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}}
    first = harness.post(call, session)
    assert isinstance(first[0], RunHandler)
    second = harness.post(call, session)
    assert only_response(second).status == 409
    assert "already in flight" in body_of(second)["error"]["message"]
    # Finishing the first frees the id for reuse.
    run = first[0]
    harness.run(run.exchange.complete(run.call, "3"))
    assert isinstance(harness.post(call, session)[0], RunHandler)


def test_in_flight_limit_is_429() -> None:
    harness = make_harness(demo_app(), Config(max_in_flight=1))
    session = harness.initialize()
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}}
    assert isinstance(harness.post(call, session)[0], RunHandler)
    out = harness.post({**call, "id": 2}, session)
    assert only_response(out).status == 429


def test_body_limit_is_413() -> None:
    harness = make_harness(demo_app(), Config(max_body_size=64))
    out = harness.post(INIT)
    assert only_response(out).status == 413
    response = harness.server.check_head(
        __import__("mcp_sansio").HttpRequest.build("POST", "/mcp", [*HEAD, ("content-length", "65")])
    )
    assert response is not None and response.status == 413
    assert harness.server.body_too_large().status == 413


def test_header_limits_are_431() -> None:
    harness = make_harness(demo_app(), Config(max_header_count=4))
    out = harness.post(INIT, headers=[("x-a", "1"), ("x-b", "2")])
    assert only_response(out).status == 431
    harness = make_harness(demo_app(), Config(max_header_size=100))
    assert only_response(harness.post(INIT, headers=[("x-big", "y" * 100)])).status == 431


def test_session_limit_is_503() -> None:
    harness = make_harness(demo_app(), Config(max_sessions=1))
    harness.initialize()
    assert only_response(harness.post(INIT)).status == 503


def test_idle_sessions_expire() -> None:
    harness = make_harness(demo_app(), Config(session_idle_timeout=10))
    session = harness.initialize()
    harness.now[0] += 5
    assert only_response(harness.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, session)).status == 200
    harness.now[0] += 9  # the ping refreshed last_seen
    assert harness.run(harness.server.expire()) == []
    harness.now[0] += 2
    assert harness.run(harness.server.expire()) == [SessionClosed(session)]
    assert only_response(harness.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, session)).status == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([("origin", "http://evil.example")], 403),
        ([("origin", "http://localhost:3000")], 200),
        ([("origin", "http://127.0.0.1")], 200),
        ([("origin", "null")], 403),
    ],
)
def test_origin_validation(harness: Harness, headers: list[tuple[str, str]], status: int) -> None:
    assert only_response(harness.post(INIT, headers=headers)).status == status


@pytest.mark.parametrize(("host", "status"), [("evil.example", 421), ("localhost:8000", 200), ("[::1]:8000", 200)])
def test_host_validation(harness: Harness, host: str, status: int) -> None:
    base = [h for h in HEAD if h[0] != "host"] + [("host", host)]
    assert only_response(harness.request("POST", INIT, base=base)).status == status


def test_allow_lists_when_not_loopback() -> None:
    config = Config(validate_loopback=False, allowed_hosts=frozenset({"mcp.example"}))
    harness = make_harness(demo_app(), config)
    base = [h for h in HEAD if h[0] != "host"]
    assert only_response(harness.request("POST", INIT, base=[*base, ("host", "mcp.example")])).status == 200
    assert only_response(harness.request("POST", INIT, base=[*base, ("host", "127.0.0.1")])).status == 421


def test_get_opens_standalone_stream_and_refuses_a_second(harness: Harness) -> None:
    session = harness.initialize()
    out = harness.request("GET", None, [("mcp-session-id", session)])
    assert len(out) == 1 and isinstance(out[0], ResumeStream)
    assert out[0].stream == "0" and out[0].after == 0
    assert out[0].priming is not None and out[0].priming.startswith(b"id: 0-0\nretry: 1000\n")
    second = harness.request("GET", None, [("mcp-session-id", session)])
    assert only_response(second).status == 409
    harness.run(harness.server.stream_detached(session, "0", 0, out[0].claim))
    assert isinstance(harness.request("GET", None, [("mcp-session-id", session)])[0], ResumeStream)


def test_a_get_claim_is_renewed_and_lapses_when_its_holder_is_gone(harness: Harness) -> None:
    # The claim lives in the store, so an instance that died (and never released it) frees
    # the stream once its lease runs out; a live reader renews it and keeps it.
    session = harness.initialize()
    lease = harness.server.config.get_stream_lease
    first = harness.request("GET", None, [("mcp-session-id", session)])[0]
    assert isinstance(first, ResumeStream) and first.claim is not None
    harness.now[0] += lease * 0.9
    assert harness.run(harness.server.renew_claim(session, first.claim)) is True
    harness.now[0] += lease * 0.9  # still within the renewed lease
    assert only_response(harness.request("GET", None, [("mcp-session-id", session)])).status == 409
    harness.now[0] += lease * 0.2  # past it: the holder is presumed gone
    second = harness.request("GET", None, [("mcp-session-id", session)])[0]
    assert isinstance(second, ResumeStream) and second.claim not in (None, first.claim)
    assert harness.run(harness.server.renew_claim(session, first.claim)) is False  # the old holder lost it
    # The old reader's late release moves the cursor but does not free the new holder's stream.
    harness.run(harness.server.stream_detached(session, "0", 0, first.claim))
    assert only_response(harness.request("GET", None, [("mcp-session-id", session)])).status == 409


def test_no_priming_before_2025_11_25() -> None:
    harness = make_harness(demo_app())
    session = harness.initialize("2025-06-18")
    out = harness.request("GET", None, [("mcp-session-id", session)])
    assert isinstance(out[0], ResumeStream) and out[0].priming is None


@pytest.mark.parametrize("last_event_id", ["garbage", "s1-", "-1", "s1-01"])
def test_malformed_last_event_id_is_400(harness: Harness, last_event_id: str) -> None:
    session = harness.initialize()
    out = harness.request("GET", None, [("mcp-session-id", session), ("last-event-id", last_event_id)])
    assert only_response(out).status == 400
    assert "malformed" in body_of(out)["error"]["message"]


def test_get_without_session(harness: Harness) -> None:
    response = only_response(harness.request("GET", None))
    assert response.status == 405
    assert ("allow", "GET, POST, DELETE") in response.headers
    assert only_response(harness.request("GET", None, [("mcp-session-id", "nope")])).status == 404


def test_several_get_streams_when_allowed() -> None:
    harness = make_harness(demo_app(), Config(single_get_stream=False))
    session = harness.initialize()
    first = harness.request("GET", None, [("mcp-session-id", session)])
    second = harness.request("GET", None, [("mcp-session-id", session)])
    assert isinstance(first[0], ResumeStream) and isinstance(second[0], ResumeStream)


def test_a_batch_whose_every_request_is_refused_is_answered_with_their_errors() -> None:
    harness = make_harness(demo_app(), Config(max_in_flight=1))
    session = harness.initialize("2025-03-26")
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "count", "arguments": {"n": 1}}}
    harness.post(call, session)  # the one request allowed in flight
    pings = [{"jsonrpc": "2.0", "id": 2, "method": "ping"}, {"jsonrpc": "2.0", "id": 3, "method": "ping"}]
    response = only_response(harness.post(pings, session))
    assert response.status == 200
    errors = json.loads(response.body)
    assert [e["id"] for e in errors] == [2, 3]
    assert all(e["error"]["code"] == INVALID_REQUEST and "Too Many Requests" in e["error"]["message"] for e in errors)


def test_two_requests_changing_one_session_at_once_both_take_effect(harness: Harness) -> None:
    """Plans run concurrently once store commands are awaited: each stores only what it changed."""
    from mcp_sansio import HttpRequest, LoadAndClaim, LoadSession, UpdateSession

    session = harness.initialize()
    harness.now[0] += 5  # both requests also refresh last_seen

    def plan_of(body: dict[str, Any]) -> Any:
        req = HttpRequest.build("POST", "/mcp", [*HEAD, ("mcp-session-id", session)])
        return harness.server.receive(req, json.dumps(body).encode())

    level = plan_of({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "error"}})
    subscribe = plan_of({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": "demo://a"}})
    # Both load the same record before either writes (as two instances would); a single
    # request is claimed (and last_seen refreshed) by the same command.
    commands = [next(level), next(subscribe)]
    assert all(isinstance(c, LoadAndClaim) for c in commands)
    answers = [harness.store.execute(c) for c in commands]
    results = []
    for plan, answer in zip((level, subscribe), answers, strict=True):
        command = plan.send(answer)
        writes = []
        try:
            while True:
                if isinstance(command, UpdateSession):
                    writes.append(command)
                command = plan.send(harness.store.execute(command))
        except StopIteration as stop:
            results.append(stop.value)
        assert writes, "a session change is stored as an UpdateSession"
    record = harness.store.execute(LoadSession(session, harness.now[0], 3600.0))
    assert record.log_level == "error"
    assert record.subscriptions == frozenset({"demo://a"})
    assert record.last_seen == harness.now[0]


def test_the_origin_and_host_verdicts_stay_bounded_and_right() -> None:
    import mcp_sansio._server as server_module

    harness = make_harness(demo_app(), Config(validate_loopback=True))
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    base = [h for h in HEAD if h[0] != "host"]
    for n in range(server_module._HOST_CACHE_SIZE + 50):  # a client cycling through Host values
        out = harness.request("POST", ping, [("host", f"evil{n}.example")], base=base)
        assert only_response(out).status == 421  # the verdict, cached or not, is the same
        assert len(harness.server._host_refusals) <= server_module._HOST_CACHE_SIZE
    session = harness.initialize()  # a good Host after the churn is still served
    assert body_of(harness.post(ping, session))["result"] == {}


def test_the_peer_cache_stays_bounded_and_follows_the_record() -> None:
    import mcp_sansio._server as server_module

    harness = make_harness(demo_app())
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    sessions = [harness.initialize() for _ in range(40)]
    original = server_module._PEER_CACHE_SIZE
    server_module._PEER_CACHE_SIZE = 16
    try:
        for session in sessions:
            assert body_of(harness.post(ping, session))["result"] == {}
            assert len(harness.server._peers) <= 16
    finally:
        server_module._PEER_CACHE_SIZE = original
    # A changed record (a new log level) gives a new Peer: the cache never serves a stale one.
    session = sessions[-1]
    harness.post({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "error"}}, session)
    harness.post(ping, session)
    assert harness.server._peers[session][2].log_level == "error"
