"""The core's authorization decisions: metadata, challenges, token claims, per-call scopes, session binding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_sansio import (
    App,
    HttpRequest,
    Principal,
    ResourceServer,
    SendResponse,
    Server,
    TokenClaims,
    run_plan,
)
from tests.conftest import HEAD, routing_headers, stateless_request

RS = ResourceServer("https://mcp.example.com/api/mcp", ("https://as.example.com",), scopes_required=("mcp",))
NOW = 1_700_000_000.0
ALICE = Principal("alice", "https://as.example.com", frozenset({"mcp"}))


def claims(**overrides: Any) -> TokenClaims:
    base = {"sub": "alice", "iss": "https://as.example.com", "aud": [RS.resource], "scope": "mcp x", "exp": NOW + 60}
    base.update(overrides)
    return TokenClaims.from_mapping({k: v for k, v in base.items() if v is not None})


def test_metadata_lives_below_the_well_known_prefix_of_the_resource_path() -> None:
    assert RS.metadata_path == "/.well-known/oauth-protected-resource/api/mcp"
    assert RS.metadata_url == "https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp"
    root = ResourceServer("https://mcp.example.com", ("https://as.example.com",))
    assert root.metadata_path == "/.well-known/oauth-protected-resource"
    assert root.metadata() == {
        "resource": "https://mcp.example.com",
        "authorization_servers": ["https://as.example.com"],
        "bearer_methods_supported": ["header"],
    }
    named = ResourceServer(
        RS.resource, RS.authorization_servers, ("mcp",), ("mcp", "files"), resource_name="Files", documentation="d"
    )
    assert named.metadata()["scopes_supported"] == ["mcp", "files"]
    assert named.metadata()["resource_name"] == "Files"
    assert named.metadata()["resource_documentation"] == "d"


@pytest.mark.parametrize(
    ("resource", "servers"),
    [("mcp.example.com/mcp", ("a",)), ("https://x/mcp#f", ("a",)), ("ftp://x/mcp", ("a",)), ("https://x/mcp", ())],
)
def test_a_resource_server_is_checked_when_made(resource: str, servers: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        ResourceServer(resource, servers)


def test_claims_from_jwt_and_introspection_shapes() -> None:
    jwt_like = TokenClaims.from_mapping({"sub": "a", "aud": "r", "scp": ["x", 3, "y"], "exp": 5, "azp": "c"})
    assert (jwt_like.audience, jwt_like.scopes, jwt_like.expires_at, jwt_like.client_id) == (
        ("r",),
        frozenset({"x", "y"}),
        5.0,
        "c",
    )
    odd = TokenClaims.from_mapping({"sub": 7, "aud": 3, "scope": ["no"], "exp": True, "nbf": "soon"})
    assert (odd.subject, odd.audience, odd.scopes, odd.expires_at, odd.not_before) == (
        None,
        (),
        frozenset(),
        None,
        None,
    )
    assert TokenClaims.from_mapping({"aud": ["a", 1, "b"]}).audience == ("a", "b")


def test_authenticate_checks_expiry_with_leeway_audience_issuer_subject_and_scopes() -> None:
    assert RS.authenticate(claims(), NOW) == Principal("alice", "https://as.example.com", frozenset({"mcp", "x"}))
    assert isinstance(RS.authenticate(claims(exp=NOW - 29), NOW), Principal)  # within the 30 s leeway
    refusals = {
        "expired": claims(exp=NOW - 31),
        "not yet": claims(nbf=NOW + 31),
        "audience": claims(aud="https://mcp.example.com/other"),
        "issuer": claims(iss="https://evil.example.com"),
        "no issuer": claims(iss=None),
        "subject": claims(sub=None),
        "unverified": None,
    }
    for name, token in refusals.items():
        refusal = RS.authenticate(token, NOW)
        assert not isinstance(refusal, Principal) and refusal.status == 401, name
        assert 'error="invalid_token"' in refusal.challenge
    scoped = RS.authenticate(claims(scope="x"), NOW)
    assert not isinstance(scoped, Principal) and scoped.status == 403
    assert scoped.message == "Forbidden: this server needs scope mcp"
    # A client-credentials token names only its client.
    machine = RS.authenticate(claims(sub=None, client_id="robot"), NOW)
    assert isinstance(machine, Principal) and machine.subject == "client:robot"
    trusting = ResourceServer(RS.resource, RS.authorization_servers, issuers=("https://other.example.com",))
    assert isinstance(trusting.authenticate(claims(iss="https://other.example.com"), NOW), Principal)


def test_bearer_token_parsing_and_challenge_quoting() -> None:
    assert RS.bearer_token(["Bearer abc.DEF-_~+/=="]) == "abc.DEF-_~+/=="
    assert RS.bearer_token(["bearer   tok"]) == "tok"
    for headers in (["Basic abc"], ["Bearer"], ["Bearer a b"], ["Bearer a", "Bearer b"], ['Bearer a"b']):
        refusal = RS.bearer_token(headers)
        assert not isinstance(refusal, str) and refusal.status == 400, headers
    missing = RS.bearer_token([])
    assert not isinstance(missing, str) and missing.status == 401 and "error=" not in missing.challenge
    assert RS.challenge("e", 'say "hi"\n') == (
        'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp", '
        'scope="mcp", error="e", error_description="say hi"'
    )


def app_with_scopes() -> App:
    app = App("scoped")

    @app.tool(scopes=["w"])
    async def write() -> str:
        return "w"

    @app.resource("res://secret", scopes=["r"])
    async def secret() -> str:
        return "s"

    @app.resource_template("res://items/{id}", scopes=["items"])
    async def item(id: str) -> str:
        return id

    @app.prompt(scopes=["p"])
    async def greet() -> str:
        return "hi"

    @app.tool()
    async def free() -> str:
        return "f"

    return app


def post(server: Server, body: Any, principal: Principal | None, session: str | None = None, **extra: str) -> Any:
    headers = [*HEAD, *extra.items()]
    if session is not None:
        headers.append(("mcp-session-id", session))
    request = HttpRequest.build("POST", "/mcp", headers)
    return run_plan(server.receive(request, json.dumps(body).encode(), principal=principal), server_store[server])


server_store: dict[Server, Any] = {}


def scoped_server() -> Server:
    from mcp_sansio import MemoryStore

    server = Server(app_with_scopes(), auth=RS, clock=lambda: NOW)
    server_store[server] = MemoryStore()
    return server


def initialize(server: Server, principal: Principal, version: str = "2025-11-25") -> str:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    [response] = post(server, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, principal)
    assert response.status == 200
    return str(dict(response.headers)["mcp-session-id"])


@pytest.mark.parametrize(
    ("method", "params", "scope"),
    [
        ("tools/call", {"name": "write", "arguments": {}}, "w"),
        ("resources/read", {"uri": "res://secret"}, "r"),
        ("resources/read", {"uri": "res://items/7"}, "items"),
        ("prompts/get", {"name": "greet"}, "p"),
    ],
)
def test_each_kind_of_call_can_need_scopes(method: str, params: dict[str, Any], scope: str) -> None:
    server = scoped_server()
    session = initialize(server, ALICE)
    [refused] = post(server, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, ALICE, session)
    assert refused.status == 403
    assert f'scope="mcp {scope}", error="insufficient_scope"' in dict(refused.headers)["www-authenticate"]
    wider = Principal("alice", ALICE.issuer, frozenset({"mcp", scope}))
    allowed = post(server, {"jsonrpc": "2.0", "id": 2, "method": method, "params": params}, wider, session)
    assert not (isinstance(allowed[0], SendResponse) and allowed[0].status == 403)


def test_calls_needing_nothing_and_unknown_names_pass_to_their_usual_answers() -> None:
    server = scoped_server()
    session = initialize(server, ALICE)
    for params in ({"name": "free"}, {"name": "nope"}, {"name": 3}):
        out = post(server, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}, ALICE, session)
        assert not (isinstance(out[0], SendResponse) and out[0].status == 403), params


def test_a_batch_answers_refused_calls_with_errors_and_runs_the_rest() -> None:
    server = scoped_server()
    session = initialize(server, ALICE, "2025-03-26")
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "write", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    ]
    out = post(server, batch, ALICE, session)
    answers = []
    for output in out:
        if isinstance(output, SendResponse):
            answers = json.loads(output.body)
    assert {a["id"]: a.get("error", {}).get("message") for a in answers} == {
        1: "Forbidden: tool 'write' needs scope w",
        2: None,
    }


def test_without_a_principal_an_auth_server_serves_nobody() -> None:
    server = scoped_server()
    request = HttpRequest.build("POST", "/mcp", [*HEAD, ("authorization", "Bearer t")])
    [refused] = run_plan(server.receive(request, b"{}"), server_store[server])
    assert refused.status == 401
    assert 'error_description="the token was not verified"' in dict(refused.headers)["www-authenticate"]
    [bare] = run_plan(server.receive(HttpRequest.build("POST", "/mcp", HEAD), b"{}"), server_store[server])
    assert bare.status == 401


def test_sessions_are_bound_to_issuer_and_subject() -> None:
    server = scoped_server()
    session = initialize(server, ALICE)
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert post(server, ping, ALICE, session)[0].status == 200
    for other in (
        Principal("bob", ALICE.issuer),
        Principal("alice", "https://other.example.com"),
        Principal('alice","x', ALICE.issuer),
    ):
        assert post(server, ping, other, session)[0].status == 404
    assert ALICE.key != Principal('as.example.com","alice', "https:/").key


def test_the_hook_and_scopes_apply_statelessly_too() -> None:
    app = app_with_scopes()
    seen: list[tuple[Any, str, str]] = []

    @app.authorize
    def hook(principal: Principal | None, kind: str, name: str) -> bool:
        seen.append((principal, kind, name))
        return name != "free"

    server = Server(app, auth=RS, clock=lambda: NOW)
    from mcp_sansio import MemoryStore

    server_store[server] = MemoryStore()
    for name, status, marker in (("write", 403, "insufficient_scope"), ("free", 403, None)):
        body = stateless_request("tools/call", {"name": name, "arguments": {}})
        [out] = post(server, body, ALICE, **dict(routing_headers(body)))
        assert out.status == status, name
        assert ("www-authenticate" in dict(out.headers)) == (marker is not None)
    assert seen == [(ALICE, "tool", "free")]  # scopes are checked first; the hook saw only the second


def test_the_metadata_route_only_with_auth() -> None:
    server = scoped_server()
    get = HttpRequest.build("GET", RS.metadata_path + "?x=1", [("host", "mcp.example.com")])
    answer = server.resource_metadata(get)
    assert answer is not None and answer.status == 200 and json.loads(answer.body)["resource"] == RS.resource
    post_it = server.resource_metadata(HttpRequest.build("POST", RS.metadata_path, []))
    assert post_it is not None and post_it.status == 405
    assert server.resource_metadata(HttpRequest.build("GET", "/mcp", [])) is None
    assert Server(App()).resource_metadata(get) is None
    assert Server(App()).bearer_token(get) is None
    with pytest.raises(Exception, match="auth="):
        Server(App()).authenticate(None)

    async def tool() -> str:
        return ""

    with pytest.raises(TypeError, match="not one string"):
        App().tool(scopes="w")(tool)
