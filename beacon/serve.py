"""Run the app under gunicorn from the `beacon serve` command (production uses the same app factory)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _BeaconServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from beacon import create_app

        return create_app()


def serve(host: str, port: int, workers: int) -> None:
    """Serve `create_app()` on host:port with gunicorn workers (blocks until stopped)."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "timeout": 30,
        # Each worker builds its own app (and store connections) after the fork.
        "preload_app": False,
        "accesslog": "-",
        # The default format would include the query string but never headers, so tokens stay out of logs.
        "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
    }
    _BeaconServer(options).run()
