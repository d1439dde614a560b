"""Strategies for HTTP request heads and bodies: header sets and whole raw requests.

They aim at the rules a Streamable HTTP endpoint decides from the head: Accept,
Content-Type, Origin, Host, ``MCP-Protocol-Version``, ``Mcp-Session-Id``,
``Last-Event-ID`` and the stateless routing headers, each with well-formed,
near-miss and hostile values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from mcp_sansio import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, HttpRequest

from ._messages import invalid_jsonrpc_messages, jsonrpc_messages
from ._wire import Header, dumps

__all__ = ["RawRequest", "header_sets", "http_requests"]

_VISIBLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
_LATIN1 = st.text(st.characters(min_codepoint=0x09, max_codepoint=0xFF, exclude_characters="\r\n"), max_size=24)
_VALUES: dict[str, list[str]] = {
    "accept": [
        "application/json, text/event-stream",
        "application/json",
        "text/event-stream",
        "*/*",
        "application/*;q=0, text/event-stream",
        "application/json;q=0.5, text/event-stream;q=0",
        "",
    ],
    "content-type": ["application/json", "application/json; charset=utf-8", "text/plain", "APPLICATION/JSON", ""],
    "origin": ["http://localhost:8000", "http://127.0.0.1", "http://evil.example", "null", "http://[::1"],
    "host": ["127.0.0.1:8000", "localhost", "[::1]:8000", "evil.example", "127.0.0.1:99999", "a b", ""],
    "mcp-protocol-version": [*HANDSHAKE_VERSIONS, *STATELESS_VERSIONS, "2099-01-01", "", "latest"],
    "mcp-session-id": ["", "unknown-session", "x" * 200],
    "last-event-id": ["s1-0", "s1-1", "0-0", "0-5", "s1-", "-1", "s1-99999999999999999999", "a b"],
    "mcp-method": ["tools/call", "tools/list", "ping", "=?base64?dG9vbHMvbGlzdA==?=", "=?base64?!!?="],
    "mcp-name": ["add", "=?base64?YWRk?=", " add ", "=?base64?=", "\u00e9"],
    "content-length": ["0", "5", "-1", "99999999999", "x"],
}
NAMES = sorted(_VALUES)


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A whole HTTP request as an adapter hands it over: method, target, headers and body."""

    method: str
    target: str
    headers: tuple[Header, ...]
    body: bytes

    def head(self) -> HttpRequest:
        """The request head, as :meth:`mcp_sansio.Server.receive` takes it."""
        return HttpRequest.build(self.method, self.target, self.headers)


def _value(name: str, session_ids: Sequence[str]) -> st.SearchStrategy[str]:
    known = _VALUES.get(name, [])
    if name == "mcp-session-id":
        known = [*known, *session_ids]
    return (st.sampled_from(known) if known else _VISIBLE) | _VISIBLE | _LATIN1


def header_sets(
    *, session_ids: Sequence[str] = (), names: Sequence[str] = NAMES, max_size: int = 8
) -> st.SearchStrategy[list[Header]]:
    """Lists of (name, value) headers, names repeated or in any case, values valid or near misses.

    Args:
        session_ids: Session ids worth sending (e.g. live ones), besides made-up ones.
        names: Header names to draw from (default: every header the transport reads).
        max_size: The most headers in one set.
    """
    every = [*names, "x-other", "MCP-Session-Id", "Accept"]
    pair = st.one_of([st.tuples(st.just(name), _value(name.lower(), session_ids)) for name in every])
    return st.lists(pair, max_size=max_size)


def _bodies() -> st.SearchStrategy[bytes]:
    messages = jsonrpc_messages() | invalid_jsonrpc_messages()
    return (
        messages.map(dumps)
        | st.lists(jsonrpc_messages(), min_size=1, max_size=3).map(dumps)
        | st.binary(max_size=64)
        | st.sampled_from([b"", b"{", b"[]", b"null", b'{"jsonrpc":"2.0"', b"\xef\xbb\xbf{}", b"\xff\xfe"])
    )


_BODIES = _bodies()


def http_requests(*, session_ids: Sequence[str] = ()) -> st.SearchStrategy[RawRequest]:
    """Whole requests: any method, mostly the MCP endpoint, any header set, any body.

    Args:
        session_ids: Session ids worth sending, besides made-up ones.
    """
    methods = st.sampled_from(["POST", "GET", "DELETE", "PUT", "OPTIONS", "HEAD", "get", "PATCH"])
    targets = st.sampled_from(["/mcp", "/mcp?x=1", "/", "*"])
    return st.builds(
        lambda method, target, headers, body: RawRequest(method, target, tuple(headers), body),
        methods,
        targets,
        header_sets(session_ids=session_ids, max_size=6),
        _BODIES,
    )
