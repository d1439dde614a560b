"""Server-Sent Events framing and the event-id format.

An event id is ``<stream>-<seq>``: the stream's key (short, alphanumeric,
unique within the session) and the event's sequence number in that stream
(0 for a priming event, then 1, 2, ...). Parsing an id yields exactly one
(stream, seq) pair or nothing, so a resume can only ever reach the stream the
id names, and the core additionally checks that stream belongs to the session.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["EventId", "format_event_id", "parse_event_id", "frame_event", "frame_log_event", "frame_comment"]

_EVENT_ID: Final = re.compile(r"([A-Za-z0-9]{1,64})-(0|[1-9][0-9]{0,17})")
_LINE_BREAK: Final = re.compile(rb"\r\n|\r|\n")

EventId = tuple[str, int]


def format_event_id(stream: str, seq: int) -> str:
    """The wire id of event ``seq`` of ``stream``."""
    return f"{stream}-{seq}"


def parse_event_id(value: str) -> EventId | None:
    """Split a ``Last-Event-ID`` value into (stream, seq), or None if malformed."""
    match = _EVENT_ID.fullmatch(value)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def frame_log_event(data: bytes, stream: str, seq: int) -> bytes:
    """``frame_event(data, event_id=format_event_id(stream, seq))``: event ``seq`` of a stream's log.

    One bytes format for data without line breaks (compact JSON: every logged event),
    since this runs for every event a stream sends.
    """
    if b"\n" in data or b"\r" in data:
        return frame_event(data, event_id=format_event_id(stream, seq))
    return b"id: %b-%d\nevent: message\ndata: %b\n\n" % (stream.encode("ascii"), seq, data)


def frame_event(data: bytes, *, event_id: str | None = None, retry_ms: int | None = None) -> bytes:
    """One SSE event of type ``message``; multi-line data becomes several ``data:`` lines."""
    if retry_ms is None and b"\n" not in data and b"\r" not in data:
        # Every event but a priming one: compact JSON never has raw line breaks.
        if event_id is None:
            return b"event: message\ndata: %b\n\n" % data
        return b"id: %b\nevent: message\ndata: %b\n\n" % (event_id.encode("ascii"), data)
    parts: list[bytes] = []
    if event_id is not None:
        parts.append(b"id: " + event_id.encode("ascii") + b"\n")
    if retry_ms is not None:
        parts.append(b"retry: %d\n" % retry_ms)
    parts.append(b"event: message\n")
    if b"\n" in data or b"\r" in data:
        for line in _LINE_BREAK.split(data):
            parts.append(b"data: " + line + b"\n")
    else:  # compact JSON never has raw line breaks: one data line
        parts.append(b"data: " + data + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def frame_comment(text: str = "") -> bytes:
    """An SSE comment (ignored by clients): keep-alives and farewells."""
    return b"".join(b": " + line + b"\n" for line in _LINE_BREAK.split(text.encode())) + b"\n"
