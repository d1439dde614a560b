"""What crosses between the runtimes that serve one deployment (processes behind a load balancer).

One runtime does what the core's outputs say, but their effect may belong to
another process: a live reader of the stream may be connected there, the
handler that an answer or a cancellation is for may run there, a listen stream
there may want a ``list_changed``. The runtime does the local part itself and
hands every such output to its :class:`Broker`, which delivers it to the other
runtimes; each applies what concerns it (:meth:`Runtime.receive`) and never
passes it on. One process needs no broker: :class:`LocalBroker` shares nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mcp_sansio import CancelRequest, DeliverResponse, DisconnectStream, EndStream, SendEvent, SessionClosed

from ._hub import Reader

__all__ = ["Appended", "Broker", "LocalBroker", "ListChanged", "ResourceUpdated", "SharedStore", "Signal"]


@dataclass(frozen=True, slots=True)
class ListChanged:
    """The list of ``kind`` changed: every runtime tells its own listen streams (2026-07-28)."""

    kind: str


@dataclass(frozen=True, slots=True)
class ResourceUpdated:
    """Resource ``uri`` changed: every runtime tells its own listen streams that asked (2026-07-28)."""

    uri: str


@dataclass(frozen=True, slots=True)
class Appended:
    """Event ``seq`` was appended to a session stream's log (by any instance), as the log holds it.

    A broker that tails the logs reports these; the runtime frames the event (the core decides
    how) and delivers it to the stream's local readers; ``final`` ends the stream there.
    """

    session_id: str
    stream: str
    seq: int
    data: bytes
    final: bool = False


Signal = (
    Appended
    | SendEvent
    | EndStream
    | DisconnectStream
    | DeliverResponse
    | CancelRequest
    | SessionClosed
    | ListChanged
    | ResourceUpdated
)


class Broker(Protocol):
    """Carries signals between the runtimes of one deployment, in order, each to every other runtime once."""

    shares: bool
    """False when there is nobody to tell (one process): the runtime then skips :meth:`share`."""

    async def run(self, receive: Callable[[Signal], Awaitable[None]]) -> None:
        """Hand the other runtimes' signals to ``receive``, in order, until cancelled."""

    async def share(self, signal: Signal) -> None:
        """Tell the other runtimes (a broker that reads events from the store's logs may skip events)."""

    def follow(self, reader: Reader) -> None:
        """A local reader started reading a session's stream: deliver its events appended elsewhere."""

    def unfollow(self, reader: Reader) -> None:
        """That reader left."""


@runtime_checkable
class SharedStore(Protocol):
    """A store that several processes share brings the broker that connects them (Redis does)."""

    def broker(self) -> Broker:
        """A broker for one more runtime of the deployment."""


class LocalBroker:
    """The broker of a single process: everything is local, so nothing is shared."""

    shares = False

    async def run(self, receive: Callable[[Signal], Awaitable[None]]) -> None:
        """Nothing ever arrives."""

    async def share(self, signal: Signal) -> None:
        """Nobody to tell."""

    def follow(self, reader: Reader) -> None:
        """Every event is published in this process already."""

    def unfollow(self, reader: Reader) -> None:
        """Nothing to stop."""
