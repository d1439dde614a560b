"""Hostile MCP over real sockets: bad bytes and JSON, wrong types everywhere, hostile ids, Origins and Hosts.

Each input gets the answer the core specifies (``_jsonrpc.py``, ``_server.py``, ``_http.py``,
``_methods.py``), the same under every adapter; each test runs under
:func:`~tests.adapters.hostile.guarded` (a healthy client throughout; nothing leaked or logged).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from mcp_sansio import Config
from tests.adapters.hostile import HOSTILE_FLAVOURS, PARITY_FLAVOURS, call, guarded, hostile_app, new_session
from tests.adapters.test_http import HEADERS, INIT
from tests.adapters.test_resume import read_events

pytestmark = pytest.mark.anyio
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(params=PARITY_FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


every_flavour = pytest.mark.parametrize("flavour", HOSTILE_FLAVOURS)  # for the limits


async def post(client: httpx.AsyncClient, url: str, body: Any, session: str | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**HEADERS, **({"mcp-session-id": session} if session else {})}
    return await client.post(url, content=content, headers=headers)


def raw_headers(
    *groups: dict[str, str] | dict[str, str | bytes] | list[tuple[str, str | bytes]],
) -> list[tuple[bytes, bytes]]:
    """Header pairs as bytes (values as sent: latin-1), in order, repeats kept."""
    pairs = [pair for group in groups for pair in (group.items() if isinstance(group, dict) else group)]
    return [(k.encode(), v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in pairs]


def odd(*values: Any) -> tuple[Any, ...]:
    return values


def assert_error(response: httpx.Response, status: int, code: int | None, words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"], error
    if code is not None:
        assert error["code"] == code, error


# -- bytes and JSON -------------------------------------------------------------------

BAD_BYTES: dict[str, tuple[bytes, str]] = {
    "invalid UTF-8": (b'{"jsonrpc":"2.0","id":1,"method":"ping\xff"}', "Parse error"),
    "overlong UTF-8": (b'{"jsonrpc":"2.0","id":1,"method":"\xc0\xaf"}', "Parse error"),
    "UTF-8 encoded surrogate": (b'{"jsonrpc":"2.0","id":1,"method":"\xed\xa0\x80"}', "Parse error"),
    "UTF-16": (json.dumps(PING).encode("utf-16"), "Parse error"),
    "empty": (b"", "Parse error"),
    "NaN": (b'{"jsonrpc":"2.0","id":NaN,"method":"ping"}', "NaN is not valid JSON"),
    "infinite number": (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":1e999}}', "out of range"),
    "5000-digit id": (b'{"jsonrpc":"2.0","id":' + b"7" * 5000 + b',"method":"ping"}', "Parse error"),
    "trailing garbage": (json.dumps(PING).encode() + b" x", "Extra data"),
    "raw control character": (b'{"jsonrpc":"2.0","id":1,"method":"pi\x01ng"}', "Invalid control character"),
    "100,000 nested arrays": (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
    "100,000 nested objects": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "JSON nested too deeply"),
    "nested in params": (
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        "JSON nested too deeply",
    ),
}


async def test_bytes_that_are_not_json_get_400_parse_error(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        session = await new_session(client, g.url)
        for name, (body, words) in BAD_BYTES.items():
            response = await post(client, g.url, body, session)
            assert response.status_code == 400, (name, response.text)
            assert response.json()["error"]["code"] == -32700, name
            assert words in response.json()["error"]["message"], (name, response.text)
        # What decodes is served: a byte order mark is tolerated, a lone surrogate escape echoes escaped.
        response = await post(client, g.url, b"\xef\xbb\xbf" + json.dumps(PING).encode(), session)
        assert response.status_code == 200 and response.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
        response = await post(client, g.url, b'{"jsonrpc":"2.0","id":"\\ud800","method":"x\\udfff"}', session)
        assert response.status_code == 200 and response.content.isascii()
        assert response.json()["id"] == "\ud800" and response.json()["error"]["code"] == -32601


def nested_id(depth: int) -> bytes:
    """A ping whose id is ``depth`` nested arrays (the body nests ``depth + 1`` levels)."""
    return b'{"jsonrpc":"2.0","id":' + b"[" * depth + b"]" * depth + b',"method":"ping"}'


def nested_params(depth: int) -> bytes:
    """A ping whose body nests ``depth`` levels in all (its object is the first, params the second)."""
    return b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"


@every_flavour
async def test_json_nesting_is_limited_by_config_the_same_everywhere(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog, config=Config(max_json_depth=8)) as g, httpx.AsyncClient(timeout=10) as client:
        session = await new_session(client, g.url)
        response = await post(client, g.url, nested_params(8), session)
        assert response.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
        assert_error(await post(client, g.url, nested_id(7), session), 400, -32600, "id must be a string")
        for body in (nested_params(9), nested_id(8), b"[" * 9 + b"]" * 9, b'{"a":' * 9 + b"1" + b"}" * 9):
            assert_error(
                await post(client, g.url, body, session), 400, -32700, "nested too deeply (more than 8 levels)"
            )


@every_flavour
async def test_json_nested_near_the_interpreters_recursion_limit_is_refused_cleanly(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Before max_json_depth, an id nested just below the recursion limit (about 975 deep standalone, less
    # under pytest's stack) parsed, and encoding it into the "id must be" message overflowed: 503 and a
    # logged traceback. Now anything past the default limit (64) is a parse error, whatever its depth.
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        session = await new_session(client, g.url)
        assert (await post(client, g.url, nested_params(64), session)).json()["result"] == {}
        assert_error(await post(client, g.url, nested_params(65), session), 400, -32700, "more than 64 levels")
        for depth in range(925, 1000):
            assert_error(await post(client, g.url, nested_id(depth), session), 400, -32700, "nested too deeply")


# -- wrong types at every position --------------------------------------------------------

ERROR = "error"  # (ERROR, status, JSON-RPC code, words)
TOOL_ERROR = "tool error"  # (TOOL_ERROR, words): a CallToolResult with isError (SEP-1303)
SERVED = "served"  # (SERVED,): a result
ACCEPTED = "accepted"  # (ACCEPTED,): 202, no body


def request(name: str, params: Any = None, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 7, "method": name}
    if params is not None:
        body["params"] = params
    body.update(members)
    return body


WRONG_TYPES: list[tuple[str, Any, tuple[Any, ...]]] = [
    *((f"body {v!r}", v, (ERROR, 400, -32600, "a message must be a JSON object")) for v in odd(1, "x", None, True)),
    ("empty batch", [], (ERROR, 400, -32600, "an empty batch")),
    ("batch under 2025-11-25", [PING, PING], (ERROR, 400, -32600, "batches are not allowed")),
    *(
        (f"jsonrpc {v!r}", request("ping", jsonrpc=v), (ERROR, 400, -32600, '"jsonrpc" must be exactly "2.0"'))
        for v in odd(2.0, "1.0", None, 2)
    ),
    ("no jsonrpc", {"id": 1, "method": "ping"}, (ERROR, 400, -32600, '"jsonrpc" must be exactly "2.0"')),
    *(
        (f"id {v!r}", request("ping", id=v), (ERROR, 400, -32600, "id must be a string or an integer"))
        for v in odd(True, 1.5, None, {}, [], [1])
    ),
    *(
        (f"method {v!r}", request("ping", method=v), (ERROR, 400, -32600, "method must be a non-empty string"))
        for v in odd(1, "", None, [], {"a": 1})
    ),
    *(
        (f"params {v!r}", request("ping", params=v), (ERROR, 400, -32600, "params must be an object"))
        for v in odd([], "x", 1, True)
    ),
    ("params null", {**PING, "params": None}, (ERROR, 400, -32600, "params must be an object")),
    ("extra member", {**PING, "extra": 1}, (ERROR, 400, -32600, "unexpected member")),
    (
        "result not an object",
        {"jsonrpc": "2.0", "id": 1, "result": []},
        (ERROR, 400, -32600, "result must be an object"),
    ),
    ("error not an object", {"jsonrpc": "2.0", "id": 1, "error": "x"}, (ERROR, 400, -32600, "error must be an object")),
    (
        "error code a string",
        {"jsonrpc": "2.0", "id": 1, "error": {"code": "1", "message": "m"}},
        (ERROR, 400, -32600, "integer code"),
    ),
    ("neither request nor response", {"jsonrpc": "2.0", "id": 1}, (ERROR, 400, -32600, "needs a method")),
    ("notification params", {"jsonrpc": "2.0", "method": "n", "params": []}, (ERROR, 400, -32600, "params")),
    ("a response to nothing", {"jsonrpc": "2.0", "id": 77, "result": {}}, (ACCEPTED,)),
    (
        "cancelled with an object id",
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": {}}},
        (ACCEPTED,),
    ),
    ("initialize again", INIT, (ERROR, 400, -32600, "already initialized")),
    ("unknown method", request("no/such"), (ERROR, 200, -32601, "Method not found")),
    *(
        (f"tools/call name {v!r}", request("tools/call", {"name": v}), (ERROR, 200, -32602, "needs a string name"))
        for v in odd(1, None, [], {})
    ),
    ("unknown tool", request("tools/call", {"name": "nope"}), (ERROR, 200, -32602, "Unknown tool")),
    *(
        (
            f"arguments {v!r}",
            request("tools/call", {"name": "add", "arguments": v}),
            (ERROR, 200, -32602, "arguments must be an object"),
        )
        for v in odd([], "x", 1)
    ),
    *(
        (
            f"argument a={v!r}",
            request("tools/call", {"name": "add", "arguments": {"a": v}}),
            (TOOL_ERROR, "arguments.a must be of type integer"),
        )
        for v in odd("1", 1.5, True, None, [], {})
    ),
    (
        "arguments null",
        request("tools/call", {"name": "add", "arguments": None}),
        (TOOL_ERROR, "arguments.a is required"),
    ),
    *(
        (f"_meta {v!r}", request("tools/call", {"name": "add", "arguments": {"a": 1}, "_meta": v}), (SERVED,))
        for v in odd("x", [], {"progressToken": {}}, {"progressToken": True})
    ),
    *(
        (f"uri {v!r}", request("resources/read", {"uri": v}), (ERROR, 200, -32602, "needs a string uri"))
        for v in odd(1, None, [])
    ),
    *(
        (f"subscribe uri {v!r}", request("resources/subscribe", {"uri": v}), (ERROR, 200, -32602, "string uri"))
        for v in odd(1, {})
    ),
    (
        "prompt name a list",
        request("prompts/get", {"name": []}),
        (ERROR, 200, -32602, "prompts/get needs a string name"),
    ),
    *(
        (
            f"prompt arguments {v!r}",
            request("prompts/get", {"name": "greet", "arguments": v}),
            (ERROR, 200, -32602, "object of strings"),
        )
        for v in odd({"name": 1}, "x", 5)
    ),
    *(
        (f"level {v!r}", request("logging/setLevel", {"level": v}), (ERROR, 200, -32602, "level must be one of"))
        for v in odd(5, "loud", None, ["info"], {"a": 1})
    ),
    *(
        (f"cursor {v!r}", request("tools/list", {"cursor": v}), (ERROR, 200, -32602, "unknown cursor"))
        for v in odd(5, "!!", {}, [1], "b2Zmc2V0Oi0x", True)
    ),
    (
        "completion ref a string",
        request("completion/complete", {"ref": "x", "argument": {"name": "a"}}),
        (ERROR, 200, -32602, "needs ref and argument.name"),
    ),
]


async def test_wrong_types_at_every_jsonrpc_position_get_their_answer(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        session = await new_session(client, g.url)
        for name, body, expected in WRONG_TYPES:
            response = await post(client, g.url, body, session)
            if expected[0] == ACCEPTED:
                assert response.status_code == 202 and response.content == b"", (name, response.text)
                continue
            assert response.status_code == (expected[1] if expected[0] == ERROR else 200), (name, response.text)
            answer = response.json()
            if expected[0] == ERROR:
                error = answer["error"]
                assert expected[3] in error["message"] and error["code"] == expected[2], (name, answer)
            elif expected[0] == TOOL_ERROR:
                assert answer["result"]["isError"] is True, (name, answer)
                assert expected[1] in answer["result"]["content"][0]["text"], (name, answer)
            else:
                assert "result" in answer and not answer["result"].get("isError"), (name, answer)
        # initialize with wrong types: 400, -32602.
        for field, value in (("protocolVersion", 1), ("capabilities", []), ("clientInfo", "x")):
            params: dict[str, Any] = json.loads(json.dumps(INIT["params"]))
            body = {**INIT, "params": {**params, field: value}}
            assert_error(await post(client, g.url, body), 400, -32602, "initialize needs protocolVersion")


# The stateless revision (2026-07-28): the _meta keys and the routing headers, wrong in every way.
V, C, L = (f"io.modelcontextprotocol/{k}" for k in ("protocolVersion", "clientCapabilities", "logLevel"))
ROUTING = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
STATELESS_WRONG: list[tuple[str, Any, dict[str, Any], int, str]] = [
    ("version not a string", {V: 1, C: {}}, ROUTING, -32602, "protocolVersion must be a string"),
    ("capabilities a list", {V: "2026-07-28", C: []}, ROUTING, -32602, "clientCapabilities an object"),
    ("no capabilities", {V: "2026-07-28"}, ROUTING, -32602, "_meta must carry"),
    ("log level a number", {V: "2026-07-28", C: {}, L: 5}, ROUTING, -32602, "unknown logLevel"),
    ("no version header", {V: "2026-07-28", C: {}}, {"mcp-method": "tools/list"}, -32020, "header is required"),
    (
        "version header disagrees",
        {V: "2026-07-28", C: {}},
        {**ROUTING, "mcp-protocol-version": "2025-11-25"},
        -32020,
        "does not match",
    ),
    ("method header disagrees", {V: "2026-07-28", C: {}}, {**ROUTING, "mcp-method": "ping"}, -32020, "does not match"),
    ("method header not ASCII", {V: "2026-07-28", C: {}}, {**ROUTING, "mcp-method": b"\xfftools"}, -32020, "ASCII"),
    (
        "unsupported version",
        {V: "2099-01-01", C: {}},
        {**ROUTING, "mcp-protocol-version": "2099-01-01"},
        -32022,
        "Unsupported protocol version",
    ),
]


async def test_wrong_types_in_stateless_requests_get_their_answer(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        for name, meta, routing, code, words in STATELESS_WRONG:
            body = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": meta}}
            headers = raw_headers(HEADERS, routing)
            response = await client.post(g.url, content=json.dumps(body), headers=headers)
            assert response.status_code == 400, (name, response.text)
            error = response.json()["error"]
            assert error["code"] == code and words in error["message"], (name, error)
            assert response.json()["id"] == 3, name
        batch = [{"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": {V: "2026-07-28", C: {}}}}]
        response = await client.post(g.url, content=json.dumps(batch), headers=raw_headers(HEADERS, ROUTING))
        assert_error(response, 400, -32600, "batches are not part of 2026-07-28")


# -- hostile session ids -------------------------------------------------------------------

HOSTILE_SESSION_IDS = ["no-such-session", "", "x" * 4000, "../../etc/passwd", "a, b", "' OR 1=1 --", "\u00ff\u00fe"]


async def test_hostile_session_ids_get_404_or_400(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        ended = await new_session(client, g.url)
        assert (await client.delete(g.url, headers={"mcp-session-id": ended})).status_code == 200
        for session in [*HOSTILE_SESSION_IDS, ended]:
            raw = session.encode("latin-1")
            for method, extra in (("POST", {}), ("GET", {"accept": "text/event-stream"}), ("DELETE", {})):
                headers = raw_headers(HEADERS, extra, [("mcp-session-id", raw)])
                content = json.dumps(call(1, "add", {"a": 1})).encode() if method == "POST" else None
                response = await client.request(method, g.url, headers=headers, content=content)
                assert_error(response, 404, -32001, "unknown or terminated session")
        # The header twice is a client error, whatever the values.
        live = await new_session(client, g.url)
        twice = raw_headers(HEADERS, [("mcp-session-id", live), ("mcp-session-id", live)])
        response = await client.post(g.url, headers=twice, content=json.dumps(call(1, "add", {"a": 1})))
        assert_error(response, 400, -32600, "header mcp-session-id appears 2 times")
        # A session's own requests still work: nothing above touched it.
        response = await post(client, g.url, call(2, "add", {"a": 1}), live)
        assert response.json()["result"]["content"][0]["text"] == "3"


# -- hostile Last-Event-ID values --------------------------------------------------------------


async def finished_stream(client: httpx.AsyncClient, url: str, session: str) -> list[str]:
    """Run a streaming tool to its end; the event ids it sent."""
    headers = {**HEADERS, "mcp-session-id": session}
    async with client.stream("POST", url, json=call(1, "tick", {"n": 3}, "t"), headers=headers) as response:
        events = await read_events(response)
    ids = [event_id for event_id, _ in events if event_id is not None]
    assert len(ids) == 5  # priming, 3 chunks, the result
    return ids


MALFORMED_EVENT_IDS = [
    "",
    "abc",
    "-1",
    "{stream}-",
    "{stream}-01",
    "{stream}--1",
    "{stream}-1-2",
    "{stream}-+1",
    "{stream}-0x1",
    "{stream}-" + "9" * 19,
    "{stream}-1e3",
    "\u00e9-1",
    "../{stream}-1",
    "{stream}%2D1",
    "x" * 65 + "-1",
    "{stream}-1; {stream}-2",
]


async def test_hostile_last_event_ids_are_refused(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        alice, bob = await new_session(client, g.url), await new_session(client, g.url)
        alices, bobs = await finished_stream(client, g.url, alice), await finished_stream(client, g.url, bob)
        stream = bobs[0].split("-")[0]
        get = {"accept": "text/event-stream", "mcp-session-id": bob}

        async def resume(last_event_id: str) -> httpx.Response:
            return await client.get(g.url, headers=raw_headers(get, [("last-event-id", last_event_id)]))

        for value in MALFORMED_EVENT_IDS:
            assert_error(await resume(value.format(stream=stream)), 400, -32600, "malformed Last-Event-ID")
        # Well-formed, but not an event of Bob's: another session's stream, one that does not exist,
        # one ahead of what the stream has sent.
        for value in (*alices[1:], "zzzz-1", f"{stream}-6", f"{stream}-" + "9" * 18):
            assert_error(await resume(value), 400, -32600, "names no event of this session")
        twice = raw_headers(get, [("last-event-id", bobs[1]), ("last-event-id", bobs[1])])
        response = await client.get(g.url, headers=twice)
        assert_error(response, 400, -32600, "header last-event-id appears 2 times")
        # Alice's id with Alice's session still replays: nothing above disturbed either session.
        async with client.stream(
            "GET", g.url, headers={**get, "mcp-session-id": alice, "last-event-id": alices[2]}
        ) as response:
            assert response.status_code == 200
            replayed = await read_events(response)
        assert [event_id for event_id, _ in replayed] == alices[3:]


# -- Origins and Hosts -------------------------------------------------------------------------

BAD_ORIGINS = [
    "http://evil.example",
    "null",
    "http://localhost.evil.example",
    "http://127.0.0.1.nip.io",
    "https://localhost@evil.example",
    "http://[::1",
    "file://",
    "localhost",
    "http://127.0.0.1 http://evil.example",
]
BAD_HOSTS: list[tuple[str, int, str]] = [
    ("evil.example", 421, "Misdirected Request"),
    ("evil.example:80", 421, "Misdirected Request"),
    ("localhost.evil.example", 421, "Misdirected Request"),
    ("0.0.0.0", 421, "Misdirected Request"),
    ("2130706433", 421, "Misdirected Request"),  # 127.0.0.1 as one number: not a name we serve
    ("[::ffff:127.0.0.1]", 421, "Misdirected Request"),
    ("127.0.0.1:99999999", 400, "malformed Host header"),
    ("localhost:80@evil.example", 400, "malformed Host header"),
    ("127.0.0.1, evil.example", 400, "malformed Host header"),
    ("", 400, "malformed Host header"),
    ("[::1", 400, "malformed Host header"),
]
GOOD_HOSTS = ["localhost", "LOCALHOST:9", "127.0.0.1", "127.1.2.3:80", "[::1]:8000", "app.localhost"]


async def test_bad_origins_get_403_and_bad_hosts_421_or_400(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    async with guarded(flavour, caplog) as g, httpx.AsyncClient(timeout=10) as client:
        ok = await new_session(client, g.url)
        for origin in BAD_ORIGINS:
            response = await client.post(g.url, json=INIT, headers={**HEADERS, "origin": origin})
            assert_error(response, 403, -32600, "Forbidden: Origin")
            # Refused before the session is even looked up, whatever the method.
            response = await client.get(g.url, headers={"accept": "text/event-stream", "origin": origin})
            assert response.status_code == 403
        for host, status, words in BAD_HOSTS:
            response = await client.post(
                g.url, json=call(1, "add", {"a": 1}), headers={**HEADERS, "host": host, "mcp-session-id": ok}
            )
            assert_error(response, status, -32600, words)
        for host in GOOD_HOSTS:
            response = await client.post(
                g.url, json=call(1, "add", {"a": 1}), headers={**HEADERS, "host": host, "mcp-session-id": ok}
            )
            assert response.status_code == 200, (host, response.text)
        response = await post(client, g.url, PING, ok)
        assert response.status_code == 200


# -- limits ----------------------------------------------------------------------------------------


@every_flavour
async def test_limits_per_session_and_in_total(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    gate = anyio.Event()
    holding: list[int] = []
    config = Config(max_in_flight=2, max_sessions=3, max_streams_per_session=2)
    async with guarded(flavour, caplog, app=hostile_app(gate, holding=holding), config=config) as g:
        async with httpx.AsyncClient(timeout=10) as client:
            session = await new_session(client, g.url)  # the healthy client holds the first of three
            answers: list[httpx.Response] = []

            async def held(rid: int) -> None:
                answers.append(await post(client, g.url, call(rid, "hold"), session))

            async with anyio.create_task_group() as tg:
                tg.start_soon(held, 1)
                tg.start_soon(held, 2)
                with anyio.fail_after(5):
                    while len(holding) < 2:
                        await anyio.sleep(0.01)
                # Requests in flight per session: 429 beyond two.
                assert_error(
                    await post(client, g.url, call(3, "add", {"a": 1}), session), 429, -32600, "Too Many Requests"
                )
                # The same id again while it runs: 409.
                assert_error(
                    await post(client, g.url, call(1, "add", {"a": 1}), session), 409, -32600, "already in flight"
                )
                # Sessions in total: 503 beyond three (the healthy client's, this one, one more).
                extra = await new_session(client, g.url)
                assert_error(await post(client, g.url, INIT), 503, -32603, "too many sessions")
                gate.set()
            assert [a.json()["result"]["content"][0]["text"] for a in answers] == ["released", "released"]
            assert (await client.delete(g.url, headers={"mcp-session-id": extra})).status_code == 200
            # Streams per session: the logs of the oldest finished streams go beyond two.
            first, second, third = [await finished_stream(client, g.url, session) for _ in range(3)]
            get = {"accept": "text/event-stream", "mcp-session-id": session}
            for ids, kept in ((first, False), (second, True), (third, True)):
                response = await client.get(g.url, headers={**get, "last-event-id": ids[1]})
                if kept:
                    assert response.status_code == 200, response.text
                else:
                    assert_error(response, 400, -32600, "names no event of this session")
            # One GET stream per session: a second concurrent one is 409.
            async with client.stream("GET", g.url, headers=get) as open_stream:
                assert open_stream.status_code == 200
                assert_error(await client.get(g.url, headers=get), 409, -32600, "already has an open GET stream")
            assert (await client.delete(g.url, headers={"mcp-session-id": session})).status_code == 200


@every_flavour
async def test_event_log_length_and_age(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    config = Config(max_events_per_stream=3, max_event_age=0.5)
    async with guarded(flavour, caplog, config=config) as g, httpx.AsyncClient(timeout=10) as client:
        session = await new_session(client, g.url)
        get = {"accept": "text/event-stream", "mcp-session-id": session}
        ids = await finished_stream(client, g.url, session)  # events 1..4 of which the log keeps 2..4
        assert_error(await client.get(g.url, headers={**get, "last-event-id": ids[0]}), 410, -32600, "Gone")
        async with client.stream("GET", g.url, headers={**get, "last-event-id": ids[1]}) as response:
            assert [event_id for event_id, _ in await read_events(response)] == ids[2:]
        # Past max_event_age every event is gone: resuming anywhere before the end is 410.
        with anyio.fail_after(5):
            while (await client.get(g.url, headers={**get, "last-event-id": ids[3]})).status_code != 410:
                await anyio.sleep(0.05)
