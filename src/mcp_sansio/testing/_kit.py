"""What one machine class draws from, built once per class: requests, mutations, junk; and its server.

Building hypothesis strategies is costly next to drawing from them, so a
:class:`Kit` is made the first time a machine class runs and reused by every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from mcp_sansio import App, Config, Server

from ._http import RawRequest, http_requests
from ._messages import invalid_jsonrpc_messages
from ._mutations import Mutation, mutations
from ._requests import McpRequest, mcp_requests

__all__ = ["Kit", "Target", "build_server"]

Target = App | Server | Callable[..., Server]


def build_server(target: Target, config: Config | None, **sources: Any) -> Server:
    """A fresh server for one run, with the machine's clock and id sources.

    An App is served by a plain :class:`~mcp_sansio.Server`; a Server is rebuilt as
    ``type(server)(server.app, config or server.config, **sources)`` (so a subclass
    keeps its behaviour); anything else is a factory called with ``**sources``.
    """
    if isinstance(target, App):
        return Server(target, config, **sources)
    if isinstance(target, Server):
        return type(target)(target.app, config or target.config, **sources)
    return target(**sources)


@dataclass(frozen=True)
class Kit:
    """The strategies of one machine class."""

    handshake: st.SearchStrategy[McpRequest]
    stateless: st.SearchStrategy[McpRequest]
    calls: st.SearchStrategy[McpRequest]
    batchable: st.SearchStrategy[McpRequest]
    invalid: st.SearchStrategy[Any]
    raw: st.SearchStrategy[RawRequest]
    mutations: dict[frozenset[str], st.SearchStrategy[Mutation]]

    @classmethod
    def of(cls, server: Server) -> Kit:
        """The strategies for ``server``'s app and configuration."""
        handshake = mcp_requests(server.app, "handshake")
        every = mutations(server.config)
        by_targets: dict[frozenset[str], st.SearchStrategy[Mutation]] = {}
        for targets in ({"stateless"}, {"post", "get", "delete"}, {"stateless", "post", "get", "delete"}):
            chosen = [m for m in every if m.target in targets]
            by_targets[frozenset(targets)] = st.sampled_from(chosen)
        return cls(
            handshake=handshake,
            stateless=mcp_requests(server.app, "stateless"),
            calls=mcp_requests(server.app, "handshake", calls_only=True),
            batchable=handshake.filter(lambda m: m.expect.status == 200),
            invalid=invalid_jsonrpc_messages(),
            raw=http_requests(),
            mutations=by_targets,
        )
