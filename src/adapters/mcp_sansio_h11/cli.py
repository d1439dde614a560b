"""The ``mcp-sansio`` command: ``mcp-sansio serve TARGET [options]``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from mcp_sansio import App, ResourceServer, Server
from mcp_sansio_redis import RedisStoreError, parse_url
from mcp_sansio_runtime import TokenVerifier

from ._connection import Timeouts
from ._serve import serve

__all__ = ["main", "load_target"]


def load_target(target: str) -> App | Server:
    """Import ``package.module:attr`` or ``path/to/file.py:attr`` and return the App or Server it names."""
    module_part, sep, attr = target.rpartition(":")
    if not sep or not module_part or not attr:
        raise SystemExit(f"error: TARGET must look like module:attr or file.py:attr, got {target!r}")
    module: Any
    if module_part.endswith(".py") or "/" in module_part:
        path = Path(module_part).resolve()
        if not path.is_file():
            raise SystemExit(f"error: no such file: {module_part}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"error: {module_part} has no attribute {attr!r}") from None
    if not isinstance(value, (App, Server)):
        raise SystemExit(f"error: {target} is a {type(value).__name__}, not an mcp_sansio App or Server")
    return value


def _port(text: str) -> int:
    """Parse ``--port``: an integer from 0 to 65535.

    Args:
        text: The option's value as given on the command line.

    Returns:
        The port number.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not an integer in 0..65535.
    """
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: must be an integer from 0 to 65535")
    return port


def _redis_url(text: str) -> str:
    """Parse ``--redis-url``: a ``redis://``, ``rediss://`` or ``unix://`` URL.

    Args:
        text: The option's value as given on the command line.

    Returns:
        The URL, unchanged.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not a Redis URL (the message hides a password).
    """
    try:
        parse_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_auth_options(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("authorization (an OAuth 2.1 resource server; needs mcp-sansio[auth])")
    group.add_argument("--auth-resource", metavar="URI", help="this endpoint's canonical URI: turns authorization on")
    group.add_argument(
        "--auth-server", metavar="URL", action="append", default=[], help="issuer URL of a trusted authorization server"
    )
    group.add_argument("--auth-jwks-url", metavar="URL", help="verify JWT access tokens with the keys published here")
    group.add_argument("--auth-introspection-url", metavar="URL", help="verify tokens at this RFC 7662 endpoint")
    group.add_argument("--auth-client-id", metavar="ID", help="this server's client id at the introspection endpoint")
    group.add_argument(
        "--auth-client-secret-env", metavar="VAR", help="environment variable holding that client's secret"
    )
    group.add_argument(
        "--auth-scope", metavar="SCOPE", action="append", default=[], help="a scope every request needs (repeatable)"
    )


def _auth(args: argparse.Namespace, run: argparse.ArgumentParser) -> tuple[ResourceServer | None, TokenVerifier | None]:
    """The resource server and token verifier the ``--auth-*`` options describe (None, None without them)."""
    others = [args.auth_server, args.auth_jwks_url, args.auth_introspection_url, args.auth_client_id, args.auth_scope]
    if args.auth_resource is None:
        if any(others) or args.auth_client_secret_env:
            run.error("the --auth-* options need --auth-resource")
        return None, None
    if not args.auth_server:
        run.error("--auth-resource needs at least one --auth-server")
    if (args.auth_jwks_url is None) == (args.auth_introspection_url is None):
        run.error("--auth-resource needs exactly one of --auth-jwks-url and --auth-introspection-url")
    try:
        resource = ResourceServer(args.auth_resource, tuple(args.auth_server), scopes_required=tuple(args.auth_scope))
    except ValueError as exc:
        run.error(str(exc))
    try:
        from mcp_sansio_auth import IntrospectionVerifier, JwtVerifier
    except ImportError as exc:
        message = f"error: authorization needs the [auth] extra: pip install 'mcp-sansio[auth]' ({exc})"
        raise SystemExit(message) from None
    if args.auth_jwks_url is not None:
        return resource, JwtVerifier(args.auth_jwks_url)
    secret = None
    if args.auth_client_secret_env is not None:
        secret = os.environ.get(args.auth_client_secret_env)
        if secret is None:
            run.error(f"--auth-client-secret-env: the environment has no {args.auth_client_secret_env}")
    verifier = IntrospectionVerifier(args.auth_introspection_url, client_id=args.auth_client_id, client_secret=secret)
    return resource, verifier


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="mcp-sansio", description="Serve MCP over Streamable HTTP.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve an App or Server over HTTP/1.1 (h11)")
    run.add_argument("target", help="package.module:attr or path/to/file.py:attr")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000; 0 picks one)")
    run.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (default asyncio)")
    run.add_argument("--uvloop", action="store_true", help="use uvloop with the asyncio backend")
    run.add_argument("--path", default="/mcp", help="endpoint path (default /mcp)")
    run.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    run.add_argument(
        "--redis-url",
        type=_redis_url,
        metavar="URL",
        help="keep sessions and event logs in Redis, shared by every server given the same URL and prefix "
        "(redis://[user:password@]host[:port][/db], rediss://..., unix:///path?db=N; default: in memory)",
    )
    run.add_argument("--redis-prefix", metavar="P", help="prefix of every Redis key (default mcp:); needs --redis-url")
    _add_auth_options(run)
    defaults = Timeouts()
    for name, what in (
        ("header", "seconds to receive a request head"),
        ("body", "seconds to receive a request body"),
        ("idle", "seconds a kept-alive connection may wait for its next request"),
    ):
        default = getattr(defaults, name)
        run.add_argument(
            f"--{name}-timeout", type=float, default=default, metavar="S", help=f"{what} (default {default:g})"
        )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        timeouts = Timeouts(args.header_timeout, args.body_timeout, args.idle_timeout)
    except ValueError as exc:
        parser.error(str(exc))
    if args.redis_prefix is not None and args.redis_url is None:
        run.error("--redis-prefix needs --redis-url")
    auth, verifier = _auth(args, run)
    target = load_target(args.target)
    try:
        serve(
            target,
            host=args.host,
            port=args.port,
            path=args.path,
            backend=args.backend,
            uvloop=args.uvloop,
            timeouts=timeouts,
            redis_url=args.redis_url,
            redis_prefix="mcp:" if args.redis_prefix is None else args.redis_prefix,
            auth=auth,
            verifier=verifier,
        )
    except OSError as exc:  # serve() raises OSError bare only when it cannot bind
        shown = f"[{args.host}]" if ":" in args.host else args.host
        raise SystemExit(f"error: cannot listen on {shown}:{args.port}: {exc}") from None
    except RedisStoreError as exc:  # raised bare only by the start-up PING, before listening
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
