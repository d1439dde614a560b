"""The HTTP transcript of a run, and the failure that prints it.

Recording is cheap (tuples appended as the machine goes); rendering happens only
when a run fails, so a passing run costs almost nothing. The rendering reads like
a capture of the wire: numbered connections, request lines, headers and bodies,
then the answer, SSE events as they leave, and what happened in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Transcript", "ProtocolViolation"]

_BODY_LIMIT = 240


def _text(data: object) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + f"... ({len(text)} chars)"


def _event_text(frame: bytes) -> str:
    lines = [line for line in frame.decode("utf-8", "replace").split("\n") if line and line != "event: message"]
    return " | ".join(_text(line) for line in lines)


class Transcript:
    """What went over the wire during one run of the machine, step by step."""

    def __init__(self) -> None:
        self._entries: list[tuple[Any, ...]] = []
        self.steps = 0

    def step(self, text: str) -> None:
        """A new step of the machine starts."""
        self.steps += 1
        self._entries.append(("step", self.steps, text))

    def request(self, conn: int, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Connection ``conn`` sends a request."""
        self._entries.append(("request", conn, method, target, tuple(headers), body))

    def response(self, conn: int, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Connection ``conn`` gets a complete response."""
        self._entries.append(("response", conn, status, tuple(headers), body))

    def stream(self, conn: int, status: int, headers: Sequence[tuple[str, str]], opening: bytes | None) -> None:
        """Connection ``conn`` gets SSE response headers (and a priming event)."""
        self._entries.append(("stream", conn, status, tuple(headers), opening))

    def event(self, conn: int | None, where: str, frame: bytes) -> None:
        """An SSE event leaves on ``conn`` (None: logged for ``where``, nobody reading)."""
        self._entries.append(("event", conn, where, frame))

    def note(self, text: str) -> None:
        """Something that is not on the wire: a handler step, the clock, a disconnect."""
        self._entries.append(("note", text))

    def render(self) -> str:
        """The transcript as text."""
        out: list[str] = []
        for entry in self._entries:
            kind = entry[0]
            if kind == "step":
                out.append(f"step {entry[1]}: {entry[2]}")
            elif kind == "request":
                _, conn, method, target, headers, body = entry
                out.append(f"  #{conn} > {method} {target}")
                out += [f"         {name}: {_text(value)}" for name, value in headers]
                if body:
                    out.append(f"         {_text(body)}")
            elif kind in ("response", "stream"):
                _, conn, status, headers, body = entry
                label = " (SSE)" if kind == "stream" else ""
                out.append(f"  #{conn} < {status}{label}")
                out += [f"         {name}: {_text(value)}" for name, value in headers]
                if body and kind == "response":
                    out.append(f"         {_text(body)}")
                elif body:
                    out.append(f"         event: {_event_text(body)}")
            elif kind == "event":
                _, conn, where, frame = entry
                prefix = f"  #{conn} < event" if conn is not None else f"  ({where}: logged, nobody reading)"
                out.append(f"{prefix}: {_event_text(frame)}")
            else:
                out.append(f"  .. {entry[1]}")
        return "\n".join(out)


class ProtocolViolation(AssertionError):
    """The server broke an invariant of the protocol; the message holds the HTTP transcript.

    Attributes:
        problem: What was wrong, in one sentence.
        transcript: The rendered transcript of the run up to the violation.
        steps: How many steps of the machine the run took.
    """

    def __init__(self, problem: str, transcript: Transcript) -> None:
        self.problem = problem
        self.transcript = transcript.render()
        self.steps = transcript.steps
        super().__init__(f"{problem}\n\nHTTP transcript ({self.steps} steps):\n{self.transcript}")
