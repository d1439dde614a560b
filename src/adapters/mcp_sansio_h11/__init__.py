"""An HTTP/1.1 server for mcp-sansio, built on h11 over anyio (asyncio or trio)."""

from ._connection import H11Connection, Timeouts
from ._serve import run, serve, serve_in

__all__ = ["H11Connection", "Timeouts", "run", "serve", "serve_in"]
