"""Request limits at the HTTP boundary: the URL and the declared body size are checked before routing."""

from __future__ import annotations

from flask import Flask, request

from beacon.api.context import beacon_context
from beacon.query.limits import check_body_size, check_url_length


def check_request_size() -> None:
    """414 for a URL past BEACON_MAX_URL_LENGTH, 413 for a declared body past BEACON_MAX_BODY_BYTES."""
    limits = beacon_context().request_limits
    # RAW_URI (gunicorn) is the target as sent; elsewhere the path and query string stand for it.
    target = request.environ.get("RAW_URI") or request.full_path
    check_url_length(len(target.encode("utf-8", "surrogateescape")), limits)
    check_body_size(request.content_length, limits)


def init_app(app: Flask, max_body_bytes: int) -> None:
    """Check every request's size first; werkzeug stops reading bodies without a length past the limit."""
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.before_request(check_request_size)
