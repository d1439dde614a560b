"""The machine finds each deliberately broken server's bug and shrinks it to a short transcript."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from mcp_sansio import Config
from mcp_sansio.testing import ProtocolMachine, ProtocolViolation, machine_for
from tests.apps import demo_app
from tests.testing.broken import AnswersTwice, RepeatsStreamKeys, ReplaysTwice, streaming_app

# Deterministic whatever the profile: each bug must be found, and shrunk, on every run.
HUNT = settings(
    max_examples=200,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)


def hunt(machine: type[ProtocolMachine]) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation) as info:
        run_state_machine_as_test(machine, settings=HUNT)
    print(info.value)  # the transcript, for whoever reads the test log
    return info.value


def test_a_replay_that_repeats_an_event() -> None:
    found = hunt(machine_for(demo_app(), store=ReplaysTwice))
    assert "must deliver exactly the missed events" in found.problem
    assert found.steps <= 4
    assert "GET /mcp" in found.transcript


def test_an_event_id_reused_across_streams() -> None:
    # Several GET readers are allowed here, so the repeated key shows as what it is: reused event ids.
    server = RepeatsStreamKeys(streaming_app(), Config(single_get_stream=False))
    found = hunt(machine_for(server, eras=("handshake",)))
    assert "stream key 'k' reused" in found.problem
    assert "event ids k-N would name two streams" in found.problem
    assert found.steps <= 4
    assert found.transcript.count("< 200 (SSE)") >= 2


def test_a_request_answered_twice() -> None:
    found = hunt(machine_for(AnswersTwice(demo_app())))
    assert "answered twice" in found.problem
    assert found.steps <= 3
    number = found.problem.split("#")[1].split()[0]
    assert found.transcript.count(f"#{number} < 200") == 2
