"""Running user handlers without an event loop, one await at a time.

A handler is an ``async def`` function or an async generator. The machine calls it
with a :class:`StepContext` and drives the coroutine by hand (``send``/``throw``):
every ``await ctx.something(...)`` suspends the handler with a :class:`_Step` that
the machine carries out through the call's :class:`~mcp_sansio.Exchange`, exactly
as the runtime would, and the next :meth:`HandlerTask.advance` resumes the handler
with the result. A streaming tool's ``yield`` becomes ``exchange.chunk``. So the
state machine can interleave a handler's every step with other clients' requests,
disconnects, resumes, cancellations and clock jumps, all deterministically.

Out of scope: handlers that await real I/O (``anyio.sleep``, sockets, a database
driver). Without an event loop such an await raises (anyio: "unknown async
library") or yields an object only a loop understands; the machine then ends the
handler, as a failure, and notes it in the transcript. The protocol invariants are
still checked; give such handlers in-memory fakes to test their own logic.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol, TypeVar

from mcp_sansio import (
    Call,
    ClientError,
    Exchange,
    InputRequest,
    InputRequired,
    Output,
    Plan,
    Principal,
    RequestId,
    Server,
    request_key,
)

from ._transcript import ProtocolViolation

__all__ = ["TaskHost", "HandlerTask", "StepContext"]

T = TypeVar("T")


class TaskHost(Protocol):
    """What running a handler needs from the machine."""

    server: Server

    def run(self, plan: Plan[T]) -> T:
        """Run a plan against the store."""

    def carry_out(self, outputs: list[Output], conn: Any) -> None:
        """Do what the core said, for the connection ``conn`` (None: no connection)."""

    def now(self) -> float:
        """The machine's clock."""

    def note(self, text: str) -> None:
        """Add a line to the transcript."""


class _Step:
    """One await of a handler: ``kind`` says what to do, ``args`` with what."""

    __slots__ = ("args", "kind")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self)


class _Then:
    """An awaitable: await ``inner``, then apply ``fn`` to its result."""

    __slots__ = ("fn", "inner")

    def __init__(self, inner: Awaitable[Any], fn: Callable[[Any], Any]) -> None:
        self.inner = inner
        self.fn = fn

    def __await__(self) -> Generator[Any, Any, Any]:
        return self.fn((yield from self.inner.__await__()))


class _AskInTurn:
    """Handshake ``ask``: one server-to-client request per input, in order."""

    __slots__ = ("requests",)

    def __init__(self, requests: dict[str, InputRequest]) -> None:
        self.requests = requests

    def __await__(self) -> Generator[Any, Any, dict[str, dict[str, Any]]]:
        answers = {}
        for key, request in self.requests.items():
            answers[key] = yield from _Step("request", request.method, request.params).__await__()
        return answers


class StepContext:
    """The :class:`mcp_sansio.Context` a handler gets from the machine; every await is one step."""

    def __init__(self, call: Call, exchange: Exchange) -> None:
        self._call, self._exchange = call, exchange

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request being served."""
        return self._call.request_id

    @property
    def session_id(self) -> str | None:
        """The handshake session's id (None when stateless)."""
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

    @property
    def task_id(self) -> str | None:
        """The machine runs no tasks: its clients do not declare the tasks extension."""
        return None

    def start_task(self) -> Awaitable[None]:
        """Become a task: refused as a server refuses it, since the machine's clients lack the extension."""

        def plan() -> Plan[list[Output]]:
            outputs, _ = yield from self._exchange.start_task(self._call)  # LocalProtocolError without it
            return outputs

        return _Step("emit", plan, "starts a task")

    def log(self, level: str, data: Any, logger: str | None = None) -> Awaitable[None]:
        """Send ``notifications/message`` if the client's level lets it through."""
        return _Step("emit", lambda: self._exchange.log(self._call.request_id, level, data, logger), f"logs {level}")

    def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> Awaitable[None]:
        """Send ``notifications/progress`` (only if the client asked with a progressToken)."""
        plan = lambda: self._exchange.progress(self._call, progress, total, message)  # noqa: E731
        return _Step("emit", plan, f"reports progress {progress:g}")

    def notify(self, method: str, params: dict[str, Any] | None = None) -> Awaitable[None]:
        """Send any notification related to this request."""
        return _Step("emit", lambda: self._exchange.notify(self._call.request_id, method, params), f"sends {method}")

    def request(self, method: str, params: dict[str, Any] | None = None) -> Awaitable[dict[str, Any]]:
        """Send a request to the client and wait for its answer (handshake revisions only)."""
        return _Step("request", method, params)

    def ask(self, requests: dict[str, InputRequest]) -> Awaitable[dict[str, dict[str, Any]]]:
        """Ask for several inputs: in rounds (2026-07-28) or one request each (handshake)."""
        if self._exchange.asks_in_rounds:
            return _Step("inputs", requests)
        return _AskInTurn(requests)

    def elicit(
        self, message: str, requested_schema: dict[str, Any], *, key: str = "elicitation"
    ) -> Awaitable[dict[str, Any]]:
        """Ask the user for structured input (``elicitation/create``, form mode)."""
        return _Then(self.ask({key: InputRequest.elicitation(message, requested_schema)}), lambda a: a[key])

    def sample(
        self, messages: list[dict[str, Any]], max_tokens: int, *, key: str = "sampling", **params: Any
    ) -> Awaitable[dict[str, Any]]:
        """Ask the client's model for a completion (``sampling/createMessage``)."""
        return _Then(self.ask({key: InputRequest.sampling(messages, max_tokens, **params)}), lambda a: a[key])

    def list_roots(self, *, key: str = "roots") -> Awaitable[dict[str, Any]]:
        """Ask the client for its roots (``roots/list``)."""
        return _Then(self.ask({key: InputRequest.roots()}), lambda a: a[key])

    def close_stream(self) -> Awaitable[None]:
        """Close the client's connection to this request's stream; the handler keeps running."""
        return _Step("emit", lambda: self._exchange.close_stream(self._call.request_id), "closes its stream")

    def list_changed(self, kind: str) -> Awaitable[None]:
        """Tell every client that the list of ``kind`` changed."""
        return _Step("unprompted", lambda server: server.list_changed(kind), f"announces {kind} list_changed")

    def resource_updated(self, uri: str) -> Awaitable[None]:
        """Tell every client subscribed to ``uri`` that it changed."""
        return _Step("unprompted", lambda server: server.resource_updated(uri), f"announces {uri} updated")


def _needs_a_loop(exc: BaseException) -> bool:
    """Whether ``exc`` is what awaiting real I/O without an event loop raises."""
    return type(exc).__name__ == "AsyncLibraryNotFoundError" or (
        isinstance(exc, RuntimeError) and "event loop" in str(exc)
    )


class HandlerTask:
    """One running handler, advanced one await at a time by the machine.

    Attributes:
        call: What to run.
        exchange: Where to report what it does.
        conn: The connection of the request (the machine's record; opaque here).
        done: Whether the handler has ended (its request then has its answer).
        waiting: The id of the server-to-client request it awaits, if any.
        deadline: When that wait times out (``Config.server_request_timeout``).
    """

    def __init__(self, call: Call, exchange: Exchange, conn: Any, host: TaskHost) -> None:
        self.call, self.exchange, self.conn, self._host = call, exchange, conn, host
        self.done = False
        self.started = False
        self.waiting: str | None = None
        self.deadline = 0.0
        self.reply: Any = None
        self._coro: Any = None
        self._agen: Any = None
        self._pending: Any = None
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def key(self) -> tuple[str | None, str]:
        """(session id, request key): how cancellations find this task."""
        return self.exchange.session_id, request_key(self.call.request_id)

    @property
    def label(self) -> str:
        """How the transcript names this handler."""
        return f"handler of request {self.call.request_id!r} ({self.call.kind} {self.call.name})"

    @property
    def blocked(self) -> bool:
        """Whether it waits for a client answer that has not come and has not timed out."""
        return self.waiting is not None and self.reply is None and self._host.now() < self.deadline

    def _report(self, plan: Plan[list[Output]]) -> None:
        self._host.carry_out(self._host.run(plan), self.conn)

    def _finish(self, plan: Plan[list[Output]]) -> None:
        self.done = True
        self._report(plan)

    def _fail(self, exc: BaseException) -> None:
        self.done = True
        if _needs_a_loop(exc):
            self._host.note(f"{self.label} awaited I/O without an event loop (out of scope): {exc!r}")
        else:
            self._host.note(f"{self.label} raises {exc!r}")
        if self.exchange.is_open(self.call.request_id):
            self._report(self.exchange.fail(self.call, exc))

    def _start(self) -> bool:
        self.started = True
        kwargs = dict(self.call.kwargs)
        if self.call.context_param is not None:
            kwargs[self.call.context_param] = StepContext(self.call, self.exchange)
        try:
            value = self.call.fn(**kwargs)
        except (Exception, InputRequired) as exc:
            self._fail(exc)
            return False
        if inspect.isasyncgen(value):
            self._agen = value
        elif inspect.iscoroutine(value):
            self._coro = value
        elif inspect.isawaitable(value):
            self._coro = value.__await__()
        else:
            self._host.note(f"{self.label} returns at once")
            self._finish(self.exchange.complete(self.call, value))
            return False
        return True

    def _take_reply(self) -> None:
        """Turn the client's answer (or its absence past the deadline) into what the await returns."""
        outgoing, reply = self.waiting, self.reply
        self.waiting, self.reply = None, None
        if reply is None:
            timeout = self._host.server.config.server_request_timeout
            reason = f"no answer within {timeout:g}s"
            self._report(self.exchange.abandon_request(self.call.request_id, str(outgoing), reason))
            self._error = TimeoutError(f"the client gave {reason}")
        elif isinstance(reply.get("error"), dict):
            error = reply["error"]
            self._error = ClientError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        else:
            self._value = reply.get("result")

    def advance(self) -> bool:
        """Run the handler up to its next await (and carry that await out); False if it could not move."""
        if self.done or self.blocked:
            return False
        if not self.started and not self._start():
            return True
        if self.waiting is not None:
            self._take_reply()
        value, error = self._value, self._error
        self._value = self._error = None
        try:
            if self._agen is not None and self._pending is None:
                self._pending = self._agen.asend(None)
            target = self._pending if self._agen is not None else self._coro
            step = target.throw(error) if error is not None else target.send(value)
        except StopIteration as stop:
            if self._agen is None:
                self._host.note(f"{self.label} returns")
                self._finish(self.exchange.complete(self.call, stop.value))
                return True
            self._pending = None
            self._host.note(f"{self.label} yields {stop.value!r}")
            try:
                self._report(self.exchange.chunk(self.call, stop.value))
            except ProtocolViolation:
                raise
            except Exception as exc:
                self._close()
                self._fail(exc)
        except StopAsyncIteration:
            self._host.note(f"{self.label} ends its stream")
            self._finish(self.exchange.complete(self.call, None))
        except (Exception, InputRequired) as exc:
            self._fail(exc)
        else:
            self._perform(step)
        return True

    def _perform(self, step: Any) -> None:
        if step is None:
            return  # a bare yield (asyncio.sleep(0)): just a scheduling point
        if not isinstance(step, _Step):
            self._close()
            self._fail(RuntimeError(f"awaited {type(step).__name__}, which needs an event loop"))
            return
        try:
            if step.kind == "emit":
                self._host.note(f"{self.label} {step.args[1]}")
                self._report(step.args[0]())
            elif step.kind == "unprompted":
                self._host.note(f"{self.label} {step.args[1]}")
                self._host.carry_out(self._host.run(step.args[0](self._host.server)), None)
            elif step.kind == "inputs":
                self._host.note(f"{self.label} asks for {sorted(step.args[0])}")
                self._value = self.exchange.inputs(self.call, step.args[0])
            else:
                self._host.note(f"{self.label} sends {step.args[0]} to the client")
                outgoing, outputs = self._host.run(self.exchange.server_request(self.call.request_id, *step.args))
                self.waiting = outgoing
                self.deadline = self._host.now() + self._host.server.config.server_request_timeout
                self._host.carry_out(outputs, self.conn)
        except ProtocolViolation:
            raise  # the server broke the protocol while carrying out the await: not the handler's business
        except (Exception, InputRequired) as exc:
            self._error = exc

    def _close(self) -> None:
        try:
            if self._pending is not None:
                self._pending.throw(GeneratorExit)
        except (Exception, GeneratorExit, InputRequired):  # whatever the handler does while it is torn down
            pass
        try:
            if self._agen is not None:
                closer = self._agen.aclose()
                try:
                    closer.send(None)
                finally:
                    closer.close()
            elif self._coro is not None:
                self._coro.close()
        except (Exception, GeneratorExit, InputRequired):
            pass

    def cancel(self, why: str) -> None:
        """Stop the handler (closing its coroutine or generator) and end its request as cancelled."""
        if self.done:
            return
        self.done = True
        self._host.note(f"{self.label} is cancelled ({why})")
        self._close()
        if self.exchange.is_open(self.call.request_id):
            self._report(self.exchange.cancelled(self.call))
