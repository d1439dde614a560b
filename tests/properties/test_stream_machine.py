"""The testing kit's protocol machine against the demo app: the invariants every server on the core keeps.

:func:`mcp_sansio.testing.machine_for` drives sessions of every revision and stateless
requests through streaming tools, logs, disconnects, resumes, cancellations, handler
errors, GET and DELETE, and clock jumps, and checks after every output:

- per stream, event ids strictly increase (sequence numbers count 1, 2, 3, ...), and ids
  are unique within a session;
- a resume from any id seen delivers exactly the events after it, in order, byte for byte;
- a resume never reaches another session's stream;
- every request gets exactly one response, which ends its stream.
"""

from __future__ import annotations

from hypothesis import settings

from mcp_sansio.testing import machine_for
from tests.apps import demo_app

TestStreamingMachine = machine_for(
    demo_app(), settings=settings(max_examples=150, stateful_step_count=30, deadline=None)
).TestCase
