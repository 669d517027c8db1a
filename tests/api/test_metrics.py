"""`/metrics`: request counts and latency by method, endpoint (route template) and status.

The scrape is read back with prometheus_client's own text parser; expected counts are the requests
each test makes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from beacon import create_app
from beacon.api.metrics import LATENCY_BUCKETS
from tests.conftest import DEMO_DATASET, make_settings


@pytest.fixture
def app(demo_store_file: Path):
    """A fresh app (fresh counters) on the shared demo store."""
    return create_app(make_settings(demo_store_file))


def scrape(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (sample name, sorted labels) -> value."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def labels(method: str, endpoint: str, status: str, **extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"method": method, "endpoint": endpoint, "status": status, **extra}.items()))


def test_requests_are_counted_by_route_and_status(app):
    client = app.test_client()
    for _ in range(3):
        client.get("/api/info")
    client.get(f"/api/datasets/{DEMO_DATASET}")
    client.get("/api/datasets/NOPE")
    client.post("/api/individuals", data="x", content_type="text/plain")
    samples = scrape(app)
    assert samples[("beacon_http_requests_total", labels("GET", "/api/info", "200"))] == 3
    assert samples[("beacon_http_requests_total", labels("GET", "/api/datasets/<entry_id>", "200"))] == 1
    assert samples[("beacon_http_requests_total", labels("GET", "/api/datasets/<entry_id>", "404"))] == 1
    assert samples[("beacon_http_requests_total", labels("POST", "/api/individuals", "415"))] == 1


def test_unknown_paths_share_one_label(app):
    client = app.test_client()
    for path in ("/api/nothing", "/wp-admin", "/api/individuals/x/y/z"):
        client.get(path)
    samples = scrape(app)
    assert samples[("beacon_http_requests_total", labels("GET", "unmatched", "404"))] == 3
    assert not [key for key in samples if ("endpoint", "/wp-admin") in key[1]]


def test_latency_is_a_histogram_with_the_declared_buckets(app):
    client = app.test_client()
    client.get("/api/info")
    client.get("/api/info")
    samples = scrape(app)
    series = labels("GET", "/api/info", "200")
    assert samples[("beacon_http_request_duration_seconds_count", series)] == 2
    assert samples[("beacon_http_request_duration_seconds_sum", series)] > 0
    for bound in (*LATENCY_BUCKETS, float("inf")):
        key = ("beacon_http_request_duration_seconds_bucket", labels("GET", "/api/info", "200", le=_le(bound)))
        assert key in samples
    infinite = ("beacon_http_request_duration_seconds_bucket", labels("GET", "/api/info", "200", le="+Inf"))
    assert samples[infinite] == 2


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def test_each_app_counts_its_own_requests(app, demo_store_file):
    other = create_app(make_settings(demo_store_file))
    app.test_client().get("/api/info")
    assert ("beacon_http_requests_total", labels("GET", "/api/info", "200")) not in scrape(other)


def test_health_probes_are_counted_with_their_status(app):
    app.test_client().get("/health/ready")
    assert scrape(app)[("beacon_http_requests_total", labels("GET", "/health/ready", "200"))] == 1
