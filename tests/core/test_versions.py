"""Protocol revisions and negotiation (mcp_sansio._versions)."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_sansio import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION
from mcp_sansio._versions import (
    DEFAULT_HEADERLESS_VERSION,
    STATELESS_VERSIONS,
    has_batches,
    has_priming,
    has_protocol_header,
    negotiate,
)


def test_constants() -> None:
    assert HANDSHAKE_VERSIONS == ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
    assert LATEST_HANDSHAKE_VERSION == "2025-11-25"
    assert DEFAULT_HEADERLESS_VERSION == "2025-03-26"
    assert list(HANDSHAKE_VERSIONS) == sorted(HANDSHAKE_VERSIONS)


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_negotiate_known_versions(version: str) -> None:
    assert negotiate(version) == version


@pytest.mark.parametrize(
    "requested",
    ["2026-01-01", "2024-10-07", "2025-11-25 ", "", "latest", None, 20251125, ["2025-06-18"], {"v": 1}],
)
def test_negotiate_unknown_gives_latest(requested: Any) -> None:
    assert negotiate(requested) == "2025-11-25"


@pytest.mark.parametrize(
    ("version", "batches", "priming", "header"),
    [
        ("2024-11-05", False, False, False),
        ("2025-03-26", True, False, False),
        ("2025-06-18", False, False, True),
        ("2025-11-25", False, True, True),
    ],
)
def test_features_per_version(version: str, batches: bool, priming: bool, header: bool) -> None:
    assert has_batches(version) is batches
    assert has_priming(version) is priming
    assert has_protocol_header(version) is header


def test_headerless_default_has_batches_but_no_header() -> None:
    assert has_batches(DEFAULT_HEADERLESS_VERSION) is True
    assert has_protocol_header(DEFAULT_HEADERLESS_VERSION) is False


def test_stateless_versions_are_not_negotiated_by_initialize() -> None:
    assert STATELESS_VERSIONS == ("2026-07-28",)
    assert not set(STATELESS_VERSIONS) & set(HANDSHAKE_VERSIONS)
    # initialize belongs to the handshake revisions: a stateless version gets the newest handshake one.
    assert negotiate("2026-07-28") == "2025-11-25"


def test_stateless_versions_have_the_newer_features() -> None:
    for version in STATELESS_VERSIONS:
        assert has_priming(version) is True
        assert has_protocol_header(version) is True
        assert has_batches(version) is False
