"""Authorization over real sockets: signed JWTs against a JWKS, introspection, sessions bound to principals.

The issuer (keys generated here, JWKS and introspection served on 127.0.0.1 by
:class:`LocalIssuer`) and the server run in the test's event loop; the server is
the h11 server on asyncio and trio, and the ASGI app under uvicorn.
"""

# The Redis fixtures come from tests/stores/conftest.py by import, and test parameters name them again.
# ruff: noqa: F811

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import App, Context, ResourceServer, Server
from mcp_sansio_asgi import AsgiApp
from mcp_sansio_auth import IntrospectionVerifier, JwtVerifier
from mcp_sansio_h11 import serve_in
from mcp_sansio_runtime import TokenVerifier
from tests.adapters.conftest import H11_FLAVOURS, Running, serve_asgi
from tests.adapters.issuer import ISSUER, RESOURCE, LocalIssuer, new_key
from tests.adapters.test_http import HEADERS, INIT
from tests.adapters.test_resume import call
from tests.stores.conftest import prefix, redis_problem, redis_sync  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio

METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"


@pytest.fixture(params=[*H11_FLAVOURS, "uvicorn-asyncio"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def auth_app() -> App:
    app = App("guarded")

    @app.tool()
    async def whoami(ctx: Context) -> str:
        """The caller's subject and scopes."""
        principal = ctx.principal
        assert principal is not None
        return f"{principal.subject} {' '.join(sorted(principal.scopes))}"

    @app.tool(scopes=["files:write"])
    async def write(text: str) -> str:
        """Needs files:write."""
        return f"wrote {text}"

    @app.tool()
    async def secret() -> str:
        """Only for alice (the authorization hook)."""
        return "the secret"

    @app.authorize
    def only_alice_reads_secrets(principal: Any, kind: str, name: str) -> bool:
        return name != "secret" or (principal is not None and principal.subject == "alice")

    return app


RESOURCE_SERVER = ResourceServer(RESOURCE, (ISSUER,), scopes_required=("mcp",), leeway=0)


@dataclass
class Guarded:
    running: Running
    issuer: LocalIssuer

    @property
    def url(self) -> str:
        return self.running.url


async def start_guarded(tg: Any, flavour: str, verifier: TokenVerifier, store: Any = None) -> Running:
    server = Server(auth_app(), auth=RESOURCE_SERVER)
    if flavour.startswith("h11-"):
        host, port, runtime = await tg.start(
            lambda task_status: serve_in(server, port=0, verifier=verifier, store=store, task_status=task_status)
        )
        return Running(host, port, runtime)
    return await serve_asgi(tg, flavour, AsgiApp(server, verifier=verifier, grace=0.2))


@pytest.fixture
async def guarded(flavour: str) -> AsyncIterator[Guarded]:
    issuer = LocalIssuer()
    async with anyio.create_task_group() as tg:
        await issuer.start(tg)
        verifier = JwtVerifier(issuer.jwks_url, refetch_interval=0.2)
        yield Guarded(await start_guarded(tg, flavour, verifier), issuer)
        tg.cancel_scope.cancel()
    await verifier.aclose()


def bearer(token: str, session: str | None = None) -> dict[str, str]:
    headers = {**HEADERS, "authorization": f"Bearer {token}"}
    if session is not None:
        headers["mcp-session-id"] = session
    return headers


async def open_session(client: httpx.AsyncClient, url: str, token: str) -> str:
    response = await client.post(url, json=INIT, headers=bearer(token))
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await client.post(url, json=note, headers=bearer(token, session))).status_code == 202
    return session


def challenge(response: httpx.Response) -> str:
    return response.headers["www-authenticate"]


async def test_the_metadata_and_the_challenge(guarded: Guarded) -> None:
    base = guarded.url.removesuffix("/mcp")
    async with httpx.AsyncClient(timeout=10) as client:
        metadata = await client.get(base + METADATA_PATH)
        assert metadata.status_code == 200
        assert metadata.json() == {
            "resource": RESOURCE,
            "authorization_servers": [ISSUER],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["mcp"],
        }
        assert (await client.post(base + METADATA_PATH)).status_code == 405

        # No token: 401, where to learn more, and no error code (RFC 6750 3.1).
        bare = await client.post(guarded.url, json=INIT, headers=HEADERS)
        assert bare.status_code == 401
        assert challenge(bare) == (
            'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp", scope="mcp"'
        )
        assert bare.json()["error"]["message"] == "Unauthorized: this server needs a bearer token"
        # Another scheme, or garbage: 400 invalid_request.
        for value in ("Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "Bearer \xe4".encode("latin-1")):
            bad = await client.post(guarded.url, json=INIT, headers={**HEADERS, "authorization": value})
            assert bad.status_code == 400, value
            assert 'error="invalid_request"' in challenge(bad)
        # The GET and DELETE of a session are guarded too.
        for method in ("GET", "DELETE"):
            headers = {"accept": "text/event-stream", "mcp-session-id": "x"}
            assert (await client.request(method, guarded.url, headers=headers)).status_code == 401


async def test_a_valid_token_reaches_the_handler_as_its_principal(guarded: Guarded) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        token = guarded.issuer.jwt("alice", scope="mcp files:read")
        session = await open_session(client, guarded.url, token)
        answer = await client.post(guarded.url, json=call(2, "whoami", {}), headers=bearer(token, session))
        assert answer.status_code == 200
        assert answer.json()["result"]["content"][0]["text"] == "alice files:read mcp"


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"exp": 1_000_000_000}, "the token has expired"),
        ({"nbf": 4_000_000_000}, "the token is not valid yet"),
        ({"aud": "https://elsewhere.test/mcp"}, "the token's audience does not include http://127.0.0.1/mcp"),
        ({"aud": None}, "the token's audience does not include http://127.0.0.1/mcp"),
        ({"iss": "https://evil.test"}, "the token's issuer is not trusted here"),
        ({"sub": None}, "the token names no subject"),
    ],
)
async def test_refused_tokens_get_401_invalid_token(guarded: Guarded, claims: dict[str, Any], description: str) -> None:
    token = guarded.issuer.jwt(**claims)
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.post(guarded.url, json=INIT, headers=bearer(token))
    assert refused.status_code == 401
    assert f'error="invalid_token", error_description="{description}"' in challenge(refused)
    assert refused.json()["error"]["message"] == f"Unauthorized: {description}"


async def test_a_token_signed_by_an_unknown_key_is_refused_and_a_rotated_key_is_fetched(guarded: Guarded) -> None:
    issuer = guarded.issuer
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(guarded.url, json=INIT, headers=bearer(issuer.jwt()))).status_code == 200
        fetched = issuer.jwks_fetches
        assert fetched == 1
        # Signed by a key the issuer never published (kid unknown): refused; a flood of them
        # fetches the JWKS at most once per refetch interval.
        forged = issuer.jwt(key=new_key())
        for _ in range(5):
            refused = await client.post(guarded.url, json=INIT, headers=bearer(forged))
            assert refused.status_code == 401
            assert 'error_description="the token is not valid"' in challenge(refused)
        assert issuer.jwks_fetches <= fetched + 1
        # A forged signature under a published kid: refused without any fetch.
        kid = issuer.keys[0][0]
        evil = issuer.jwt(key=(kid, new_key()[1]))
        assert (await client.post(guarded.url, json=INIT, headers=bearer(evil))).status_code == 401
        # The issuer rotates: a token under the new key is accepted once the JWKS is fetched again.
        issuer.keys.append(new_key())
        await anyio.sleep(0.25)  # the refetch interval
        rotated = issuer.jwt(key=issuer.keys[-1])
        assert (await client.post(guarded.url, json=INIT, headers=bearer(rotated))).status_code == 200
        # "alg": "none" and HMAC tokens never pass.
        unsigned = issuer.jwt().rsplit(".", 1)[0].split(".")[1]
        none_token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + unsigned + "."
        assert (await client.post(guarded.url, json=INIT, headers=bearer(none_token))).status_code == 401


async def test_scopes_missing_get_403_insufficient_scope(guarded: Guarded) -> None:
    issuer = guarded.issuer
    async with httpx.AsyncClient(timeout=10) as client:
        # The server-wide scope.
        lacking = await client.post(guarded.url, json=INIT, headers=bearer(issuer.jwt(scope="files:read")))
        assert lacking.status_code == 403
        assert challenge(lacking) == (
            'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp", scope="mcp", '
            'error="insufficient_scope", error_description="this server needs scope mcp"'
        )
        # A tool's own scope: the challenge names every scope the call needs.
        token = issuer.jwt(scope="mcp")
        session = await open_session(client, guarded.url, token)
        denied = await client.post(guarded.url, json=call(2, "write", {"text": "x"}), headers=bearer(token, session))
        assert denied.status_code == 403
        assert 'scope="mcp files:write", error="insufficient_scope"' in challenge(denied)
        assert denied.json()["error"]["message"] == "Forbidden: tool 'write' needs scope files:write"
        assert denied.json()["id"] == 2
        # With the scope (a new token, same principal, same session): allowed.
        wider = issuer.jwt(scope="mcp files:write")
        allowed = await client.post(guarded.url, json=call(3, "write", {"text": "x"}), headers=bearer(wider, session))
        assert allowed.json()["result"]["content"][0]["text"] == "wrote x"


async def test_the_authorization_hook_refuses_a_call(guarded: Guarded) -> None:
    issuer = guarded.issuer
    async with httpx.AsyncClient(timeout=10) as client:
        bob = issuer.jwt("bob")
        session = await open_session(client, guarded.url, bob)
        refused = await client.post(guarded.url, json=call(2, "secret", {}), headers=bearer(bob, session))
        assert refused.status_code == 403
        assert "www-authenticate" not in refused.headers  # not a token problem
        assert refused.json()["error"]["message"] == "Forbidden: subject 'bob' may not use tool 'secret'"
        alice = issuer.jwt("alice")
        mine = await open_session(client, guarded.url, alice)
        allowed = await client.post(guarded.url, json=call(3, "secret", {}), headers=bearer(alice, mine))
        assert allowed.json()["result"]["content"][0]["text"] == "the secret"


async def test_another_principal_presenting_a_session_id_gets_the_unknown_session_404(guarded: Guarded) -> None:
    issuer = guarded.issuer
    async with httpx.AsyncClient(timeout=10) as client:
        alice = issuer.jwt("alice")
        session = await open_session(client, guarded.url, alice)
        mallory = issuer.jwt("mallory")
        unknown = await client.post(guarded.url, json=call(2, "whoami", {}), headers=bearer(mallory, "no-such-id"))
        for method, body in (("POST", call(2, "whoami", {})), ("GET", None), ("DELETE", None)):
            hijack = await client.request(method, guarded.url, json=body, headers=bearer(mallory, session))
            assert hijack.status_code == 404, method
            assert hijack.content == unknown.content  # indistinguishable from an unknown id
        # Same subject from another issuer is another principal too (the key is issuer and subject).
        still = await client.post(guarded.url, json=call(3, "whoami", {}), headers=bearer(alice, session))
        assert still.status_code == 200  # alice's session survived every attempt


@pytest.mark.parametrize("flavour", ["h11-asyncio", "h11-trio"])
async def test_introspection(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    issuer = LocalIssuer()
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        await issuer.start(tg)
        verifier = IntrospectionVerifier(
            issuer.introspection_url, client_id=issuer.client[0], client_secret=issuer.client[1], cache_ttl=60
        )
        running = await start_guarded(tg, flavour, verifier)
        token = issuer.opaque("carol")
        session = await open_session(client, running.url, token)
        answer = await client.post(running.url, json=call(2, "whoami", {}), headers=bearer(token, session))
        assert answer.json()["result"]["content"][0]["text"] == "carol mcp"
        assert issuer.introspections == 1  # the active answer was cached
        # Unknown and expired tokens: 401.
        assert (await client.post(running.url, json=INIT, headers=bearer("not-issued"))).status_code == 401
        stale = issuer.opaque(exp=1_000_000_000)
        assert (await client.post(running.url, json=INIT, headers=bearer(stale))).status_code == 401
        # The introspection endpoint failing: 503, retry later (not 401: the token may be fine).
        issuer.down = True
        caplog.set_level(logging.WARNING, logger="mcp_sansio")
        unsure = await client.post(running.url, json=INIT, headers=bearer(issuer.opaque()))
        assert unsure.status_code == 503
        assert "cannot be verified" in unsure.json()["error"]["message"]
        assert not [r for r in caplog.records if r.exc_info]
        tg.cancel_scope.cancel()
    await verifier.aclose()


async def test_the_jwks_unreachable_at_first_use_gives_503(flavour: str) -> None:
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        verifier = JwtVerifier("http://127.0.0.1:1/jwks")
        running = await start_guarded(tg, flavour, verifier)
        response = await client.post(running.url, json=INIT, headers=bearer(LocalIssuer().jwt()))
        assert response.status_code == 503
        tg.cancel_scope.cancel()
    await verifier.aclose()


def test_auth_needs_both_halves() -> None:
    with pytest.raises(ValueError, match="both"):
        AsgiApp(Server(auth_app(), auth=RESOURCE_SERVER))
    with pytest.raises(ValueError, match="both"):
        AsgiApp(auth_app(), verifier=JwtVerifier("http://127.0.0.1:1/jwks"))


@pytest.mark.parametrize("flavour", ["h11-asyncio", "uvicorn-asyncio"])
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_official_sdk_client_connects_with_a_bearer_token(guarded: Guarded, mode: str) -> None:
    import httpx2
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    token = guarded.issuer.jwt("sdk-user", scope="mcp")
    async with (
        httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=10) as http,
        Client(streamable_http_client(guarded.url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        result = await client.call_tool("whoami", {})
        assert result.content[0].text == "sdk-user mcp"  # type: ignore[union-attr]
    # Without the token the SDK gets the 401 challenge.
    async with httpx2.AsyncClient(timeout=10) as http:
        with pytest.raises(Exception):  # noqa: B017 - the SDK's own error type for a failed connect varies by mode
            async with Client(streamable_http_client(guarded.url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
                await client.call_tool("whoami", {})


@pytest.mark.parametrize("flavour", ["h11-asyncio", "h11-trio"])
async def test_sessions_stay_bound_to_their_principal_in_redis(flavour: str, prefix: str, redis_sync: Any) -> None:
    from mcp_sansio_redis import KeyLayout, RedisStore
    from tests.stores.conftest import REDIS_URL

    issuer = LocalIssuer()
    store = RedisStore(REDIS_URL, prefix=prefix)
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        await issuer.start(tg)
        verifier = JwtVerifier(issuer.jwks_url)
        running = await start_guarded(tg, flavour, verifier, store=store)
        alice = issuer.jwt("alice")
        session = await open_session(client, running.url, alice)
        stored = redis_sync.hget(KeyLayout(prefix).session(session), "principal")
        assert stored is not None and b"alice" in stored
        hijack = await client.post(running.url, json=call(2, "whoami", {}), headers=bearer(issuer.jwt("eve"), session))
        assert hijack.status_code == 404
        mine = await client.post(running.url, json=call(3, "whoami", {}), headers=bearer(alice, session))
        assert mine.status_code == 200
        tg.cancel_scope.cancel()
    await verifier.aclose()
    await store.aclose()


@pytest.mark.parametrize("flavour", ["h11-asyncio"])
async def test_the_command_turns_authorization_on(flavour: str) -> None:
    import os
    import sys
    from pathlib import Path

    issuer = LocalIssuer()
    root = Path(__file__).resolve().parents[2]
    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as client:
        await issuer.start(tg)
        command = [
            sys.executable, "-m", "mcp_sansio_h11.cli", "serve", "examples/everything.py:app", "--port", "0",
            "--auth-resource", RESOURCE, "--auth-server", ISSUER, "--auth-jwks-url", issuer.jwks_url,
            "--auth-scope", "mcp",
        ]  # fmt: skip
        async with await anyio.open_process(command, cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
            try:
                assert process.stdout is not None
                with anyio.fail_after(20):
                    line = (await process.stdout.receive()).decode()
                url = line.split()[-1]
                assert (await client.post(url, json=INIT, headers=HEADERS)).status_code == 401
                assert (await client.post(url, json=INIT, headers=bearer(issuer.jwt()))).status_code == 200
                metadata = await client.get(url.removesuffix("/mcp") + METADATA_PATH)
                assert metadata.json()["authorization_servers"] == [ISSUER]
            finally:
                process.terminate()
        tg.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--auth-server", ISSUER], "the --auth-* options need --auth-resource"),
        (["--auth-resource", RESOURCE, "--auth-jwks-url", "http://x/j"], "needs at least one --auth-server"),
        (["--auth-resource", RESOURCE, "--auth-server", ISSUER], "exactly one of --auth-jwks-url"),
        (["--auth-resource", "not-a-uri", "--auth-server", ISSUER, "--auth-jwks-url", "http://x/j"], "absolute"),
        (
            ["--auth-resource", RESOURCE, "--auth-server", ISSUER, "--auth-introspection-url", "http://x/i",
             "--auth-client-secret-env", "MCP_SANSIO_NO_SUCH_VARIABLE"],
            "the environment has no MCP_SANSIO_NO_SUCH_VARIABLE",
        ),
    ],
)  # fmt: skip
def test_the_command_refuses_incomplete_auth_options(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcp_sansio_h11.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "examples/everything.py:app", *arguments])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
