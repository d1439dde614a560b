"""The "everything" server: every fixture the MCP conformance scenarios name, plus a streaming tool.

Serve it with the bundled h11 server, or as an ASGI application::

    mcp-sansio serve examples/everything.py:app
    uvicorn examples.everything:asgi
    hypercorn --worker-class trio examples.everything:asgi
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio

from mcp_sansio import (
    INTERNAL_ERROR,
    App,
    Context,
    InputRequest,
    RemoteProtocolError,
    ToolError,
    audio,
    embedded_resource,
    image,
    text,
)
from mcp_sansio_asgi import AsgiApp

app = App("mcp-sansio-everything", "1.0.0")

# A 1x1 red PNG and a tiny WAV header, base64-encoded.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="


# -- tools ------------------------------------------------------------------------------------


@app.tool()
async def test_simple_text() -> str:
    """Returns a simple text response."""
    return "This is a simple text response for testing."


@app.tool()
async def test_image_content() -> dict[str, Any]:
    """Returns an image."""
    return image(PNG, "image/png")


@app.tool()
async def test_audio_content() -> dict[str, Any]:
    """Returns an audio clip."""
    return audio(WAV, "audio/wav")


@app.tool()
async def test_embedded_resource() -> dict[str, Any]:
    """Returns an embedded resource."""
    return embedded_resource(
        "test://embedded-resource", text="This is an embedded resource content.", mime_type="text/plain"
    )


@app.tool()
async def test_multiple_content_types() -> list[dict[str, Any]]:
    """Returns text, an image and an embedded resource."""
    return [
        text("Multiple content types test:"),
        image(PNG, "image/png"),
        embedded_resource(
            "test://mixed-content-resource", text='{"test":"data","value":123}', mime_type="application/json"
        ),
    ]


@app.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three log messages while it runs."""
    await ctx.log("info", "Tool execution started")
    await anyio.sleep(0.05)
    await ctx.log("info", "Tool processing data")
    await anyio.sleep(0.05)
    await ctx.log("info", "Tool execution completed")
    return "Tool with logging executed successfully"


@app.tool()
async def test_error_handling() -> str:
    """Always fails with a tool error."""
    raise ToolError("This tool intentionally returns an error for testing")


@app.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100."""
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await anyio.sleep(0.05)
    return "Progress test completed"


@app.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's model to answer a prompt."""
    result = await ctx.sample([{"role": "user", "content": text(prompt)}], max_tokens=100)
    content = result.get("content", {})
    answer = content.get("text", "") if isinstance(content, dict) else json.dumps(content)
    return f"LLM response: {answer}"


@app.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user for a username and an email address."""
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    result = await ctx.elicit(message, schema)
    return f"User response: action={result.get('action')}, content={json.dumps(result.get('content', {}))}"


@app.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Asks for a form whose fields all have defaults (SEP-1034)."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
        "required": [],
    }
    result = await ctx.elicit("Please review and update the form fields with defaults", schema)
    return f"Elicitation completed: action={result.get('action')}, content={json.dumps(result.get('content', {}))}"


def _titled(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"const": value, "title": title} for value, title in pairs]


@app.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Asks for every kind of enum field (SEP-1330)."""
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option",
                "enum": ["option1", "option2", "option3"],
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option with titles",
                "oneOf": _titled([("value1", "First Option"), ("value2", "Second Option"), ("value3", "Third Option")]),
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (handshake)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select multiple options",
                "minItems": 1,
                "maxItems": 3,
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
            },
            "titledMulti": {
                "type": "array",
                "description": "Select multiple options with titles",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "anyOf": _titled(
                        [("value1", "First Choice"), ("value2", "Second Choice"), ("value3", "Third Choice")]
                    )
                },
            },
        },
        "required": [],
    }
    result = await ctx.elicit("Please select options from the enum fields", schema)
    return f"Elicitation completed: action={result.get('action')}, content={json.dumps(result.get('content', {}))}"


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@app.tool(input_schema=JSON_SCHEMA_2020_12)
async def json_schema_2020_12_tool(**arguments: Any) -> str:
    """Tool with JSON Schema 2020-12 features ($schema, $defs, $anchor, allOf, if/then/else)."""
    return f"Received: {json.dumps(arguments, sort_keys=True)}"


@app.tool()
async def test_reconnection(ctx: Context) -> str:
    """Closes its SSE stream mid-call; the client resumes with Last-Event-ID (SEP-1699)."""
    await ctx.close_stream()
    await anyio.sleep(0.1)
    return (
        "Reconnection test completed successfully. If you received this, "
        "the client properly reconnected after stream closure."
    )


@app.tool()
async def stream_numbers(count: int, interval_ms: int = 0) -> AsyncIterator[str]:
    """Streams the numbers 1..count as separate chunks, interval_ms apart."""
    for number in range(1, count + 1):
        if interval_ms > 0 and number > 1:
            await anyio.sleep(interval_ms / 1000)
        yield str(number)


# -- 2026-07-28 diagnostics: capabilities, logging, subscriptions, multi-round-trip requests --------

NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CONFIRM_FORM = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


@app.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs sampling: a client that did not declare it gets -32021."""
    answer = await ctx.sample([{"role": "user", "content": text("Say hi")}], max_tokens=10)
    return f"Sampled: {json.dumps(answer.get('content'))}"


@app.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Asks for a name (an InputRequiredResult in 2026-07-28, never a request on the stream)."""
    answer = await ctx.elicit("What is your name?", NAME_FORM, key="user_name")
    return f"Hello, {answer.get('content', {}).get('name', 'stranger')}!"


@app.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs; the message is only sent when the request asked for a log level."""
    await ctx.log("info", "test_logging_tool ran")
    return "Logging tool completed"


@app.tool()
async def test_trigger_tool_change(ctx: Context) -> str:
    """Announces that the tool list changed, to every subscriber."""
    await ctx.list_changed("tools")
    return "Tool list change announced"


@app.tool()
async def test_trigger_prompt_change(ctx: Context) -> str:
    """Announces that the prompt list changed, to every subscriber."""
    await ctx.list_changed("prompts")
    return "Prompt list change announced"


@app.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks the user's name, then greets them."""
    answer = await ctx.elicit("What is your name?", NAME_FORM, key="user_name")
    if answer.get("action") != "accept":
        return f"No name given ({answer.get('action')})"
    return f"Hello, {answer.get('content', {}).get('name')}!"


@app.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's model a question."""
    question = [{"role": "user", "content": text("What is the capital of France?")}]
    answer = await ctx.sample(question, max_tokens=100, key="capital_question")
    return f"The model says: {json.dumps(answer.get('content'))}"


@app.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks the client for its roots."""
    answer = await ctx.list_roots(key="client_roots")
    return f"Roots: {json.dumps(answer.get('roots', []))}"


@app.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Asks for a confirmation; the request state carries it across rounds (state-ok)."""
    answer = await ctx.elicit("Please confirm", CONFIRM_FORM, key="confirm")
    return f"state-ok: confirmed={answer.get('content', {}).get('ok')}"


@app.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks for a name, a model greeting and the roots, all at once."""
    answers = await ctx.ask(
        {
            "user_name": InputRequest.elicitation("What is your name?", NAME_FORM),
            "greeting": InputRequest.sampling([{"role": "user", "content": text("Write a greeting")}], 50),
            "client_roots": InputRequest.roots(),
        }
    )
    return f"Got {', '.join(sorted(answers))}"


@app.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Asks two questions, one round each."""
    first = await ctx.elicit("What is your name?", NAME_FORM, key="step1")
    color_form = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
    second = await ctx.elicit("What is your favourite color?", color_form, key="step2")
    name, color = first.get("content", {}).get("name"), second.get("content", {}).get("color")
    return f"{name} likes {color}"


@app.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Asks for a confirmation; a tampered request state is refused."""
    answer = await ctx.elicit("Please confirm", CONFIRM_FORM, key="confirm")
    return f"confirmed={answer.get('content', {}).get('ok')}"


@app.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks only for what the client can answer: sampling, and elicitation if declared."""
    wanted = {"question": InputRequest.sampling([{"role": "user", "content": text("Pick a number")}], 10)}
    if ctx.has_capability("elicitation"):
        wanted["user_name"] = InputRequest.elicitation("What is your name?", NAME_FORM)
    answers = await ctx.ask(wanted)
    return f"Got {', '.join(sorted(answers))}"


@app.tool(
    input_schema={
        "type": "object",
        "properties": {"greeting": {"type": "string", "x-mcp-header": "Greeting"}},
        "required": ["greeting"],
    }
)
async def test_custom_header_tool(greeting: str) -> str:
    """Echoes a greeting that is mirrored in the Mcp-Param-Greeting header."""
    return f"Greeting: {greeting}"


# -- resources ----------------------------------------------------------------------------------


@app.resource("test://static-text", name="static-text", title="Static Text Resource", mime_type="text/plain")
async def static_text() -> str:
    """A static text resource for testing."""
    return "This is the content of the static text resource."


@app.resource("test://static-binary", name="static-binary", title="Static Binary Resource", mime_type="image/png")
async def static_binary() -> bytes:
    """A static binary resource (image) for testing."""
    import base64

    return base64.b64decode(PNG)


@app.resource("test://watched-resource", name="watched-resource", title="Watched Resource", mime_type="text/plain")
async def watched_resource() -> str:
    """A resource clients can subscribe to."""
    return "Watched resource content"


@app.resource_template(
    "test://template/{id}/data", name="template", title="Resource Template", mime_type="application/json"
)
async def template_data(id: str) -> str:
    """A resource template with parameter substitution."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


# -- prompts --------------------------------------------------------------------------------------


@app.prompt(title="Simple Test Prompt")
async def test_simple_prompt() -> str:
    """A simple prompt without arguments."""
    return "This is a simple prompt for testing."


@app.prompt()
async def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with required arguments."""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@app.prompt()
async def test_prompt_with_embedded_resource(resourceUri: str) -> list[dict[str, Any]]:
    """A prompt that includes an embedded resource."""
    return [
        {
            "role": "user",
            "content": embedded_resource(
                resourceUri, text="Embedded resource content for testing.", mime_type="text/plain"
            ),
        },
        {"role": "user", "content": text("Please process the embedded resource above.")},
    ]


@app.prompt()
async def test_prompt_with_image() -> list[dict[str, Any]]:
    """A prompt that includes image content."""
    return [
        {"role": "user", "content": image(PNG, "image/png")},
        {"role": "user", "content": text("Please analyze the image above.")},
    ]


@app.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the user for context first."""
    form = {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]}
    answer = await ctx.elicit("What context should the prompt use?", form, key="user_context")
    return f"Use this context: {answer.get('content', {}).get('context', '')}"


# -- tasks (the io.modelcontextprotocol/tasks extension of 2026-07-28) -------------------------------
# The fixtures the conformance suite's tasks-* scenarios name. 2025-11-25 sessions run the same tools
# as (experimental) tasks when a tools/call carries params.task.


@app.tool()
async def greet(name: str) -> str:
    """Greets; never a task."""
    return f"Hello, {name}!"


@app.tool(task_support="optional", on_lost="restart")
async def slow_compute(seconds: float, label: str = "") -> str:
    """Sleeps `seconds`, then answers; a task when the client can (restarted if its server dies)."""
    await anyio.sleep(seconds)
    return f"Computed {label or 'result'} after {seconds:g}s"


@app.tool(task_support="required")
async def failing_job() -> str:
    """Always a task; fails as a tool (isError) after about a second."""
    await anyio.sleep(1)
    raise ToolError("the job failed")


@app.tool(task_support="optional")
async def protocol_error_job() -> str:
    """A task that ends in a protocol-level error (the task fails)."""
    await anyio.sleep(0.1)
    raise RemoteProtocolError("Internal error: the job crashed", code=INTERNAL_ERROR)


@app.tool(task_support="optional")
async def confirm_delete(filename: str, ctx: Context) -> str:
    """A task that asks the user to confirm, then answers."""
    form = {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}
    answer = await ctx.elicit(f"Delete {filename}?", form, key="confirm")
    confirmed = answer.get("action") == "accept" and answer.get("content", {}).get("confirm") is True
    return f"Deleted {filename}" if confirmed else f"Kept {filename}"


@app.tool(task_support="optional")
async def multi_input(ctx: Context) -> str:
    """A task that asks two things at once; it completes once both are answered."""
    name_form = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    confirm_form = {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}
    answers = await ctx.ask(
        {
            "name": InputRequest.elicitation("Your name?", name_form),
            "confirm": InputRequest.elicitation("Proceed?", confirm_form),
        }
    )
    return f"Got {sorted(answers)}"


@app.tool(task_support="required", task_start="manual")
async def test_tool_with_task(ctx: Context) -> str:
    """Asks the user's name in the request (an input round), then becomes a task that uses it."""
    form = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    answer = await ctx.elicit("What is your name?", form, key="user_name")
    await ctx.start_task()
    await anyio.sleep(0.2)
    return f"Hello, {answer.get('content', {}).get('name', '')}, from a task"


# -- completion -------------------------------------------------------------------------------------

SUGGESTIONS = {"arg1": ["paris", "park", "party", "test", "testing"], "arg2": ["alpha", "beta", "gamma"]}


@app.completion()
async def complete(ref: dict[str, Any], argument: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """Suggests values for the arguments of test_prompt_with_arguments."""
    if ref.get("type") != "ref/prompt" or ref.get("name") != "test_prompt_with_arguments":
        return []
    prefix = str(argument.get("value", ""))
    return [value for value in SUGGESTIONS.get(str(argument.get("name")), []) if value.startswith(prefix)]


# -- ASGI ---------------------------------------------------------------------------------------

# With MCP_SANSIO_REDIS_URL set, sessions and event logs live in Redis (several instances, one session).
asgi = AsgiApp(
    app,
    redis_url=os.environ.get("MCP_SANSIO_REDIS_URL"),
    redis_prefix=os.environ.get("MCP_SANSIO_REDIS_PREFIX", "mcp:"),
)
