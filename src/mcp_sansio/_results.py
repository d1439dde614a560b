"""Turning what handlers return into MCP result objects (pure functions)."""

from __future__ import annotations

import base64
from typing import Any

from ._jsonrpc import dumps

__all__ = [
    "ToolError",
    "ClientError",
    "tool_result",
    "tool_error_result",
    "chunk_blocks",
    "resource_result",
    "prompt_result",
    "completion_result",
    "text",
    "image",
    "audio",
    "embedded_resource",
]

Block = dict[str, Any]


class ToolError(Exception):
    """Raise from a tool to answer with ``isError: true`` and this message."""


class ClientError(Exception):
    """The client answered a server-to-client request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.data = data


def text(value: str) -> Block:
    """A text content block."""
    return {"type": "text", "text": value}


def image(data: str, mime_type: str) -> Block:
    """An image content block (``data`` is base64)."""
    return {"type": "image", "data": data, "mimeType": mime_type}


def audio(data: str, mime_type: str) -> Block:
    """An audio content block (``data`` is base64)."""
    return {"type": "audio", "data": data, "mimeType": mime_type}


def embedded_resource(
    uri: str, *, text: str | None = None, blob: str | None = None, mime_type: str | None = None
) -> Block:
    """An embedded resource content block with ``text`` or base64 ``blob`` contents."""
    resource: dict[str, Any] = {"uri": uri}
    if mime_type is not None:
        resource["mimeType"] = mime_type
    if text is not None:
        resource["text"] = text
    if blob is not None:
        resource["blob"] = blob
    return {"type": "resource", "resource": resource}


def chunk_blocks(value: Any) -> list[Block]:
    """The content blocks of one returned or yielded value.

    A string becomes a text block, a dict with a ``type`` is a block, a list
    is flattened, None is nothing, anything else is rendered as JSON text.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [text(value)]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [block for item in value for block in chunk_blocks(item)]
    return [text(dumps(value).decode())]


def tool_result(value: Any, *, structured: bool) -> dict[str, Any]:
    """A ``CallToolResult`` for a tool's return value.

    Args:
        value: What the tool returned. A dict with a ``content`` list is taken
            as a complete result.
        structured: Whether the tool declares an output schema, in which case
            a dict value becomes ``structuredContent`` (and its JSON the text).
    """
    if isinstance(value, dict) and isinstance(value.get("content"), list):
        return value
    if structured and isinstance(value, dict):
        return {"content": [text(dumps(value).decode())], "structuredContent": value}
    return {"content": chunk_blocks(value)}


def tool_error_result(message: str) -> dict[str, Any]:
    """A ``CallToolResult`` reporting a tool execution error."""
    return {"content": [text(message)], "isError": True}


def _contents(uri: str, value: Any, mime_type: str | None) -> list[dict[str, Any]]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        item: dict[str, Any] = {"uri": uri, "blob": base64.b64encode(bytes(value)).decode()}
    elif isinstance(value, str):
        item = {"uri": uri, "text": value}
    elif isinstance(value, dict):
        return [{"uri": uri, **value}]
    elif isinstance(value, (list, tuple)):
        return [entry for part in value for entry in _contents(uri, part, mime_type)]
    else:
        item = {"uri": uri, "text": dumps(value).decode()}
    if mime_type is not None:
        item["mimeType"] = mime_type
    return [item]


def resource_result(uri: str, value: Any, mime_type: str | None) -> dict[str, Any]:
    """A ``ReadResourceResult``: str is text, bytes are a base64 blob, dicts are contents."""
    return {"contents": _contents(uri, value, mime_type)}


def _message(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "role" in value:
        return value
    blocks = chunk_blocks(value)
    return {"role": "user", "content": blocks[0] if len(blocks) == 1 else text(dumps(value).decode())}


def prompt_result(value: Any, description: str | None) -> dict[str, Any]:
    """A ``GetPromptResult``: a string is one user message, a list is several."""
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value
    items = value if isinstance(value, list) else [value]
    out: dict[str, Any] = {"messages": [_message(item) for item in items]}
    if description is not None:
        out["description"] = description
    return out


def completion_result(value: Any) -> dict[str, Any]:
    """A ``CompleteResult`` from a list of strings (capped at 100, as the spec requires) or a dict."""
    if isinstance(value, dict) and "completion" in value:
        return value
    values = [str(v) for v in (value or [])]
    return {"completion": {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}}
