"""The example app with a one-second task lease, so tests see a dead runtime's tasks taken over quickly."""

from __future__ import annotations

from dataclasses import replace

import anyio
from examples.everything import app

from mcp_sansio import Config, Server

lease_app = replace(app, tools=dict(app.tools))  # a copy: the example itself stays as it is


@lease_app.tool(task_support="optional")
async def long_job(seconds: float) -> str:
    """Sleeps `seconds`; fails (does not restart) if its server dies meanwhile."""
    await anyio.sleep(seconds)
    return f"long job done after {seconds:g}s"


server = Server(lease_app, Config(task_lease=1.0, task_poll_interval=0.1))
