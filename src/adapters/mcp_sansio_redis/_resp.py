"""RESP2, the Redis wire protocol: encoding commands and parsing replies, without I/O.

Replies come out as Python values: ``bytes`` (simple and bulk strings), ``int``,
``None`` (nil), ``list`` (arrays, nested), and :class:`ReplyError` *values* for
error replies (returned, not raised, so that one error inside a pipeline or a
script's array does not hide the other replies). The parser is hiredis's when the
``hiredis`` package is installed (it is an optional accelerator) and otherwise the
incremental pure-Python one below; both give identical values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from mcp_sansio_runtime import StoreError

__all__ = [
    "ReplyError",
    "RedisStoreError",
    "RedisUnavailableError",
    "encode",
    "fast_encode",
    "Reader",
    "PyReader",
    "new_reader",
]

Reply = Any  # bytes | int | None | list[Reply] | ReplyError

_CRLF: Final = b"\r\n"


class RedisStoreError(StoreError):
    """The Redis store got an answer it cannot use: an error reply, a reply of the wrong shape, bad data.

    Attributes:
        reason: What went wrong, without the URL the message names (``"Connection refused"``),
            for callers that compose a message of their own.
    """

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        self.reason = reason if reason is not None else (str(args[0]) if args else "")


class RedisUnavailableError(RedisStoreError):
    """Redis cannot be reached, or stopped answering: the message names the URL (password hidden).

    The request that met it fails (a server should answer 503 Service Unavailable); the
    store recovers by itself (a new connection per command until Redis answers again).
    """


class ReplyError(RedisStoreError):
    """An error reply from Redis (``-ERR ...``, ``-WRONGTYPE ...``, ``-NOSCRIPT ...``), as a value."""

    @property
    def code(self) -> str:
        """The reply's first word: ``ERR``, ``WRONGTYPE``, ``NOSCRIPT``..."""
        return str(self.args[0]).split(" ", 1)[0] if self.args else ""


def encode(args: tuple[bytes | str | int | float, ...]) -> bytes:
    """One command as a RESP array of bulk strings (floats as ``repr``, which round-trips exactly)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode("utf-8", "surrogatepass")
        elif isinstance(arg, bool):
            raise TypeError("a Redis argument cannot be a bool; pass 0 or 1")
        elif isinstance(arg, int):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = repr(arg).encode()
        else:
            raise TypeError(f"a Redis argument must be bytes, str, int or float, not {type(arg).__name__}")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _packer() -> Callable[[tuple[Any, ...]], bytes] | None:
    try:
        from hiredis import pack_command
    except ImportError:
        return None
    packer: Callable[[tuple[Any, ...]], bytes] = pack_command
    return packer


_PACK = _packer()


def fast_encode(args: tuple[bytes | str | int | float, ...]) -> bytes:
    """:func:`encode`'s bytes, by hiredis's ``pack_command`` when installed (~3x faster).

    What it refuses (a bool, a lone surrogate) goes to :func:`encode`, which encodes it
    or raises its own error.
    """
    if _PACK is not None:
        try:
            return _PACK(args)
        except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
            pass
    return encode(args)


class Reader(Protocol):
    """What the connection needs from a parser (hiredis's ``Reader`` is one)."""

    def feed(self, data: bytes, /) -> None:
        """Add received bytes."""

    def gets(self) -> Reply:
        """The next complete reply, or ``False`` while more bytes are needed."""


class PyReader:
    """An incremental RESP2 parser: bytes in (any split), replies out, no re-parsing of earlier bytes."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        # Arrays being filled: [items so far, items still expected].
        self._stack: list[tuple[list[Reply], int]] = []

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        self._buf += data

    def gets(self) -> Reply:
        """The next complete reply, or ``False`` while more bytes are needed."""
        while True:
            item = self._item()
            if item is _INCOMPLETE:
                self._compact()
                return False
            if isinstance(item, _ArrayHead):
                if item.length > 0:
                    self._stack.append(([], item.length))
                    continue
                item = [] if item.length == 0 else None
            while self._stack:
                items, wanted = self._stack[-1]
                items.append(item)
                if len(items) < wanted:
                    break
                self._stack.pop()
                item = items
            else:
                self._compact()
                return item

    def _item(self) -> Any:
        buf, pos = self._buf, self._pos
        end = buf.find(_CRLF, pos)
        if end < 0:
            return _INCOMPLETE
        kind, line = buf[pos], bytes(buf[pos + 1 : end])
        if kind == 0x24:  # $ bulk string
            length = int(line)
            if length < 0:
                self._pos = end + 2
                return None
            stop = end + 2 + length
            if len(buf) < stop + 2:
                return _INCOMPLETE
            self._pos = stop + 2
            return bytes(buf[end + 2 : stop])
        self._pos = end + 2
        if kind == 0x2B:  # + simple string
            return line
        if kind == 0x3A:  # : integer
            return int(line)
        if kind == 0x2D:  # - error
            return ReplyError(line.decode("utf-8", "replace"))
        if kind == 0x2A:  # * array
            return _ArrayHead(int(line))
        raise RedisStoreError(f"Redis protocol error: unexpected reply type byte {bytes([kind])!r}")

    def _compact(self) -> None:
        if self._pos > 65536 or self._pos == len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0


class _ArrayHead:
    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length


_INCOMPLETE: Final = object()


def new_reader(prefer_hiredis: bool = True) -> Reader:
    """A reply parser: hiredis's when installed (and preferred), else :class:`PyReader`."""
    if prefer_hiredis:
        try:
            import hiredis
        except ImportError:
            pass
        else:
            reader: Reader = hiredis.Reader(protocolError=RedisStoreError, replyError=ReplyError)
            return reader
    return PyReader()
