"""The runtime every mcp-sansio transport stands on (anyio: asyncio or trio).

It runs the core's plans against a store, runs handlers and their context, holds
the live readers of SSE streams (keep-alives, backpressure), expires sessions and
stops gracefully. A transport implements :class:`Transport` and hands each
request to :meth:`Runtime.serve`; it imports neither h11 nor any ASGI server.
"""

from ._auth import TokenVerifier, VerifierUnavailable
from ._bind import as_server, is_loopback_host
from ._broker import Appended, Broker, ListChanged, LocalBroker, ResourceUpdated, SharedStore, Signal
from ._context import HandlerContext
from ._hub import Hub, Reader
from ._plans import AsyncStore, PlanRunner, StoreError
from ._runtime import Runtime
from ._sink import Sink
from ._transport import ClientGone, Transport

__all__ = [
    "Appended",
    "AsyncStore",
    "Broker",
    "ListChanged",
    "LocalBroker",
    "ResourceUpdated",
    "Signal",
    "ClientGone",
    "HandlerContext",
    "Hub",
    "PlanRunner",
    "Reader",
    "Runtime",
    "SharedStore",
    "Sink",
    "StoreError",
    "TokenVerifier",
    "Transport",
    "VerifierUnavailable",
    "as_server",
    "is_loopback_host",
]
