"""The App registry: decorators, derived schemas, descriptions, context detection, cache hints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from mcp_sansio import App, Context
from mcp_sansio._registry import PromptDef, ResourceDef, TemplateDef, ToolDef
from mcp_sansio._uritemplate import UriTemplate


async def _noop() -> str:
    return ""


# -- tools -----------------------------------------------------------------------------------


def test_tool_defaults_come_from_the_function() -> None:
    app = App("t")

    async def add(a: int, b: int = 2) -> str:
        """Add two integers.

        Indented details stay.
        """
        return str(a + b)

    assert app.tool()(add) is add
    tool = app.tools["add"]
    assert tool == ToolDef(
        "add",
        add,
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 2}},
            "required": ["a"],
        },
        "Add two integers.\n\nIndented details stay.",
    )
    assert tool.streaming is False
    assert tool.context_param is None
    assert tool.describe() == {
        "name": "add",
        "inputSchema": tool.input_schema,
        "description": "Add two integers.\n\nIndented details stay.",
    }
    assert tool.check_arguments({"a": 1}) is None
    assert tool.check_arguments({"a": "x"}) == "arguments.a must be of type integer"
    assert tool.convert("3") == {"content": [{"type": "text", "text": "3"}]}


def test_tool_options_override_and_describe() -> None:
    app = App("t")
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False}
    output = {"type": "object", "properties": {"n": {"type": "integer"}}}

    @app.tool(
        "search_docs",
        description="Search.",
        title="Search the docs",
        input_schema=schema,
        output_schema=output,
        annotations={"readOnlyHint": True},
    )
    async def search(**kwargs: Any) -> dict[str, int]:
        """Ignored docstring."""
        return {"n": 1}

    assert list(app.tools) == ["search_docs"]
    tool = app.tools["search_docs"]
    assert tool.input_schema is schema
    assert tool.describe() == {
        "name": "search_docs",
        "inputSchema": schema,
        "title": "Search the docs",
        "description": "Search.",
        "outputSchema": output,
        "annotations": {"readOnlyHint": True},
    }
    assert tool.convert({"n": 1}) == {"content": [{"type": "text", "text": '{"n":1}'}], "structuredContent": {"n": 1}}
    assert tool.check_arguments({"q": "x", "extra": 1}) is None  # the subset of 2020-12 the core checks


def test_tool_without_docstring_has_no_description() -> None:
    app = App("t")
    app.tool()(_noop)
    assert app.tools["_noop"].description is None
    assert "description" not in app.tools["_noop"].describe()


def test_whitespace_docstring_is_no_description() -> None:
    app = App("t")

    async def blank() -> None:
        """ """

    app.tool()(blank)
    app.resource("u://blank")(blank)
    assert app.tools["blank"].description is None
    assert app.resources["u://blank"].description is None


def test_duplicate_tool_names_are_refused() -> None:
    app = App("t")
    app.tool("x")(_noop)
    with pytest.raises(ValueError) as info:
        app.tool("x")(_noop)
    assert str(info.value) == "tool 'x' is already registered"
    app.tool()(_noop)
    with pytest.raises(ValueError, match="tool '_noop' is already registered"):
        app.tool()(_noop)
    assert list(app.tools) == ["x", "_noop"]


def test_context_parameter_is_detected_and_left_out_of_the_schema() -> None:
    app = App("t")

    @app.tool()
    async def chatty(text: str, ctx: Context) -> str:
        return text

    tool = app.tools["chatty"]
    assert tool.context_param == "ctx"
    assert tool.input_schema == {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}

    @app.tool()
    async def any_name(context_here: Context) -> str:
        return ""

    assert app.tools["any_name"].context_param == "context_here"
    assert app.tools["any_name"].input_schema == {"type": "object", "properties": {}}


def test_unresolvable_annotations_mean_no_context() -> None:
    app = App("t")

    async def odd(x: Undefined) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    # The schema cannot be derived, so the decorator fails loudly...
    with pytest.raises(NameError):
        app.tool()(odd)
    assert app.tools == {}
    # ...unless the schema is given; then no context parameter is recognised.
    app.tool(input_schema={"type": "object"})(odd)
    assert app.tools["odd"].context_param is None
    app.resource("u://odd")(odd)
    assert app.resources["u://odd"].context_param is None


def test_streaming_tools_are_async_generators() -> None:
    app = App("t")

    @app.tool()
    async def count(n: int) -> AsyncIterator[str]:
        yield str(n)

    async def plain(n: int) -> str:
        return str(n)

    def sync(n: int) -> str:
        return str(n)

    app.tool()(plain)
    app.tool()(sync)
    assert [t.streaming for t in app.tools.values()] == [True, False, False]


# -- resources and templates -----------------------------------------------------------------


def test_resource_defaults_and_options() -> None:
    app = App("r")

    async def readme(ctx: Context) -> str:
        """The readme."""
        return "hi"

    assert app.resource("file:///README.md")(readme) is readme
    resource = app.resources["file:///README.md"]
    assert resource == ResourceDef(
        "file:///README.md", "readme", readme, "The readme.", None, None, "ctx", (0, "private")
    )
    assert resource.describe() == {"uri": "file:///README.md", "name": "readme", "description": "The readme."}

    app.resource("u://x", name="X", description="An x.", mime_type="text/plain", title="The X")(_noop)
    assert app.resources["u://x"].describe() == {
        "uri": "u://x",
        "name": "X",
        "title": "The X",
        "description": "An x.",
        "mimeType": "text/plain",
    }
    app.resource("u://bare")(_noop)
    assert app.resources["u://bare"].describe() == {"uri": "u://bare", "name": "_noop"}


def test_duplicate_resource_uris_are_refused() -> None:
    app = App("r")
    app.resource("u://x")(_noop)
    with pytest.raises(ValueError) as info:
        app.resource("u://x", name="other")(_noop)
    assert str(info.value) == "resource 'u://x' is already registered"
    assert app.resources["u://x"].name == "_noop"


def test_template_defaults_and_options() -> None:
    app = App("r")

    async def user(id: str) -> str:
        """One user."""
        return id

    assert app.resource_template("demo://users/{id}")(user) is user
    template = app.templates[0]
    assert template == TemplateDef(
        UriTemplate.parse("demo://users/{id}"), "user", user, "One user.", cache=(0, "private")
    )
    assert template.describe() == {"uriTemplate": "demo://users/{id}", "name": "user", "description": "One user."}
    app.resource_template("demo://x/{a}", name="x", description="d", mime_type="application/json", title="T")(_noop)
    assert app.templates[1].describe() == {
        "uriTemplate": "demo://x/{a}",
        "name": "x",
        "title": "T",
        "description": "d",
        "mimeType": "application/json",
    }
    # Templates are tried in order; registering the same one twice is allowed.
    app.resource_template("demo://users/{id}")(_noop)
    assert len(app.templates) == 3


def test_invalid_templates_are_refused() -> None:
    app = App("r")
    with pytest.raises(ValueError, match="appears twice"):
        app.resource_template("u://{a}/{a}")(_noop)
    assert app.templates == []


def test_find_template_takes_the_first_match() -> None:
    app = App("r")
    app.resource_template("u://items/{id}", name="first")(_noop)
    app.resource_template("u://{kind}/{id}", name="second")(_noop)
    found = app.find_template("u://items/7")
    assert found is not None
    assert (found[0].name, found[1]) == ("first", {"id": "7"})
    found = app.find_template("u://users/7")
    assert found is not None
    assert (found[0].name, found[1]) == ("second", {"kind": "users", "id": "7"})
    assert app.find_template("v://items/7") is None
    assert App().find_template("u://items/7") is None


# -- cache hints ------------------------------------------------------------------------------------


def test_cache_hints_inherit_from_the_app_and_can_be_overridden() -> None:
    app = App("c", cache_ttl_ms=500, cache_scope="public")
    app.resource("u://a")(_noop)
    app.resource("u://b", ttl_ms=0)(_noop)
    app.resource("u://c", cache_scope="private")(_noop)
    app.resource("u://d", ttl_ms=9, cache_scope="private")(_noop)
    app.resource_template("u://t/{x}", ttl_ms=1)(_noop)
    app.resource_template("u://s/{x}", cache_scope="private")(_noop)
    assert [r.cache for r in app.resources.values()] == [
        (500, "public"),
        (0, "public"),
        (500, "private"),
        (9, "private"),
    ]
    assert [t.cache for t in app.templates] == [(1, "public"), (500, "private")]


@pytest.mark.parametrize(
    ("ttl_ms", "cache_scope"), [(-1, None), (None, "shared"), (None, "PUBLIC"), (-5, "public"), (1, "")]
)
def test_invalid_cache_hints_are_refused(ttl_ms: int | None, cache_scope: str | None) -> None:
    app = App("c")
    message = "ttl_ms must be >= 0 and cache_scope 'public' or 'private'"
    with pytest.raises(ValueError) as info:
        app.resource("u://a", ttl_ms=ttl_ms, cache_scope=cache_scope)(_noop)
    assert str(info.value) == message
    with pytest.raises(ValueError, match=message):
        app.resource_template("u://{a}", ttl_ms=ttl_ms, cache_scope=cache_scope)(_noop)
    assert app.resources == {} and app.templates == []


@pytest.mark.parametrize(("ttl", "scope"), [(-1, "private"), (0, "everyone")])
def test_invalid_app_cache_hints_are_refused(ttl: int, scope: str) -> None:
    with pytest.raises(ValueError, match="ttl_ms must be >= 0 and cache_scope 'public' or 'private'"):
        App("c", cache_ttl_ms=ttl, cache_scope=scope)


# -- prompts and completions -------------------------------------------------------------------------


def test_prompt_arguments_come_from_the_parameters() -> None:
    app = App("p")

    async def review(code: str, ctx: Context, language: str = "python") -> str:
        """Review some code."""
        return code

    assert app.prompt()(review) is review
    prompt = app.prompts["review"]
    assert prompt == PromptDef(
        "review",
        review,
        ({"name": "code", "required": True}, {"name": "language", "required": False}),
        "Review some code.",
        None,
        "ctx",
    )
    assert prompt.describe() == {
        "name": "review",
        "arguments": [{"name": "code", "required": True}, {"name": "language", "required": False}],
        "description": "Review some code.",
    }
    app.prompt("named", description="Explicit.", title="A title")(_noop)
    assert app.prompts["named"].describe() == {
        "name": "named",
        "arguments": [],
        "title": "A title",
        "description": "Explicit.",
    }
    app.prompt()(_noop)
    assert app.prompts["_noop"].describe() == {"name": "_noop", "arguments": []}


def test_a_second_prompt_of_the_same_name_is_refused() -> None:
    app = App("p")

    async def first() -> str:
        return "1"

    async def second() -> str:
        return "2"

    app.prompt("p")(first)
    with pytest.raises(ValueError, match="prompt 'p' is already registered"):
        app.prompt("p")(second)
    assert app.prompts["p"].fn is first


def test_completion_registers_the_completer() -> None:
    app = App("c")
    assert app.completer is None

    def complete(ref: Any, argument: Any, context: Any) -> list[str]:
        return ["a"]

    assert app.completion()(complete) is complete
    assert app.completer is complete


def test_app_defaults() -> None:
    app = App()
    assert (app.name, app.version, app.instructions, app.cache_ttl_ms, app.cache_scope) == (
        "mcp-sansio",
        "0.1.0",
        None,
        0,
        "private",
    )
    assert (app.tools, app.resources, app.templates, app.prompts, app.completer) == ({}, {}, [], {}, None)
    assert App().tools is not app.tools
