"""The :class:`mcp_sansio.Context` that the runtime hands to handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from mcp_sansio import (
    Call,
    ClientError,
    ErrorResponse,
    Exchange,
    InputRequest,
    Output,
    Plan,
    Principal,
    RequestId,
    TaskRun,
)

if TYPE_CHECKING:
    from ._runtime import Runtime
    from ._sink import Sink

__all__ = ["HandlerContext"]


class HandlerContext:
    """What a running handler can do: the runtime's implementation of :class:`mcp_sansio.Context`.

    Every message it sends is framed, routed and numbered by the core (through
    the call's :class:`~mcp_sansio.Exchange`); the runtime only carries out the result.
    """

    def __init__(self, runtime: Runtime, call: Call, exchange: Exchange | TaskRun, sink: Sink) -> None:
        self._runtime, self._call, self._exchange, self._sink = runtime, call, exchange, sink
        # The handler's cancel scope (set by the runtime), so a task it becomes can be cancelled.
        self.scope: anyio.CancelScope | None = None

    @property
    def reporter(self) -> Exchange | TaskRun:
        """What the handler's doings are reported to: its request's exchange, or the task it became."""
        return self._exchange

    @property
    def task_id(self) -> str | None:
        """The task this handler runs as, if it runs as one."""
        return self._exchange.task_id if isinstance(self._exchange, TaskRun) else None

    async def start_task(self) -> None:
        """Become a task now (tools declared ``task_start="manual"``): the client gets its ``CreateTaskResult``.

        From here on the handler runs in the background; what it returns becomes the
        task's result. Inside a task already (a resumed or restarted run), it does nothing.

        Raises:
            LocalProtocolError: The tool does not support tasks, or the client lacks the extension.
        """
        if isinstance(self._exchange, TaskRun):
            return
        outputs, run = await self._runtime.run(self._exchange.start_task(self._call))
        await self._runtime.carry_out(outputs, self._sink)
        self._exchange = run
        if self.scope is not None:
            self._runtime.tasks.adopt(run, self.scope)

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request being served."""
        return self._call.request_id

    @property
    def session_id(self) -> str | None:
        """The handshake-era session's id (None when stateless)."""
        return self._exchange.session_id

    @property
    def protocol_version(self) -> str:
        """The protocol version the request is served under."""
        return self._exchange.peer.protocol_version

    @property
    def principal(self) -> Principal | None:
        """Who sent the request; None with authorization off."""
        return self._exchange.peer.principal

    def has_capability(self, name: str) -> bool:
        """Whether the client declared capability ``name``."""
        return self._exchange.peer.has_capability(name)

    async def _emit(self, plan: Plan[list[Output]]) -> None:
        await self._runtime.carry_out(await self._runtime.run(plan), self._sink)

    async def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` if the client's level lets it through."""
        await self._emit(self._exchange.log(self._call.request_id, level, data, logger))

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` (only if the client asked with a progressToken)."""
        await self._emit(self._exchange.progress(self._call, progress, total, message))

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send any notification related to this request."""
        await self._emit(self._exchange.notify(self._call.request_id, method, params))

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request to the client and wait for its result (handshake revisions only).

        Raises:
            ClientError: the client answered with a JSON-RPC error.
            TimeoutError: no answer within ``Config.server_request_timeout`` seconds (the
                client is told the request is cancelled).
        """
        plan = self._exchange.server_request(self._call.request_id, method, params)
        outgoing, outputs = await self._runtime.run(plan)
        session_id = self._exchange.session_id
        assert session_id is not None  # server_request refuses stateless exchanges
        timeout = self._runtime.server.config.server_request_timeout
        with anyio.move_on_after(timeout) as waiting:
            message = await self._runtime.wait_response(session_id, outgoing, outputs, self._sink)
        if waiting.cancelled_caught:
            reason = f"no answer to {method} within {timeout:g}s"
            await self._emit(self._exchange.abandon_request(self._call.request_id, outgoing, reason))
            raise TimeoutError(f"the client gave {reason}")
        if isinstance(message, ErrorResponse):
            raise ClientError(message.code, message.message, message.data)
        result: dict[str, Any] = message.result
        return result

    async def ask(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        """Ask the client for several inputs; the answers by key.

        Handshake revisions: one server-to-client request each, in order. Stateless:
        the answers the client sent back, or the round ends with an InputRequiredResult.
        """
        if self._exchange.asks_in_rounds:
            return self._exchange.inputs(self._call, requests)
        return {key: await self.request(r.method, r.params) for key, r in requests.items()}

    async def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str = "elicitation"
    ) -> dict[str, Any]:
        """Ask the user for structured input (``elicitation/create``, form mode)."""
        return (await self.ask({key: InputRequest.elicitation(message, requested_schema)}))[key]

    async def sample(
        self, messages: list[dict[str, Any]], max_tokens: int, *, key: str = "sampling", **params: Any
    ) -> dict[str, Any]:
        """Ask the client's model for a completion (``sampling/createMessage``)."""
        return (await self.ask({key: InputRequest.sampling(messages, max_tokens, **params)}))[key]

    async def list_roots(self, *, key: str = "roots") -> dict[str, Any]:
        """Ask the client for its roots (``roots/list``)."""
        return (await self.ask({key: InputRequest.roots()}))[key]

    async def close_stream(self) -> None:
        """Close the client's connection to this request's stream; the handler keeps running."""
        await self._emit(self._exchange.close_stream(self._call.request_id))

    async def list_changed(self, kind: str) -> None:
        """Tell every client that the list of ``kind`` (tools, prompts, resources) changed."""
        await self._runtime.list_changed(kind)

    async def resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed."""
        await self._runtime.resource_updated(uri)
