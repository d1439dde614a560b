"""Authorization: the server as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 6750).

The core decides every status and header: where the protected-resource metadata
lives and what it says, which ``Authorization`` headers are malformed (400), which
tokens are refused (401 ``invalid_token``: expired, not yet valid, for another
audience or from an issuer not trusted) and which lack scopes (403
``insufficient_scope``). Checking a token's signature or asking an introspection
endpoint is I/O, so the adapter does it and hands the core the claims it learned
(:class:`TokenClaims`), or None for a token it could not verify.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from ._errors import INVALID_REQUEST, RemoteProtocolError

__all__ = ["ResourceServer", "TokenClaims", "Principal", "AuthRefusal", "METADATA_PREFIX"]

# RFC 9728 section 3: the metadata of https://host/path lives at https://host/.well-known/oauth-protected-resource/path.
METADATA_PREFIX: Final = "/.well-known/oauth-protected-resource"
# RFC 6750 section 2.1: b64token.
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# What may go inside a quoted auth-param without escaping (scopes, URLs, our descriptions).
_UNSAFE_QUOTED: Final = re.compile(r'["\\\x00-\x1f\x7f]')


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verifier learned from a token whose signature (or introspection) it accepted.

    The core, not the verifier, then checks them against the resource's policy.

    Attributes:
        subject: ``sub``.
        issuer: ``iss``.
        audience: ``aud`` (a string or a list in the token; always a tuple here).
        scopes: ``scope`` (space-separated) or ``scp`` (a list).
        expires_at: ``exp`` (seconds since the epoch), if any.
        not_before: ``nbf``, if any.
        client_id: ``client_id`` or ``azp``, if any.
        claims: Every claim, as the token or the introspection response had it.
    """

    subject: str | None = None
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset()
    expires_at: float | None = None
    not_before: float | None = None
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_mapping(cls, claims: Mapping[str, Any]) -> TokenClaims:
        """Claims from a JWT payload or an RFC 7662 introspection response (ill-typed claims are ignored)."""
        aud = claims.get("aud")
        if isinstance(aud, str):
            audience: tuple[str, ...] = (aud,)
        else:
            audience = tuple(a for a in aud if isinstance(a, str)) if isinstance(aud, list) else ()
        scope, scp = claims.get("scope"), claims.get("scp")
        if isinstance(scope, str):
            scopes = frozenset(scope.split())
        elif isinstance(scp, list):
            scopes = frozenset(s for s in scp if isinstance(s, str))
        else:
            scopes = frozenset()
        client = claims.get("client_id", claims.get("azp"))
        return cls(
            subject=_text(claims.get("sub")),
            issuer=_text(claims.get("iss")),
            audience=audience,
            scopes=scopes,
            expires_at=_number(claims.get("exp")),
            not_before=_number(claims.get("nbf")),
            client_id=_text(client),
            claims=dict(claims),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request comes from, once its token passed: handlers see it as ``ctx.principal``.

    Attributes:
        subject: The token's ``sub`` (the user, or the client for a client-credentials token).
        issuer: The authorization server that issued the token.
        scopes: The scopes the token grants.
        client_id: The OAuth client, if the token names it.
        claims: Every claim of the token.
    """

    subject: str
    issuer: str
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        """What a session is bound to: the issuer and the subject (JSON, so neither can forge the other)."""
        return json.dumps([self.issuer, self.subject], separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class AuthRefusal:
    """A refused request: the HTTP status, the ``WWW-Authenticate`` value and a message for the body."""

    status: int
    challenge: str
    message: str

    def error(self) -> RemoteProtocolError:
        """The refusal as a protocol error (a JSON-RPC error body with this status)."""
        return RemoteProtocolError(self.message, error_status_hint=self.status, code=INVALID_REQUEST)


def _quoted(value: str) -> str:
    return '"' + _UNSAFE_QUOTED.sub("", value) + '"'


@dataclass(frozen=True, slots=True)
class ResourceServer:
    """The MCP endpoint as an OAuth 2.1 protected resource.

    Args:
        resource: The endpoint's canonical URI (RFC 8707), e.g. ``https://mcp.example.com/mcp``:
            every token's audience must name it.
        authorization_servers: Issuer URLs of the authorization servers clients should use
            (advertised in the metadata).
        scopes_required: Scopes every request needs (403 ``insufficient_scope`` without them).
        scopes_supported: Scopes advertised in the metadata (default: ``scopes_required``).
        issuers: The ``iss`` values accepted (default: ``authorization_servers``).
        leeway: Seconds of clock skew allowed on ``exp`` and ``nbf``.
        resource_name: A human-readable name for the metadata.
        documentation: A URL of documentation for the metadata.
    """

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_required: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] | None = None
    issuers: tuple[str, ...] | None = None
    leeway: float = 30.0
    resource_name: str | None = None
    documentation: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.resource)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise ValueError(f"resource must be an absolute http(s) URI without a fragment: {self.resource!r}")
        if not self.authorization_servers:
            raise ValueError("name at least one authorization server")
        if self.leeway < 0:
            raise ValueError("leeway must not be negative")

    # -- where the metadata lives, and what it says --------------------------------

    @property
    def metadata_path(self) -> str:
        """The path of the protected-resource metadata (RFC 9728 section 3.1)."""
        path = urlsplit(self.resource).path.rstrip("/")
        return METADATA_PREFIX + path

    @property
    def metadata_url(self) -> str:
        """The metadata's absolute URL, as the ``resource_metadata`` parameter gives it."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def metadata(self) -> dict[str, Any]:
        """The protected-resource metadata document (RFC 9728 section 2)."""
        out: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "bearer_methods_supported": ["header"],
        }
        supported = self.scopes_supported if self.scopes_supported is not None else self.scopes_required
        if supported:
            out["scopes_supported"] = list(supported)
        if self.resource_name:
            out["resource_name"] = self.resource_name
        if self.documentation:
            out["resource_documentation"] = self.documentation
        return out

    # -- refusals ------------------------------------------------------------------

    def challenge(self, error: str | None = None, description: str | None = None, scopes: Iterable[str] = ()) -> str:
        """A ``WWW-Authenticate: Bearer ...`` value (RFC 6750 section 3, RFC 9728 section 5.1)."""
        params = [f"resource_metadata={_quoted(self.metadata_url)}"]
        wanted = " ".join(dict.fromkeys([*self.scopes_required, *scopes]))
        if wanted:
            params.append(f"scope={_quoted(wanted)}")
        if error is not None:
            params.append(f"error={_quoted(error)}")
        if description is not None:
            params.append(f"error_description={_quoted(description)}")
        return "Bearer " + ", ".join(params)

    def bearer_token(self, authorization: list[str]) -> str | AuthRefusal:
        """The token of the ``Authorization`` header values, or why there is none."""
        if not authorization:
            # No credentials: no error code (RFC 6750 section 3.1), just where to get some.
            return AuthRefusal(401, self.challenge(), "Unauthorized: this server needs a bearer token")
        scheme, _, token = authorization[0].strip().partition(" ")
        token = token.strip()
        if len(authorization) > 1 or scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
            description = "the Authorization header must be one 'Bearer <token>'"
            return AuthRefusal(400, self.challenge("invalid_request", description), f"Bad Request: {description}")
        return token

    def authenticate(self, claims: TokenClaims | None, now: float) -> Principal | AuthRefusal:
        """The principal of a verified token, or why it is refused (None: the verifier rejected it)."""
        if claims is None:
            return self.invalid("the token is not valid")
        if claims.expires_at is not None and now > claims.expires_at + self.leeway:
            return self.invalid("the token has expired")
        if claims.not_before is not None and now + self.leeway < claims.not_before:
            return self.invalid("the token is not valid yet")
        if self.resource not in claims.audience:
            return self.invalid(f"the token's audience does not include {self.resource}")
        trusted = self.issuers if self.issuers is not None else self.authorization_servers
        if claims.issuer is None or claims.issuer not in trusted:
            return self.invalid("the token's issuer is not trusted here")
        if claims.subject is None and claims.client_id is None:
            return self.invalid("the token names no subject")
        principal = Principal(
            subject=claims.subject if claims.subject is not None else f"client:{claims.client_id}",
            issuer=claims.issuer,
            scopes=claims.scopes,
            client_id=claims.client_id,
            claims=claims.claims,
        )
        refusal = self.check_scopes(principal, self.scopes_required, "this server")
        return refusal if refusal is not None else principal

    def check_scopes(self, principal: Principal, needed: Iterable[str], what: str) -> AuthRefusal | None:
        """403 ``insufficient_scope`` if ``principal`` lacks any scope of ``needed`` (for ``what``)."""
        wanted = tuple(dict.fromkeys(needed))
        missing = [scope for scope in wanted if scope not in principal.scopes]
        if not missing:
            return None
        description = f"{what} needs scope {' '.join(missing)}"
        challenge = self.challenge("insufficient_scope", description, wanted)
        return AuthRefusal(403, challenge, f"Forbidden: {description}")

    def invalid(self, description: str) -> AuthRefusal:
        """401 ``invalid_token`` with ``description``."""
        return AuthRefusal(401, self.challenge("invalid_token", description), f"Unauthorized: {description}")
