"""What every request handler needs, built once per app: settings, store, policy, verifier, schemas."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request

from beacon.errors import RequestTimeout, Unauthorized, UnsupportedMediaType
from beacon.query.entries import Caller, Policy
from beacon.query.entry_types import EntryType, EntryTypeRegistry
from beacon.query.framework import BeaconIdentity
from beacon.query.limits import RequestLimits, check_body_size, parse_json
from beacon.query.requests import BeaconRequest, Limits, parse_get, parse_post
from beacon.schemas import SchemaValidator
from beacon.settings import Settings
from beacon.store.base import Store

EXTENSION_KEY = "beacon"
_CALLER_KEY = "beacon_caller"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BeaconContext:
    """The app's collaborators; stored in `app.extensions["beacon"]`."""

    settings: Settings
    store: Store
    validator: SchemaValidator
    identity: BeaconIdentity
    registry: EntryTypeRegistry
    policy: Policy
    verifier: Any  # beacon.auth.tokens.TokenVerifier: identify(authorization_header) -> Verdict
    counters: Any = None  # beacon.store.limits.LimitsStore: query budgets and rate limits; None: neither
    noise_secret: bytes = b""

    @property
    def limits(self) -> Limits:
        """Page-size bounds from the settings."""
        return Limits(default_limit=self.settings.default_limit, max_limit=self.settings.max_limit)

    @property
    def request_limits(self) -> RequestLimits:
        """Bounds on bodies, URLs, JSON nesting and filters from the settings."""
        return RequestLimits.from_settings(self.settings)


def beacon_context() -> BeaconContext:
    """The context of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def current_caller(ctx: BeaconContext) -> Caller:
    """The verified caller of this request, worked out once per request.

    A token that is not this beacon's (another issuer's or audience's) makes an anonymous caller, logged and
    noted in the response `info`; a token of a trusted issuer that fails verification is a 401.
    """
    caller = g.get(_CALLER_KEY)
    if caller is None:
        caller = _identify(ctx)
        setattr(g, _CALLER_KEY, caller)
    return caller


def _identify(ctx: BeaconContext) -> Caller:
    from beacon.auth.tokens import InvalidTokenError

    try:
        verdict = ctx.verifier.identify(request.headers.get("Authorization"))
    except InvalidTokenError as error:
        raise Unauthorized(f"invalid bearer token: {error}") from None
    from beacon.api.protection import Meter, client_key, current_address

    principal = verdict.principal
    key = client_key(principal, current_address(ctx.settings.trusted_proxies))
    meter = Meter(ctx.counters, ctx.policy, principal, key)
    common = {"charge": meter.charge, "question": request.path, "noise_secret": ctx.noise_secret}
    common["member_ledger"] = meter.member_ledger
    if verdict.ignored is None:
        return Caller(principal=principal, policy=ctx.policy, **common)
    log.info("bearer token ignored, answering as anonymous: %s", verdict.ignored)
    warning = f"the bearer token was ignored ({verdict.ignored}): this is the answer for anonymous callers"
    return Caller(principal=principal, policy=ctx.policy, warnings=(warning,), **common)


def parse_request(
    ctx: BeaconContext, entry_type: EntryType | None = None, *, limits: Limits | None = None
) -> BeaconRequest:
    """The typed request from the query string (GET, HEAD) or the JSON body (POST); `limits` default to the
    settings'."""
    allowed = entry_type.request_parameters if entry_type else ()
    limits = limits or ctx.limits
    # HEAD is a GET without the body (Flask routes it to the GET view): monitoring probes use it.
    if request.method in ("GET", "HEAD"):
        return parse_get(request.args.items(multi=True), allowed_parameters=allowed, limits=limits)
    body = read_json_body(ctx.request_limits)
    return parse_post(body, validator=ctx.validator, allowed_parameters=allowed, limits=limits)


def read_json_body(limits: RequestLimits) -> Any:
    """The decoded JSON body of a POST; 415 unless it is declared as JSON, 400 if it is not valid JSON.

    Bodies past the size or nesting limits are refused (413, 400); a client that stops sending its
    body gets a 408.
    """
    if not request.is_json:
        raise UnsupportedMediaType("POST requests must have Content-Type: application/json")
    try:
        raw = request.get_data(cache=True)
    except OSError:  # the server's socket timeout: the client stopped sending
        raise RequestTimeout("the request body did not arrive in time") from None
    check_body_size(len(raw), limits)
    if not raw.strip():
        return {}
    return parse_json(raw, limits)
