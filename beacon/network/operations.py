"""The hub's operations endpoints: `/health/live`, `/health/ready` and `/metrics`.

Ready means at least one member answered its /info at the last metadata fetch. `/metrics` has the
HTTP metrics of a beacon (beacon.api.metrics) and, per member, the latency of its calls and the count
of each outcome (answered, timeout, error, invalid).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify
from prometheus_client import Counter, Histogram

from beacon.api import health, metrics
from beacon.api.health import no_store
from beacon.network.fanout import Reply

bp = Blueprint("network_health", __name__)


@dataclass(frozen=True)
class MemberMetrics:
    """Per-member latency and outcomes of the hub's calls."""

    latency: Histogram
    outcomes: Counter

    def observe(self, reply: Reply) -> None:
        """Count one call to a member (a FanOut observer)."""
        self.latency.labels(reply.member.name).observe(reply.seconds)
        self.outcomes.labels(reply.member.name, reply.outcome).inc()


def init_app(app: Flask) -> MemberMetrics:
    """HTTP metrics, member metrics and the health endpoints on the hub's app."""
    metrics.init_app(app)
    registry = app.extensions[metrics.EXTENSION_KEY].registry
    latency = Histogram(
        "beacon_network_member_duration_seconds",
        "Time a member took to answer one call of the hub (timeouts count the time waited).",
        ("member",),
        buckets=metrics.LATENCY_BUCKETS,
        registry=registry,
    )
    outcomes = Counter(
        "beacon_network_member_calls",
        "Calls of the hub to a member, by outcome: answered, timeout, error (no HTTP answer), invalid (not JSON).",
        ("member", "outcome"),
        registry=registry,
    )
    app.register_blueprint(bp)
    return MemberMetrics(latency, outcomes)


# The hub is alive as a node is (the same view); readiness is its own: members rather than a store.
bp.add_url_rule("/health/live", view_func=health.live)


@bp.get("/health/ready")
def ready() -> Response:
    """200 when at least one member answered its /info at the last metadata fetch, else 503."""
    board = current_app.extensions["beacon"].board
    answering = sum(metadata.answered for metadata in board.current)
    if answering:
        return no_store(jsonify(status="ready", membersAnswering=answering, members=len(board.members)))
    reason = "the members' metadata is being fetched" if not board.fetched else "no member answers"
    response = jsonify(status="unavailable", reason=reason)
    response.status_code = 503
    return no_store(response)
