"""The standard library's C JSON codec, called without its per-call Python wrappers.

``json.dumps`` builds a new C encoder on every call and ``json.loads`` matches two
regular expressions around the C scanner; on a request that does little else, that
is a fifth of the core's time. These functions keep one encoder and call the scanner
directly, and fall back to the ordinary path wherever the fast one could differ:
bytes and error messages are exactly the standard library's.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

__all__ = ["encode_text", "text_decoder"]

_JSON_SPACE = " \t\n\r"


def _fallback_encoder(ensure_ascii: bool) -> Callable[[Any], str]:
    return json.JSONEncoder(separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=False).encode


def _fast_encoder(ensure_ascii: bool) -> Callable[[Any], str]:
    # c_make_encoder is what JSONEncoder.iterencode builds per call: same arguments, made once.
    # markers=None skips the circular-reference table; a cycle then ends in RecursionError,
    # which encode_text turns back into the ValueError the checked path raises.
    make = getattr(json.encoder, "c_make_encoder", None)
    fallback = _fallback_encoder(ensure_ascii)
    if make is None:  # pragma: no cover - CPython always has the accelerator
        return fallback
    quote = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    try:
        encoder = make(None, json.JSONEncoder().default, quote, None, ":", ",", False, False, False)
        sample = {"a": [1, 2.5, None, True, "\u00e9\n"], "b": {}}
        if "".join(encoder(sample, 0)) != fallback(sample):
            return fallback  # pragma: no cover - a future CPython with another signature
    except TypeError:  # pragma: no cover - likewise
        return fallback

    def encode(obj: Any) -> str:
        return "".join(encoder(obj, 0))

    return encode


_ENCODE = _fast_encoder(ensure_ascii=False)
_ENCODE_ASCII = _fast_encoder(ensure_ascii=True)
# A string alone (a streamed chunk's text, a token): the quoting function itself, no encoder call.
_QUOTE = json.encoder.encode_basestring
_QUOTE_ASCII = json.encoder.encode_basestring_ascii


def encode_text(obj: Any) -> bytes:
    """``obj`` as compact UTF-8 JSON (NaN refused); lone surrogates are escaped, so any parsed string echoes.

    Raises:
        ValueError: a float that JSON cannot carry, or a reference cycle.
        TypeError: a value JSON has no form for.
    """
    if type(obj) is str:
        try:
            return _QUOTE(obj).encode()
        except UnicodeEncodeError:  # a lone surrogate: escaped, as the encoder below does
            return _QUOTE_ASCII(obj).encode()
    try:
        return _ENCODE(obj).encode()
    except UnicodeEncodeError:
        return _ENCODE_ASCII(obj).encode()
    except RecursionError:
        raise ValueError("Circular reference detected (or a value nested too deeply to encode)") from None


def text_decoder(decoder: json.JSONDecoder) -> Callable[[str], Any]:
    """A function decoding a whole text with ``decoder``'s C scanner (its hooks included).

    The function raises what ``decoder.decode`` raises (json.JSONDecodeError with the
    standard library's message, RecursionError past the interpreter's nesting limit).
    """
    scan: Callable[[str, int], tuple[Any, int]] = getattr(decoder, "scan_once")  # noqa: B009 - untyped attribute

    def decode(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:
            value, end = None, -1  # leading whitespace or not JSON: the slow path decides
        if end == len(text) or (end > 0 and not text[end:].strip(_JSON_SPACE)):
            return value
        return decoder.decode(text)

    return decode
