"""Remote key material: OpenID discovery documents and JSON Web Key Sets, cached per URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet, RSAKey

from beacon.auth.cache import RemoteCache
from beacon.auth.fetch import Deadline, FetchError, JsonFetcher

MAX_KEYS_PER_SET = 50
"""Keys read from one JWKS; a real set holds a handful (current and next signing keys)."""

_KEY_CLASSES: dict[str, type[RSAKey] | type[ECKey]] = {"RSA": RSAKey, "EC": ECKey}


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of an OpenID provider's discovery document the verifier uses."""

    issuer: str
    jwks_uri: str
    userinfo_endpoint: str | None


def discovery_url(issuer: str) -> str:
    """Where `issuer` publishes its discovery document (OpenID Connect Discovery 1.0, section 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_metadata(document: dict[str, Any]) -> ProviderMetadata:
    """Read a discovery document; raise FetchError when it lacks what we need."""
    issuer = document.get("issuer")
    jwks_uri = document.get("jwks_uri")
    userinfo = document.get("userinfo_endpoint")
    if not isinstance(issuer, str) or not _is_http_url(jwks_uri):
        raise FetchError("discovery document has no usable issuer and jwks_uri")
    return ProviderMetadata(issuer, jwks_uri, userinfo if _is_http_url(userinfo) else None)


def parse_key_set(document: dict[str, Any]) -> KeySet:
    """Read the public signature keys (RSA, EC) of a JWKS; other keys are ignored."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise FetchError("key set has no 'keys' list")
    keys: list[Key] = []
    for entry in entries[:MAX_KEYS_PER_SET]:
        key = _import_public_key(entry)
        if key is not None:
            keys.append(key)
    if not keys:
        raise FetchError("key set holds no usable signature key")
    return KeySet(keys)


def _import_public_key(entry: object) -> Key | None:
    # Symmetric ('oct') keys are never imported: a published HMAC secret would let anyone sign.
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    key_class = _KEY_CLASSES.get(str(entry.get("kty")))
    if key_class is None:
        return None
    public = {name: value for name, value in entry.items() if name not in ("d", "p", "q", "dp", "dq", "qi")}
    try:
        return key_class.import_key(public)
    except (JoseError, ValueError, TypeError):
        return None


def _is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


class RemoteKeys:
    """Discovery documents of trusted issuers and the key sets they (or visa `jku`s) point at."""

    def __init__(self, fetcher: JsonFetcher, max_age: float, refetch_interval: float) -> None:
        self._metadata = RemoteCache(fetcher, parse_metadata, max_age, refetch_interval)
        self._key_sets = RemoteCache(fetcher, parse_key_set, max_age, refetch_interval)

    def provider(self, issuer: str, deadline: Deadline) -> ProviderMetadata:
        """Metadata of a trusted `issuer`; its discovery document must name exactly that issuer."""
        metadata = self._metadata.get(discovery_url(issuer), deadline)
        if metadata.issuer != issuer:
            raise FetchError("discovery document names a different issuer")
        return metadata

    def signing_key(self, url: str, kid: str | None, alg: str, deadline: Deadline) -> Key:
        """The key `kid` for `alg` from the key set at `url`, refetching once if it is unknown."""
        key = _find_key(self._key_sets.get(url, deadline), kid, alg)
        if key is None:
            # An unknown kid usually means the provider rotated its keys; RemoteCache rate-limits this.
            key = _find_key(self._key_sets.get(url, deadline, refresh=True), kid, alg)
        if key is None:
            raise FetchError(f"no key {kid!r} for {alg} in {url}")
        return key


def _find_key(key_set: KeySet, kid: str | None, alg: str) -> Key | None:
    try:
        key = key_set.get_by_kid(kid, {"alg": alg})
    except JoseError:
        return None
    # An RS256 token must meet an RSA key, an ES256 token an EC key (no algorithm confusion).
    wanted = "RSA" if alg.startswith(("RS", "PS")) else "EC"
    return key if key.key_type == wanted else None
