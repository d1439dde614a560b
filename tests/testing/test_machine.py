"""The protocol machine against the everything example, under tight limits, and its one-line API."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from mcp_sansio import HANDSHAKE_VERSIONS, App, Config, MemoryStore, Server
from mcp_sansio.testing import ProtocolMachine, machine_for
from mcp_sansio.testing._requests import ANSWER, McpRequest
from mcp_sansio_h11.cli import load_target
from tests.apps import demo_app, stateless_app
from tests.testing.conftest import Given

EVERYTHING = Path(__file__).resolve().parents[2] / "examples" / "everything.py"
everything = load_target(f"{EVERYTHING}:app")
assert isinstance(everything, App)

# The project's own server, as a user would test theirs: one line.
TestEverything = machine_for(
    everything, settings=settings(max_examples=80, stateful_step_count=30, deadline=None)
).TestCase

# Every limit small enough to be reached in a few steps: 429, 503, 413, 431, 410, evicted logs,
# stream polling (close after events and after seconds), request timeouts, GET leases.
TIGHT = Config(
    max_in_flight=2,
    max_sessions=2,
    max_events_per_stream=3,
    max_streams_per_session=2,
    sse_close_after_events=2,
    sse_close_after_seconds=5,
    session_idle_timeout=100,
    max_event_age=50,
    finished_stream_age=10,
    max_body_size=2000,
    max_header_count=12,
    server_request_timeout=20,
    get_stream_lease=30,
)


class TightMachine(ProtocolMachine):
    """The subclass form: class attributes instead of machine_for's arguments."""

    target = demo_app()
    config = TIGHT


TestTightLimits = TightMachine.TestCase
TestTightLimits.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
TestStateless = machine_for(
    stateless_app(), eras=("stateless",), settings=settings(max_examples=40, stateful_step_count=20, deadline=None)
).TestCase
TestSeveralGetStreams = machine_for(
    Server(demo_app(), Config(single_get_stream=False)),
    eras=("handshake",),
    settings=settings(max_examples=40, stateful_step_count=20, deadline=None),
).TestCase


def test_a_factory_target_gets_the_machine_clock_and_ids() -> None:
    seen: dict[str, object] = {}

    def factory(**sources: object) -> Server:
        seen.update(sources)
        return Server(demo_app(), **sources)  # type: ignore[arg-type]

    machine = machine_for(factory)()
    assert set(seen) == {"clock", "new_session_id", "new_stream_key", "state_key"}
    assert machine.rt.server.clock() == 1000.0
    assert machine.client.initialize("2025-11-25", {}) is not None
    assert machine.rt.sessions["session1"].version == "2025-11-25"


def test_machine_for_names_the_machine_and_takes_settings() -> None:
    chosen = settings(max_examples=3)
    machine = machine_for(Server(demo_app()), store=MemoryStore, settings=chosen)
    assert machine.__name__ == "ProtocolMachine[demo]"
    assert machine.TestCase.settings is chosen
    assert issubclass(machine, ProtocolMachine)


def test_eras_must_be_known() -> None:
    with pytest.raises(ValueError, match="eras"):
        machine_for(demo_app(), eras=("modern",))
    with pytest.raises(ValueError, match="eras"):
        machine_for(demo_app(), eras=())


def test_a_machine_without_target_says_so() -> None:
    with pytest.raises(TypeError, match="target is not set"):
        ProtocolMachine()


# The machine found this one: a batch whose every request was refused once got no answer at all.
def test_a_batch_whose_every_request_is_refused_still_gets_an_answer() -> None:
    machine = machine_for(demo_app(), config=TIGHT)()
    machine.initialize(version=HANDSHAKE_VERSIONS.index("2025-03-26"), capabilities={})
    slow = McpRequest("tools/call", {"name": "count", "arguments": {"n": 1}}, ANSWER)
    for _ in range(2):  # max_in_flight requests left running
        machine.call(Given(slow), pick=0, token=False, eager=False)
    ping = McpRequest("ping")
    machine.request(Given(ping, ping), pick=0, token=False, id_kind="int", eager=False, batch=6)


def test_run_state_machine_as_test_passes_on_a_correct_server() -> None:
    run_state_machine_as_test(
        machine_for(demo_app()),
        settings=settings(
            max_examples=5, stateful_step_count=10, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
