"""Verifying bearer tokens: the runtime's side of authorization (the network calls).

The core says which header carries the token and what the claims must satisfy; a
:class:`TokenVerifier` checks the token itself, a signature against keys it fetched
or an introspection call, and hands back the claims. ``mcp_sansio_auth`` has two.
"""

from __future__ import annotations

from typing import Protocol

from mcp_sansio import TokenClaims

__all__ = ["TokenVerifier", "VerifierUnavailable"]


class VerifierUnavailable(Exception):
    """The verifier could not decide: its keys or its introspection endpoint are unreachable (503)."""


class TokenVerifier(Protocol):
    """Checks a bearer token's authenticity; the core then checks its claims (audience, expiry, issuer, scopes)."""

    async def verify(self, token: str) -> TokenClaims | None:
        """The token's claims if it is authentic (signed by a known key, or active), else None.

        Raises:
            VerifierUnavailable: It could not find out (the answer is 503, not 401).
        """
