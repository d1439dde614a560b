"""Bearer-token verifiers for mcp-sansio's authorization (``pip install mcp-sansio[auth]``).

Two implementations of :class:`mcp_sansio_runtime.TokenVerifier`, on anyio (asyncio
and trio) with httpx:

- :class:`JwtVerifier`: JWT access tokens signed by keys from a JWKS URL (PyJWT does
  the JOSE work). Keys are cached and fetched again when a token names an unknown
  ``kid`` (at most once per ``refetch_interval``) or when they are older than ``max_age``.
- :class:`IntrospectionVerifier`: opaque tokens checked at an RFC 7662 introspection
  endpoint, positive answers cached briefly.

Either only establishes that a token is authentic and returns its claims; the core
then checks audience, expiry, issuer and scopes (``mcp_sansio.ResourceServer``).
"""

from ._introspection import IntrospectionVerifier
from ._jwt import JwtVerifier

__all__ = ["IntrospectionVerifier", "JwtVerifier"]
