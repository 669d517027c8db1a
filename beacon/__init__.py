"""A GA4GH Beacon v2 discovery server: `create_app(settings)` wires the Flask application."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from beacon.settings import Settings

if TYPE_CHECKING:  # Flask is imported when an app is made: loader workers and the CLI need none of it
    from flask import Flask

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **collaborators: Any) -> Flask:
    """The Flask app for one beacon; `settings` defaults to `Settings.from_env()`.

    `collaborators` may replace the store, policy or verifier built from the settings (tests use it
    to share one store between an app and a loader).
    """
    from flask import Flask
    from flask_cors import CORS

    from beacon.api import context, entries, errors, framework, g_variants, limits, protection

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False  # keep the spec's field order readable
    # `//` in a path is a 404 like any unknown path, not a redirect (routing redirects bypass the envelope).
    app.url_map.merge_slashes = False
    app.extensions[context.EXTENSION_KEY] = _build_context(settings, collaborators)
    errors.init_app(app)
    limits.init_app(app, settings.max_body_bytes)
    protection.init_app(app, app.extensions[context.EXTENSION_KEY])
    _init_operations(app)
    CORS(
        app,
        resources={r"/api/*": {"origins": "*"}},
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        send_wildcard=True,
    )
    app.register_blueprint(framework.bp, url_prefix="/api")
    app.register_blueprint(g_variants.bp, url_prefix="/api")
    app.register_blueprint(entries.create_blueprint(app.extensions[context.EXTENSION_KEY].registry), url_prefix="/api")
    _init_page(app, settings)
    return app


def _init_operations(app: Flask) -> None:
    """Request ids for the logs, Prometheus metrics, and the health endpoints (see docs/deployment.md)."""
    from beacon import logs
    from beacon.api import health, metrics

    logs.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(health.bp)


def _init_page(app: Flask, settings: Settings) -> None:
    """The clinician's lookup page at `/` and its login (beacon/web/)."""
    from beacon import web

    web.init_app(app, settings)


def _limits_store(settings: Settings, policy: Any) -> Any:
    """The shared counters, opened only when a rate limit or a query budget needs them."""
    from beacon.store import default_limits_uri, open_limits

    if settings.rate_limit <= 0 and not getattr(policy, "has_budgets", False):
        return None
    return open_limits(settings.limits_uri or default_limits_uri(settings.store_uri))


def _noise_secret(settings: Settings) -> bytes:
    """The key of noisy counts: BEACON_NOISE_SECRET, else the policy file's bytes (the same in every worker)."""
    if settings.noise_secret:
        return settings.noise_secret.encode()
    if settings.access_file is not None and settings.access_file.is_file():
        return settings.access_file.read_bytes()
    return b"beacon"


def _build_context(settings: Settings, collaborators: dict[str, Any]) -> Any:
    from beacon.api.context import BeaconContext
    from beacon.auth.policy import AccessPolicy
    from beacon.auth.tokens import AuthConfig, TokenVerifier
    from beacon.query.entry_types import EntryTypeRegistry
    from beacon.query.framework import BeaconIdentity
    from beacon.schemas import default_validator
    from beacon.store import open_store

    store = collaborators.get("store") or open_store(settings.store_uri)
    policy = collaborators.get("policy") or AccessPolicy.load(settings.access_file)
    if getattr(policy, "secure_default", False):
        log.warning("no BEACON_ACCESS_FILE: every dataset is CONTROLLED (anonymous callers get boolean answers)")
    verifier = collaborators.get("verifier") or TokenVerifier(
        AuthConfig(
            issuers=settings.oidc_issuers,
            audiences=settings.oidc_audiences,
            trusted_jkus=settings.trusted_jkus,
            visa_issuers=settings.visa_issuers,
            registered_requires=settings.registered_requires,
            opaque_token_issuer=settings.oidc_opaque_issuer,
            http_timeout=settings.http_timeout,
            # Token work (budget + one last exchange) stays within 3 s, leaving the store its share of
            # the aggregators' 5 s budget.
            request_budget=3.0 - settings.http_timeout,
        )
    )
    return BeaconContext(
        counters=collaborators.get("counters") or _limits_store(settings, policy),
        noise_secret=_noise_secret(settings),
        settings=settings,
        store=store,
        validator=default_validator(),
        identity=BeaconIdentity.from_info(settings.info, settings.environment, settings.base_url),
        registry=EntryTypeRegistry(),
        policy=policy,
        verifier=verifier,
    )
