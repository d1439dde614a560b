"""The kit's wire helpers, checks and transcript, on their own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mcp_sansio import Config
from mcp_sansio.testing import ProtocolViolation
from mcp_sansio.testing._checks import event_problem
from mcp_sansio.testing._transcript import Transcript
from mcp_sansio.testing._wire import client_host, header_value, kind_of, param_headers, parse_sse, routing_headers


def test_header_values_are_plain_or_base64() -> None:
    assert header_value("add") == "add"
    assert header_value("") == ""
    assert header_value("a b") == "a b"
    assert header_value(" add") == "=?base64?IGFkZA==?="
    assert header_value("é") == "=?base64?w6k=?="
    assert header_value("=?base64?x?=").startswith("=?base64?PT9")


def test_mirrored_parameters() -> None:
    schema = {
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "on": {"type": "boolean", "x-mcp-header": "On"},
            "nested": {"properties": {"zone": {"x-mcp-header": "Zone"}}},
            "skip": "not a schema",
        }
    }
    assert param_headers(schema, {"region": "eu", "on": True, "nested": {"zone": 3}}) == [
        ("mcp-param-region", "eu"),
        ("mcp-param-on", "true"),
        ("mcp-param-zone", "3"),
    ]
    assert param_headers(schema, {"nested": "flat"}) == []
    assert routing_headers({"method": "resources/read", "params": {"uri": "x://y"}})[-1] == ("mcp-name", "x://y")


def test_client_host_follows_the_configuration() -> None:
    assert client_host(Config()) == "127.0.0.1:8000"
    assert client_host(Config(validate_loopback=False, allowed_hosts=frozenset({"b.example", "a.example"}))) == (
        "a.example"
    )


def test_sse_frames() -> None:
    event = parse_sse(b"id: s1-2\nretry: 10\nevent: message\ndata: a\ndata: b\n\n")
    assert (event.id, event.retry, event.data) == ("s1-2", 10, "a\nb")
    for bad in (b"data: x\n", b"data: x\n\ndata: y\n\n", b"what: x\n\n"):
        with pytest.raises(ValueError):
            parse_sse(bad)
    assert event_problem(b"data: x\n", None)[0] is not None


def test_kinds_of_messages() -> None:
    assert kind_of({"jsonrpc": "2.0", "id": 1, "method": "x"}) == "request"
    assert kind_of({"jsonrpc": "2.0", "method": "x"}) == "notification"
    assert kind_of({"jsonrpc": "2.0", "id": 1, "error": {}}) == "response"
    assert kind_of({"jsonrpc": "2.0", "id": 1}) == "invalid"
    assert kind_of([]) == "invalid"


def test_the_transcript_reads_like_the_wire() -> None:
    transcript = Transcript()
    transcript.step("one")
    transcript.request(1, "POST", "/mcp", [("host", "h")], b"x" * 300)
    priming = b"id: s1-0\nretry: 5\nevent: message\ndata: \n\n"
    transcript.stream(1, 200, [("content-type", "text/event-stream")], priming)
    transcript.event(1, "stream s1", b"id: s1-1\nevent: message\ndata: {}\n\n")
    transcript.event(None, "stream s1 of session1", b"id: s1-2\nevent: message\ndata: {}\n\n")
    transcript.response(2, 202, [], b"")
    transcript.note("a handler yields")
    text = transcript.render()
    assert text.splitlines()[0] == "step 1: one"
    assert "  #1 > POST /mcp" in text
    assert "... (300 chars)" in text
    assert "  #1 < 200 (SSE)" in text
    assert "event: id: s1-0 | retry: 5 | data: " in text
    assert "  #1 < event: id: s1-1 | data: {}" in text
    assert "  (stream s1 of session1: logged, nobody reading): id: s1-2 | data: {}" in text
    assert "  #2 < 202" in text
    assert "  .. a handler yields" in text
    failure = ProtocolViolation("it broke", transcript)
    assert failure.steps == 1
    assert str(failure).startswith("it broke\n\nHTTP transcript (1 steps):\nstep 1: one")


def test_the_core_imports_without_hypothesis_and_the_kit_says_what_it_needs() -> None:
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"  # as if it were not installed
        "import mcp_sansio\n"
        "try:\n"
        "    import mcp_sansio.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == 'mcp_sansio.testing needs hypothesis: pip install "mcp-sansio[testing]"'
    plain = subprocess.run(
        [sys.executable, "-c", "import sys, mcp_sansio; print('hypothesis' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert plain.stdout.strip() == "False"
