"""RFC 6570 URI template matching (mcp_sansio._uritemplate)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_sansio._uritemplate import UriTemplate


def test_parse_records_text_and_variables() -> None:
    t = UriTemplate.parse("file:///logs/{date}/{level}.log")
    assert t.text == "file:///logs/{date}/{level}.log"
    assert t.variables == ("date", "level")


def test_template_without_variables_matches_only_itself() -> None:
    t = UriTemplate.parse("config://app")
    assert t.variables == ()
    assert t.match("config://app") == {}
    assert t.match("config://app/") is None
    assert t.match("config://ap") is None
    assert t.match("xconfig://app") is None


def test_simple_variables() -> None:
    t = UriTemplate.parse("file:///logs/{date}/{level}.log")
    assert t.match("file:///logs/2024-01-01/error.log") == {"date": "2024-01-01", "level": "error"}
    assert t.match("file:///logs/2024/01/error.log") is None  # "/" is not in a simple value
    assert t.match("file:///logs//error.log") is None  # empty value
    assert t.match("file:///logs/a/b.log.gz") is None  # whole URI must match
    assert t.match("file:///logs/a/error.logX") is None


@pytest.mark.parametrize("uri", ["users://a?x=1", "users://a#frag", "users://a/b"])
def test_simple_variable_stops_at_delimiters(uri: str) -> None:
    assert UriTemplate.parse("users://{id}").match(uri) is None


def test_reserved_expansion_spans_slashes() -> None:
    t = UriTemplate.parse("file:///{+path}")
    assert t.variables == ("path",)
    assert t.match("file:///a/b/c.txt") == {"path": "a/b/c.txt"}
    assert t.match("file:///a?b#c") == {"path": "a?b#c"}
    assert t.match("file:///") is None


def test_reserved_then_simple() -> None:
    t = UriTemplate.parse("repo://{+path}/blob/{sha}")
    assert t.match("repo://a/b/blob/abc123") == {"path": "a/b", "sha": "abc123"}


def test_values_are_percent_decoded() -> None:
    t = UriTemplate.parse("users://{name}/profile")
    assert t.match("users://John%20Doe/profile") == {"name": "John Doe"}
    assert t.match("users://a%2Fb/profile") == {"name": "a/b"}
    assert t.match("users://%E2%98%83/profile") == {"name": "\u2603"}


def test_literal_parts_are_not_regex() -> None:
    t = UriTemplate.parse("res://a.b+c(d)*/{x}$")
    assert t.match("res://a.b+c(d)*/1$") == {"x": "1"}
    assert t.match("res://aXb+c(d)*/1$") is None
    assert t.match("res://a.bbc(d)*/1$") is None


def test_underscore_and_digits_in_names() -> None:
    t = UriTemplate.parse("x://{user_id2}/{_private}")
    assert t.variables == ("user_id2", "_private")
    assert t.match("x://7/p") == {"user_id2": "7", "_private": "p"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x://{a}/{a}", "variable 'a' appears twice in 'x://{a}/{a}'"),
        ("x://{a}/{+a}", "variable 'a' appears twice in 'x://{a}/{+a}'"),
    ],
)
def test_repeated_variable(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        UriTemplate.parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "x://{a,b}",
        "x://{?q}",
        "x://{#frag}",
        "x://{/path}",
        "x://{.ext}",
        "x://{;p}",
        "x://{&q}",
        "x://{var:3}",
        "x://{list*}",
        "x://{}",
        "x://{",
        "x://}",
        "x://{a",
        "x://a}",
        "x://{{a}}",
        "x://{a-b}",
    ],
)
def test_unsupported_expressions(text: str) -> None:
    with pytest.raises(ValueError) as info:
        UriTemplate.parse(text)
    assert str(info.value) == f"unsupported URI template expression in {text!r}"


def test_variable_name_starting_with_a_digit() -> None:
    t = UriTemplate.parse("page://{1}")
    assert t.match("page://x") == {"1": "x"}


@given(st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@", min_size=1, max_size=20))
def test_simple_variable_captures_any_unreserved_value(value: str) -> None:
    t = UriTemplate.parse("item://{id}/info")
    assert t.match(f"item://{value}/info") == {"id": value}
