"""Structured logs: one JSON object per line, tagged with the request id, for the app and for gunicorn.

`init_app` gives every request an id (a proxy's valid `X-Request-ID`, or a new one) and returns it
in the `X-Request-ID` response header. `JsonFormatter` and `RequestIdFilter` are wired in by the
logging configuration (beacon/gunicorn_conf.py); `AccessLogger` is gunicorn's `logger_class` and
writes the access log from an allow-list of fields: never a header other than the user agent (so
no Authorization or Cookie), and query parameters whose names look secret (`access_token`...)
redacted.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, g, has_request_context
from gunicorn.glogging import Logger as GunicornLogger

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "[redacted]"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECRET_PARAMETER = re.compile(r"token|secret|passw|auth|key|session|signature|credential|jwt|visa|passport", re.I)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for one record (tracebacks go in `exception`)."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        http = getattr(record, "http", None)
        if isinstance(http, Mapping):
            entry["http"] = dict(http)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to records logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drops one."""
        if not getattr(record, "request_id", None) and has_request_context():
            record.request_id = g.get("request_id")
        return True


def init_app(app: Flask) -> None:
    """Give each request an id, returned in the X-Request-ID response header."""
    app.before_request(_assign_request_id)
    app.after_request(_return_request_id)


def incoming_request_id(header: str | None) -> str:
    """The proxy's request id if it is a short token, else a new one (no log injection)."""
    if header and _VALID_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _assign_request_id() -> None:
    from flask import request

    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))


def _return_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def redact_query(query: str) -> str:
    """A query string with the values of secret-looking parameters replaced by `[redacted]`."""
    pairs = parse_qsl(query, keep_blank_values=True)
    redacted = [(name, REDACTED if _SECRET_PARAMETER.search(name) else value) for name, value in pairs]
    return urlencode(redacted, safe="[]")


def access_fields(
    environ: Mapping[str, Any],
    status: int | str,
    response_headers: Iterable[tuple[str, str]],
    duration: timedelta,
    sent: int | None,
) -> dict[str, Any]:
    """The fields of one access log line, from an allow-list (no request header but the user agent)."""
    request_id = next((value for name, value in response_headers if name.lower() == "x-request-id"), None)
    return {
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": redact_query(environ.get("QUERY_STRING", "")),
        "status": int(str(status).split(None, 1)[0]),
        "bytes": sent,
        "duration_ms": round(duration.total_seconds() * 1000, 1),
        "remote": environ.get("REMOTE_ADDR"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        "request_id": request_id,
    }


class AccessLogger(GunicornLogger):
    """gunicorn's logger with a JSON access log built by `access_fields` (set as `logger_class`)."""

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: timedelta) -> None:
        """Log one finished request."""
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
        fields = access_fields(environ, resp.status, headers, request_time, getattr(resp, "sent", None))
        extra = {"http": fields, "request_id": fields.pop("request_id")}
        self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=extra)
