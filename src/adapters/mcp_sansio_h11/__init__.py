"""An HTTP/1.1 server for mcp-sansio, built on h11 over anyio (asyncio or trio)."""

from ._connection import H11Connection, Timeouts
from ._driver import ClientGone, Driver, HandlerContext, Responder
from ._serve import run, serve, serve_in

__all__ = [
    "ClientGone",
    "Driver",
    "H11Connection",
    "HandlerContext",
    "Responder",
    "Timeouts",
    "run",
    "serve",
    "serve_in",
]
