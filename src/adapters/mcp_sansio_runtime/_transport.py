"""The one interface a transport implements for the runtime: how to answer one request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mcp_sansio import SendResponse

__all__ = ["Transport", "ClientGone"]


class ClientGone(Exception):
    """The client's connection went away while the runtime was writing to it."""


class Transport(Protocol):
    """One request's way back to its client; each transport (h11, ASGI, ...) implements it.

    The runtime calls either :meth:`send_response` once, or :meth:`start_stream`,
    then :meth:`write` any number of times, then :meth:`end_stream`. The calls for
    one request never overlap. A transport decides nothing: it moves bytes.
    """

    async def send_response(self, response: SendResponse) -> None:
        """Send a complete response; raises :class:`ClientGone` if the client left."""

    async def start_stream(self, headers: Sequence[tuple[str, str]], body: bytes = b"") -> None:
        """Send status 200, ``headers`` (an SSE response) and the body's start, if any; more follows with :meth:`write`.

        Head and first bytes go together so that a short stream needs few socket writes.
        """

    async def write(self, data: bytes) -> None:
        """Send part of the body, waiting while the client is slow; raises :class:`ClientGone` if it left."""

    async def end_stream(self, body: bytes = b"") -> None:
        """Send the body's last bytes, if any, and end it."""

    def on_disconnect(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (once, synchronously) when the client goes away; returns an unregister function.

        If the client is already gone, call it at once.
        """
