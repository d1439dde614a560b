"""An ASGI 3 application for mcp-sansio, on the shared anyio runtime (asyncio or trio servers)."""

from ._app import AsgiApp

__all__ = ["AsgiApp"]
