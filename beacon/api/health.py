"""Liveness and readiness for orchestrators: `/health/live` (the process answers) and `/health/ready`.

Ready means the store answers and its schema is current (`Store.check()`). A store that is down
makes the beacon not ready, never makes it exit: it keeps answering, with 503s, and becomes ready by
itself when the store is back. `report_store_at_startup` logs one clear line about the store when
the server starts (gunicorn calls it once, from the master process).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from beacon.api.context import beacon_context
from beacon.store.base import Store, StoreError

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def no_store(response: Response) -> Response:
    """The response marked never to be cached (health answers change from one moment to the next)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health/live")
def live() -> Response:
    """200 while the process can answer requests at all."""
    return no_store(jsonify(status="alive"))


@bp.get("/health/ready")
def ready() -> Response:
    """200 when the store answers with the current schema, else 503 (the reason goes to the log)."""
    try:
        beacon_context().store.check()
    except StoreError as error:
        log.warning("not ready: %s", error)
        response = jsonify(status="unavailable", reason="the data store is not available")
        response.status_code = 503
        return no_store(response)
    return no_store(jsonify(status="ready"))


def report_store_at_startup(store: Store) -> bool:
    """Check the store once and log the outcome in one line (no traceback); True when it is ready."""
    try:
        store.check()
    except StoreError as error:
        log.error("the store is not ready at start-up: %s; /health/ready answers 503 until it is", error)
        return False
    log.info("the store is ready")
    return True
