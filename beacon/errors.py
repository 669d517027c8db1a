"""Errors a request can end in, and the one place that renders them as the Beacon error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API_VERSION = "v2.2.0"


class BeaconError(Exception):
    """An error with an HTTP status whose message is safe to show to the caller."""

    status = 500
    headers: Mapping[str, str] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(BeaconError):
    """The request is malformed or names something the beacon does not understand (400)."""

    status = 400


class Unauthorized(BeaconError):
    """A bearer token was presented but is not valid (401)."""

    status = 401
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class NotFound(BeaconError):
    """No such endpoint or record (404)."""

    status = 404


class BodyTooLarge(BeaconError):
    """A request body larger than the beacon accepts (413)."""

    status = 413


class UriTooLong(BeaconError):
    """A request target longer than the beacon accepts (414)."""

    status = 414


class RequestTimeout(BeaconError):
    """The client did not send its whole request in time (408)."""

    status = 408


class MethodNotAllowed(BeaconError):
    """The endpoint exists but not for this HTTP method (405)."""

    status = 405


class UnsupportedMediaType(BeaconError):
    """A POST body that is not `application/json` (415)."""

    status = 415


class TooManyRequests(BeaconError):
    """A query budget or the rate limit is spent (429); `Retry-After` says when to ask again."""

    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        # Whole seconds, rounded up: a client that waits exactly this long is answered.
        self.headers = {"Retry-After": str(max(1, -int(-retry_after // 1)))}


class ServiceUnavailable(BeaconError):
    """The store cannot be reached right now (503)."""

    status = 503


GENERIC_500 = "internal server error; the beacon logged the details"


def error_envelope(status: int, message: str, *, beacon_id: str, received: Mapping[str, Any]) -> dict[str, Any]:
    """The Beacon v2 `beaconErrorResponse` document for an error.

    `received` is the `receivedRequestSummary` echoing the request as received
    (`beacon.query.received.received_summary`): the request may not have been understood at all.
    """
    return {
        "meta": {
            "beaconId": beacon_id,
            "apiVersion": API_VERSION,
            "returnedSchemas": [],
            "returnedGranularity": "boolean",
            "receivedRequestSummary": dict(received),
        },
        "error": {"errorCode": status, "errorMessage": message},
    }
