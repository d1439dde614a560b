"""Waiting out ``tasks/result`` (2025-11-25): the runtime's side of :class:`~mcp_sansio.WaitTask`.

The core decides each step (:meth:`~mcp_sansio.Server.task_result`): the answer, an
input request for the client, or nothing yet. This only sleeps between steps, for
the task's poll interval, cut short when a run of the task on this runtime ends (so
a task run here is answered at once; one run elsewhere is seen at the next poll).
When a step asks the client for the task's input, it awaits the answer, for
``Config.server_request_timeout`` at most, and hands it to the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from mcp_sansio import TaskWaitStep, WaitTask

from ._sink import Sink

if TYPE_CHECKING:
    from ._runtime import Runtime

__all__ = ["wait_task"]


async def wait_task(runtime: Runtime, wait: WaitTask, sink: Sink) -> None:
    """Answer ``wait``'s ``tasks/result`` request once its task is over (or the core gives up)."""
    server = runtime.server
    try:
        with runtime.handling(wait.request_id, wait.exchange) as scope:
            while True:
                # Watch before looking, so a run that ends in between still wakes us.
                woken = runtime.tasks.watch(wait.task_id)
                try:
                    step = await runtime.run(server.task_result(wait))
                    if step.ask is not None:
                        await _ask(runtime, wait, step, sink)
                        continue
                    await runtime.carry_out(step.outputs, sink)
                    if step.done:
                        return
                    with anyio.move_on_after(wait.poll):
                        await woken.wait()
                finally:
                    runtime.tasks.unwatch(wait.task_id, woken)
        if scope.cancelled_caught:  # notifications/cancelled, the session's end, or a drain
            step = await runtime.run(server.task_result(wait, cancelled=True))
            await runtime.carry_out(step.outputs, sink)
    except Exception as exc:  # a failing store, or a bug: the request ends, the server serves on
        runtime.request_failed(wait.request_id, wait.exchange, sink, exc)


async def _ask(runtime: Runtime, wait: WaitTask, step: TaskWaitStep, sink: Sink) -> None:
    """Send the step's input request, await the client's answer, and give it to the core."""
    assert step.ask is not None and step.key is not None and wait.exchange.session_id is not None
    answer = None
    with anyio.move_on_after(runtime.server.config.server_request_timeout):
        answer = await runtime.wait_response(wait.exchange.session_id, step.ask, step.outputs, sink)
    outputs = await runtime.run(runtime.server.task_input(wait, step.key, step.ask, answer))
    await runtime.carry_out(outputs, sink)
