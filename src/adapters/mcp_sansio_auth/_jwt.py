"""``JwtVerifier``: JWT access tokens checked against the keys of a JWKS URL."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import httpx
import jwt

from mcp_sansio import TokenClaims
from mcp_sansio_runtime import VerifierUnavailable

__all__ = ["JwtVerifier"]

log = logging.getLogger("mcp_sansio.auth")
# Asymmetric algorithms only: a shared-secret HS256 key published in a JWKS would let anyone sign.
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class JwtVerifier:
    """Checks a JWT's signature with a key of the JWKS at ``jwks_url``.

    Args:
        jwks_url: Where the authorization server publishes its keys.
        algorithms: The signature algorithms accepted (never ``none`` or an HMAC).
        max_age: Seconds after which the keys are fetched again anyway.
        refetch_interval: The least time between two fetches caused by an unknown ``kid``
            (so a flood of forged tokens cannot make the server hammer the JWKS endpoint).
        timeout: Seconds for one fetch.
        client: An ``httpx.AsyncClient`` to use (one is made, and closed by :meth:`aclose`, otherwise).
        clock: Seconds, for the cache (``anyio.current_time`` by default).
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
        max_age: float = 3600.0,
        refetch_interval: float = 30.0,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        bad = {a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")}
        if bad or not algorithms:
            raise ValueError(f"JwtVerifier accepts asymmetric algorithms only, not {sorted(bad) or 'none at all'}")
        self.jwks_url = jwks_url
        self.algorithms = algorithms
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock: anyio.Lock | None = None

    async def verify(self, token: str) -> TokenClaims | None:
        """The claims of ``token`` if a key of the JWKS signed it; None if not (or if it is no JWT).

        Raises:
            VerifierUnavailable: The keys could not be fetched (and none is cached for its ``kid``).
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None
        kid = header.get("kid")
        if header.get("alg") not in self.algorithms or not (kid is None or isinstance(kid, str)):
            return None
        key = await self._key(kid)
        if key is None:
            return None
        try:
            # Only the signature here; the core checks exp, nbf, aud and iss against its policy.
            payload = jwt.decode(
                token,
                key=key.key,
                algorithms=list(self.algorithms),
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.InvalidTokenError:
            return None
        return TokenClaims.from_mapping(payload)

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        now = anyio.current_time()
        if now - self._fetched_at > self._max_age:
            await self._fetch(now)
        elif kid not in self._keys and now - self._fetched_at >= self._refetch_interval:
            await self._fetch(now)  # the issuer may have rotated its keys
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # a token without kid, and one key to try
        return self._keys.get(kid)

    async def _fetch(self, now: float) -> None:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._fetched_at >= now:
                return  # another request fetched them while this one waited
            try:
                client = self._http()
                response = await client.get(self.jwks_url, timeout=self._timeout)
                response.raise_for_status()
                keys = _parse_jwks(response.json(), self.algorithms)
            except (httpx.HTTPError, ValueError) as exc:
                if self._keys:
                    log.warning("keeping the cached keys: cannot fetch %s: %s", self.jwks_url, exc)
                    self._fetched_at = now  # retry after refetch_interval / max_age, not per request
                    return
                raise VerifierUnavailable(f"cannot fetch the signing keys from {self.jwks_url}: {exc}") from exc
            self._keys, self._fetched_at = keys, anyio.current_time()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client, if the verifier made it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None


def _parse_jwks(document: Any, algorithms: tuple[str, ...]) -> dict[str | None, jwt.PyJWK]:
    """The usable signing keys of a JWKS document, by ``kid``.

    Raises:
        ValueError: It is not a JWKS.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS document has no 'keys' list")
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if "alg" in entry and entry["alg"] not in algorithms:
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            log.warning("skipping a key of the JWKS that PyJWT cannot use: %s", json.dumps(entry)[:200])
            continue
        kid = entry.get("kid")
        keys[kid if isinstance(kid, str) else None] = key
    return keys
