"""Servers with one deliberate bug each, the kind the peers' issue trackers report.

Each bug is real: the core runs unchanged, and the fault sits where such faults sit in
practice (a store, an id source, the code that hands answers out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from mcp_sansio import (
    App,
    Call,
    Config,
    Exchange,
    HttpRequest,
    LogSlice,
    MemoryStore,
    Output,
    Plan,
    ReadEvents,
    RunHandler,
    SendResponse,
    Server,
    StoreCommand,
)


class ReplaysTwice(MemoryStore):
    """A store whose replay hands out the first missed event twice (an off-by-one in a range read)."""

    def execute(self, command: StoreCommand) -> Any:
        answer = super().execute(command)
        if isinstance(command, ReadEvents) and isinstance(answer, LogSlice) and answer.events:
            events = (answer.events[0], *answer.events)
            return LogSlice(answer.known, events, answer.first_seq, answer.last_seq, answer.final)
        return answer


class RepeatsStreamKeys(Server):
    """A server whose stream keys repeat (a "random" key source seeded the same way every time).

    Two streams of one session then share a key, so event ids ``k-1``, ``k-2``... name both.
    """

    def __init__(self, app: App, config: Config | None = None, **sources: Any) -> None:
        sources["new_stream_key"] = lambda: "k"
        super().__init__(app, config, **sources)


class _SendsTwice:
    """An exchange whose completed answers leave twice (a retry loop that forgot it had succeeded)."""

    def __init__(self, inner: Exchange) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def complete(self, call: Call, value: Any) -> Plan[list[Output]]:
        outputs: list[Output] = yield from self._inner.complete(call, value)
        return [*outputs, *(o for o in outputs if isinstance(o, SendResponse))]


class AnswersTwice(Server):
    """A server that sends a finished handler's JSON answer twice."""

    def receive(self, request: HttpRequest, body: bytes = b"", *, checked: bool = False) -> Plan[list[Output]]:
        outputs = yield from super().receive(request, body, checked=checked)
        return [RunHandler(o.call, _SendsTwice(o.exchange)) if isinstance(o, RunHandler) else o for o in outputs]  # type: ignore[arg-type]


def streaming_app() -> App:
    """A server of one streaming tool: every call opens a stream."""
    app = App("streaming", "1.0")

    @app.tool()
    async def count(n: int) -> AsyncIterator[str]:
        """Stream 1..n."""
        for i in range(1, n + 1):
            yield str(i)

    return app
