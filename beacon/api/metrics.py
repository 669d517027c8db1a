"""Prometheus metrics at `/metrics`: request counts and latency by endpoint (route template) and status.

Each app has its own registry (no process-wide state). Under gunicorn with several workers, each
worker is a process with its own counters; beacon/gunicorn_conf.py therefore sets
PROMETHEUS_MULTIPROC_DIR, and a scrape then adds up every worker's counters from that directory
(prometheus_client's multiprocess mode). Without it (e.g. `flask run`, tests), a scrape shows the
counters of the one process that answers it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

EXTENSION_KEY = "beacon.metrics"
LABELS = ("method", "endpoint", "status")
# Seconds; the network budget of a Beacon request is 5 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"  # unknown paths share one label, so scanners cannot inflate the series

bp = Blueprint("metrics", __name__)


@dataclass(frozen=True)
class HttpMetrics:
    """The metrics of one app."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram


def create_metrics() -> HttpMetrics:
    """Fresh metrics in a registry of their own."""
    registry = CollectorRegistry()
    requests = Counter(
        "beacon_http_requests", "HTTP requests answered, by endpoint and status.", LABELS, registry=registry
    )
    latency = Histogram(
        "beacon_http_request_duration_seconds",
        "Time to answer an HTTP request, by endpoint and status.",
        LABELS,
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return HttpMetrics(registry=registry, requests=requests, latency=latency)


def init_app(app: Flask) -> None:
    """Measure every request of the app and serve `/metrics`."""
    app.extensions[EXTENSION_KEY] = create_metrics()
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    metrics: HttpMetrics = current_app.extensions[EXTENSION_KEY]
    endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    labels = (request.method, endpoint, str(response.status_code))
    metrics.requests.labels(*labels).inc()
    metrics.latency.labels(*labels).observe(time.perf_counter() - g.get("metrics_started", time.perf_counter()))
    return response


@bp.get("/metrics")
def scrape() -> Response:
    """The metrics in the Prometheus text format."""
    return Response(generate_latest(_scrape_registry()), mimetype=CONTENT_TYPE_LATEST)


def _scrape_registry() -> CollectorRegistry:
    try:  # multiprocess mode: every worker's counters, read from PROMETHEUS_MULTIPROC_DIR
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    except ValueError:  # not configured: this process's own counters
        return current_app.extensions[EXTENSION_KEY].registry
