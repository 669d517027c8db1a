"""One frozen Settings object, built from `BEACON_*` environment variables and validated at start-up.

This is the only module that reads the environment. `SETTINGS` declares every setting with its
default and documentation; README.md's configuration table is tested against it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

DEFAULT_STORE_URI = "sqlite:///var/beacon.sqlite"
REGISTERED_REQUIREMENTS = ("bona_fide", "researcher_status", "authenticated")
FILTERABLE_ENTRY_TYPES = ("datasets", "cohorts", "individuals", "biosamples", "g_variants", "runs", "analyses")
# gunicorn refuses request lines past 8190 bytes; the beacon's own limit stays below, so it answers first.
MAX_URL_LENGTH = 8000


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable."""


def _text(_name: str, raw: str) -> str:
    return raw


def _path(_name: str, raw: str) -> Path:
    return Path(raw)


def _list(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None


def _parse_workers(name: str, raw: str) -> int:
    number = _parse_int(name, raw)
    if number < 1:
        raise SettingsError(f"{name}: expected at least 1 worker, got {number}")
    return number


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of seconds, got {raw!r}") from None


def _parse_rate(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name}: must be 0 (off) or more, got {raw!r}")
    return value


def _parse_networks(name: str, raw: str) -> tuple[str, ...]:
    import ipaddress

    networks = _list(name, raw)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {network!r} is not an IP address or network (CIDR)") from None
    return networks


def _parse_info_file(name: str, raw: str) -> Mapping[str, Any]:
    path = Path(raw)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"{name}: cannot read {raw}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise SettingsError(f"{name}: {raw} is not valid JSON/YAML: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{name}: {raw} must hold an object (mapping)")
    return data


@dataclass(frozen=True)
class SettingSpec:
    """One documented setting: its variable, default, meaning, and how its text becomes a Settings field."""

    env: str
    default: str
    help: str
    parse: Callable[[str, str], Any] = _text
    field: str = ""  # the Settings field; by default the variable's name without BEACON_, lower-cased

    @property
    def field_name(self) -> str:
        """The Settings field this variable sets."""
        return self.field or self.env.removeprefix("BEACON_").lower()


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "BEACON_STORE_URI",
        DEFAULT_STORE_URI,
        "Where data lives: `sqlite:///relative/or/absolute/path.sqlite` (default, embedded) or a "
        "`mongodb://` / `mongodb+srv://` connection string.",
    ),
    SettingSpec(
        "BEACON_BASE_URL",
        "http://127.0.0.1:5050/api",
        "Public base URL of the API, used for the absolute URLs in `/map` and `/info`.",
    ),
    SettingSpec(
        "BEACON_INFO_FILE",
        "",
        "Optional JSON or YAML file with the beacon's identity: id, name, organization (id, name, "
        "logoUrl, welcomeUrl, contactUrl...), environment, description, version.",
        parse=_parse_info_file,
        field="info",
    ),
    SettingSpec("BEACON_ENVIRONMENT", "dev", "Deployment environment reported in `/info`: prod, test, dev or staging."),
    SettingSpec(
        "BEACON_ACCESS_FILE",
        "",
        "Access policy file (YAML/JSON): security level and granularity ceilings per dataset. Without "
        "it every dataset is CONTROLLED, with the default rare-allele protection (Re-identification).",
        parse=_path,
    ),
    SettingSpec("BEACON_OIDC_ISSUERS", "", "Comma-separated trusted token issuers (exact match).", parse=_list),
    SettingSpec("BEACON_OIDC_AUDIENCES", "", "Comma-separated accepted `aud` values of access tokens.", parse=_list),
    SettingSpec("BEACON_TRUSTED_JKUS", "", "Comma-separated trusted visa key set URLs (`jku`).", parse=_list),
    SettingSpec("BEACON_VISA_ISSUERS", "", "Comma-separated trusted visa issuers.", parse=_list),
    SettingSpec(
        "BEACON_REGISTERED_REQUIRES",
        "bona_fide",
        "What makes a caller `registered`: bona_fide (ResearcherStatus + AcceptedTermsAndPolicies "
        "visas), researcher_status, or authenticated (any valid token).",
    ),
    SettingSpec(
        "BEACON_OIDC_OPAQUE_ISSUER",
        "",
        "Issuer whose userinfo endpoint validates opaque (non-JWT) access tokens; needed only when several "
        "issuers are trusted.",
    ),
    SettingSpec(
        "BEACON_HTTP_TIMEOUT",
        "2.0",
        "Seconds allowed for each outgoing request (OIDC discovery, JWKS, userinfo); at most 2.",
        parse=_parse_float,
    ),
    SettingSpec("BEACON_MAX_LIMIT", "1000", "Largest `limit` (page size) a request may ask for.", parse=_parse_int),
    SettingSpec("BEACON_DEFAULT_LIMIT", "10", "Page size when a request gives no `limit`.", parse=_parse_int),
    SettingSpec(
        "BEACON_FILTERS_REQUIRED",
        "",
        "Comma-separated entry types (datasets, cohorts, individuals, biosamples, g_variants) whose list "
        "queries must carry at least one filter: `/configuration` says `nonFilteredQueriesAllowed: false` "
        "and an unfiltered query gets a 400.",
        parse=_list,
    ),
    SettingSpec(
        "BEACON_WORKERS",
        "",
        "gunicorn worker processes of `beacon serve` and of the Docker image; unset: twice the CPUs the process "
        "may use, plus 1 (a container's CPU quota counts), at least 2, at most 12. `beacon serve --workers N` "
        "and gunicorn's own `--workers N` win over it.",
        parse=_parse_workers,
    ),
    SettingSpec(
        "BEACON_MAX_BODY_BYTES",
        "1048576",
        "Largest POST body (bytes); a larger one gets a 413 before it is read.",
        parse=_parse_int,
    ),
    SettingSpec(
        "BEACON_MAX_URL_LENGTH",
        "8000",
        "Longest request URL (path and query string, bytes); a longer one gets a 414. At most 8000: "
        "gunicorn itself refuses request lines past 8190 bytes.",
        parse=_parse_int,
    ),
    SettingSpec(
        "BEACON_MAX_JSON_DEPTH",
        "32",
        "How deep arrays and objects may nest in a POST body; deeper bodies get a 400.",
        parse=_parse_int,
    ),
    SettingSpec(
        "BEACON_MAX_FILTERS",
        "100",
        "Most filters one request may carry; more get a 400.",
        parse=_parse_int,
    ),
    SettingSpec(
        "BEACON_CLIENT_TIMEOUT",
        "5.0",
        "Seconds a client has to send a whole request (headers and body) to the production server "
        "(`beacon serve`, the Docker image); a client still sending after that gets a 408.",
        parse=_parse_float,
    ),
    SettingSpec(
        "BEACON_WEB_OIDC_ISSUER",
        "",
        "The lookup page's login: the OpenID provider's issuer URL (its discovery document is "
        "`{issuer}/.well-known/openid-configuration`); it should be one of BEACON_OIDC_ISSUERS so the API accepts "
        "the clinicians' tokens.",
    ),
    SettingSpec(
        "BEACON_WEB_OIDC_CLIENT_ID",
        "",
        "The lookup page's client id at the provider (authorization code flow with PKCE; its redirect URI is "
        "BEACON_BASE_URL without `/api`, plus `/auth/callback`). Unset: the page has no login.",
    ),
    SettingSpec("BEACON_WEB_OIDC_CLIENT_SECRET", "", "The lookup page's client secret (empty for a public client)."),
    SettingSpec(
        "BEACON_WEB_OIDC_SCOPE",
        "openid profile email ga4gh_passport_v1",
        "Scopes the lookup page asks for at login.",
    ),
    SettingSpec(
        "BEACON_WEB_SESSION_SECRET",
        "",
        "Key signing the lookup page's session cookie (HttpOnly, SameSite=Lax, Secure when BEACON_BASE_URL is "
        "https); required with BEACON_WEB_OIDC_CLIENT_ID, the same for every worker.",
    ),
    SettingSpec(
        "BEACON_LIMITS_URI",
        "",
        "Where query budgets and rate-limit buckets are kept, shared by all workers: `sqlite:///PATH` (a small "
        "writable file; the store itself stays read-only) or a `mongodb://` URI whose user may write the "
        "`limits_budget_events` and `limits_rate_buckets` collections. Unset: `<store file>.limits.sqlite` beside "
        "an SQLite store, the store's own database for MongoDB.",
    ),
    SettingSpec(
        "BEACON_TRUSTED_PROXIES",
        "",
        "Comma-separated IP addresses or networks (CIDR) of reverse proxies whose `X-Forwarded-For` is believed: "
        "the client of an anonymous request is the right-most address not in this list. Unset: the header is "
        "ignored and the client is the connection's peer.",
        parse=_parse_networks,
    ),
    SettingSpec(
        "BEACON_RATE_LIMIT",
        "0",
        "Requests per second each client (its IP address, see BEACON_TRUSTED_PROXIES) may send to `/api`, on "
        "average; past it a 429 with `Retry-After`. 0: no rate limit.",
        parse=_parse_rate,
    ),
    SettingSpec(
        "BEACON_RATE_BURST",
        "20",
        "Requests a client may send at once above BEACON_RATE_LIMIT (the token bucket's size).",
        parse=_parse_int,
    ),
    SettingSpec(
        "BEACON_NOISE_SECRET",
        "",
        "Secret that seeds the noise of noisy counts (access policy `noisy_counts`), so every worker gives the "
        "same noisy answer to the same question (repeating it averages nothing). Unset: derived from the "
        "access policy file's contents; set it when that file is public.",
    ),
    SettingSpec(
        "BEACON_NETWORK_MEMBERS",
        "",
        "Network mode (`beacon network serve`): the YAML file listing the member beacons (`- url: ...`).",
        parse=_path,
    ),
    SettingSpec(
        "BEACON_NETWORK_BUDGET",
        "5.0",
        "Network mode: seconds a query waits for all members together; later answers are reported as timeouts.",
        parse=_parse_float,
    ),
    SettingSpec(
        "BEACON_NETWORK_REFRESH",
        "3600",
        "Network mode: seconds between two fetches of the members' metadata (/info, /map, ...).",
        parse=_parse_float,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Every setting of one beacon process; build it with `Settings.from_env()`."""

    store_uri: str = DEFAULT_STORE_URI
    base_url: str = "http://127.0.0.1:5050/api"
    info: Mapping[str, Any] = field(default_factory=dict)
    environment: str = "dev"
    access_file: Path | None = None
    oidc_issuers: tuple[str, ...] = ()
    oidc_audiences: tuple[str, ...] = ()
    trusted_jkus: tuple[str, ...] = ()
    visa_issuers: tuple[str, ...] = ()
    registered_requires: str = "bona_fide"
    oidc_opaque_issuer: str | None = None
    http_timeout: float = 2.0
    max_limit: int = 1000
    default_limit: int = 10
    filters_required: tuple[str, ...] = ()
    workers: int | None = None
    max_body_bytes: int = 1_048_576
    max_url_length: int = 8000
    max_json_depth: int = 32
    max_filters: int = 100
    client_timeout: float = 5.0
    web_oidc_issuer: str = ""
    web_oidc_client_id: str = ""
    web_oidc_client_secret: str = ""
    web_oidc_scope: str = "openid profile email ga4gh_passport_v1"
    web_session_secret: str = ""
    limits_uri: str = ""
    trusted_proxies: tuple[str, ...] = ()
    rate_limit: float = 0.0
    rate_burst: int = 20
    noise_secret: str = ""
    network_members: Path | None = None
    network_budget: float = 5.0
    network_refresh: float = 3600.0

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `BEACON_*` variables (default: os.environ); keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            raw = env.get(spec.env, "").strip()
            if raw:
                values[spec.field_name] = spec.parse(spec.env, raw)
        values.update(overrides)
        return cls(**values)


def workers_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """`BEACON_WORKERS` alone (None when unset): gunicorn's configuration reads it before any app exists."""
    env = os.environ if environ is None else environ
    raw = env.get("BEACON_WORKERS", "").strip()
    return _parse_workers("BEACON_WORKERS", raw) if raw else None


def _validate(settings: Settings) -> None:
    _validate_store_uri(settings.store_uri)
    if urlparse(settings.base_url).scheme not in ("http", "https"):
        raise SettingsError(f"BEACON_BASE_URL: expected an absolute http(s) URL, got {settings.base_url!r}")
    if settings.environment not in ("prod", "test", "dev", "staging"):
        raise SettingsError(f"BEACON_ENVIRONMENT: expected prod, test, dev or staging, got {settings.environment!r}")
    if settings.registered_requires not in REGISTERED_REQUIREMENTS:
        allowed = ", ".join(REGISTERED_REQUIREMENTS)
        raise SettingsError(f"BEACON_REGISTERED_REQUIRES: expected one of {allowed}")
    if settings.access_file is not None and not settings.access_file.is_file():
        raise SettingsError(f"BEACON_ACCESS_FILE: no such file {str(settings.access_file)!r}")
    if not 0 < settings.http_timeout <= 2:
        raise SettingsError("BEACON_HTTP_TIMEOUT: must be above 0 and at most 2 s (the network budget is 5 s)")
    if settings.workers is not None and settings.workers < 1:
        raise SettingsError("BEACON_WORKERS: must be at least 1")
    if not 1 <= settings.default_limit <= settings.max_limit:
        raise SettingsError("BEACON_DEFAULT_LIMIT: must be between 1 and BEACON_MAX_LIMIT")
    _validate_request_limits(settings)
    _validate_web_login(settings)
    _validate_network(settings)
    unknown = sorted(set(settings.filters_required) - set(FILTERABLE_ENTRY_TYPES))
    if unknown:
        raise SettingsError(
            f"BEACON_FILTERS_REQUIRED: unknown entry type(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(FILTERABLE_ENTRY_TYPES)})"
        )
    if settings.oidc_opaque_issuer and settings.oidc_opaque_issuer not in settings.oidc_issuers:
        raise SettingsError("BEACON_OIDC_OPAQUE_ISSUER: must be one of BEACON_OIDC_ISSUERS")
    if settings.oidc_issuers and not settings.oidc_audiences:
        raise SettingsError("BEACON_OIDC_AUDIENCES: required when BEACON_OIDC_ISSUERS is set")
    for url in (*settings.oidc_issuers, *settings.trusted_jkus):
        if urlparse(url).scheme not in ("http", "https"):
            raise SettingsError(f"BEACON_OIDC_ISSUERS/BEACON_TRUSTED_JKUS: {url!r} is not an http(s) URL")


def _validate_network(settings: Settings) -> None:
    if not 0.1 <= settings.network_budget <= 600:
        raise SettingsError(f"BEACON_NETWORK_BUDGET: must be between 0.1 and 600 s, got {settings.network_budget}")
    if settings.network_refresh < 1:
        raise SettingsError(f"BEACON_NETWORK_REFRESH: must be at least 1 s, got {settings.network_refresh}")


def _validate_request_limits(settings: Settings) -> None:
    bounds = (
        ("BEACON_MAX_BODY_BYTES", settings.max_body_bytes, 1024, 1 << 30),
        ("BEACON_MAX_URL_LENGTH", settings.max_url_length, 256, MAX_URL_LENGTH),
        ("BEACON_MAX_JSON_DEPTH", settings.max_json_depth, 4, 512),
        ("BEACON_MAX_FILTERS", settings.max_filters, 1, 500),
    )
    for name, value, low, high in bounds:
        if not low <= value <= high:
            raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    if settings.rate_burst < 1:
        raise SettingsError(f"BEACON_RATE_BURST: must be at least 1, got {settings.rate_burst}")
    if settings.limits_uri and not settings.limits_uri.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
        raise SettingsError(f"BEACON_LIMITS_URI: expected sqlite:///PATH or mongodb://..., got {settings.limits_uri!r}")
    if not 0.5 <= settings.client_timeout <= 60:
        raise SettingsError(f"BEACON_CLIENT_TIMEOUT: must be between 0.5 and 60 s, got {settings.client_timeout}")


def _validate_store_uri(uri: str) -> None:
    scheme = urlparse(uri).scheme
    if scheme == "sqlite":
        if not uri.startswith("sqlite:///") or len(uri) <= len("sqlite:///"):
            raise SettingsError(f"BEACON_STORE_URI: expected sqlite:///PATH, got {uri!r}")
    elif scheme not in ("mongodb", "mongodb+srv"):
        raise SettingsError(f"BEACON_STORE_URI: expected sqlite:///PATH or mongodb://..., got {uri!r}")


def _validate_web_login(settings: Settings) -> None:
    if not settings.web_oidc_client_id:
        return
    if urlparse(settings.web_oidc_issuer).scheme not in ("http", "https"):
        raise SettingsError("BEACON_WEB_OIDC_ISSUER: an http(s) issuer URL is required with BEACON_WEB_OIDC_CLIENT_ID")
    if len(settings.web_session_secret) < 16:
        raise SettingsError(
            "BEACON_WEB_SESSION_SECRET: at least 16 characters are required with BEACON_WEB_OIDC_CLIENT_ID"
        )
