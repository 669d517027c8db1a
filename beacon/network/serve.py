"""`beacon network serve` and `network_app()`: the hub under gunicorn with the production settings.

Under gunicorn directly: `BEACON_NETWORK_MEMBERS=members.yaml gunicorn --config python:beacon.gunicorn_conf
'beacon.network.serve:network_app()'`. Each worker fetches the members' metadata in the background when
it starts; `/health/ready` answers 200 once a member has answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

HUB_THREADS = 16
"""Threads per worker: a hub's requests mostly wait on members, up to the budget."""


def network_app() -> Flask:
    """The hub's app from the environment's settings (BEACON_NETWORK_MEMBERS names the members file)."""
    from beacon.network import create_network_app

    return create_network_app()


def network_when_ready(server: Any) -> None:
    """Say once which members file the hub serves (the beacon's hook would look for a store)."""
    server.log.info("beacon network hub ready; members from %s", server.cfg.env.get("BEACON_NETWORK_MEMBERS"))


def hub_gunicorn_settings(members: Path, host: str, port: int, workers: int | None = None) -> dict[str, Any]:
    """The production gunicorn settings of `beacon serve`, for a hub of the members in `members`."""
    from beacon.serve import gunicorn_settings

    settings = gunicorn_settings(host, port, workers)
    settings["raw_env"] = [*settings["raw_env"], f"BEACON_NETWORK_MEMBERS={members.resolve()}"]
    settings["when_ready"] = network_when_ready
    settings["threads"] = HUB_THREADS
    return settings


def serve(members: Path, host: str, port: int, workers: int | None = None) -> None:
    """Serve the hub on host:port under gunicorn (blocks until stopped)."""
    from beacon.serve import GunicornServer

    GunicornServer(hub_gunicorn_settings(members, host, port, workers), network_app).run()
