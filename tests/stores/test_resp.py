"""The RESP codec and the URL parser, without a server: the pure-Python reader matches hiredis's."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from mcp_sansio_redis import RedisAddress, RedisStoreError, ReplyError, parse_url
from mcp_sansio_redis._layout import RECORD_FIELDS, decode_record, encode_record
from mcp_sansio_redis._resp import PyReader, Reader, encode, fast_encode, new_reader
from tests.stores.conftest import record

WIRE = (
    b"+OK\r\n"
    b":42\r\n"
    b":-7\r\n"
    b"$5\r\nhe\r\nl\r\n"
    b"$0\r\n\r\n"
    b"$-1\r\n"
    b"*-1\r\n"
    b"*0\r\n"
    b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n$-1\r\n-ERR inside\r\n"
    b"*2\r\n*0\r\n*1\r\n*1\r\n+deep\r\n"
)
EXPECTED: list[Any] = [
    b"OK",
    42,
    -7,
    b"he\r\nl",
    b"",
    None,
    None,
    [],
    ("WRONGTYPE", "Operation against a key holding the wrong kind of value"),
    [1, [b"a", [None]], ("ERR", "inside")],
    [[], [[b"deep"]]],
]

READERS = ["python"] + (["hiredis"] if importlib.util.find_spec("hiredis") else [])


def make(kind: str) -> Reader:
    return PyReader() if kind == "python" else new_reader(prefer_hiredis=True)


def plain(value: Any) -> Any:
    """Error values as (code, rest) so replies compare by content."""
    if isinstance(value, ReplyError):
        code, _, rest = str(value).partition(" ")
        assert value.code == code
        return (code, rest)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def drain(reader: Reader) -> list[Any]:
    out = []
    while (reply := reader.gets()) is not False:
        out.append(plain(reply))
    return out


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_replies_parse_the_same_however_the_bytes_arrive(kind: str, chunk: int) -> None:
    reader = make(kind)
    got: list[Any] = []
    for start in range(0, len(WIRE), chunk):
        reader.feed(WIRE[start : start + chunk])
        got += drain(reader)
    assert got == EXPECTED


def test_the_python_reader_rejects_an_unknown_reply_type() -> None:
    reader = PyReader()
    reader.feed(b"?what\r\n")
    with pytest.raises(RedisStoreError, match="protocol error"):
        reader.gets()


def test_a_large_reply_in_small_chunks_is_parsed_incrementally() -> None:
    items = [b"x" * 1000] * 2000
    wire = b"*2000\r\n" + b"".join(b"$1000\r\n" + item + b"\r\n" for item in items)
    reader = PyReader()
    for start in range(0, len(wire), 4096):
        reader.feed(wire[start : start + 4096])
        reply = reader.gets()
    assert reply == items


def test_commands_encode_as_arrays_of_bulk_strings() -> None:
    assert encode(("SET", b"k\r\n", 12, 0.1, "ü")) == (
        b"*5\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n$3\r\n0.1\r\n$2\r\n\xc3\xbc\r\n"
    )
    assert encode(("X", float("inf"), 1e-05)).endswith(b"$3\r\ninf\r\n$5\r\n1e-05\r\n")
    with pytest.raises(TypeError):
        encode(("X", True))
    with pytest.raises(TypeError):
        encode(("X", None))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ("SET", b"k\r\n", 12, 0.1, "\u00fc"),
        ("X", float("inf"), float("-inf"), 1e-05, 1e300, -0.0, 123456789.123456789, 2**70, -5),
        ("X", "lone \udcff surrogate", b"\x00\xff", ""),
        ("EVALSHA", "a" * 40, 0, "mcp:", "s:1", 1000.5, "null"),
    ],
)
def test_the_fast_encoder_gives_the_same_bytes(args: tuple[Any, ...]) -> None:
    assert fast_encode(args) == encode(args)


def test_the_fast_encoder_refuses_what_encode_refuses() -> None:
    for bad in (("X", True), ("X", None)):
        with pytest.raises(TypeError, match="a Redis argument"):
            fast_encode(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://127.0.0.1:6379/0", RedisAddress()),
        ("redis://localhost", RedisAddress(host="localhost")),
        ("redis://:pw@h:7000/3", RedisAddress("h", 7000, 3, None, "pw")),
        ("redis://u%40x:p%3Aw@h/1", RedisAddress("h", 6379, 1, "u@x", "p:w")),
        ("rediss://h:6380?db=2", RedisAddress("h", 6380, 2, tls=True)),
        ("redis://[::1]:6379/0", RedisAddress("::1")),
        ("unix:///run/redis.sock?db=4", RedisAddress(db=4, unix_path="/run/redis.sock")),
    ],
)
def test_urls_parse(url: str, address: RedisAddress) -> None:
    assert parse_url(url) == address


def test_redacted_urls_hide_the_password() -> None:
    assert parse_url("redis://u:pw@h:1/2").redacted() == "redis://u:***@h:1/2"
    assert parse_url("rediss://:pw@h").redacted() == "rediss://:***@h:6379/0"
    assert parse_url("redis://[::1]:7/0").redacted() == "redis://[::1]:7/0"
    assert parse_url("unix:///s.sock").redacted() == "unix:///s.sock?db=0"


@pytest.mark.parametrize("url", ["http://h", "redis://h/notadb", "unix://", "redis://u:secret@h:notaport"])
def test_bad_urls_are_refused_without_showing_a_password(url: str) -> None:
    with pytest.raises(ValueError, match="not a Redis URL") as caught:
        parse_url(url)
    assert "secret" not in str(caught.value)


def test_the_record_codec_covers_every_field_and_refuses_what_json_cannot_hold() -> None:
    flat = encode_record(record("s1", log_level="info"))
    assert flat[0::2] == list(RECORD_FIELDS)
    assert decode_record([v.encode() for v in flat]) == record("s1", log_level="info")
    with pytest.raises(RedisStoreError, match="cannot be stored"):
        encode_record(record("s1", client_info={"bad": {1, 2}}))
