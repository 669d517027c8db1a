"""Request limits: every bound a request must stay within, checked before any work is done (no Flask here).

A request past a limit is answered with a 4xx and a message naming the limit, never a 500: bodies
(`BodyTooLarge`, 413), URLs (`UriTooLong`, 414), JSON nesting, the number of filters, and whole
numbers (coordinates, lengths, pages) that the stores could not hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from beacon.errors import BadRequest, BodyTooLarge, UriTooLong

if TYPE_CHECKING:
    from beacon.settings import Settings

# Twenty digits already exceed any bound; longer strings are not converted at all.
_DECIMAL = re.compile(r"^[+-]?[0-9]{1,20}$")

MAX_WHOLE_NUMBER = 2**31 - 1
"""Largest coordinate, length or page number a request may give: VCF and BCF positions are 32-bit
signed integers, and the largest human chromosome is about 249 Mb. Bigger numbers cannot name
anything a beacon holds (and past 2**63 no store can even compare them)."""


@dataclass(frozen=True)
class RequestLimits:
    """The operator's bounds on one request (see the BEACON_MAX_* settings)."""

    max_body_bytes: int = 1_048_576
    max_url_length: int = 8000
    max_json_depth: int = 32
    max_filters: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        """The bounds the BEACON_MAX_* settings set (the node and the network hub alike)."""
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_url_length=settings.max_url_length,
            max_json_depth=settings.max_json_depth,
            max_filters=settings.max_filters,
        )


def check_url_length(length: int, limits: RequestLimits) -> None:
    """414 when the path and query string are longer than the limit."""
    if length > limits.max_url_length:
        raise UriTooLong(
            f"the request URL is {length} bytes long; this beacon accepts at most {limits.max_url_length} "
            "(send long queries as a POST body)"
        )


def check_body_size(length: int | None, limits: RequestLimits) -> None:
    """413 when a declared (or read) body is larger than the limit."""
    if length is not None and length > limits.max_body_bytes:
        raise BodyTooLarge(f"the request body is {length} bytes; this beacon accepts at most {limits.max_body_bytes}")


def parse_json(raw: bytes, limits: RequestLimits) -> Any:
    """The decoded JSON document; 400 if it is not valid JSON or nests deeper than the limit."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):
            raise _too_deep(limits) from None
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if json_depth(document, limits.max_json_depth) > limits.max_json_depth:
        raise _too_deep(limits)
    return document


def _too_deep(limits: RequestLimits) -> BadRequest:
    return BadRequest(f"the request body nests JSON arrays and objects more than {limits.max_json_depth} deep")


def json_depth(document: Any, stop_after: int) -> int:
    """How deep arrays and objects nest in a decoded document (a scalar is 0), counted up to `stop_after` + 1."""
    deepest, level = 0, [(document, 1)]
    while level:
        value, depth = level.pop()
        children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > stop_after:
            return deepest
        level.extend((child, depth + 1) for child in children)
    return deepest


def check_filter_count(count: int, limits: RequestLimits) -> None:
    """400 when a request carries more filters than the limit."""
    if count > limits.max_filters:
        raise BadRequest(f"the request has {count} filters; this beacon accepts at most {limits.max_filters}")


def whole_number(name: str, value: Any, *, maximum: int = MAX_WHOLE_NUMBER) -> int:
    """A whole number from 0 to `maximum` given as an int, an integral float or a decimal string; else 400.

    `name` says what the number is (`start`, `skip`), as the message shows it.
    """
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():  # inf and nan too
            raise BadRequest(f"{name} must be a whole number, got {value!r}")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not _DECIMAL.match(text):
            raise BadRequest(f"{name} must be a whole number, got {_shown(value)}")
        number = int(text)
    if number < 0:
        raise BadRequest(f"{name} must be >= 0, got {number}")
    if number > maximum:
        raise BadRequest(f"{name} must be at most {maximum}, got {_shown(value)}")
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
