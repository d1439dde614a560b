"""A minimal HTTP/1.1 client on asyncio streams, for holding thousands of connections cheaply.

httpx keeps a pool, a state machine and buffers per connection; holding 10,000 GET
streams open with it costs the load client more than the server under test. This
client sends a request and reads the response head, and for a JSON answer its body
(Content-Length only; the servers under test answer requests that way).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Connection", "Reply", "connect"]


@dataclass(frozen=True)
class Reply:
    """A response: status, headers (names lower-cased) and the body if it was read."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


class Connection:
    """One kept-alive connection to the server; one request at a time."""

    def __init__(self, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.host, self.port = host, port
        self.reader, self.writer = reader, writer

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"", *, read_body: bool = True
    ) -> Reply:
        """Send a request and read the answer's head (and its Content-Length body unless ``read_body`` is False)."""
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in header_lines if ":" in line)
        found = {name.strip().lower(): value.strip() for name, value in fields.items()}
        status = int(status_line.split(" ", 2)[1])
        if not read_body:
            return Reply(status, found)
        length = int(found.get("content-length", "0"))
        return Reply(status, found, await self.reader.readexactly(length) if length else b"")

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def connect(host: str, port: int) -> Connection:
    """Open a connection."""
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    return Connection(host, port, reader, writer)
