"""plan_method: what each method is answered with, in a handshake session and statelessly."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mcp_sansio import App, Call, Config, Context, ErrorResponse, Request, SessionRecord, UpdateSession
from mcp_sansio._methods import SessionChange, plan_method, server_capabilities
from tests.apps import demo_app, stateless_app, tools_only_app

SESSION = SessionRecord("s", "2025-11-25", log_level="info", subscriptions=frozenset({"test://a"}))
SUPPORTED = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]


def plan(
    method: str,
    params: dict[str, Any] | None = None,
    *,
    app: App | None = None,
    session: Any = SESSION,
    config: Config | None = None,
    rid: Any = 1,
) -> Any:
    return plan_method(Request(rid, method, params), session, app or demo_app(), config or Config())


def error(rid: Any, code: int, message: str, data: Any = None) -> ErrorResponse:
    return ErrorResponse(rid, code, message, data)


def cursor(offset: int | str) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


# -- capabilities ------------------------------------------------------------------------------


def test_server_capabilities_follow_the_registry() -> None:
    assert server_capabilities(App()) == {"logging": {}, "completions": {}}
    assert server_capabilities(tools_only_app()) == {"logging": {}, "completions": {}, "tools": {"listChanged": True}}
    templates = App()
    templates.resource_template("u://{x}")(demo_app().templates[0].fn)
    assert server_capabilities(templates) == {
        "logging": {},
        "completions": {},
        "resources": {"subscribe": True, "listChanged": True},
    }
    assert server_capabilities(demo_app()) == {
        "logging": {},
        "completions": {},
        "tools": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
        "prompts": {"listChanged": True},
    }


# -- pagination ------------------------------------------------------------------------------


def many(n: int) -> App:
    app = App("many")
    for i in range(n):
        app.tool(name=f"t{i}")(demo_app().tools["add"].fn)
    return app


def names(result: dict[str, Any]) -> list[str]:
    return [t["name"] for t in result["tools"]]


def test_pages_and_cursors() -> None:
    app, config = many(5), Config(page_size=2)
    first = plan("tools/list", app=app, config=config)
    assert names(first) == ["t0", "t1"]
    assert first["nextCursor"] == cursor(2)
    second = plan("tools/list", {"cursor": first["nextCursor"]}, app=app, config=config)
    assert (names(second), second["nextCursor"]) == (["t2", "t3"], cursor(4))
    last = plan("tools/list", {"cursor": second["nextCursor"]}, app=app, config=config)
    assert last == {"tools": [app.tools["t4"].describe()]}


@pytest.mark.parametrize(("count", "size"), [(0, 1), (2, 2), (1, 100)])
def test_a_single_page_has_no_next_cursor(count: int, size: int) -> None:
    result = plan("tools/list", app=many(count), config=Config(page_size=size))
    assert set(result) == {"tools"}
    assert len(result["tools"]) == count


def test_a_cursor_at_the_end_gives_an_empty_last_page() -> None:
    assert plan("tools/list", {"cursor": cursor(3)}, app=many(3)) == {"tools": []}
    assert plan("tools/list", {"cursor": cursor(0)}, app=many(0)) == {"tools": []}
    assert plan("tools/list", {"cursor": None}, app=many(1)) == {"tools": [many(1).tools["t0"].describe()]}


@pytest.mark.parametrize(
    "bad",
    [
        cursor(4),  # beyond the list
        cursor(-1),
        cursor("x"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        "bogus!",
        "b2Zmc2V0OjE",  # missing padding
        "",
        5,
        True,
        ["offset:1"],
    ],
)
def test_unknown_cursors_are_invalid_params(bad: Any) -> None:
    assert plan("tools/list", {"cursor": bad}, app=many(3), rid=9) == error(
        9, -32602, f"Invalid params: unknown cursor {bad!r}"
    )


@pytest.mark.parametrize(
    ("method", "key"),
    [
        ("tools/list", "tools"),
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
        ("prompts/list", "prompts"),
    ],
)
def test_every_list_pages(method: str, key: str) -> None:
    app = demo_app()
    app.resource_template("test://more/{id}")(demo_app().templates[0].fn)
    app.prompt("other")(demo_app().prompts["greet"].fn)
    first = plan(method, app=app, config=Config(page_size=1))
    assert len(first[key]) == 1 and first["nextCursor"] == cursor(1)
    bad = plan(method, {"cursor": "nope"}, app=app, rid="c")
    assert isinstance(bad, ErrorResponse) and bad.code == -32602


# -- tools ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, 5, ["add"]])
def test_tool_call_needs_a_string_name(name: Any) -> None:
    params = {} if name is None else {"name": name}
    assert plan("tools/call", params, rid=2) == error(2, -32602, "Invalid params: tools/call needs a string name")


def test_tool_call_argument_shapes() -> None:
    assert plan("tools/call", {"name": "nope"}) == error(1, -32602, "Unknown tool: 'nope'")
    for arguments in ([], "a=1", 3):
        assert plan("tools/call", {"name": "add", "arguments": arguments}) == error(
            1, -32602, "Invalid params: arguments must be an object"
        )
    for params in ({"name": "add", "arguments": None}, {"name": "add"}):
        result = plan("tools/call", params)
        assert result == {
            "content": [{"type": "text", "text": "Invalid arguments for tool 'add': arguments.a is required"}],
            "isError": True,
        }


def test_tool_call_builds_the_call() -> None:
    app = demo_app()
    call = plan("tools/call", {"name": "add", "arguments": {"a": 1, "b": 5}}, app=app, rid="r")
    assert call == Call("r", "tool", app.tools["add"].fn, {"a": 1, "b": 5}, name="add")
    assert call.convert("6") == {"content": [{"type": "text", "text": "6"}]}
    structured = plan("tools/call", {"name": "structured", "arguments": {"a": 4}}, app=app)
    assert structured.convert({"sum": 4})["structuredContent"] == {"sum": 4}
    streaming = plan("tools/call", {"name": "count", "arguments": {"n": 2}}, app=app)
    assert (streaming.streaming, streaming.context_param, streaming.kwargs) == (True, "ctx", {"n": 2})


def test_arguments_are_bound_to_the_parameters() -> None:
    app = App("bind")

    @app.tool(input_schema={"type": "object"})
    async def strict(a: int, ctx: Context) -> str:
        return ""

    @app.tool(input_schema={"type": "object"})
    async def loose(a: int, **rest: Any) -> str:
        return ""

    arguments = {"a": 1, "unknown": 2, "ctx": "from the client"}
    assert plan("tools/call", {"name": "strict", "arguments": arguments}, app=app).kwargs == {"a": 1}
    assert plan("tools/call", {"name": "loose", "arguments": arguments}, app=app).kwargs == {
        "a": 1,
        "unknown": 2,
        "ctx": "from the client",
    }


@pytest.mark.parametrize(
    ("meta", "token"),
    [
        ({"progressToken": "t"}, "t"),
        ({"progressToken": 0}, 0),
        ({"progressToken": True}, None),
        ({"progressToken": 1.5}, None),
        ({"progressToken": None}, None),
        ({}, None),
        ("not-a-dict", None),
    ],
)
def test_progress_tokens(meta: Any, token: Any) -> None:
    call = plan("tools/call", {"name": "add", "arguments": {"a": 1}, "_meta": meta})
    assert call.progress_token == token


# -- resources --------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [None, {}, {"uri": 5}, {"uri": None}])
def test_read_needs_a_string_uri(params: Any) -> None:
    assert plan("resources/read", params, rid=3) == error(
        3, -32602, "Invalid params: resources/read needs a string uri"
    )


def test_read_of_a_fixed_resource() -> None:
    app = stateless_app()
    call = plan("resources/read", {"uri": "test://cached"}, app=app)
    assert call == Call(
        1, "resource", app.resources["test://cached"].fn, {}, name="test://cached", cache=(60000, "private")
    )
    assert call.convert("x") == {"contents": [{"uri": "test://cached", "text": "x", "mimeType": "text/plain"}]}


def test_read_through_a_template() -> None:
    app = demo_app()
    call = plan("resources/read", {"uri": "test://items/42"}, app=app)
    assert call == Call(1, "resource", app.templates[0].fn, {"id": "42"}, name="test://items/42", cache=(0, "private"))
    assert call.convert(b"\x00") == {
        "contents": [{"uri": "test://items/42", "blob": "AA==", "mimeType": "application/json"}]
    }


def test_template_context_parameter_is_not_bound_from_the_uri() -> None:
    app = App("ctx")

    @app.resource_template("u://{ctx}/{id}")
    async def item(id: str, ctx: Context) -> str:
        return id

    call = plan("resources/read", {"uri": "u://sneaky/7"}, app=app)
    assert (call.kwargs, call.context_param) == ({"id": "7"}, "ctx")


def test_resource_not_found_per_era() -> None:
    handshake = plan("resources/read", {"uri": "x://none"})
    stateless = plan("resources/read", {"uri": "x://none"}, session=None)
    assert handshake == error(1, -32002, "Resource not found: x://none", {"uri": "x://none"})
    assert stateless == error(1, -32602, "Resource not found: x://none", {"uri": "x://none"})


# -- prompts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, 1])
def test_prompt_needs_a_string_name(name: Any) -> None:
    params = {} if name is None else {"name": name}
    assert plan("prompts/get", params) == error(1, -32602, "Invalid params: prompts/get needs a string name")


def test_prompt_argument_validation() -> None:
    assert plan("prompts/get", {"name": "nope"}) == error(1, -32602, "Unknown prompt: 'nope'")
    message = "Invalid params: prompt arguments must be an object of strings"
    for arguments in (["Ada"], "Ada", {"name": 5}, {"name": "Ada", "punctuation": None}):
        assert plan("prompts/get", {"name": "greet", "arguments": arguments}) == error(1, -32602, message)
    missing = "Missing required argument(s) for prompt 'greet': ['name']"
    for arguments in (None, {}, {"punctuation": "?"}):
        assert plan("prompts/get", {"name": "greet", "arguments": arguments}) == error(1, -32602, missing)


def test_prompt_call() -> None:
    app = demo_app()
    call = plan("prompts/get", {"name": "greet", "arguments": {"name": "Ada", "extra": "dropped"}}, app=app)
    assert call == Call(1, "prompt", app.prompts["greet"].fn, {"name": "Ada"}, name="greet")
    assert call.convert("Hi") == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Hi"}}],
        "description": "Greets someone.",
    }
    stateless = stateless_app()
    call = plan("prompts/get", {"name": "greet", "arguments": {"name": "Ada", "ctx": "x"}}, app=stateless)
    assert (call.kwargs, call.context_param) == ({"name": "Ada"}, "ctx")


def test_prompt_without_description() -> None:
    app = App("p")

    @app.prompt()
    async def bare() -> str:
        return "x"

    assert plan("prompts/get", {"name": "bare"}, app=app).convert("x") == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "x"}}]
    }


# -- completion -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        None,
        {"ref": {"type": "ref/prompt"}},
        {"argument": {"name": "a"}},
        {"ref": "greet", "argument": {"name": "a"}},
        {"ref": {}, "argument": "a"},
        {"ref": {}, "argument": {"value": "x"}},
        {"ref": {}, "argument": {"name": 3}},
    ],
)
def test_completion_needs_ref_and_argument_name(params: Any) -> None:
    assert plan("completion/complete", params) == error(
        1, -32602, "Invalid params: completion/complete needs ref and argument.name"
    )


def test_completion_without_a_completer_is_empty() -> None:
    params = {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}}
    assert plan("completion/complete", params) == {"completion": {"values": [], "total": 0, "hasMore": False}}


def test_completion_with_a_completer() -> None:
    app = demo_app()

    @app.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> list[str]:
        return []

    ref, argument = {"type": "ref/prompt", "name": "greet"}, {"name": "name", "value": "A"}
    call = plan("completion/complete", {"ref": ref, "argument": argument}, app=app, rid=4)
    assert call == Call(4, "completion", complete, {"ref": ref, "argument": argument, "context": {}}, name="complete")
    assert call.answers is None and call.cache is None
    assert call.convert(["Ada", "Alan"]) == {"completion": {"values": ["Ada", "Alan"], "total": 2, "hasMore": False}}
    context = {"arguments": {"x": "y"}}
    with_context = plan("completion/complete", {"ref": ref, "argument": argument, "context": context}, app=app)
    assert with_context.kwargs["context"] == context
    not_a_dict = plan("completion/complete", {"ref": ref, "argument": argument, "context": ["x"]}, app=app)
    assert not_a_dict.kwargs["context"] == {}


# -- stateless-only and session-only methods --------------------------------------------------------


def test_discover_is_stateless_only() -> None:
    app = App("d", instructions="Read me.")
    assert plan("server/discover", app=app, session=None) == {
        "supportedVersions": SUPPORTED,
        "capabilities": {"logging": {}, "completions": {}},
        "instructions": "Read me.",
    }
    assert plan("server/discover", app=App(), session=None) == {
        "supportedVersions": SUPPORTED,
        "capabilities": {"logging": {}, "completions": {}},
    }
    assert plan("server/discover", rid=5) == error(5, -32601, "Method not found: server/discover")


@pytest.mark.parametrize("method", ["subscriptions/listen", "nope", "resources/subscribe", "logging/setLevel"])
def test_other_methods_without_a_session_are_not_found(method: str) -> None:
    assert plan(method, {"uri": "u://x", "level": "info"}, session=None) == error(
        1, -32601, f"Method not found: {method}"
    )


def test_ping_is_empty() -> None:
    assert plan("ping") == {}


def test_set_level() -> None:
    change = plan("logging/setLevel", {"level": "error"})
    assert change == SessionChange(UpdateSession("s", log_level="error"), {})
    message = "Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, emergency"
    for params in (None, {"level": "loud"}, {"level": "ERROR"}, {"level": 3}):
        assert plan("logging/setLevel", params) == error(1, -32602, message)


def test_subscribe_and_unsubscribe() -> None:
    # Each change names only its URI (another instance may change the set at the same time)...
    subscribed = plan("resources/subscribe", {"uri": "test://b"})
    assert subscribed == SessionChange(UpdateSession("s", subscribe=frozenset({"test://b"})), {})
    gone = plan("resources/unsubscribe", {"uri": "test://a"})
    assert gone == SessionChange(UpdateSession("s", unsubscribe=frozenset({"test://a"})), {})
    # ...and applies to the record as a set operation.
    assert subscribed.update.apply_to(SESSION).subscriptions == frozenset({"test://a", "test://b"})
    assert plan("resources/subscribe", {"uri": "test://a"}).update.apply_to(SESSION) == SESSION
    assert gone.update.apply_to(SESSION).subscriptions == frozenset()
    assert plan("resources/unsubscribe", {"uri": "test://never"}).update.apply_to(SESSION) == SESSION
    for method in ("resources/subscribe", "resources/unsubscribe"):
        for params in (None, {"uri": 1}):
            assert plan(method, params) == error(1, -32602, f"Invalid params: {method} needs a string uri")


def test_initialize_inside_a_session_and_unknown_methods() -> None:
    assert plan("initialize", {"protocolVersion": "2025-11-25"}) == error(
        1, -32600, "Invalid Request: this session is already initialized"
    )
    assert plan("tasks/get", rid="u") == error("u", -32601, "Method not found: tasks/get")
