"""The clinician's lookup page at `/` (server-rendered, no JavaScript needed) and its login; the API stays
under `/api` and the page asks it in-process (`beacon.web.api_call`), so every answer has its API request."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from beacon.settings import Settings

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask, settings: Settings) -> None:
    """Register the page, its static files and the login routes; configure the session cookie."""
    from beacon.web import auth, views

    # Without a configured secret (no login) the session holds nothing worth keeping across restarts.
    app.secret_key = settings.web_session_secret or secrets.token_urlsafe(32)
    app.config.update(
        SESSION_COOKIE_NAME="beacon_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # sent on the provider's redirect back (a top-level GET), not on others' POSTs
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    auth.init_app(app, settings)
    app.register_blueprint(views.bp)
    app.register_blueprint(auth.bp)
