"""The official MCP Python SDK client against the everything example, on asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_sansio import App
from mcp_sansio_h11.cli import load_target
from tests.adapters.conftest import Running, start

pytestmark = pytest.mark.anyio
EVERYTHING = Path(__file__).resolve().parents[2] / "examples" / "everything.py"


@pytest.fixture(scope="module")
def everything() -> App:
    app = load_target(f"{EVERYTHING}:app")
    assert isinstance(app, App)
    return app


@pytest.fixture
async def server(flavour: str, everything: App) -> AsyncIterator[Running]:
    async with anyio.create_task_group() as tg:
        yield await start(tg, flavour, everything)
        tg.cancel_scope.cancel()


async def test_sdk_client_lists_calls_reads_and_gets(server: Running) -> None:
    async with Client(server.url, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        tools = await client.list_tools()
        names = {tool.name for tool in tools.tools}
        assert {"test_simple_text", "stream_numbers", "json_schema_2020_12_tool"} <= names
        result = await client.call_tool("test_simple_text", {})
        assert result.content[0].text == "This is a simple text response for testing."  # type: ignore[union-attr]
        error = await client.call_tool("test_error_handling", {})
        assert error.is_error is True
        resource = await client.read_resource("test://template/42/data")
        assert '"id": "42"' in resource.contents[0].text  # type: ignore[union-attr]
        binary = await client.read_resource("test://static-binary")
        assert binary.contents[0].mime_type == "image/png"
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert prompt.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'"  # type: ignore[union-attr]
        completion = await client.complete(
            {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, {"name": "arg1", "value": "pa"}
        )
        assert completion.completion.values == ["paris", "park", "party"]


async def test_sdk_client_speaks_2026_07_28_by_default(server: Running) -> None:
    async with Client(server.url) as client:
        assert client.protocol_version == "2026-07-28"
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "stream_numbers" in names
        result = await client.call_tool("test_simple_text", {})
        assert result.content[0].text == "This is a simple text response for testing."  # type: ignore[union-attr]
        resource = await client.read_resource("test://static-text")
        assert resource.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        prompt = await client.get_prompt("test_simple_prompt")
        assert prompt.messages[0].content.text == "This is a simple prompt for testing."  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_streaming_tool_chunks_reach_the_progress_callback_in_order(server: Running, mode: str) -> None:
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with Client(server.url, mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool(
            "stream_numbers", {"count": 20, "interval_ms": 1}, progress_callback=on_progress
        )
    assert seen == [(float(i), str(i)) for i in range(1, 21)]
    assert [block.text for block in result.content] == [str(i) for i in range(1, 21)]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sampling_and_elicitation_round_trip(server: Running, mode: str) -> None:
    async def sampling(context: Any, params: Any) -> Any:
        from mcp_types import CreateMessageResult, TextContent

        return CreateMessageResult(role="assistant", content=TextContent(type="text", text="hi"), model="m")

    async def elicitation(context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        return ElicitResult(action="accept", content={"username": "u", "email": "e@x"})

    async with Client(
        server.url,
        mode=mode,
        sampling_callback=sampling,
        elicitation_callback=elicitation,  # type: ignore[arg-type]
    ) as client:
        sampled = await client.call_tool("test_sampling", {"prompt": "hello"})
        assert sampled.content[0].text == "LLM response: hi"  # type: ignore[union-attr]
        elicited = await client.call_tool("test_elicitation", {"message": "who?"})
        assert elicited.content[0].text == (  # type: ignore[union-attr]
            'User response: action=accept, content={"username": "u", "email": "e@x"}'
        )


async def test_sdk_client_resumes_a_stream_the_server_closed(server: Running) -> None:
    # test_reconnection closes its POST stream after the priming event (SEP-1699); the SDK client
    # reconnects with GET and Last-Event-ID and must get the result exactly once.
    async with Client(server.url, mode="legacy") as client:
        result = await client.call_tool("test_reconnection", {})
    assert result.is_error is False
    assert result.content[0].text.startswith("Reconnection test completed successfully")  # type: ignore[union-attr]
