"""Subscriptions of the stateless revision (``subscriptions/listen``): filters, acknowledgements, fan-out.

A listen request opens an SSE response that stays open. Its first message is
the acknowledgement naming the notifications the server agreed to send; every
later notification carries the subscription id (the listen request's id) and
is one the client asked for. Listen streams live on the process that accepted
them; the adapter reports their end through :meth:`Server.stream_detached`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._errors import INVALID_PARAMS, RemoteProtocolError
from ._events import Output, SendEvent
from ._jsonrpc import Notification, RequestId, dumps
from ._registry import App
from ._sse import frame_event
from ._stateless_rules import META_SUBSCRIPTION

__all__ = ["Listener", "Listeners", "LIST_CHANGED"]

# Which filter flag admits which list-changed notification.
LIST_CHANGED = {
    "tools": ("toolsListChanged", "notifications/tools/list_changed"),
    "prompts": ("promptsListChanged", "notifications/prompts/list_changed"),
    "resources": ("resourcesListChanged", "notifications/resources/list_changed"),
}


@dataclass(slots=True)
class Listener:
    """One open listen stream."""

    subscription_id: RequestId
    stream: str
    honored: dict[str, Any]
    seq: int = 0

    def event(self, method: str, params: dict[str, Any] | None = None) -> SendEvent:
        """A notification for this subscriber, tagged with its subscription id."""
        self.seq += 1
        tagged = {**(params or {}), "_meta": {META_SUBSCRIPTION: self.subscription_id}}
        data = dumps(Notification(method, tagged).to_json())
        return SendEvent(None, self.stream, self.seq, frame_event(data))


def honored_filter(requested: object, app: App) -> dict[str, Any]:
    """The part of a listen filter this server honors.

    Raises:
        RemoteProtocolError: -32602 if ``notifications`` is not an object.
    """
    if not isinstance(requested, dict):
        raise RemoteProtocolError(
            "Invalid params: subscriptions/listen needs a notifications object", code=INVALID_PARAMS
        )
    offered = {
        "tools": bool(app.tools),
        "prompts": bool(app.prompts),
        "resources": bool(app.resources or app.templates),
    }
    honored: dict[str, Any] = {}
    for kind, (flag, _) in LIST_CHANGED.items():
        if requested.get(flag) is True and offered[kind]:
            honored[flag] = True
    uris = requested.get("resourceSubscriptions")
    if isinstance(uris, list) and offered["resources"]:
        honored["resourceSubscriptions"] = [u for u in uris if isinstance(u, str)]
    return honored


class Listeners:
    """The open listen streams of this process."""

    def __init__(self) -> None:
        self._by_stream: dict[str, Listener] = {}

    def open(self, subscription_id: RequestId, stream: str, honored: dict[str, Any]) -> SendEvent:
        """Register a listener; returns its acknowledgement event (which must go first)."""
        listener = self._by_stream[stream] = Listener(subscription_id, stream, honored)
        return listener.event("notifications/subscriptions/acknowledged", {"notifications": honored})

    def close(self, stream: str) -> None:
        """The listen stream ended (the client closed it, which cancels the subscription)."""
        self._by_stream.pop(stream, None)

    def list_changed(self, kind: str) -> list[Output]:
        """``notifications/<kind>/list_changed`` for every listener that asked for it."""
        flag, method = LIST_CHANGED[kind]
        return [ln.event(method) for ln in self._by_stream.values() if ln.honored.get(flag)]

    def resource_updated(self, uri: str) -> list[Output]:
        """``notifications/resources/updated`` for every listener subscribed to ``uri``."""
        return [
            ln.event("notifications/resources/updated", {"uri": uri})
            for ln in self._by_stream.values()
            if uri in ln.honored.get("resourceSubscriptions", ())
        ]

    def __len__(self) -> int:
        return len(self._by_stream)
