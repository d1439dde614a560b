"""HTTP header rules (mcp_sansio._http)."""

from __future__ import annotations

import pytest

from mcp_sansio import INVALID_REQUEST, Config, Headers, HttpRequest, RemoteProtocolError
from mcp_sansio._http import ALLOWED_METHODS, accepts, origin_and_host_refusal
from tests.conftest import Harness

# --- Headers ------------------------------------------------------------------------------


def test_headers_lower_case_names_and_strip_values() -> None:
    h = Headers([("Content-Type", "  application/json \t"), (b"X-Thing", b"v")])
    assert list(h) == [("content-type", "application/json"), ("x-thing", "v")]
    assert h.get("content-type") == "application/json"
    assert h.get("x-thing") == "v"
    assert len(h) == 2


def test_headers_decode_bytes_as_latin1() -> None:
    h = Headers([(b"x-name", b"caf\xe9")])
    assert h.get("x-name") == "caf\u00e9"


def test_headers_get_joins_repeats_in_order() -> None:
    h = Headers([("Accept", "application/json"), ("x", "1"), ("ACCEPT", "text/event-stream")])
    assert h.get("accept") == "application/json, text/event-stream"
    assert h.get_all("accept") == ["application/json", "text/event-stream"]
    assert h.get("missing") is None
    assert h.get_all("missing") == []


def test_headers_only_single_and_missing() -> None:
    h = Headers([("Mcp-Session-Id", "abc")])
    assert h.only("mcp-session-id") == "abc"
    assert h.only("last-event-id") is None


@pytest.mark.parametrize("count", [2, 3])
def test_headers_only_refuses_repeated_header(count: int) -> None:
    h = Headers([("Mcp-Session-Id", f"s{i}") for i in range(count)])
    with pytest.raises(RemoteProtocolError) as info:
        h.only("mcp-session-id")
    assert info.value.error_status_hint == 400
    assert info.value.code == INVALID_REQUEST
    assert info.value.message == f"Bad Request: header mcp-session-id appears {count} times"


def test_headers_only_counts_case_variants_as_repeats() -> None:
    h = Headers([("MCP-Protocol-Version", "2025-06-18"), ("mcp-protocol-version", "2025-06-18")])
    with pytest.raises(RemoteProtocolError) as info:
        h.only("mcp-protocol-version")
    assert info.value.error_status_hint == 400


def test_headers_only_counts_empty_repeats() -> None:
    h = Headers([("last-event-id", ""), ("last-event-id", "")])
    with pytest.raises(RemoteProtocolError):
        h.only("last-event-id")


def test_headers_size() -> None:
    h = Headers([("Host", "localhost:8000"), ("a", "")])
    assert h.size() == (4 + 14 + 4) + (1 + 0 + 4)
    assert Headers([]).size() == 0
    assert len(Headers([])) == 0


def test_headers_lookup_is_case_insensitive() -> None:
    h = Headers([("content-type", "application/json")])
    assert h.get("Content-Type") == "application/json"


# --- HttpRequest ------------------------------------------------------------------------


def test_http_request_build_from_bytes() -> None:
    req = HttpRequest.build(b"POST", b"/mcp?x=1", [(b"Host", b"localhost")])
    assert req.method == "POST"
    assert req.target == "/mcp?x=1"
    assert list(req.headers) == [("host", "localhost")]


def test_http_request_build_from_str() -> None:
    req = HttpRequest.build("Delete", "/mcp", [])
    assert req.method == "Delete"  # methods are case-sensitive (RFC 9110 9.1): this one is not DELETE
    assert req.target == "/mcp"
    assert len(req.headers) == 0


def test_allowed_methods() -> None:
    assert ALLOWED_METHODS == "GET, POST, DELETE"


# --- accepts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media", "expected"),
    [
        (None, "application/json", False),
        ("", "application/json", False),
        ("application/json", "application/json", True),
        ("APPLICATION/JSON", "application/json", True),
        ("application/json, text/event-stream", "text/event-stream", True),
        ("application/json,text/event-stream", "application/json", True),
        ("text/event-stream", "application/json", False),
        ("application/json-seq", "application/json", False),
        ("application/jsonx, text/html", "application/json", False),
        ("application/*", "application/json", True),
        ("text/*", "application/json", False),
        ("text/*", "text/event-stream", True),
        ("*/*", "text/event-stream", True),
        ("*", "text/event-stream", False),
        ("application/json;q=0", "application/json", False),
        ("application/json; q=0.0", "application/json", False),
        ("application/json;Q=0", "application/json", False),
        ("application/json;q=0.001", "application/json", True),
        ("application/json;q=1", "application/json", True),
        ("application/json;q=abc", "application/json", False),
        ("application/json;q=", "application/json", False),
        ("text/event-stream;charset=utf-8", "text/event-stream", True),
        ("application/json;charset=utf-8;q=0.5", "application/json", True),
        ("*/*;q=0", "application/json", False),
        ("application/*;q=0", "application/json", False),
        # The most specific range decides, whatever the order.
        ("application/json;q=0, */*", "application/json", False),
        ("*/*, application/json;q=0", "application/json", False),
        ("application/*;q=0, application/json", "application/json", True),
        ("*/*;q=0, application/json", "application/json", True),
        ("*/*;q=0, application/*", "application/json", True),
        ("application/*, */*;q=0", "application/json", True),
        ("text/html;q=0, */*;q=0.1", "application/json", True),
        (" , ,application/json", "application/json", True),
    ],
)
def test_accepts(accept: str | None, media: str, expected: bool) -> None:
    assert accepts(accept, media) is expected


# --- origin_and_host_refusal ---------------------------------------------------------------


def check(config: Config, *headers: tuple[str, str]) -> None:
    """What the server does with a head: the verdict for its Origin and its one Host, raised."""
    view = Headers(headers)
    refusal = origin_and_host_refusal(view.get("origin"), view.only("host"), config)
    if refusal is not None:
        raise RemoteProtocolError(refusal[1], error_status_hint=refusal[0])


def refused(config: Config, *headers: tuple[str, str]) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        check(config, *headers)
    return info.value


DEFAULT = Config()


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8000",
        "LOCALHOST:8000",
        "localhost.:80",
        "ip6-localhost",
        "app.localhost:3000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "127.8.9.10:1",
        "[::1]",
        "[::1]:8000",
    ],
)
def test_loopback_hosts_pass(host: str) -> None:
    check(DEFAULT, ("host", host))


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "evil.com:8000",
        "localhost.evil.com",
        "localhostx:80",
        "127.0.0.1.nip.io",
        "0.0.0.0:8000",
        "10.0.0.1",
        "[::2]:8000",
        "[fe80::1]",
    ],
)
def test_foreign_hosts_are_misdirected(host: str) -> None:
    err = refused(DEFAULT, ("host", host))
    assert err.error_status_hint == 421
    assert err.code == INVALID_REQUEST
    assert err.message == f"Misdirected Request: Host {host!r} is not allowed"


def test_missing_host_is_bad_request() -> None:
    err = refused(DEFAULT)
    assert err.error_status_hint == 400
    assert err.message == "Bad Request: missing Host header"


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost",
        "http://localhost:3000",
        "https://LOCALHOST:3000",
        "http://127.0.0.1:5173",
        "http://[::1]:5173",
        "http://app.localhost",
    ],
)
def test_loopback_origins_pass(origin: str) -> None:
    check(DEFAULT, ("origin", origin), ("host", "localhost:8000"))


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.com",
        "https://evil.com:443",
        "http://localhost.evil.com",
        "http://127.0.0.1.evil.com",
        "null",
        "localhost",
        "file://",
        "",
    ],
)
def test_foreign_origins_are_forbidden(origin: str) -> None:
    err = refused(DEFAULT, ("origin", origin), ("host", "localhost:8000"))
    assert err.error_status_hint == 403
    assert err.code == INVALID_REQUEST
    assert err.message == f"Forbidden: Origin {origin!r} is not allowed"


def test_origin_is_checked_before_host() -> None:
    err = refused(DEFAULT, ("origin", "http://evil.com"), ("host", "evil.com"))
    assert err.error_status_hint == 403


def test_repeated_origin_headers_are_joined_and_refused() -> None:
    err = refused(DEFAULT, ("origin", "http://localhost"), ("origin", "http://evil.com"), ("host", "localhost"))
    assert err.error_status_hint == 403


def test_allowed_origins_list() -> None:
    config = Config(allowed_origins=frozenset({"https://app.example.com"}))
    check(config, ("origin", "https://app.example.com"), ("host", "localhost"))
    check(config, ("origin", "http://localhost:3000"), ("host", "localhost"))  # loopback still fine
    for origin in ("https://app.example.com.evil", "http://app.example.com", "https://APP.example.com:443"):
        assert refused(config, ("origin", origin), ("host", "localhost")).error_status_hint == 403


def test_allowed_hosts_list() -> None:
    config = Config(allowed_hosts=frozenset({"API.example.com", "other.example:8443"}))
    for host in ("api.example.com", "api.example.com:443", "API.EXAMPLE.COM", "other.example:8443", "localhost"):
        check(config, ("host", host))
    for host in ("other.example:9999", "other.example", "example.com"):
        assert refused(config, ("host", host)).error_status_hint == 421


def test_no_loopback_validation_and_no_lists_accepts_anything() -> None:
    config = Config(validate_loopback=False)
    check(config)
    check(config, ("origin", "http://evil.com"), ("host", "evil.com"))
    check(config, ("origin", "null"))


def test_no_loopback_validation_with_allowed_hosts() -> None:
    config = Config(validate_loopback=False, allowed_hosts=frozenset({"api.example.com"}))
    check(config, ("host", "api.example.com:443"))
    check(config, ("origin", "http://anything.example"), ("host", "api.example.com"))  # no origin policy
    err = refused(config, ("host", "localhost"))
    assert err.error_status_hint == 421
    assert refused(config).message == "Bad Request: missing Host header"


def test_no_loopback_validation_with_allowed_origins() -> None:
    config = Config(validate_loopback=False, allowed_origins=frozenset({"https://a.example"}))
    check(config, ("origin", "https://a.example"))
    check(config)  # no Origin and no Host policy
    err = refused(config, ("origin", "http://localhost:3000"))
    assert err.error_status_hint == 403


@pytest.mark.parametrize("origin", ["http://[::1", "http://[evil]"])
def test_malformed_origin_is_forbidden(origin: str) -> None:
    err = refused(DEFAULT, ("origin", origin), ("host", "localhost"))
    assert err.error_status_hint == 403
    assert err.message == f"Forbidden: Origin {origin!r} is not allowed"


@pytest.mark.parametrize("host", ["[::1]evil.com", "[::1]:80evil.com", "[::1", "::1", ":8000", "a b", "x:99999999"])
def test_malformed_host_is_a_bad_request(host: str) -> None:
    err = refused(DEFAULT, ("host", host))
    assert err.error_status_hint == 400
    assert err.message == f"Bad Request: malformed Host header {host!r}"


@pytest.mark.parametrize(
    "hosts",
    [("localhost:8000", "evil.com"), ("localhost:8000, evil.com",)],
    ids=["repeated-header", "comma-in-value"],
)
def test_repeated_or_listed_host_is_refused(hosts: tuple[str, ...]) -> None:
    err = refused(DEFAULT, *(("host", h) for h in hosts))
    assert err.error_status_hint in (400, 421)


def test_a_method_in_another_case_is_not_allowed(harness: Harness) -> None:
    out = harness.request("post", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert out[0].status == 405


def test_json_nested_past_the_configured_depth_is_a_parse_error() -> None:
    from mcp_sansio import Config
    from tests.apps import demo_app
    from tests.conftest import body_of, make_harness

    harness = make_harness(demo_app(), Config(max_json_depth=8))
    info = {"name": "t", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {"x": [[[[1]]]]}, "clientInfo": info}  # 7 levels
    assert "result" in body_of(harness.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}))
    deep = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * 8 + b"]" * 8 + b"}}"
    error = body_of(harness.post(None, raw=deep))["error"]
    assert error == {"code": -32700, "message": "Parse error: JSON nested too deeply (more than 8 levels)"}


def test_wide_but_shallow_json_is_not_too_deep() -> None:
    from mcp_sansio._jsonrpc import loads

    wide = b'{"a":[' + b",".join([b'{"b":[1]}'] * 200) + b"]}"
    assert len(loads(wide, 4)["a"]) == 200  # 400 brackets, 4 levels: walked, and allowed
    assert loads(b'{"s":"' + b"[" * 100 + b'"}', 2) == {"s": "[" * 100}  # brackets in strings do not nest
