"""Server-Sent Events framing and event ids (mcp_sansio._sse)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_sansio._sse import format_event_id, frame_comment, frame_event, frame_log_event, parse_event_id


def decode_stream(raw: bytes) -> list[dict[str, str]]:
    """A minimal client-side SSE parser (WHATWG algorithm, fields we emit)."""
    events: list[dict[str, str]] = []
    data: list[str] = []
    fields: dict[str, str] = {}
    for line in re.split(r"\r\n|\r|\n", raw.decode())[:-1]:
        if line == "":
            if data or fields:
                events.append({**fields, "data": "\n".join(data)})
            data, fields = [], {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields[name] = value
    return events


# --- frame_event -----------------------------------------------------------------------


def test_single_line_event() -> None:
    assert frame_event(b'{"jsonrpc":"2.0"}') == b'event: message\ndata: {"jsonrpc":"2.0"}\n\n'


def test_event_with_id() -> None:
    assert frame_event(b"x", event_id="abc-3") == b"id: abc-3\nevent: message\ndata: x\n\n"


def test_priming_event_bytes() -> None:
    assert frame_event(b"", event_id="k9-0", retry_ms=1000) == (b"id: k9-0\nretry: 1000\nevent: message\ndata: \n\n")


def test_retry_without_id() -> None:
    assert frame_event(b"d", retry_ms=250) == b"retry: 250\nevent: message\ndata: d\n\n"


def test_empty_data_without_fields() -> None:
    assert frame_event(b"") == b"event: message\ndata: \n\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\nb", b"data: a\ndata: b\n"),
        (b"a\r\nb", b"data: a\ndata: b\n"),
        (b"a\rb", b"data: a\ndata: b\n"),
        (b"a\r\rb", b"data: a\ndata: \ndata: b\n"),
        (b"a\n\rb", b"data: a\ndata: \ndata: b\n"),
        (b"a\r\r\nb", b"data: a\ndata: \ndata: b\n"),
        (b"a\n", b"data: a\ndata: \n"),
        (b"\n", b"data: \ndata: \n"),
        (b"\r\n\r\n", b"data: \ndata: \ndata: \n"),
        (b"l1\nl2\r\nl3\rl4", b"data: l1\ndata: l2\ndata: l3\ndata: l4\n"),
    ],
)
def test_multi_line_data(data: bytes, expected: bytes) -> None:
    assert frame_event(data) == b"event: message\n" + expected + b"\n"


def test_data_keeps_other_bytes_verbatim() -> None:
    data = "x: y\tz é \x00 data: w".encode()
    assert frame_event(data) == b"event: message\ndata: " + data + b"\n\n"


def test_event_id_must_be_ascii() -> None:
    with pytest.raises(UnicodeEncodeError):
        frame_event(b"x", event_id="é-1")


# --- frame_comment ---------------------------------------------------------------------


def test_empty_comment() -> None:
    assert frame_comment() == b": \n\n"
    assert frame_comment("") == b": \n\n"


def test_keepalive_comment() -> None:
    assert frame_comment("ping") == b": ping\n\n"


def test_multi_line_comment() -> None:
    assert frame_comment("a\nb\r\nc\rd") == b": a\n: b\n: c\n: d\n\n"


def test_comment_is_utf8() -> None:
    assert frame_comment("bye ☃") == ": bye ☃\n\n".encode()


def test_comments_are_invisible_to_a_client() -> None:
    stream = frame_comment("hello\nthere") + frame_event(b"payload", event_id="s-1") + frame_comment("bye")
    assert decode_stream(stream) == [{"id": "s-1", "event": "message", "data": "payload"}]


# --- event ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "seq", "wire"),
    [
        ("0", 0, "0-0"),
        ("0", 1, "0-1"),
        ("abc", 42, "abc-42"),
        ("A1b2", 10**17, "A1b2-100000000000000000"),
        ("z" * 64, 10**18 - 1, "z" * 64 + "-" + "9" * 18),
    ],
)
def test_event_id_round_trip(stream: str, seq: int, wire: str) -> None:
    assert format_event_id(stream, seq) == wire
    assert parse_event_id(wire) == (stream, seq)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-",
        "abc",
        "abc-",
        "-1",
        "abc-01",  # leading zero
        "abc-00",
        "abc-007",
        "abc--1",  # negative
        "abc-+1",
        "abc-1-2",
        "abc-1 ",
        " abc-1",
        "abc-1\n",
        "abc -1",
        "ab_c-1",  # foreign characters in the stream key
        "ab.c-1",
        "ab/c-1",
        "\u00e9-1",
        "abc-1e3",
        "abc-0x1",
        "abc-\u0661",  # an Arabic-Indic digit is not an ASCII digit
        "\uff41-1",  # fullwidth letter
        "a" * 65 + "-1",  # stream key too long
        "abc-" + "1" * 19,  # seq too long
        "abc-1\x00",
    ],
)
def test_malformed_event_ids_are_rejected(value: str) -> None:
    assert parse_event_id(value) is None


def test_longest_valid_parts() -> None:
    assert parse_event_id("a" * 64 + "-1") == ("a" * 64, 1)
    assert parse_event_id("x-" + "1" * 18) == ("x", int("1" * 18))


STREAMS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=64)
SEQS = st.integers(min_value=0, max_value=10**18 - 1)


@given(STREAMS, SEQS)
def test_event_id_round_trips_for_all_valid_parts(stream: str, seq: int) -> None:
    assert parse_event_id(format_event_id(stream, seq)) == (stream, seq)


@given(st.text(max_size=80))
def test_parse_event_id_is_none_or_a_canonical_pair(value: str) -> None:
    parsed = parse_event_id(value)
    if parsed is not None:
        stream, seq = parsed
        # Only canonical ids parse: formatting the pair gives back the input.
        assert format_event_id(stream, seq) == value
        assert 0 <= seq < 10**18


@settings(max_examples=300)
@given(
    st.binary(max_size=200) | st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"", b" "])).map(b"".join),
    st.none() | st.builds(format_event_id, STREAMS, SEQS),
    st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_frame_event_is_well_formed(data: bytes, event_id: str | None, retry_ms: int | None) -> None:
    frame = frame_event(data, event_id=event_id, retry_ms=retry_ms)
    assert frame.endswith(b"\n\n")
    assert b"\r" not in frame
    assert frame.count(b"\n\n") == 1  # exactly one event per frame
    body = frame[:-1]
    lines = body.split(b"\n")[:-1]
    assert all(line.startswith((b"id: ", b"retry: ", b"event: ", b"data: ")) for line in lines)
    if data.isascii():
        [event] = decode_stream(frame)
        assert event["data"] == re.sub(r"\r\n|\r", "\n", data.decode())
        assert event["event"] == "message"
        assert event.get("id") == event_id
        assert event.get("retry") == (None if retry_ms is None else str(retry_ms))


@given(st.text(max_size=100))
def test_frame_comment_is_well_formed(text: str) -> None:
    frame = frame_comment(text)
    assert frame.endswith(b"\n\n")
    assert b"\r" not in frame
    assert all(line.startswith(b": ") for line in frame[:-2].split(b"\n"))


@given(
    data=st.binary(max_size=64),
    stream=st.from_regex(r"[A-Za-z0-9]{1,64}", fullmatch=True),
    seq=st.integers(0, 10**18),
)
def test_a_log_event_is_framed_as_frame_event_frames_it(data: bytes, stream: str, seq: int) -> None:
    assert frame_log_event(data, stream, seq) == frame_event(data, event_id=format_event_id(stream, seq))
