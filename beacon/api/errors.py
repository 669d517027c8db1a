"""The one place where any failure becomes the Beacon error envelope."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from beacon.errors import GENERIC_500, BeaconError, ServiceUnavailable, error_envelope
from beacon.query.limits import RequestLimits, parse_json
from beacon.query.received import received_summary
from beacon.query.requests import Limits
from beacon.store.base import StoreUnavailable

log = logging.getLogger(__name__)


def render_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON error envelope response with `errorCode` equal to the HTTP status, echoing the request."""
    ctx = current_app.extensions.get("beacon")
    beacon_id = ctx.identity.id if ctx is not None else "beacon"
    default_limit = ctx.settings.default_limit if ctx is not None else Limits().default_limit
    limits = ctx.request_limits if ctx is not None else RequestLimits()
    received = received_summary(request.args.items(multi=True), _readable_body(limits), default_limit=default_limit)
    response = jsonify(error_envelope(status, message, beacon_id=beacon_id, received=received))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _readable_body(limits: RequestLimits) -> Any:
    """The POST body decoded as JSON whatever its Content-Type, or None when it cannot be read."""
    if request.method != "POST":
        return None
    # The body itself may be the error (too large, too deep, not JSON, not sent in time): then only the
    # query string is echoed. It is read within the same limits as a request's body.
    try:
        raw = request.get_data(cache=True)
        return parse_json(raw, limits) if raw.strip() else None
    except (HTTPException, OSError, BeaconError):
        return None


def _handle_beacon_error(error: BeaconError) -> Response:
    return render_error(error.status, error.message, dict(error.headers))


_HTTP_MESSAGES = {
    404: "no such endpoint",
    405: "method not allowed for this endpoint",
    413: "the request body is larger than this beacon accepts (BEACON_MAX_BODY_BYTES)",
}


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
    message = _HTTP_MESSAGES.get(status, error.name)
    return render_error(status, message, headers)


def _handle_store_unavailable(error: StoreUnavailable) -> Response:
    log.error("store unavailable: %s", error)
    return _handle_beacon_error(ServiceUnavailable("the data store is not available; try again later"))


def _handle_unexpected(error: Exception) -> Response:
    # The traceback goes to the log only; the caller never sees exception text.
    log.exception("unhandled error while answering a request")
    return render_error(500, GENERIC_500)


def init_app(app: Flask) -> None:
    """Register the error handlers on an app."""
    app.register_error_handler(BeaconError, _handle_beacon_error)
    app.register_error_handler(StoreUnavailable, _handle_store_unavailable)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
