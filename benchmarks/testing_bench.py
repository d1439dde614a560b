"""The testing kit's state machine, in this process: steps per second against the everything example.

Hypothesis drives :class:`mcp_sansio.testing.ProtocolMachine` as a user's test would:
it picks each step, generates its data, the core answers, the machine runs the handlers
and checks every output. The row counts the steps of every example (generation only,
no shrinking: nothing fails) over the wall time, hypothesis included.
Run it alone with ``python -m benchmarks.testing_bench``.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mcp_sansio.testing import machine_for
from mcp_sansio_h11.cli import load_target

from .report import Result

__all__ = ["testing_results", "steps_per_second"]

EVERYTHING = Path(__file__).resolve().parents[1] / "examples" / "everything.py"
STEPS = 30  # steps per example, as a user's suite would run them


def steps_per_second(examples: int, steps: int = STEPS) -> float:
    """Machine steps per second over ``examples`` examples of ``steps`` steps against the everything app."""
    machine = machine_for(load_target(f"{EVERYTHING}:app"))
    done = [0]

    class Counted(machine):  # type: ignore[valid-type, misc]
        def teardown(self) -> None:
            done[0] += self.transcript.steps
            super().teardown()

    run_state_machine_as_test(Counted, settings=settings(max_examples=3, database=None))  # warm up
    done[0] = 0
    start = time.perf_counter()
    run_state_machine_as_test(
        Counted,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    return done[0] / (time.perf_counter() - start)


def testing_results(examples: int) -> list[Result]:
    """The testing kit's row of the table."""
    return [
        Result(
            "testing: state machine steps",
            "hypothesis + core (no sockets)",
            steps_per_second(examples),
            "steps/s",
            note=f"target >= 1,000; examples/everything.py, {examples} examples of {STEPS} steps",
        )
    ]


if __name__ == "__main__":
    for row in testing_results(300):
        print(f"{row.workload:<32} {row.value:>12,.0f} {row.unit}  ({row.note})")
