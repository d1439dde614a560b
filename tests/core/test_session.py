"""Session records (mcp_sansio._session)."""

from __future__ import annotations

import dataclasses

import pytest

from mcp_sansio import LOG_LEVELS, SessionRecord, SessionState
from mcp_sansio._peer import Peer
from mcp_sansio._session import STANDALONE_STREAM


def test_constants() -> None:
    assert LOG_LEVELS == ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
    assert STANDALONE_STREAM == "0"


def test_defaults() -> None:
    r = SessionRecord("sid", "2025-06-18")
    assert r.id == "sid"
    assert r.protocol_version == "2025-06-18"
    assert r.state is SessionState.INITIALIZING
    assert r.client_info == {}
    assert r.client_capabilities == {}
    assert r.log_level is None
    assert r.subscriptions == frozenset()
    assert r.created_at == 0.0
    assert r.last_seen == 0.0


def test_default_dicts_are_not_shared() -> None:
    a, b = SessionRecord("a", "v"), SessionRecord("b", "v")
    assert a.client_info is not b.client_info
    assert a.client_capabilities is not b.client_capabilities


def test_record_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SessionRecord("a", "v").state = SessionState.READY  # type: ignore[misc]


def test_initialized_returns_a_new_ready_record() -> None:
    r = SessionRecord("sid", "2025-11-25", client_info={"name": "c"}, created_at=5.0, last_seen=6.0)
    ready = r.initialized()
    assert ready.state is SessionState.READY
    assert r.state is SessionState.INITIALIZING  # the original is unchanged
    assert ready == dataclasses.replace(r, state=SessionState.READY)
    # Initialized again: still ready.
    assert ready.initialized() == ready


# A handshake session's filters are applied through its Peer (the exchange's view of the client).


def test_wants_log_without_level_accepts_everything() -> None:
    r = Peer.of_session(SessionRecord("s", "v"))
    assert all(r.wants_log(level) for level in LOG_LEVELS)


@pytest.mark.parametrize("minimum", LOG_LEVELS)
def test_wants_log_filters_by_severity(minimum: str) -> None:
    r = Peer.of_session(SessionRecord("s", "v", log_level=minimum))
    index = LOG_LEVELS.index(minimum)
    assert [r.wants_log(level) for level in LOG_LEVELS] == [i >= index for i in range(len(LOG_LEVELS))]


def test_wants_log_examples() -> None:
    r = Peer.of_session(SessionRecord("s", "v", log_level="warning"))
    assert r.wants_log("warning") is True
    assert r.wants_log("emergency") is True
    assert r.wants_log("notice") is False
    assert r.wants_log("debug") is False


def test_wants_log_unknown_level_raises() -> None:
    with pytest.raises(ValueError):
        Peer.of_session(SessionRecord("s", "v", log_level="info")).wants_log("verbose")


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ({"sampling": {}}, True),
        ({"sampling": {"tools": {}}}, True),
        ({"sampling": True}, False),
        ({"sampling": None}, False),
        ({"sampling": []}, False),
        ({"roots": {}}, False),
        ({}, False),
    ],
)
def test_has_capability(capabilities: dict[str, object], expected: bool) -> None:
    record = SessionRecord("s", "v", client_capabilities=capabilities)
    assert Peer.of_session(record).has_capability("sampling") is expected
