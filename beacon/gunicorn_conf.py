"""gunicorn settings for production, shared by the Docker image and `beacon serve`.

    gunicorn --config python:beacon.gunicorn_conf 'beacon.serve:production_app()'

is what the image runs; `beacon serve` loads the same settings (`beacon.serve`), overriding only
the address and, when given, the worker count. The worker count is one rule for both:
`BEACON_WORKERS` when set, else `worker_count` of the CPUs the process may use; a `--workers`
option (of `beacon serve` or of gunicorn, also through GUNICORN_CMD_ARGS) wins over it. The beacon
reads its own settings from `BEACON_*` variables (beacon/settings.py); this module only configures
the HTTP server. With the gunicorn command, override any value on the command line or with
GUNICORN_CMD_ARGS, e.g. `GUNICORN_CMD_ARGS="--timeout 3"`. gunicorn reads every module-level name
that is one of its settings, so helpers here have names that are not. See docs/deployment.md.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from beacon.settings import SettingsError, workers_from_env

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> float:
    """CPUs this process may use: the container's cgroup v2 quota if it has one, else its CPU affinity."""
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    try:
        quota, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        return cpus
    return cpus if quota == "max" else min(cpus, int(quota) / int(period))


def worker_count(cpus: float) -> int:
    """Two workers per CPU plus one (requests mostly wait on the store), at least 2, at most 12."""
    return max(2, min(12, int(2 * cpus) + 1))


def configured_workers(environ: Mapping[str, str] | None = None, cpus: float | None = None) -> int:
    """`BEACON_WORKERS` when set, else `worker_count` of the CPUs (default: those this process may use)."""
    try:
        configured = workers_from_env(environ)
    except SettingsError:
        # The app's own settings check names the variable and stops the server (`beacon serve` before
        # gunicorn starts, the image's workers at boot); failing here would only add a traceback.
        configured = None
    return configured if configured is not None else worker_count(available_cpus() if cpus is None else cpus)


bind = "0.0.0.0:5050"
workers = configured_workers()
# Threads let a worker keep answering while one request waits on MongoDB or an OIDC provider, and
# keep the worker heartbeat going, so `timeout` below only catches a truly stuck worker. The beacon's
# worker is gunicorn's gthread worker that receives each request whole (headers and body, within
# BEACON_CLIENT_TIMEOUT) in its event loop before a thread takes it: slow or idle clients cost a
# buffer, not a thread (beacon/worker.py; figures in docs/deployment.md).
worker_class = "beacon.worker.BeaconWorker"
threads = 4
# Connections one worker holds at once (slow ones included); past it, the worker stops accepting.
worker_connections = 500
# gunicorn's own limit on the request line, at its maximum: the app's BEACON_MAX_URL_LENGTH (at most
# 8000) answers long URLs first, with its message; what gunicorn refuses gets the JSON envelope too.
limit_request_line = 8190
# Every timeout stays below the 5 s network budget of a Beacon request. Requests themselves are
# bounded by the store (1.5 s of MongoDB reads per request, beacon.store.mongo.budget) and by the
# token checks (at most 3 s, BEACON_HTTP_TIMEOUT per outgoing call).
timeout = 4  # a worker silent this long (also while booting; boot takes ~1 s) is restarted
graceful_timeout = 4  # on shutdown, in-flight requests get this long to finish
keepalive = 2  # idle keep-alive connections behind a proxy are closed after this
# Each worker builds its own app and store connections after the fork (pymongo clients are not fork-safe).
preload_app = False
# Recycle workers now and then so slow leaks cannot grow without bound.
max_requests = 10000
max_requests_jitter = 1000
# No control socket (gunicorn >= 24 would create one under $HOME): signals are enough in a container.
control_socket_disable = True

# Logs: JSON lines on stderr with the request id; the access log comes from beacon.logs.AccessLogger,
# which writes only allow-listed fields (no Authorization header, secret query parameters redacted).
accesslog = "-"
errorlog = "-"
logger_class = "beacon.logs.AccessLogger"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "beacon.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "beacon.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
}

# Prometheus multiprocess mode: the workers write their counters here and /metrics adds them up.
# The master empties it at start-up (counters from a previous run must not survive).
METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
raw_env = [f"{METRICS_VARIABLE}=/tmp/beacon-metrics"]


def _metrics_dir(server: Any) -> Path | None:
    directory = server.cfg.env.get(METRICS_VARIABLE)
    return Path(directory) if directory else None


def on_starting(server: Any) -> None:
    """Start with an empty metrics directory."""
    directory = _metrics_dir(server)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)


def when_ready(server: Any) -> None:
    """Say once, clearly, whether the store is ready (the workers start either way)."""
    from beacon.api.health import report_store_at_startup
    from beacon.settings import Settings, SettingsError
    from beacon.store import open_store
    from beacon.store.base import StoreError

    try:
        store = open_store(Settings.from_env().store_uri)
    except (SettingsError, StoreError, ValueError) as error:
        server.log.error("cannot open the store: %s", error)
        return
    try:
        report_store_at_startup(store)
        _report_configuration(server, store)
    finally:
        store.close()


def _report_configuration(server: Any, store: Any) -> None:
    """Log once what `beacon check` would say (a policy naming no stored dataset...); the server starts anyway."""
    from beacon.checks import check_configuration, log_problems
    from beacon.settings import Settings

    log_problems(check_configuration(Settings.from_env(), store), server.log)


def child_exit(server: Any, worker: Any) -> None:
    """Let the metrics of a worker that exited be merged correctly."""
    directory = _metrics_dir(server)
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(directory))
