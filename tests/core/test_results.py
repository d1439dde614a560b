"""Handler return values to MCP result objects (mcp_sansio._results)."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_sansio import ClientError, ToolError, audio, embedded_resource, image, text
from mcp_sansio._results import (
    chunk_blocks,
    completion_result,
    prompt_result,
    resource_result,
    tool_error_result,
    tool_result,
)

# --- content blocks -------------------------------------------------------------------------


def test_block_builders() -> None:
    assert text("hi") == {"type": "text", "text": "hi"}
    assert text("") == {"type": "text", "text": ""}
    assert image("aGk=", "image/png") == {"type": "image", "data": "aGk=", "mimeType": "image/png"}
    assert audio("aGk=", "audio/wav") == {"type": "audio", "data": "aGk=", "mimeType": "audio/wav"}


def test_embedded_resource() -> None:
    assert embedded_resource("file:///a.txt", text="body") == {
        "type": "resource",
        "resource": {"uri": "file:///a.txt", "text": "body"},
    }
    assert embedded_resource("file:///a.bin", blob="AAE=", mime_type="application/octet-stream") == {
        "type": "resource",
        "resource": {"uri": "file:///a.bin", "mimeType": "application/octet-stream", "blob": "AAE="},
    }
    assert embedded_resource("x://y", text="") == {"type": "resource", "resource": {"uri": "x://y", "text": ""}}


@pytest.mark.parametrize(
    ("value", "blocks"),
    [
        (None, []),
        ("hi", [{"type": "text", "text": "hi"}]),
        ("", [{"type": "text", "text": ""}]),
        (
            {"type": "image", "data": "x", "mimeType": "image/png"},
            [{"type": "image", "data": "x", "mimeType": "image/png"}],
        ),
        ({"a": 1}, [{"type": "text", "text": '{"a":1}'}]),
        ({"type": 1}, [{"type": "text", "text": '{"type":1}'}]),
        (0, [{"type": "text", "text": "0"}]),
        (1.5, [{"type": "text", "text": "1.5"}]),
        (False, [{"type": "text", "text": "false"}]),
        ("\u00e9\u2603", [{"type": "text", "text": "\u00e9\u2603"}]),
        (["a", None, ["b", ("c",)], 2], [text("a"), text("b"), text("c"), text("2")]),
        ((), []),
        ([], []),
    ],
)
def test_chunk_blocks(value: Any, blocks: list[dict[str, Any]]) -> None:
    assert chunk_blocks(value) == blocks


def test_chunk_blocks_refuses_non_json_values() -> None:
    with pytest.raises(TypeError):
        chunk_blocks(object())
    with pytest.raises(ValueError):
        chunk_blocks(float("nan"))


# --- tools ------------------------------------------------------------------------------------


def test_tool_result_unstructured() -> None:
    assert tool_result("ok", structured=False) == {"content": [text("ok")]}
    assert tool_result(None, structured=False) == {"content": []}
    assert tool_result(["a", "b"], structured=False) == {"content": [text("a"), text("b")]}
    assert tool_result({"x": 1}, structured=False) == {"content": [text('{"x":1}')]}
    assert tool_result(42, structured=False) == {"content": [text("42")]}


def test_tool_result_structured() -> None:
    assert tool_result({"temp": 21.5, "unit": "C"}, structured=True) == {
        "content": [text('{"temp":21.5,"unit":"C"}')],
        "structuredContent": {"temp": 21.5, "unit": "C"},
    }
    # Only dicts become structured content.
    assert tool_result("plain", structured=True) == {"content": [text("plain")]}
    assert tool_result([1], structured=True) == {"content": [text("1")]}


def test_tool_result_passes_complete_results_through() -> None:
    complete = {"content": [text("x")], "isError": False, "_meta": {"k": 1}}
    assert tool_result(complete, structured=False) is complete
    assert tool_result(complete, structured=True) is complete
    # "content" that is not a list does not make a complete result.
    assert tool_result({"content": "x"}, structured=False) == {"content": [text('{"content":"x"}')]}


def test_tool_result_block_dict_is_one_block() -> None:
    block = image("AA==", "image/png")
    assert tool_result(block, structured=False) == {"content": [block]}


def test_tool_error_result() -> None:
    assert tool_error_result("boom") == {"content": [text("boom")], "isError": True}


def test_tool_error_and_client_error() -> None:
    assert str(ToolError("nope")) == "nope"
    err = ClientError(-32601, "Method not found", {"m": "x"})
    assert (err.code, err.message, err.data) == (-32601, "Method not found", {"m": "x"})
    assert str(err) == "Method not found (-32601)"
    assert ClientError(1, "m").data is None


# --- resources ----------------------------------------------------------------------------------


def test_resource_result_text_and_blob() -> None:
    assert resource_result("file:///a", "hello", None) == {"contents": [{"uri": "file:///a", "text": "hello"}]}
    assert resource_result("file:///a", "hello", "text/plain") == {
        "contents": [{"uri": "file:///a", "text": "hello", "mimeType": "text/plain"}]
    }
    assert resource_result("file:///b", b"\x00\x01\xff", "application/octet-stream") == {
        "contents": [{"uri": "file:///b", "blob": "AAH/", "mimeType": "application/octet-stream"}]
    }
    assert resource_result("u", bytearray(b"hi"), None) == {"contents": [{"uri": "u", "blob": "aGk="}]}
    assert resource_result("u", memoryview(b"hi"), None) == {"contents": [{"uri": "u", "blob": "aGk="}]}
    assert resource_result("u", b"", None) == {"contents": [{"uri": "u", "blob": ""}]}


def test_resource_result_other_values_are_json_text() -> None:
    assert resource_result("u", {"text": "t"}, "text/plain") == {"contents": [{"uri": "u", "text": "t"}]}
    assert resource_result("u", 5, "application/json") == {
        "contents": [{"uri": "u", "text": "5", "mimeType": "application/json"}]
    }
    assert resource_result("u", None, None) == {"contents": [{"uri": "u", "text": "null"}]}


def test_resource_result_list_gives_several_contents() -> None:
    assert resource_result("u", ["a", b"b", ("c",)], "text/x") == {
        "contents": [
            {"uri": "u", "text": "a", "mimeType": "text/x"},
            {"uri": "u", "blob": "Yg==", "mimeType": "text/x"},
            {"uri": "u", "text": "c", "mimeType": "text/x"},
        ]
    }
    assert resource_result("u", [], None) == {"contents": []}


def test_resource_result_dict_may_set_its_own_uri() -> None:
    assert resource_result("u", {"uri": "other", "blob": "AA=="}, None) == {
        "contents": [{"uri": "other", "blob": "AA=="}]
    }


# --- prompts ------------------------------------------------------------------------------------


def test_prompt_result_string() -> None:
    assert prompt_result("Hello", None) == {"messages": [{"role": "user", "content": text("Hello")}]}
    assert prompt_result("Hello", "greeting") == {
        "messages": [{"role": "user", "content": text("Hello")}],
        "description": "greeting",
    }


def test_prompt_result_list_of_messages() -> None:
    assistant = {"role": "assistant", "content": text("Hi")}
    assert prompt_result(["Q", assistant, image("AA==", "image/png")], None) == {
        "messages": [
            {"role": "user", "content": text("Q")},
            assistant,
            {"role": "user", "content": image("AA==", "image/png")},
        ]
    }


def test_prompt_result_values_that_are_not_one_block_become_json_text() -> None:
    assert prompt_result([["a", "b"]], None) == {"messages": [{"role": "user", "content": text('["a","b"]')}]}
    assert prompt_result({"k": 1}, None) == {"messages": [{"role": "user", "content": text('{"k":1}')}]}


def test_prompt_result_passes_complete_results_through() -> None:
    complete = {"messages": [], "description": "d"}
    assert prompt_result(complete, "ignored") is complete


# --- completions ---------------------------------------------------------------------------------


def test_completion_result() -> None:
    assert completion_result(["a", "b"]) == {"completion": {"values": ["a", "b"], "total": 2, "hasMore": False}}
    assert completion_result(None) == {"completion": {"values": [], "total": 0, "hasMore": False}}
    assert completion_result([]) == {"completion": {"values": [], "total": 0, "hasMore": False}}
    assert completion_result([1, 2.5]) == {"completion": {"values": ["1", "2.5"], "total": 2, "hasMore": False}}
    assert completion_result(("x",)) == {"completion": {"values": ["x"], "total": 1, "hasMore": False}}


@pytest.mark.parametrize(("count", "has_more"), [(99, False), (100, False), (101, True), (250, True)])
def test_completion_result_caps_at_100(count: int, has_more: bool) -> None:
    values = [f"v{i}" for i in range(count)]
    result = completion_result(values)["completion"]
    assert result["values"] == values[:100]
    assert result["total"] == count
    assert result["hasMore"] is has_more


def test_completion_result_passes_complete_results_through() -> None:
    complete = {"completion": {"values": ["x"], "hasMore": True}}
    assert completion_result(complete) is complete
