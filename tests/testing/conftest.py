"""Helpers for testing the kit: drive a machine's rules by hand, with chosen draws."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mcp_sansio.testing import ProtocolMachine


class Given:
    """Stands in for hypothesis' ``st.data()``: each draw returns the next of ``values``."""

    def __init__(self, *values: Any) -> None:
        self._values: Iterator[Any] = iter(values)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return next(self._values)


def start(machine: type[ProtocolMachine]) -> ProtocolMachine:
    """A fresh run of ``machine``, its rules ready to be called by hand."""
    return machine()
