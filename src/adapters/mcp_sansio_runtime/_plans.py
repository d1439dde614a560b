"""Running the core's plans against a store, synchronous or awaited."""

from __future__ import annotations

import inspect
from typing import Any, Protocol, TypeVar

from mcp_sansio import Plan, Store, StoreCommand, run_plan

__all__ = ["AsyncStore", "PlanRunner", "StoreError"]

T = TypeVar("T")


class StoreError(Exception):
    """A store could not carry out a command: its backend is unreachable or answered something unusable.

    Stores raise it (or a subclass) for failures that are not bugs. The runtime then
    answers 503, ends the streams that needed the store with ``retry:``, ends the
    requests it interrupted with an error once the store answers again, and logs one
    line; any other exception is a bug and is logged with its traceback.
    """


class AsyncStore(Protocol):
    """A store whose answers must be awaited (a remote one): same commands, same answers as :class:`Store`."""

    async def execute(self, command: StoreCommand) -> Any:
        """Carry out ``command`` and return its answer."""


class PlanRunner:
    """Runs plans against one store; a synchronous store keeps the direct path (no await per command)."""

    def __init__(self, store: Store | AsyncStore) -> None:
        self.store = store
        self._sync: Store | None = None if inspect.iscoroutinefunction(store.execute) else store

    @property
    def synchronous(self) -> bool:
        """Whether the store answers without being awaited (then a command costs no round trip)."""
        return self._sync is not None

    async def run(self, plan: Plan[T]) -> T:
        """Execute a plan's store commands and return its result."""
        if self._sync is not None:
            return run_plan(plan, self._sync)
        execute = self.store.execute
        try:
            command = next(plan)
            while True:
                command = plan.send(await execute(command))
        except StopIteration as stop:
            result: T = stop.value
            return result
