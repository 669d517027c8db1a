"""JWS compact serialisation: a strict look at the parts before verification, then joserfc verification."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class MalformedTokenError(Exception):
    """A token is not a well-formed JWS compact serialisation of a JSON object."""


class SignatureError(Exception):
    """A JWS failed verification (bad signature, disallowed algorithm or header)."""


def peek(token: str, max_header_bytes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, NOT verified: only for choosing how to verify it."""
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(part) for part in segments):
        raise MalformedTokenError("not a JWS compact serialisation")
    if len(segments[0]) > max_header_bytes:
        raise MalformedTokenError(f"JWS header is larger than {max_header_bytes} bytes")
    header = _decode_object(segments[0])
    if not isinstance(header.get("alg"), str):
        raise MalformedTokenError("JWS header has no 'alg'")
    return header, _decode_object(segments[1])


def unverified_issuer(token: str) -> str | None:
    """The `iss` a compact JWS claims, NOT verified: only for telling whose token it is, never to grant.

    None when the payload is not base64url JSON with a string `iss` (so nobody's token we know of).
    """
    segments = token.split(".")
    if len(segments) != 3 or not _SEGMENT.fullmatch(segments[1]):
        return None
    try:
        issuer = _decode_object(segments[1]).get("iss")
    except MalformedTokenError:
        return None
    return issuer if isinstance(issuer, str) else None


def _decode_object(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # deeply nested JSON exhausts the parser's stack
        raise MalformedTokenError("JWS part is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError("JWS part is not a JSON object")
    return value


def make_registry(algorithms: Collection[str], max_header_bytes: int, max_token_bytes: int) -> JWSRegistry:
    """A joserfc JWS registry that accepts only `algorithms` and bounded sizes."""
    registry = JWSRegistry(algorithms=list(algorithms), strict_check_header=False)
    registry.max_header_length = max_header_bytes
    registry.max_payload_length = max_token_bytes
    return registry


def verify(token: str, key: Key, registry: JWSRegistry) -> dict[str, Any]:
    """The claims of `token` once its signature checks out with `key`; raise SignatureError otherwise."""
    try:
        return jwt.decode(token, key, registry=registry).claims
    except (JoseError, ValueError) as error:
        raise SignatureError(type(error).__name__) from None
