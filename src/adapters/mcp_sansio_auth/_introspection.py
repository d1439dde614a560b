"""``IntrospectionVerifier``: opaque tokens checked at an RFC 7662 introspection endpoint."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import anyio
import httpx

from mcp_sansio import TokenClaims
from mcp_sansio_runtime import VerifierUnavailable

__all__ = ["IntrospectionVerifier"]


class IntrospectionVerifier:
    """Asks the authorization server whether a token is active (RFC 7662).

    Args:
        endpoint: The introspection endpoint's URL.
        client_id: This resource server's client id there (HTTP Basic authentication).
        client_secret: Its secret.
        cache_ttl: Seconds an active answer is reused (never past the token's ``exp``);
            0 asks every time. Inactive answers are never cached.
        cache_size: The most answers kept.
        timeout: Seconds for one call.
        client: An ``httpx.AsyncClient`` to use (one is made, and closed by :meth:`aclose`, otherwise).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        cache_ttl: float = 30.0,
        cache_size: int = 10_000,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._auth: tuple[str | bytes, str | bytes] | None = (
            (client_id, client_secret or "") if client_id is not None else None
        )
        self._cache_ttl = cache_ttl
        self._cache_size = cache_size
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        # sha256(token) -> (claims, reuse until): tokens themselves are not kept in memory.
        self._cache: OrderedDict[bytes, tuple[TokenClaims, float]] = OrderedDict()

    async def verify(self, token: str) -> TokenClaims | None:
        """The token's claims if the endpoint says it is active, else None.

        Raises:
            VerifierUnavailable: The endpoint could not be reached or gave no usable answer.
        """
        digest = hashlib.sha256(token.encode()).digest()
        now = anyio.current_time()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        self._cache.pop(digest, None)
        if self._client is None:
            self._client = httpx.AsyncClient()
        try:
            response = await self._client.post(
                self.endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                headers={"accept": "application/json"},
                timeout=self._timeout,
            )
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise VerifierUnavailable(f"cannot introspect at {self.endpoint}: {exc}") from exc
        if not isinstance(answer, dict):
            raise VerifierUnavailable(f"the introspection endpoint {self.endpoint} answered no JSON object")
        if answer.get("active") is not True:
            return None
        claims = TokenClaims.from_mapping(answer)
        if self._cache_ttl > 0:
            until = now + self._cache_ttl
            if claims.expires_at is not None:
                # exp is wall-clock time: never reuse past the token's own expiry.
                until = min(until, now + (claims.expires_at - time.time()))
            self._cache[digest] = (claims, until)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return claims

    async def aclose(self) -> None:
        """Close the HTTP client, if the verifier made it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
