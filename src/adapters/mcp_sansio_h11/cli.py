"""The ``mcp-sansio`` command: ``mcp-sansio serve TARGET [options]``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

from mcp_sansio import App, Server
from mcp_sansio_redis import RedisStoreError, parse_url

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
        )
    except OSError as exc:  # serve() raises OSError bare only when it cannot bind
        shown = f"[{args.host}]" if ":" in args.host else args.host
        raise SystemExit(f"error: cannot listen on {shown}:{args.port}: {exc}") from None
    except RedisStoreError as exc:  # raised bare only by the start-up PING, before listening
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
