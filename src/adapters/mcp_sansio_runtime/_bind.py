"""Defaults that depend on where a server listens."""

from __future__ import annotations

import ipaddress

from mcp_sansio import App, Config, ResourceServer, Server

__all__ = ["is_loopback_host", "as_server"]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` binds only the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def as_server(target: App | Server, host: str = "127.0.0.1", auth: ResourceServer | None = None) -> Server:
    """The core server for ``target``; an App gets defaults that fit the bind address.

    Bound to loopback, Origin and Host are checked against loopback names
    (DNS-rebinding protection); bound elsewhere, configure ``Config.allowed_hosts``.
    ``auth`` turns authorization on (a Server made without it gets it).

    Raises:
        ValueError: ``target`` is a Server made with another ``auth``.
    """
    if isinstance(target, Server):
        if auth is not None and target.auth is not None and target.auth != auth:
            raise ValueError("the Server already has another auth=ResourceServer(...)")
        if auth is not None:
            target.auth = auth
        return target
    return Server(target, Config(validate_loopback=is_loopback_host(host)), auth=auth)
