"""The production app and `beacon serve`: gunicorn with the settings of `beacon.gunicorn_conf`.

The Docker image runs `gunicorn --config python:beacon.gunicorn_conf 'beacon.serve:production_app()'`;
`beacon serve` runs the same app with the same settings, overriding only the address and, when
given, the number of workers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from beacon import gunicorn_conf

if TYPE_CHECKING:
    from flask import Flask

    from beacon.settings import Settings


def production_app() -> Flask:
    """`create_app()` whose requests each get one budget of MongoDB reads (`beacon.store.mongo.budget`)."""
    from beacon import create_app
    from beacon.store.mongo.budget import with_read_budget

    app = create_app()
    app.wsgi_app = with_read_budget(app.wsgi_app)  # type: ignore[method-assign]
    return app


def check_startup(settings: Settings) -> None:
    """Raise if the access policy cannot be read or the store cannot be read (missing, foreign, damaged, down).

    Runs in the `beacon serve` process before gunicorn starts, without building the app: the app's
    metrics must be created after gunicorn has set PROMETHEUS_MULTIPROC_DIR, in the workers. Once
    started, a store that fails is answered with 503s until it is back (see beacon.api.health).
    """
    from beacon.auth.policy import AccessPolicy
    from beacon.store import open_store

    AccessPolicy.load(settings.access_file)
    store = open_store(settings.store_uri, access="read")
    try:
        store.check()
    finally:
        store.close()


def gunicorn_settings(host: str, port: int, workers: int | None = None) -> dict[str, Any]:
    """The settings of `beacon.gunicorn_conf` (gunicorn's names only), with the address and workers given.

    The metrics directory is per port: unlike a container, a machine may run several beacons, and
    gunicorn empties the directory when it starts.
    """
    from gunicorn.config import Config

    known = Config().settings
    settings = {name: value for name, value in vars(gunicorn_conf).items() if name in known}
    settings["bind"] = f"{host}:{port}"
    settings["raw_env"] = [f"{gunicorn_conf.METRICS_VARIABLE}={metrics_directory(port)}"]
    if workers is not None:
        settings["workers"] = workers
    return settings


def metrics_directory(port: int) -> Path:
    """Where the workers of `beacon serve --port PORT` keep their Prometheus counters."""
    return Path(tempfile.gettempdir()) / f"beacon-metrics-{port}"


class GunicornServer(BaseApplication):
    """gunicorn run in-process with these settings, its workers serving what `app_factory` makes."""

    def __init__(self, settings: dict[str, Any], app_factory: Callable[[], Flask]) -> None:
        self._settings = settings
        self._app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        """Apply the settings to gunicorn's configuration."""
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """The app a worker serves."""
        return self._app_factory()


def serve(host: str, port: int, workers: int | None = None) -> None:
    """Serve the production app on host:port under gunicorn (blocks until stopped)."""
    GunicornServer(gunicorn_settings(host, port, workers), production_app).run()
