"""A local authorization server for the auth tests: RSA keys, signed JWTs, a JWKS and an introspection endpoint.

Keys are generated per test; the endpoints are served on 127.0.0.1 over h11 on
anyio, so the same issuer runs beside servers on asyncio and on trio.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.abc
import h11
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.test"
RESOURCE = "http://127.0.0.1/mcp"  # the tests' canonical resource URI (ports differ per test)


def new_key() -> tuple[str, rsa.RSAPrivateKey]:
    return secrets.token_hex(4), rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class LocalIssuer:
    """Signs tokens and serves ``/jwks`` and ``/introspect`` once :meth:`start` ran."""

    keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=lambda: [new_key()])
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # opaque token -> claims (introspection)
    revoked: set[str] = field(default_factory=set)
    jwks_fetches: int = 0
    introspections: int = 0
    client: tuple[str, str] = ("mcp-server", "s3cret")
    port: int = 0
    down: bool = False  # answer 500 (an issuer having trouble)

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def claims(self, subject: str = "alice", scope: str = "mcp", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": ISSUER, "sub": subject, "aud": RESOURCE, "iat": now, "exp": now + 300, "scope": scope}
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def jwt(self, subject: str = "alice", *, key: tuple[str, rsa.RSAPrivateKey] | None = None, **claims: Any) -> str:
        kid, private = key or self.keys[0]
        return jwt.encode(self.claims(subject, **claims), private, algorithm="RS256", headers={"kid": kid})

    def opaque(self, subject: str = "alice", **claims: Any) -> str:
        token = secrets.token_urlsafe(24)
        self.issued[token] = self.claims(subject, **claims)
        return token

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, private in self.keys:
            entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            out.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)

        async def serve() -> None:
            async with listener:
                await listener.serve(self._connection)

        task_group.start_soon(serve)

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    try:
                        conn.receive_data(await stream.receive())
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
                    continue
                if isinstance(event, h11.Request):
                    request, body = event, b""
                    while not isinstance(event := conn.next_event(), h11.EndOfMessage):
                        if event is h11.NEED_DATA:
                            conn.receive_data(await stream.receive())
                        elif isinstance(event, h11.Data):
                            body += event.data
                    status, payload = self._answer(request, body)
                    data = json.dumps(payload).encode()
                    headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
                    await stream.send(conn.send(h11.Response(status_code=status, headers=headers)))
                    await stream.send(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
                    if conn.our_state is not h11.DONE:
                        return
                    conn.start_next_cycle()
                    continue
                return

    def _answer(self, request: h11.Request, body: bytes) -> tuple[int, Any]:
        if self.down:
            return 500, {"error": "server_error"}
        if request.target == b"/jwks":
            self.jwks_fetches += 1
            return 200, self.jwks()
        if request.target == b"/introspect" and request.method == b"POST":
            self.introspections += 1
            expected = "Basic " + base64.b64encode(":".join(self.client).encode()).decode()
            if dict(request.headers).get(b"authorization", b"").decode() != expected:
                return 401, {"error": "invalid_client"}
            token = parse_qs(body.decode()).get("token", [""])[0]
            claims = self.issued.get(token)
            if claims is None or token in self.revoked:
                return 200, {"active": False}
            return 200, {"active": True, "client_id": "the-client", **claims}
        return 404, {"error": "not found"}
