"""Multi-round-trip requests (2026-07-28): input requests, input responses, signed request state.

A handler written once asks the client for input through its context. In the
handshake revisions that becomes a server-to-client request awaited on the spot.
In the stateless revision the handler cannot wait: the core answers with an
``InputRequiredResult`` naming what is missing, plus a ``requestState`` that
carries (integrity-protected) every answer collected so far; the client
retries the same request with ``inputResponses`` and the echoed state, and the
handler runs again from the top, now finding its answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from ._errors import INVALID_PARAMS, MISSING_CAPABILITY, RemoteProtocolError
from ._jsonrpc import dumps

__all__ = [
    "InputRequest",
    "InputRequired",
    "CAPABILITY_FOR",
    "RequestState",
    "missing_capability",
]

CAPABILITY_FOR = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}


@dataclass(frozen=True, slots=True)
class InputRequest:
    """Something a handler needs from the client: an elicitation, a sampling, or the roots."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The wire form inside ``inputRequests``."""
        return {"method": self.method, "params": self.params}

    @classmethod
    def elicitation(cls, message: str, requested_schema: dict[str, Any]) -> InputRequest:
        """Ask the user to fill in a form (``elicitation/create``, form mode)."""
        return cls("elicitation/create", {"message": message, "requestedSchema": requested_schema})

    @classmethod
    def elicitation_url(cls, message: str, url: str, elicitation_id: str) -> InputRequest:
        """Send the user to a URL (``elicitation/create``, URL mode)."""
        return cls(
            "elicitation/create", {"mode": "url", "message": message, "url": url, "elicitationId": elicitation_id}
        )

    @classmethod
    def sampling(cls, messages: list[dict[str, Any]], max_tokens: int, **params: Any) -> InputRequest:
        """Ask the client's model for a completion (``sampling/createMessage``)."""
        return cls("sampling/createMessage", {"messages": messages, "maxTokens": max_tokens, **params})

    @classmethod
    def roots(cls) -> InputRequest:
        """Ask the client for its roots (``roots/list``)."""
        return cls("roots/list", {})


class InputRequired(BaseException):
    """Raised inside a handler (stateless revision) when inputs are missing; ends this round."""

    def __init__(self, requests: dict[str, InputRequest], answers: dict[str, Any]) -> None:
        super().__init__(sorted(requests))
        self.requests = requests
        self.answers = answers


def missing_capability(capability: str) -> RemoteProtocolError:
    """The -32021 error for a handler that needs a capability the client did not declare."""
    return RemoteProtocolError(
        f"Missing required client capability: {capability}",
        code=MISSING_CAPABILITY,
        data={"requiredCapabilities": {capability: {}}},
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class RequestState:
    """Signs and verifies ``requestState``: answers so far, bound to a method, a target and a deadline."""

    key: bytes
    ttl: float = 600.0

    def seal(self, method: str, target: str, answers: dict[str, Any], now: float) -> str:
        """The opaque state to send with an ``InputRequiredResult``."""
        payload = dumps({"m": method, "t": target, "a": answers, "x": round(now + self.ttl, 3)})
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def open(self, state: object, method: str, target: str, now: float) -> dict[str, Any]:
        """The answers sealed in ``state``.

        Raises:
            RemoteProtocolError: -32602 if the state was tampered with, belongs to
                another request, or has expired.
        """
        try:
            if not isinstance(state, str):
                raise ValueError
            encoded, _, tag = state.partition(".")
            payload = _unb64(encoded)
            if not hmac.compare_digest(hmac.new(self.key, payload, hashlib.sha256).digest(), _unb64(tag)):
                raise ValueError
            sealed = json.loads(payload)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise RemoteProtocolError("Invalid params: requestState failed verification", code=INVALID_PARAMS) from None
        if sealed.get("m") != method or sealed.get("t") != target:
            raise RemoteProtocolError("Invalid params: requestState belongs to another request", code=INVALID_PARAMS)
        if not isinstance(sealed.get("x"), (int, float)) or now > sealed["x"]:
            raise RemoteProtocolError("Invalid params: requestState has expired; start over", code=INVALID_PARAMS)
        answers = sealed.get("a")
        return answers if isinstance(answers, dict) else {}


def check_input_responses(value: object) -> dict[str, Any]:
    """Validate ``inputResponses``: an object whose values are objects.

    Raises:
        RemoteProtocolError: -32602 naming the malformed entry.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RemoteProtocolError("Invalid params: inputResponses must be an object", code=INVALID_PARAMS)
    for key, response in value.items():
        if not isinstance(response, dict):
            raise RemoteProtocolError(f"Invalid params: inputResponses[{key!r}] must be an object", code=INVALID_PARAMS)
    return value
