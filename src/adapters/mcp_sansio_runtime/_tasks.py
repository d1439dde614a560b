"""Running tasks in the background: their tools, their leases, cancellation, and the sweep for lost ones.

The core decides what each event means for a task's record; this module only runs
the tool, renews the run's lease while it works (so another runtime can tell a
dead runner from a slow one), stops it when the task no longer wants it, sweeps
for tasks whose runtime died, and wakes the ``tasks/result`` waits (2025-11-25) of a
task whose run here ended or was cancelled.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from mcp_sansio import Call, RunTask

from ._pump import store_failure
from ._sink import Sink

if TYPE_CHECKING:
    from mcp_sansio import TaskRun

    from ._runtime import Runtime

__all__ = ["TaskRunner"]

log = logging.getLogger("mcp_sansio")


class TaskRunner:
    """The tasks running in one runtime, by task id."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._scopes: dict[str, anyio.CancelScope] = {}
        # Per task id: the events of the waits that want to hear when a run of it ends here.
        self._watchers: dict[str, set[anyio.Event]] = {}

    @property
    def running(self) -> int:
        """How many task runs are in progress here."""
        return len(self._scopes)

    def start(self, output: RunTask) -> None:
        """Run a task's tool in the background (the core created or resumed the task)."""
        self._runtime.start_soon(self._run, output.call, output.run)

    def cancel(self, task_id: str) -> None:
        """Stop task ``task_id``'s tool if it runs here (its record already says cancelled)."""
        scope = self._scopes.get(task_id)
        if scope is not None:
            scope.cancel()
        self._wake(task_id)

    def watch(self, task_id: str) -> anyio.Event:
        """An event set when a run of ``task_id`` ends here, or it is cancelled here; :meth:`unwatch` it after."""
        event = anyio.Event()
        self._watchers.setdefault(task_id, set()).add(event)
        return event

    def unwatch(self, task_id: str, event: anyio.Event) -> None:
        """Forget an event :meth:`watch` gave."""
        events = self._watchers.get(task_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._watchers[task_id]

    def _wake(self, task_id: str) -> None:
        for event in self._watchers.pop(task_id, ()):
            event.set()

    def adopt(self, run: TaskRun, scope: anyio.CancelScope) -> None:
        """A handler became task ``run`` (``ctx.start_task()``): keep its lease; cancelling stops ``scope``."""
        self._scopes[run.task_id] = scope
        self._runtime.start_soon(self._keep_lease, run, scope)

    def release(self, run: TaskRun) -> None:
        """The handler of an adopted run ended."""
        self._scopes.pop(run.task_id, None)
        self._wake(run.task_id)

    async def _run(self, call: Call, run: TaskRun) -> None:
        runtime = self._runtime
        with anyio.CancelScope() as scope:
            self._scopes[run.task_id] = scope
            try:
                async with anyio.create_task_group() as lease:
                    lease.start_soon(self._keep_lease, run, scope)
                    await runtime.invoke(call, run, Sink())
                    lease.cancel_scope.cancel()
            except Exception as exc:  # a store outage: the lease lapses and a sweep decides
                log.warning("task %s: its run failed and is left to the sweep: %s", run.task_id, store_failure(exc))
            finally:
                self._scopes.pop(run.task_id, None)
                self._wake(run.task_id)
        # A cancelled run writes nothing: tasks/cancel already stored "cancelled", and a
        # runtime stopping leaves its tasks to the lease, so another one restarts or fails them.

    async def _keep_lease(self, run: TaskRun, scope: anyio.CancelScope) -> None:
        runtime = self._runtime
        every = runtime.server.config.task_lease / 3
        while not run.done:
            await anyio.sleep(every)
            if run.done:
                return
            try:
                wanted = await runtime.run(run.renew())
            except Exception as exc:
                log.warning("task %s: cannot renew its lease: %s", run.task_id, store_failure(exc))
                continue
            if not wanted:  # cancelled elsewhere, or taken over after our lease ran out
                scope.cancel()
                return

    async def sweep_forever(self) -> None:
        """Every half lease: forget expired tasks, and restart or fail those whose runtime died."""
        runtime = self._runtime
        while True:
            await anyio.sleep(runtime.server.config.task_lease / 2)
            try:
                outputs = await runtime.run(runtime.server.sweep_tasks())
            except Exception as exc:
                log.warning("task sweep failed: %s", store_failure(exc))
                continue
            await runtime.carry_out(outputs, Sink())
