"""HTTP-level types and header rules of the Streamable HTTP transport.

Everything here is a pure function of the request head: the adapters call the
core, which calls these, so each rule is decided in exactly one place.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ._config import Config
from ._errors import RemoteProtocolError
from ._fastinit import fast_init

__all__ = ["HttpRequest", "Headers", "accepts", "origin_and_host_refusal"]

Header = tuple[str, str]
ALLOWED_METHODS: Final = "GET, POST, DELETE"


class Headers:
    """Case-insensitive, read-only view of request headers (names lower-cased)."""

    __slots__ = ("_by_name", "_raw", "_size")

    def __init__(self, items: Iterable[tuple[str | bytes, str | bytes]]) -> None:
        raw = tuple(items)  # our own copy: iteration re-reads it (rarely; lookups use the index)
        by_name: dict[str, list[str]] = {}
        size = 0
        for raw_name, raw_value in raw:  # one pass, inlined: this runs for every header of every request
            name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
            value = (raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value).strip(" \t")
            size += len(name) + len(value)
            if name in by_name:
                by_name[name].append(value)
            else:
                by_name[name] = [value]
        self._raw = raw
        self._by_name = by_name
        self._size = size + 4 * len(raw)

    def get(self, name: str) -> str | None:
        """The value of ``name`` (several occurrences joined with ``, ``), or None."""
        # Callers nearly always pass the lower-case name: try it as given before lower-casing.
        values = self._by_name.get(name) or self._by_name.get(name.lower())
        if values is None:
            return None
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return list(self._by_name.get(name.lower(), ()))

    def only(self, name: str) -> str | None:
        """The single value of ``name``; a repeated header is a client error."""
        values = self._by_name.get(name) or self._by_name.get(name.lower())
        if values is None:
            return None
        if len(values) > 1:
            raise RemoteProtocolError(f"Bad Request: header {name} appears {len(values)} times")
        return values[0]

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[Header]:
        return (_normalized(name, value) for name, value in self._raw)

    def size(self) -> int:
        """Bytes the headers take on the wire, roughly (name, value, separators)."""
        return self._size


def _normalized(raw_name: str | bytes, raw_value: str | bytes) -> Header:
    # What Headers.__init__ does inline: lower-case the name, trim the value.
    name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
    # Only HTTP's optional whitespace (SP, HTAB) is trimmed: str.strip() would also eat
    # bytes like NBSP, which must reach the validation that refuses them.
    return name, (raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value).strip(" \t")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@fast_init
@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The head of an HTTP request, as an adapter hands it to the core.

    Attributes:
        method: The HTTP method, as sent (methods are case-sensitive: ``post`` is not ``POST``).
        target: The request target (path and query).
        headers: The request headers.
    """

    method: str
    target: str
    headers: Headers

    @classmethod
    def build(
        cls, method: str | bytes, target: str | bytes, headers: Iterable[tuple[str | bytes, str | bytes]]
    ) -> HttpRequest:
        """Build a request from raw (possibly bytes) parts, as h11 or ASGI give them."""
        return cls(_text(method), _text(target), Headers(headers))


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


@functools.lru_cache(maxsize=256)
def accepts(accept: str | None, media_type: str) -> bool:
    """Whether an ``Accept`` header admits ``media_type`` (wildcards count, q=0 refuses).

    Cached: clients send the same few Accept values over and over.
    """
    if accept is None:
        return False
    major = media_type.split("/")[0]
    best: tuple[int, float] | None = None
    for media, quality in _media_ranges(accept):
        if media == media_type:
            rank = 3
        elif media == f"{major}/*":
            rank = 2
        elif media == "*/*":
            rank = 1
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, quality)
    return best is not None and best[1] > 0


_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.", "ip6-localhost"})


@functools.lru_cache(maxsize=256)
def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/@\s,]+)(?::[0-9]{1,5})?")


def _split_host(host_header: str) -> str | None:
    """The host part of a Host header ("[::1]:8000" -> "[::1]"), or None if it is malformed."""
    match = _HOST.fullmatch(host_header)
    return match.group(1) if match else None


def origin_and_host_refusal(origin: str | None, host_header: str | None, config: Config) -> tuple[int, str] | None:
    """DNS-rebinding protection: why this Origin and Host are refused under ``config``, or None.

    The refusal is (status, message): 403 for an Origin that is not allowed, 421 for a Host
    that is not allowed, 400 for a missing or malformed Host. A pure function of its
    arguments, so the server caches its verdicts per (Origin, Host).
    """
    try:
        _check_origin_and_host(origin, host_header, config)
    except RemoteProtocolError as exc:
        return exc.error_status_hint, exc.message
    return None


def _check_origin_and_host(origin: str | None, host_header: str | None, config: Config) -> None:
    if origin is not None and origin not in config.allowed_origins:
        try:
            host = urlsplit(origin).hostname if "://" in origin else None
        except ValueError:  # e.g. an unterminated IPv6 literal
            host = None
        loopback_ok = host is not None and config.validate_loopback and _is_loopback(host)
        if not loopback_ok and (config.validate_loopback or config.allowed_origins):
            raise RemoteProtocolError(f"Forbidden: Origin {origin!r} is not allowed", error_status_hint=403)
    if not config.validate_loopback and not config.allowed_hosts:
        return
    if host_header is None:
        raise RemoteProtocolError("Bad Request: missing Host header")
    split = _split_host(host_header)
    if split is None:
        raise RemoteProtocolError(f"Bad Request: malformed Host header {host_header!r}")
    name = split.lower()
    if name in config.allowed_hosts or host_header.lower() in config.allowed_hosts:
        return
    if config.validate_loopback and _is_loopback(name):
        return
    raise RemoteProtocolError(f"Misdirected Request: Host {host_header!r} is not allowed", error_status_hint=421)
