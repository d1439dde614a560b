"""Strategies for MCP requests against one :class:`~mcp_sansio.App`, per method and per era.

Each generated :class:`McpRequest` carries what a conforming server must answer
(:class:`Expect`), derived from the app's catalogue and the specification: a
result for ``ping`` or a list, error -32602 for an unknown tool, -32002 (handshake)
or -32602 (2026-07-28) for a missing resource, HTTP 404 / -32601 for a method the
stateless revision does not have, an ``isError`` result for arguments that break
the tool's schema, and "any answer" where a user handler runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from mcp_sansio import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LOG_LEVELS,
    METHOD_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    STATELESS_VERSIONS,
    App,
    RequestId,
)

from ._arguments import tool_arguments
from ._http import RawRequest
from ._wire import (
    ACCEPT_BOTH,
    STATELESS,
    Header,
    dumps,
    param_headers,
    routing_headers,
    session_headers,
    stateless_meta,
)

__all__ = ["Expect", "McpRequest", "mcp_requests", "ERAS"]

ERAS: Final = ("handshake", "stateless")
Options = tuple[list[st.SearchStrategy["McpRequest"]], list[st.SearchStrategy["McpRequest"]]]
_VARIABLE = re.compile(r"\{\+?([A-Za-z0-9_]+)\}")
_MISSING_URI = "mcp-sansio-testing://missing/"


@dataclass(frozen=True, slots=True)
class Expect:
    """What a conforming server answers to one request.

    Attributes:
        result: Whether a (successful) result is acceptable.
        codes: JSON-RPC error codes that are acceptable.
        any_error: Whether any error is acceptable, with any HTTP status (a user handler
            runs, and may raise whatever it likes).
        is_error: A result must carry ``isError: true`` (a tool refusing its arguments).
        status: The HTTP status an acceptable error arrives with (200 unless the
            transport refuses the request as a whole).
        listen: The request opens a stream that stays open and is never answered
            (``subscriptions/listen``).
    """

    result: bool = True
    codes: frozenset[int] = frozenset()
    any_error: bool = False
    is_error: bool = False
    status: int = 200
    listen: bool = False

    @classmethod
    def error(cls, *codes: int, status: int = 200) -> Expect:
        """Only an error with one of ``codes``, arriving with HTTP ``status``."""
        return cls(result=False, codes=frozenset(codes), status=status)

    def __repr__(self) -> str:
        return f"Expect({self.describe()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def describe(self) -> str:
        """In words, for violation messages."""
        if self.listen:
            return "a stream that stays open"
        parts = ["a result with isError: true" if self.is_error else "a result"] if self.result else []
        if self.any_error:
            parts.append("an error")
        elif self.codes:
            parts.append(f"HTTP {self.status} with error {' or '.join(str(c) for c in sorted(self.codes))}")
        return " or ".join(parts) or "no answer"

    def problem(self, status: int | None, message: dict[str, Any]) -> str | None:
        """Why ``message`` (with HTTP ``status``; None when it came on a stream) is not an acceptable answer."""
        error = message.get("error")
        if isinstance(error, dict):
            if self.any_error:
                return None
            if error.get("code") not in self.codes:
                return f"expected {self.describe()}, got error {error.get('code')}"
            if status is not None and status != self.status:
                return f"expected {self.describe()}, got HTTP {status}"
            return None
        result = message.get("result")
        if not self.result:
            return f"expected {self.describe()}, got a result"
        if self.is_error and not (isinstance(result, dict) and result.get("isError") is True):
            return f"expected {self.describe()}, got a result without isError"
        if status is not None and status != 200:
            return f"expected {self.describe()}, got a result with HTTP {status}"
        return None


RESULT: Final = Expect()
ANSWER: Final = Expect(any_error=True)
TOOL_ERROR: Final = Expect(is_error=True, codes=frozenset({INVALID_PARAMS}))
BAD_PARAMS: Final = Expect.error(INVALID_PARAMS)


@dataclass(frozen=True, slots=True)
class McpRequest:
    """One MCP request, before it gets an id (and, for 2026-07-28, its ``_meta``).

    Attributes:
        method: The JSON-RPC method.
        params: Its params, or None.
        expect: What a conforming server answers.
        headers: Extra headers it needs (``Mcp-Param-*`` mirrors of tool arguments).
    """

    method: str
    params: dict[str, Any] | None = None
    expect: Expect = RESULT
    headers: tuple[Header, ...] = ()

    def __repr__(self) -> str:
        extra = f", headers={list(self.headers)!r}" if self.headers else ""
        return f"McpRequest({self.method!r}, {self.params!r}, {self.expect!r}{extra})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def http(
        self,
        request_id: RequestId = 1,
        *,
        version: str = STATELESS,
        session_id: str | None = None,
        capabilities: dict[str, Any] | None = None,
        host: str = "127.0.0.1:8000",
    ) -> RawRequest:
        """The whole POST a conforming client of revision ``version`` sends for this request.

        Handshake revisions need the ``session_id`` that ``initialize`` handed out; the
        stateless revision gets its ``_meta`` (with ``capabilities``) and routing headers.
        """
        headers = [("host", host), ("accept", ACCEPT_BOTH), ("content-type", "application/json")]
        if version in STATELESS_VERSIONS:
            body = self.body(request_id, stateless_meta(capabilities or {}))
            headers += [*routing_headers(body), *self.headers]
        else:
            if session_id is None:
                raise ValueError(f"a {version} request needs the session id initialize handed out")
            body = self.body(request_id)
            headers += session_headers(session_id, version)
        return RawRequest("POST", "/mcp", tuple(headers), dumps(body))

    def body(self, request_id: RequestId, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON-RPC request with ``request_id``, ``meta`` merged into ``params._meta``."""
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": self.method}
        params = dict(self.params or {})
        if meta:
            params["_meta"] = {**(params.get("_meta") or {}), **meta}
        if params or self.params is not None:
            out["params"] = params
        return out


def _names() -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=48, max_codepoint=122, categories=["L", "N"]), min_size=1, max_size=6)


def _lists(app: App, stateless: bool) -> list[st.SearchStrategy[McpRequest]]:
    offered = {
        "tools/list": bool(app.tools),
        "prompts/list": bool(app.prompts),
        "resources/list": bool(app.resources or app.templates),
        "resources/templates/list": bool(app.resources or app.templates),
    }
    options = []
    for method, present in offered.items():
        if stateless and not present:
            options.append(st.just(McpRequest(method, None, Expect.error(METHOD_NOT_FOUND, status=404))))
            continue
        options.append(st.just(McpRequest(method)))
        options.append(st.just(McpRequest(method, {"cursor": "not-a-cursor!"}, BAD_PARAMS)))
    return options


def _tool_call(name: str, schema: dict[str, Any], stateless: bool, expect: Expect) -> Callable[[Any], McpRequest]:
    def tools_call(arguments: Any) -> McpRequest:
        headers = tuple(param_headers(schema, arguments)) if stateless else ()
        return McpRequest("tools/call", {"name": name, "arguments": arguments}, expect, headers)

    return tools_call


def _tools(app: App, stateless: bool) -> Options:
    if stateless and not app.tools:
        return [], [st.just(McpRequest("tools/call", {"name": "x"}, Expect.error(METHOD_NOT_FOUND, status=404)))]
    calls: list[st.SearchStrategy[McpRequest]] = []
    options: list[st.SearchStrategy[McpRequest]] = []
    for name, tool in app.tools.items():
        schema = tool.input_schema
        # Tools that stream or talk to the client (a Context parameter) exercise the most: call them more.
        weight = 3 if tool.streaming or tool.context_param else 1
        calls += [tool_arguments(schema).map(_tool_call(name, schema, stateless, ANSWER))] * weight
        options.append(tool_arguments(schema, valid=False).map(_tool_call(name, schema, stateless, TOOL_ERROR)))
    unknown = _names().filter(lambda n: n not in app.tools)
    options.append(unknown.map(lambda n: McpRequest("tools/call", {"name": n, "arguments": {}}, BAD_PARAMS)))
    if app.tools:
        first = next(iter(app.tools))
        options.append(
            st.sampled_from([[1], "x", 3]).map(
                lambda a: McpRequest("tools/call", {"name": first, "arguments": a}, BAD_PARAMS)
            )
        )
    return calls, options


def _fill(template: str) -> st.SearchStrategy[str]:
    names = _VARIABLE.findall(template)

    def expand(values: list[str]) -> str:
        given = iter(values)
        return _VARIABLE.sub(lambda match: next(given), template)

    return st.lists(_names(), min_size=len(names), max_size=len(names)).map(expand)


def _resources(app: App, stateless: bool) -> Options:
    if stateless and not (app.resources or app.templates):
        return [], [st.just(McpRequest("resources/read", {"uri": "x"}, Expect.error(METHOD_NOT_FOUND, status=404)))]
    missing = INVALID_PARAMS if stateless else RESOURCE_NOT_FOUND

    def read(uri: str) -> McpRequest:
        known = uri in app.resources or app.find_template(uri) is not None
        return McpRequest("resources/read", {"uri": uri}, ANSWER if known else Expect.error(missing))

    calls = [st.sampled_from(sorted(app.resources)).map(read)] if app.resources else []
    calls += [_fill(t.template.text).map(read) for t in app.templates]
    options = [_names().map(lambda n: read(_MISSING_URI + n))]
    # Without a uri, a stateless request also lacks the Mcp-Name header it must mirror: -32020 comes first.
    no_uri = Expect.error(HEADER_MISMATCH, status=400) if stateless else BAD_PARAMS
    options.append(st.just(McpRequest("resources/read", {}, no_uri)))
    return calls, options


def _prompt_get(name: str) -> Callable[[dict[str, str]], McpRequest]:
    def prompts_get(arguments: dict[str, str]) -> McpRequest:
        return McpRequest("prompts/get", {"name": name, "arguments": arguments}, ANSWER)

    return prompts_get


def _prompts(app: App, stateless: bool) -> Options:
    if stateless and not app.prompts:
        return [], [st.just(McpRequest("prompts/get", {"name": "x"}, Expect.error(METHOD_NOT_FOUND, status=404)))]
    calls: list[st.SearchStrategy[McpRequest]] = []
    options: list[st.SearchStrategy[McpRequest]] = []
    for name, prompt in app.prompts.items():
        required = {a["name"]: st.text(max_size=8) for a in prompt.arguments if a["required"]}
        optional = {a["name"]: st.text(max_size=8) for a in prompt.arguments if not a["required"]}
        arguments = st.fixed_dictionaries(required, optional=optional)
        calls.append(arguments.map(_prompt_get(name)))
        if required:
            options.append(st.just(McpRequest("prompts/get", {"name": name, "arguments": {}}, BAD_PARAMS)))
        options.append(st.just(McpRequest("prompts/get", {"name": name, "arguments": {"x": 1}}, BAD_PARAMS)))
    unknown = _names().filter(lambda n: n not in app.prompts)
    options.append(unknown.map(lambda n: McpRequest("prompts/get", {"name": n}, BAD_PARAMS)))
    return calls, options


def _completions(app: App) -> list[st.SearchStrategy[McpRequest]]:
    refs = [{"type": "ref/prompt", "name": n} for n in app.prompts] + [{"type": "ref/resource", "uri": "x://y"}]
    valid = st.builds(
        lambda ref, name, value: {"ref": ref, "argument": {"name": name, "value": value}},
        st.sampled_from(refs),
        _names(),
        st.text(max_size=4),
    )
    expect = ANSWER if app.completer is not None else RESULT
    return [
        valid.map(lambda p: McpRequest("completion/complete", p, expect)),
        st.just(McpRequest("completion/complete", {"ref": {"type": "ref/prompt"}}, BAD_PARAMS)),
    ]


def _handshake_only() -> list[st.SearchStrategy[McpRequest]]:
    return [
        st.just(McpRequest("ping")),
        st.sampled_from(LOG_LEVELS).map(lambda level: McpRequest("logging/setLevel", {"level": level})),
        st.just(McpRequest("logging/setLevel", {"level": "loud"}, BAD_PARAMS)),
        st.sampled_from(["resources/subscribe", "resources/unsubscribe"]).map(
            lambda m: McpRequest(m, {"uri": "test://anything"})
        ),
        st.just(McpRequest("resources/subscribe", {}, BAD_PARAMS)),
        st.just(
            McpRequest(
                "initialize",
                {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "again", "version": "1"}},
                Expect.error(INVALID_REQUEST, status=400),
            )
        ),
        st.just(McpRequest("x/unknown", None, Expect.error(METHOD_NOT_FOUND))),
    ]


def _stateless_only() -> list[st.SearchStrategy[McpRequest]]:
    flags = st.fixed_dictionaries(
        {},
        optional={
            "toolsListChanged": st.booleans(),
            "promptsListChanged": st.booleans(),
            "resourcesListChanged": st.booleans(),
        },
    )
    missing = Expect.error(METHOD_NOT_FOUND, status=404)
    return [
        st.just(McpRequest("server/discover")),
        flags.map(lambda f: McpRequest("subscriptions/listen", {"notifications": f}, Expect(listen=True))),
        st.just(McpRequest("subscriptions/listen", {}, Expect.error(INVALID_PARAMS, status=400))),
        st.sampled_from(["ping", "logging/setLevel", "resources/subscribe", "x/unknown"]).map(
            lambda m: McpRequest(m, {}, missing)
        ),
    ]


def mcp_requests(app: App, era: str = "handshake", *, calls_only: bool = False) -> st.SearchStrategy[McpRequest]:
    """MCP requests for ``app``, each with what a conforming server answers.

    Args:
        app: The catalogue whose tools, resources, templates and prompts to call.
        era: ``"handshake"`` (2024-11-05 to 2025-11-25, inside a session) or
            ``"stateless"`` (2026-07-28: add ``_meta`` and the routing headers when sending).
        calls_only: Only well-formed requests that run one of the app's handlers
            (tools/call, prompts/get, resources/read); by default half are those.
    """
    if era not in ERAS:
        raise ValueError(f"era must be one of {ERAS}, got {era!r}")
    stateless = era == "stateless"
    calls: list[st.SearchStrategy[McpRequest]] = []
    options = [*_lists(app, stateless), *_completions(app)]
    for part in (_tools, _resources, _prompts):
        more_calls, more = part(app, stateless)
        calls += more_calls
        options += more
    options += _stateless_only() if stateless else _handshake_only()
    if calls_only:
        return st.one_of(calls) if calls else st.nothing()
    # Half the requests run a handler of the app: that is where servers differ.
    return st.one_of(st.one_of(calls), st.one_of(options)) if calls else st.one_of(options)
