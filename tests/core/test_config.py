"""Configuration validation (mcp_sansio._config)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mcp_sansio import Config

POSITIVE_FIELDS = [
    "max_body_size",
    "max_header_count",
    "max_header_size",
    "max_in_flight",
    "max_events_per_stream",
    "max_event_age",
    "max_queue_events",
    "max_sessions",
    "session_idle_timeout",
    "sse_retry_ms",
    "page_size",
]


def test_defaults() -> None:
    c = Config()
    assert c.max_body_size == 4 * 1024 * 1024
    assert c.max_header_count == 100
    assert c.max_header_size == 16 * 1024
    assert c.max_in_flight == 64
    assert c.max_events_per_stream == 10_000
    assert c.max_event_age == 3600.0
    assert c.max_queue_events == 256
    assert c.max_sessions == 10_000
    assert c.session_idle_timeout == 3600.0
    assert c.allowed_origins == frozenset()
    assert c.allowed_hosts == frozenset()
    assert c.validate_loopback is True
    assert c.sse_retry_ms == 1000
    assert c.sse_close_after_events is None
    assert c.sse_close_after_seconds is None
    assert c.single_get_stream is True
    assert c.page_size == 100


def test_every_limit_is_checked() -> None:
    names = {f.name for f in dataclasses.fields(Config)}
    assert set(POSITIVE_FIELDS) <= names


@pytest.mark.parametrize("name", POSITIVE_FIELDS)
@pytest.mark.parametrize("value", [0, -1, 0.0, -0.5, True, False, "10", None])
def test_positive_limits_reject_bad_values(name: str, value: Any) -> None:
    with pytest.raises(ValueError) as info:
        Config(**{name: value})
    assert str(info.value) == f"Config.{name} must be a positive number, got {value!r}"


@pytest.mark.parametrize("name", POSITIVE_FIELDS)
def test_positive_limits_accept_small_positive_values(name: str) -> None:
    assert getattr(Config(**{name: 1}), name) == 1
    assert getattr(Config(**{name: 0.5}), name) == 0.5


@pytest.mark.parametrize("name", ["max_event_age", "session_idle_timeout", "sse_close_after_seconds"])
def test_nan_limits_are_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        Config(**{name: float("nan")})


def test_first_bad_field_is_reported() -> None:
    with pytest.raises(ValueError, match=r"^Config\.max_body_size must be a positive number, got 0$"):
        Config(max_body_size=0, page_size=0)


@pytest.mark.parametrize("value", [0, -1])
def test_sse_close_after_events_must_be_at_least_one(value: int) -> None:
    with pytest.raises(ValueError) as info:
        Config(sse_close_after_events=value)
    assert str(info.value) == "Config.sse_close_after_events must be None or at least 1"


def test_sse_close_after_events_valid() -> None:
    assert Config(sse_close_after_events=1).sse_close_after_events == 1
    assert Config(sse_close_after_events=None).sse_close_after_events is None


def test_allowed_lists_become_frozensets_and_hosts_are_lower_cased() -> None:
    c = Config(
        allowed_origins=["https://App.example", "https://App.example"],  # type: ignore[arg-type]
        allowed_hosts={"API.Example.COM", "x:8080"},  # type: ignore[arg-type]
    )
    assert c.allowed_origins == frozenset({"https://App.example"})
    assert type(c.allowed_origins) is frozenset
    assert c.allowed_hosts == frozenset({"api.example.com", "x:8080"})
    assert type(c.allowed_hosts) is frozenset


def test_config_is_frozen() -> None:
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.max_body_size = 1  # type: ignore[misc]


def test_replace_revalidates() -> None:
    c = Config(page_size=5)
    assert dataclasses.replace(c, page_size=7).page_size == 7
    with pytest.raises(ValueError, match="page_size"):
        dataclasses.replace(c, page_size=0)


def test_equality() -> None:
    assert Config(allowed_hosts=frozenset({"A"})) == Config(allowed_hosts=frozenset({"a"}))
    assert Config(page_size=1) != Config(page_size=2)


@pytest.mark.parametrize("value", [0, 0.0, -1, -0.001])
def test_sse_close_after_seconds_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError) as info:
        Config(sse_close_after_seconds=value)
    assert str(info.value) == "Config.sse_close_after_seconds must be None or positive"


def test_sse_close_after_seconds_valid() -> None:
    assert Config(sse_close_after_seconds=0.001).sse_close_after_seconds == 0.001
    assert Config(sse_close_after_seconds=30).sse_close_after_seconds == 30
    assert Config(sse_close_after_seconds=None).sse_close_after_seconds is None
