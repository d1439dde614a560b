"""Hypothesis strategies for MCP over Streamable HTTP, for your own ``@given`` tests.

- :func:`json_values`, :func:`request_ids`: JSON values and JSON-RPC ids.
- :func:`jsonrpc_messages`, :func:`invalid_jsonrpc_messages`: messages, valid and
  subtly invalid (each invalid one must get HTTP 400 and -32600).
- :func:`mcp_requests`: requests for an app's tools, resources and prompts, per
  method and per era, each with the answer the specification requires (:class:`Expect`);
  :meth:`McpRequest.http` makes one the whole POST of a given revision.
- :func:`tool_arguments`: arguments generated from a tool's input schema, valid or not.
- :func:`header_sets`, :func:`http_requests`: header sets and whole raw requests.

Example::

    from hypothesis import given
    from mcp_sansio.testing.strategies import tool_arguments

    @given(tool_arguments(app.tools["add"].input_schema, valid=False))
    def test_add_refuses_what_it_does_not_declare(arguments): ...
"""

from ._arguments import tool_arguments
from ._http import RawRequest, header_sets, http_requests
from ._messages import invalid_jsonrpc_messages, json_values, jsonrpc_messages, request_ids
from ._requests import Expect, McpRequest, mcp_requests

__all__ = [
    "json_values",
    "request_ids",
    "jsonrpc_messages",
    "invalid_jsonrpc_messages",
    "mcp_requests",
    "McpRequest",
    "Expect",
    "tool_arguments",
    "header_sets",
    "http_requests",
    "RawRequest",
]
