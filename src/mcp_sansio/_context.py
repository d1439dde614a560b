"""What a handler can do while it runs: the interface adapters implement.

A handler asks for it by annotating a parameter with :class:`Context`. The
core only describes the interface; the adapter's driver supplies the object,
and every message it sends is framed, routed and numbered by the core.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from ._auth import Principal
from ._jsonrpc import RequestId
from ._mrtr import InputRequest

__all__ = ["Context"]


class Context(Protocol):
    """The running request, as seen by a tool, resource, prompt or completion handler."""

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request being served."""

    @property
    def session_id(self) -> str | None:
        """The session's id (None in the stateless revision)."""

    @property
    def protocol_version(self) -> str:
        """The protocol version the request is served under."""

    @property
    def principal(self) -> Principal | None:
        """Who sent the request (its verified token's subject, scopes, claims); None with authorization off."""

    @property
    def task_id(self) -> str | None:
        """The task this handler runs as (2026-07-28 tasks extension), if it runs as one."""

    def start_task(self) -> Awaitable[None]:
        """Become a task now (a tool declared ``task_start="manual"``); the client gets a ``CreateTaskResult``."""

    def log(self, level: str, data: Any, logger: str | None = None) -> Awaitable[None]:
        """Send ``notifications/message`` if ``level`` passes the client's filter."""

    def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> Awaitable[None]:
        """Send ``notifications/progress`` (only if the client asked with a progressToken)."""

    def notify(self, method: str, params: dict[str, Any] | None = None) -> Awaitable[None]:
        """Send any notification related to this request."""

    def has_capability(self, name: str) -> bool:
        """Whether the client declared capability ``name`` (``sampling``, ``elicitation``, ``roots``...)."""

    def request(self, method: str, params: dict[str, Any] | None = None) -> Awaitable[dict[str, Any]]:
        """Send a request to the client and wait for its result (handshake revisions only).

        Raises:
            ClientError: the client answered with a JSON-RPC error.
        """

    def ask(self, requests: dict[str, InputRequest]) -> Awaitable[dict[str, dict[str, Any]]]:
        """Ask the client for several inputs at once; returns the answers by key.

        Written once, this works in both eras: handshake revisions send one
        server-to-client request per input and wait; in 2026-07-28 the round ends
        with an ``InputRequiredResult`` listing what is missing, and the handler
        runs again from the top when the client retries with the answers.

        Raises:
            ClientError: a handshake client answered with a JSON-RPC error.
        """

    def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str = "elicitation"
    ) -> Awaitable[dict[str, Any]]:
        """Ask the user for structured input (``elicitation/create``, form mode)."""

    def sample(
        self, messages: list[dict[str, Any]], max_tokens: int, *, key: str = "sampling", **params: Any
    ) -> Awaitable[dict[str, Any]]:
        """Ask the client's model for a completion (``sampling/createMessage``)."""

    def list_roots(self, *, key: str = "roots") -> Awaitable[dict[str, Any]]:
        """Ask the client for its roots (``roots/list``)."""

    def close_stream(self) -> Awaitable[None]:
        """Close the client's connection to this request's SSE stream; the handler keeps running.

        A 2025-11-25 client reconnects with ``Last-Event-ID`` and receives every
        later event, the response included (SEP-1699). A no-op otherwise.
        """

    def list_changed(self, kind: str) -> Awaitable[None]:
        """Tell every client that the list of ``kind`` (tools, prompts, resources) changed."""

    def resource_updated(self, uri: str) -> Awaitable[None]:
        """Tell every client subscribed to ``uri`` that the resource changed."""
