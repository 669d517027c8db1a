"""Login with the node's OpenID provider for the lookup page: authorization code flow with PKCE (authlib's
Flask client); the clinician's access token stays in the signed, HttpOnly session cookie and is sent to the
API for their searches, so they see what it grants."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, session, url_for

from beacon.settings import Settings

EXTENSION_KEY = "beacon_web_oauth"
PROVIDER = "node"
_USER, _TOKEN, _EXPIRES, _CSRF = "user", "access_token", "expires_at", "csrf"

bp = Blueprint("web_auth", __name__)


def init_app(app: Flask, settings: Settings) -> None:
    """Register the OpenID client when the settings name one; the login routes answer 404 otherwise."""
    if not settings.web_oidc_client_id:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=settings.web_oidc_client_id,
        client_secret=settings.web_oidc_client_secret or None,
        server_metadata_url=settings.web_oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": settings.web_oidc_scope, "code_challenge_method": "S256", "timeout": 5},
    )
    app.extensions[EXTENSION_KEY] = oauth


def login_enabled() -> bool:
    """Whether this node's page offers a login."""
    return EXTENSION_KEY in current_app.extensions


def _client() -> Any:
    if not login_enabled():
        abort(404)
    return getattr(current_app.extensions[EXTENSION_KEY], PROVIDER)


def _redirect_uri() -> str:
    # From the public base URL, not the Host header: the provider knows exactly this address.
    base = current_app.extensions["beacon"].settings.base_url.removesuffix("/").removesuffix("/api")
    return f"{base}/auth/callback"


@bp.route("/login")
def login() -> Response:
    """Send the browser to the provider (authlib adds state, nonce and the PKCE challenge)."""
    client = _client()
    session["next"] = _safe_next(request.args.get("next", "/"))
    try:
        return client.authorize_redirect(_redirect_uri())
    except Exception as error:  # the provider's discovery document could not be fetched
        current_app.logger.warning("login: the OpenID provider is unreachable: %s", error)
        return redirect(url_for("web.index", login_error="unavailable"))


@bp.route("/auth/callback")
def callback() -> Response:
    """Exchange the code (state and PKCE verifier checked by authlib) and keep the access token."""
    if "error" in request.args:
        return redirect(
            url_for("web.index", login_error=request.args.get("error_description") or request.args["error"])
        )
    try:
        token = _client().authorize_access_token()
    except Exception as error:  # authlib raises its own errors for a bad state, code or id_token
        current_app.logger.info("login failed: %s", error)
        return redirect(url_for("web.index", login_error="failed"))
    claims = dict(token.get("userinfo") or {})
    if "name" not in claims:
        claims.update(_userinfo(token))
    next_url = session.pop("next", "/")
    session.clear()  # a new session at login: nothing from before the login carries over
    session[_TOKEN] = token["access_token"]
    session[_EXPIRES] = int(token.get("expires_at") or time.time() + int(token.get("expires_in", 300)))
    session[_USER] = str(claims.get("name") or claims.get("email") or claims.get("sub") or "signed in")
    session[_CSRF] = secrets.token_urlsafe(24)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Forget the token; a POST carrying the session's CSRF token, so no other site can log a clinician out."""
    if not session.get(_CSRF) or request.form.get("csrf") != session.get(_CSRF):
        abort(400)
    session.clear()
    return redirect(url_for("web.index"))


def _userinfo(token: dict[str, Any]) -> dict[str, Any]:
    # The ID token may carry only `sub`; the name is for the page's header, so a failure costs only that.
    try:
        return dict(_client().userinfo(token=token))
    except Exception as error:
        current_app.logger.info("userinfo for the page's header failed: %s", error)
        return {}


def current_token() -> str | None:
    """The logged-in clinician's access token, None when anonymous or expired."""
    if session.get(_TOKEN) and int(session.get(_EXPIRES, 0)) <= time.time():
        session.clear()
    return session.get(_TOKEN)


def current_user() -> dict[str, str] | None:
    """The logged-in clinician's name and the logout form's CSRF token, None when anonymous."""
    if current_token() is None:
        return None
    return {"name": str(session.get(_USER, "")), "csrf": str(session.get(_CSRF, ""))}


def end_session() -> None:
    """Log out (the API refused the token: expired or revoked)."""
    session.clear()


LOGIN_ERRORS = {
    "unavailable": "the login service cannot be reached right now; please try again later",
    "refused": "the login service did not sign you in",
    "failed": "the login could not be completed; please try again",
}
"""What the page says after a failed login, by the code in its URL (never text from the URL itself)."""


def login_error_message(code: str) -> str:
    """The message for a `login_error` code of the page's URL; empty when there is none."""
    return LOGIN_ERRORS.get(code, LOGIN_ERRORS["failed"]) if code else ""


def _safe_next(target: str) -> str:
    # Only paths on this site: an open redirect after login would help phishing.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
