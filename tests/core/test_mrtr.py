"""Multi-round-trip requests (2026-07-28): input requests, input responses and signed request state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from mcp_sansio import (
    MISSING_CAPABILITY,
    App,
    Config,
    InputRequest,
    InputRequired,
    LocalProtocolError,
    RemoteProtocolError,
    RunHandler,
    SendEvent,
    SendResponse,
    Server,
)
from mcp_sansio._mrtr import RequestState, check_input_responses, missing_capability
from tests.apps import stateless_app
from tests.conftest import (
    META_SERVER_INFO,
    Harness,
    body_of,
    make_harness,
    only_response,
    post_stateless,
    stateless_request,
)

CAPS = {"elicitation": {}, "sampling": {}, "roots": {"listChanged": True}}
INFO = {META_SERVER_INFO: {"name": "stateless", "version": "2.0.0"}}
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
ELICIT = InputRequest.elicitation("Please confirm", SCHEMA)
SAMPLE = InputRequest.sampling([{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}], 100)
ROOTS = InputRequest.roots()
ACCEPT = {"action": "accept", "content": {"ok": True}}
SAMPLED = {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m", "stopReason": "endTurn"}
LISTED = {"roots": [{"uri": "file:///test/root", "name": "Test Root"}]}


@pytest.fixture
def stateless() -> Harness:
    return make_harness(stateless_app())


def run_of(outputs: list[Any]) -> RunHandler:
    handlers = [o for o in outputs if isinstance(o, RunHandler)]
    assert len(handlers) == 1, outputs
    return handlers[0]


def confirm(harness: Harness, rid: Any = 1, caps: dict[str, Any] | None = None, **params: Any) -> RunHandler:
    body = stateless_request(
        "tools/call", {"name": "confirm", **params}, rid=rid, capabilities=CAPS if caps is None else caps
    )
    return run_of(post_stateless(harness, body))


def ask(harness: Harness, run: RunHandler, requests: dict[str, InputRequest]) -> dict[str, Any]:
    """One round that ends for want of input: the InputRequiredResult sent."""
    with pytest.raises(InputRequired) as info:
        run.exchange.inputs(run.call, requests)
    out = harness.run(run.exchange.fail(run.call, info.value))
    response = only_response(out)
    assert response.status == 200
    return json.loads(response.body)["result"]


def refused(outputs: list[Any], rid: Any, message: str, code: int = -32602) -> None:
    response = only_response(outputs)
    assert response.status == 400
    assert response.headers == (("content-type", "application/json"),)
    assert json.loads(response.body) == {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


# -- rounds -------------------------------------------------------------------------------


def test_missing_input_ends_the_round_with_input_required(stateless: Harness) -> None:
    run = confirm(stateless)
    assert run.call.answers == {}
    with pytest.raises(InputRequired) as info:
        run.exchange.inputs(run.call, {"confirm": ELICIT})
    assert info.value.requests == {"confirm": ELICIT}
    assert info.value.answers == {}
    out = stateless.run(run.exchange.fail(run.call, info.value))
    assert len(out) == 1 and isinstance(out[0], SendResponse)
    assert out[0].status == 200
    body = json.loads(out[0].body)
    state = body["result"]["requestState"]
    assert isinstance(state, str) and state
    assert body == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "resultType": "input_required",
            "inputRequests": {
                "confirm": {
                    "method": "elicitation/create",
                    "params": {"message": "Please confirm", "requestedSchema": SCHEMA},
                }
            },
            "requestState": state,
            "_meta": INFO,
        },
    }
    assert stateless.server.request_state.open(state, "tools/call", "confirm", stateless.now[0]) == {}


def test_retry_with_answers_and_state_completes(stateless: Harness) -> None:
    state = ask(stateless, confirm(stateless), {"confirm": ELICIT})["requestState"]
    run = confirm(stateless, rid=2, inputResponses={"confirm": ACCEPT}, requestState=state)
    assert run.call.answers == {"confirm": ACCEPT}
    assert run.exchange.inputs(run.call, {"confirm": ELICIT}) == {"confirm": ACCEPT}
    out = stateless.run(run.exchange.complete(run.call, "confirmed: accept"))
    assert body_of(out) == {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {"content": [{"type": "text", "text": "confirmed: accept"}], "resultType": "complete", "_meta": INFO},
    }


def test_answers_without_state_are_enough(stateless: Harness) -> None:
    extra = {"unknown_extra_key": {"x": 1}, "another_unexpected": {}}
    run = confirm(stateless, inputResponses={"confirm": ACCEPT, **extra})
    assert run.exchange.inputs(run.call, {"confirm": ELICIT}) == {"confirm": ACCEPT}


def test_a_wrong_key_re_requests_and_keeps_what_was_sent(stateless: Harness) -> None:
    wrong = {"wrong_key": {"action": "accept", "content": {"data": "wrong"}}}
    run = confirm(stateless, inputResponses=wrong)
    result = ask(stateless, run, {"confirm": ELICIT})
    assert list(result["inputRequests"]) == ["confirm"]
    assert (
        stateless.server.request_state.open(result["requestState"], "tools/call", "confirm", stateless.now[0]) == wrong
    )


def test_multi_round_state_changes_each_round(stateless: Harness) -> None:
    step1 = InputRequest.elicitation("Name?", {"type": "object", "properties": {"name": {"type": "string"}}})
    step2 = InputRequest.elicitation("Color?", {"type": "object", "properties": {"color": {"type": "string"}}})
    r1 = ask(stateless, confirm(stateless, rid=1), {"step1": step1})
    alice = {"action": "accept", "content": {"name": "Alice"}}
    run = confirm(stateless, rid=2, inputResponses={"step1": alice}, requestState=r1["requestState"])
    r2 = ask(stateless, run, {"step1": step1, "step2": step2})
    assert list(r2["inputRequests"]) == ["step2"]
    assert r2["requestState"] != r1["requestState"]
    blue = {"action": "accept", "content": {"color": "blue"}}
    run = confirm(stateless, rid=3, inputResponses={"step2": blue}, requestState=r2["requestState"])
    assert run.call.answers == {"step1": alice, "step2": blue}
    assert run.exchange.inputs(run.call, {"step1": step1, "step2": step2}) == {"step1": alice, "step2": blue}


def test_fresh_answers_override_sealed_ones(stateless: Harness) -> None:
    state = stateless.server.request_state.seal(
        "tools/call", "confirm", {"confirm": {"action": "decline"}}, stateless.now[0]
    )
    run = confirm(stateless, inputResponses={"confirm": ACCEPT}, requestState=state)
    assert run.call.answers == {"confirm": ACCEPT}


def test_several_kinds_of_input_at_once(stateless: Harness) -> None:
    requests = {"user_name": ELICIT, "greeting": SAMPLE, "client_roots": ROOTS}
    result = ask(stateless, confirm(stateless), requests)
    assert result["inputRequests"] == {
        "user_name": ELICIT.to_json(),
        "greeting": {
            "method": "sampling/createMessage",
            "params": {
                "messages": [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}],
                "maxTokens": 100,
            },
        },
        "client_roots": {"method": "roots/list", "params": {}},
    }
    answers = {"user_name": ACCEPT, "greeting": SAMPLED, "client_roots": LISTED}
    run = confirm(stateless, rid=2, inputResponses=answers, requestState=result["requestState"])
    assert run.exchange.inputs(run.call, requests) == answers


def test_prompts_and_resources_take_part_too(stateless: Harness) -> None:
    body = stateless_request("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}, capabilities=CAPS)
    result = ask(stateless, run_of(post_stateless(stateless, body)), {"confirm": ELICIT})
    assert stateless.server.request_state.open(result["requestState"], "prompts/get", "greet", stateless.now[0]) == {}
    body = stateless_request(
        "prompts/get",
        {
            "name": "greet",
            "arguments": {"name": "Ada"},
            "inputResponses": {"confirm": ACCEPT},
            "requestState": result["requestState"],
        },
        rid=2,
        capabilities=CAPS,
    )
    assert run_of(post_stateless(stateless, body)).call.answers == {"confirm": ACCEPT}
    # An input-required read carries no cache hints, though reads are cacheable.
    body = stateless_request("resources/read", {"uri": "test://items/9"}, capabilities=CAPS)
    result = ask(stateless, run_of(post_stateless(stateless, body)), {"roots": ROOTS})
    assert set(result) == {"resultType", "inputRequests", "requestState", "_meta"}
    assert (
        stateless.server.request_state.open(
            result["requestState"], "resources/read", "test://items/9", stateless.now[0]
        )
        == {}
    )


def test_an_input_required_stream_ends_with_the_result(stateless: Harness) -> None:
    meta_token = {"progressToken": "t"}
    body = stateless_request("tools/call", {"name": "count", "arguments": {"n": 1}}, capabilities=CAPS)
    body["params"]["_meta"].update(meta_token)
    run = run_of(post_stateless(stateless, body))
    stateless.run(run.exchange.chunk(run.call, "1"))
    with pytest.raises(InputRequired) as info:
        run.exchange.inputs(run.call, {"roots": ROOTS})
    out = stateless.run(run.exchange.fail(run.call, info.value))
    assert isinstance(out[0], SendEvent) and out[0].seq == 2
    payload = json.loads(out[0].data.split(b"data: ", 1)[1])
    assert payload["result"]["resultType"] == "input_required"


def test_no_input_required_result_for_completion() -> None:
    app = App("completing")

    @app.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> list[str]:
        return []

    harness = make_harness(app)
    body = stateless_request(
        "completion/complete",
        {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}},
        capabilities=CAPS,
    )
    run = run_of(post_stateless(harness, body))
    assert run.call.answers is None
    # InputRequiredResult is only allowed on tools/call, prompts/get and resources/read.
    with pytest.raises(LocalProtocolError, match="a completion handler cannot ask the client for input") as info:
        run.exchange.inputs(run.call, {"roots": ROOTS})
    body_json = body_of(harness.run(run.exchange.fail(run.call, info.value)))
    assert body_json["error"]["code"] == -32603


# -- request state that does not verify -----------------------------------------------------


def _flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("B" if char != "B" else "C") + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s + "-TAMPERED",
        lambda s: _flip(s, 0),
        lambda s: _flip(s, s.index(".") - 2),
        lambda s: _flip(s, s.index(".") + 1),
        lambda s: s.split(".")[0],
        lambda s: "." + s.split(".")[1],
        lambda s: s.replace(".", ""),
        lambda s: "",
        lambda s: "é" + s,
    ],
)
def test_tampered_state_is_invalid_params(stateless: Harness, tamper: Any) -> None:
    state = ask(stateless, confirm(stateless), {"confirm": ELICIT})["requestState"]
    tampered = tamper(state)
    assert tampered != state
    body = stateless_request(
        "tools/call", {"name": "confirm", "inputResponses": {"confirm": ACCEPT}, "requestState": tampered}, rid=2
    )
    refused(post_stateless(stateless, body), 2, "Invalid params: requestState failed verification")


@pytest.mark.parametrize("state", [None, 5, ["x"], {"a": 1}])
def test_non_string_state_is_invalid_params(stateless: Harness, state: Any) -> None:
    body = stateless_request("tools/call", {"name": "confirm", "requestState": state}, rid=3)
    refused(post_stateless(stateless, body), 3, "Invalid params: requestState failed verification")


@pytest.mark.parametrize(
    ("method", "target"), [("prompts/get", "confirm"), ("tools/call", "other"), ("resources/read", "confirm")]
)
def test_state_bound_to_another_request_is_invalid_params(stateless: Harness, method: str, target: str) -> None:
    state = stateless.server.request_state.seal(method, target, {"confirm": ACCEPT}, stateless.now[0])
    body = stateless_request("tools/call", {"name": "confirm", "requestState": state}, rid=4)
    refused(post_stateless(stateless, body), 4, "Invalid params: requestState belongs to another request")


def test_state_from_another_tool_is_refused(stateless: Harness) -> None:
    body = stateless_request("prompts/get", {"name": "greet", "arguments": {"name": "A"}}, capabilities=CAPS)
    state = ask(stateless, run_of(post_stateless(stateless, body)), {"confirm": ELICIT})["requestState"]
    refused(
        post_stateless(stateless, stateless_request("tools/call", {"name": "confirm", "requestState": state}, rid=5)),
        5,
        "Invalid params: requestState belongs to another request",
    )


def test_expired_state_is_invalid_params(stateless: Harness) -> None:
    state = ask(stateless, confirm(stateless), {"confirm": ELICIT})["requestState"]
    stateless.now[0] += 600  # exactly at the deadline: still good
    assert confirm(stateless, rid=2, requestState=state).call.answers == {}
    stateless.now[0] += 0.01
    body = stateless_request("tools/call", {"name": "confirm", "requestState": state}, rid=3)
    refused(post_stateless(stateless, body), 3, "Invalid params: requestState has expired; start over")


def test_state_from_another_server_key_is_refused_and_a_shared_key_is_accepted() -> None:
    states = []
    for key in (b"key-1", b"key-1", b"key-2"):
        server = Server(stateless_app(), Config(), clock=lambda: 50.0, new_stream_key=lambda: "s", state_key=key)
        states.append((server, server.request_state.seal("tools/call", "confirm", {"k": {"action": "x"}}, 50.0)))
    (first, state), (second, _), (third, _) = states
    assert second.request_state.open(state, "tools/call", "confirm", 50.0) == {"k": {"action": "x"}}
    with pytest.raises(RemoteProtocolError, match="failed verification"):
        third.request_state.open(state, "tools/call", "confirm", 50.0)
    assert first.request_state.key == b"key-1"
    # Without a key, each server makes up its own.
    assert Server(stateless_app()).request_state.key != Server(stateless_app()).request_state.key
    assert len(Server(stateless_app()).request_state.key) == 32


# -- malformed input responses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ([], "Invalid params: inputResponses must be an object"),
        ("confirm", "Invalid params: inputResponses must be an object"),
        ({"confirm": "yes"}, "Invalid params: inputResponses['confirm'] must be an object"),
        ({"confirm": ACCEPT, "user_name": 12345}, "Invalid params: inputResponses['user_name'] must be an object"),
        ({"confirm": None}, "Invalid params: inputResponses['confirm'] must be an object"),
    ],
)
def test_malformed_input_responses_are_invalid_params(stateless: Harness, responses: Any, message: str) -> None:
    body = stateless_request("tools/call", {"name": "confirm", "inputResponses": responses}, rid=6)
    refused(post_stateless(stateless, body), 6, message)


def test_null_input_responses_are_none(stateless: Harness) -> None:
    run = confirm(stateless, inputResponses=None)
    assert run.call.answers == {}
    assert ask(stateless, run, {"confirm": ELICIT})["resultType"] == "input_required"


@pytest.mark.parametrize(
    ("request_", "answer"),
    [
        (ELICIT, {"content": {"ok": True}}),
        (SAMPLE, {"role": "assistant", "model": "m"}),
        (ROOTS, {"uris": []}),
    ],
)
def test_an_answer_of_the_wrong_shape_is_invalid_params(
    stateless: Harness, request_: InputRequest, answer: Any
) -> None:
    run = confirm(stateless, rid=7, inputResponses={"k": answer})
    with pytest.raises(RemoteProtocolError) as info:
        run.exchange.inputs(run.call, {"k": request_})
    assert info.value.code == -32602
    assert info.value.message == f"Invalid params: inputResponses['k'] is not a {request_.method} result"
    refused(stateless.run(run.exchange.fail(run.call, info.value)), 7, info.value.message)


def test_answers_to_other_methods_are_taken_as_they_are(stateless: Harness) -> None:
    run = confirm(stateless, inputResponses={"k": {"anything": 1}})
    custom = InputRequest("custom/ask")
    assert custom.params == {}
    assert run.exchange.inputs(run.call, {"k": custom}) == {"k": {"anything": 1}}


# -- capabilities -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caps", "requests", "capability"),
    [
        ({"elicitation": {}}, {"q": SAMPLE}, "sampling"),
        ({}, {"q": ELICIT}, "elicitation"),
        ({"sampling": {}, "elicitation": {}}, {"a": ELICIT, "b": ROOTS}, "roots"),
        ({"roots": True}, {"r": ROOTS}, "roots"),
    ],
)
def test_missing_capability_is_32021_with_http_400(
    stateless: Harness, caps: dict[str, Any], requests: dict[str, InputRequest], capability: str
) -> None:
    run = confirm(stateless, rid=8, caps=caps)
    with pytest.raises(RemoteProtocolError) as info:
        run.exchange.inputs(run.call, requests)
    assert info.value.code == MISSING_CAPABILITY == -32021
    assert info.value.data == {"requiredCapabilities": {capability: {}}}
    out = stateless.run(run.exchange.fail(run.call, info.value))
    response = only_response(out)
    assert response.status == 400
    assert json.loads(response.body) == {
        "jsonrpc": "2.0",
        "id": 8,
        "error": {
            "code": -32021,
            "message": f"Missing required client capability: {capability}",
            "data": {"requiredCapabilities": {capability: {}}},
        },
    }


def test_the_capability_is_checked_even_when_an_answer_is_present(stateless: Harness) -> None:
    run = confirm(stateless, caps={"elicitation": {}}, inputResponses={"q": SAMPLED})
    with pytest.raises(RemoteProtocolError) as info:
        run.exchange.inputs(run.call, {"q": SAMPLE})
    assert info.value.code == -32021


# -- the handshake revisions ---------------------------------------------------------------------


def handshake_confirm(harness: Harness, caps: dict[str, Any]) -> RunHandler:
    session = harness.initialize(capabilities=caps)
    return run_of(
        harness.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "confirm"}}, session)
    )


def test_handshake_server_request_works(stateless: Harness) -> None:
    run = handshake_confirm(stateless, {"elicitation": {}})
    assert run.call.answers is None
    outgoing, out = stateless.run(run.exchange.server_request(1, "elicitation/create", ELICIT.params))
    assert outgoing == "s1-1"
    assert isinstance(out[-1], SendEvent)
    assert json.loads(out[-1].data.split(b"data: ", 1)[1]) == {
        "jsonrpc": "2.0",
        "id": "s1-1",
        "method": "elicitation/create",
        "params": ELICIT.params,
    }
    second, _ = stateless.run(run.exchange.server_request(1, "custom/method", None))
    assert second == "s1-2"


def test_handshake_exchanges_refuse_inputs(stateless: Harness) -> None:
    # Exchange.inputs is for stateless exchanges; a handshake session asks with server_request.
    run = handshake_confirm(stateless, {"elicitation": {}})
    with pytest.raises(LocalProtocolError, match="handshake sessions use server_request"):
        run.exchange.inputs(run.call, {"confirm": ELICIT})
    # The request is still open and can be answered otherwise.
    assert run.exchange.is_open(1)
    assert only_response(stateless.run(run.exchange.complete(run.call, "ok"))).status == 200


def test_handshake_missing_capability_is_a_local_error(stateless: Harness) -> None:
    run = handshake_confirm(stateless, {"sampling": {}})
    with pytest.raises(LocalProtocolError) as info:
        stateless.run(run.exchange.server_request(1, "elicitation/create", {}))
    assert info.value.message == (
        "the client did not declare the 'elicitation' capability needed for elicitation/create"
    )
    with pytest.raises(LocalProtocolError, match="'roots' capability needed for roots/list"):
        stateless.run(run.exchange.server_request(1, "roots/list", {}))


# -- RequestState ---------------------------------------------------------------------------------


def _sign(key: bytes, payload: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(payload)}.{b64(hmac.new(key, payload, hashlib.sha256).digest())}"


def test_seal_and_open_round_trip() -> None:
    state = RequestState(b"secret")
    answers = {"a": {"action": "accept", "content": {"x": "ü"}}, "b": {"roots": []}}
    sealed = state.seal("tools/call", "t", answers, 100.0)
    encoded, _, tag = sealed.partition(".")
    assert "=" not in sealed
    assert json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))) == {
        "m": "tools/call",
        "t": "t",
        "a": answers,
        "x": 700.0,
    }
    assert len(base64.urlsafe_b64decode(tag + "=" * (-len(tag) % 4))) == 32
    assert state.open(sealed, "tools/call", "t", 100.0) == answers
    assert state.open(sealed, "tools/call", "t", 700.0) == answers
    assert sealed != state.seal("tools/call", "t", answers, 100.5)


def test_open_checks_binding_and_expiry() -> None:
    state = RequestState(b"secret", ttl=10.0)
    sealed = state.seal("prompts/get", "p", {}, 0.0)
    assert state.open(sealed, "prompts/get", "p", 10.0) == {}
    for method, target in (("tools/call", "p"), ("prompts/get", "q")):
        with pytest.raises(RemoteProtocolError) as info:
            state.open(sealed, method, target, 0.0)
        assert (info.value.code, info.value.error_status_hint) == (-32602, 400)
        assert info.value.message == "Invalid params: requestState belongs to another request"
    with pytest.raises(RemoteProtocolError, match="has expired"):
        state.open(sealed, "prompts/get", "p", 10.001)
    with pytest.raises(RemoteProtocolError, match="failed verification"):
        RequestState(b"other", ttl=10.0).open(sealed, "prompts/get", "p", 0.0)


@pytest.mark.parametrize("junk", [None, 1, b"bytes", "", ".", "abc", "a.b", "é.é", "!!!.???", "e30.e30"])
def test_open_refuses_junk(junk: Any) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        RequestState(b"secret").open(junk, "m", "t", 0.0)
    assert info.value.message == "Invalid params: requestState failed verification"
    assert info.value.code == -32602


def test_open_refuses_signed_payloads_that_are_not_state() -> None:
    key = b"secret"
    state = RequestState(key)
    for payload in (b"not json", b"\xff\xfe"):
        with pytest.raises(RemoteProtocolError, match="failed verification"):
            state.open(_sign(key, payload), "m", "t", 0.0)
    for payload in (b'{"m":"m","t":"t","a":{}}', b'{"m":"m","t":"t","a":{},"x":"later"}'):
        with pytest.raises(RemoteProtocolError, match="has expired"):
            state.open(_sign(key, payload), "m", "t", 0.0)
    assert state.open(_sign(key, b'{"m":"m","t":"t","a":[1],"x":5}'), "m", "t", 0.0) == {}
    assert state.open(_sign(key, b'{"m":"m","t":"t","x":5}'), "m", "t", 0.0) == {}


# -- the small pieces ---------------------------------------------------------------------------------


def test_input_request_constructors() -> None:
    assert ELICIT.to_json() == {
        "method": "elicitation/create",
        "params": {"message": "Please confirm", "requestedSchema": SCHEMA},
    }
    assert InputRequest.elicitation_url("Sign in", "https://x.example/auth", "e-1").to_json() == {
        "method": "elicitation/create",
        "params": {"mode": "url", "message": "Sign in", "url": "https://x.example/auth", "elicitationId": "e-1"},
    }
    assert InputRequest.sampling([], 5, temperature=0.5, systemPrompt="s").to_json() == {
        "method": "sampling/createMessage",
        "params": {"messages": [], "maxTokens": 5, "temperature": 0.5, "systemPrompt": "s"},
    }
    assert ROOTS.to_json() == {"method": "roots/list", "params": {}}


def test_input_required_is_not_an_exception() -> None:
    signal = InputRequired({"b": ROOTS, "a": ELICIT}, {"x": {}})
    assert not isinstance(signal, Exception)
    assert signal.args == (["a", "b"],)
    assert signal.requests == {"b": ROOTS, "a": ELICIT}
    assert signal.answers == {"x": {}}


def test_missing_capability_error() -> None:
    error = missing_capability("roots")
    assert isinstance(error, RemoteProtocolError)
    assert (error.code, error.error_status_hint, error.message, error.data) == (
        -32021,
        400,
        "Missing required client capability: roots",
        {"requiredCapabilities": {"roots": {}}},
    )


def test_check_input_responses() -> None:
    assert check_input_responses(None) == {}
    assert check_input_responses({}) == {}
    value = {"a": {"action": "cancel"}}
    assert check_input_responses(value) is value
    with pytest.raises(RemoteProtocolError, match=r"inputResponses\['a'\] must be an object"):
        check_input_responses({"a": []})
