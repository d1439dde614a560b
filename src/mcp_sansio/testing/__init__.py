"""Property-based protocol testing for any server built on mcp_sansio (``pip install "mcp-sansio[testing]"``).

Because the core does no I/O, hypothesis can drive a whole server (sessions,
streams, handlers, the clock) in memory, thousands of steps a second, and shrink
any failure to a short HTTP transcript. One line tests your server::

    from mcp_sansio.testing import machine_for
    from my_server import app

    TestMyServer = machine_for(app).TestCase

The machine checks, at every step: each request gets exactly one response, with its
id; statuses and error codes follow the specification's tables; event ids strictly
increase per stream; a resume delivers exactly the missed events of that stream;
nothing crosses sessions; the limits of the :class:`~mcp_sansio.Config` hold; any
input at all gets a well-formed answer. See :class:`ProtocolMachine` for the knobs,
and :mod:`mcp_sansio.testing.strategies` for the strategies it is built from.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError('mcp_sansio.testing needs hypothesis: pip install "mcp-sansio[testing]"') from exc

from . import strategies
from ._machine import ProtocolMachine, machine_for
from ._transcript import ProtocolViolation

ProtocolViolation.__module__ = __name__  # tracebacks name it where users import it from

__all__ = ["ProtocolMachine", "machine_for", "ProtocolViolation", "strategies"]
