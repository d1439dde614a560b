"""The fast JSON path gives the standard library's bytes, values and error messages."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_sansio._json import encode_text, text_decoder

_STDLIB_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
decode_text = text_decoder(json.JSONDecoder())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # lone surrogates included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _reference(value: Any) -> bytes:
    try:
        return _STDLIB_ENCODE(value).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


@given(json_values)
def test_encoding_matches_the_standard_library(value: Any) -> None:
    assert encode_text(value) == _reference(value)


def test_encoding_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(ValueError, match="Out of range"):
        encode_text({"x": math.nan})
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        encode_text({"x": {1}})
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="Circular reference"):
        encode_text(cycle)
    assert encode_text("\ud800") == b'"\\ud800"'  # a lone surrogate echoes as an escape


@given(json_values, st.sampled_from(["", " ", "\n\t", "\r\n  "]), st.sampled_from(["", " ", "\n", "\t\r\n"]))
def test_decoding_matches_the_standard_library(value: Any, before: str, after: str) -> None:
    text = before + json.dumps(value) + after
    assert decode_text(text) == json.loads(text)


@pytest.mark.parametrize(
    "text", ["", " ", "{", '{"a":1} x', "[1,]", "nul", '"\\x"', "1 2", "\u00a0{}", "{} \u00a0", "]"]
)
def test_decoding_errors_are_the_standard_librarys(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        decode_text(text)
    assert str(got.value) == str(expected.value)
