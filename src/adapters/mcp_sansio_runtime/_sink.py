"""Where one request's answer goes."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from mcp_sansio import Exchange, SendResponse

from ._hub import Reader

__all__ = ["Sink"]


@dataclass(eq=False)
class Sink:
    """Where one request's answer goes: a complete response, or a stream to pump."""

    ready: anyio.Event = field(default_factory=anyio.Event)
    response: SendResponse | None = None
    headers: tuple[tuple[str, str], ...] = ()
    reader: Reader | None = None
    priming: bytes | None = None
    replay: list[tuple[int, bytes]] = field(default_factory=list)
    replay_final: bool = False
    close_after: float | None = None
    claim: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
