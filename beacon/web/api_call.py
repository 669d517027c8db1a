"""Runs one API request in-process for the lookup page: the same views, access rules and JSON as over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import EnvironBuilder


@dataclass(frozen=True)
class ApiAnswer:
    """The status and decoded JSON of one in-process API request, and the request's path with its query."""

    status: int
    document: dict[str, Any]
    url: str

    @property
    def ok(self) -> bool:
        """Whether the API answered (2xx) rather than refusing the request."""
        return 200 <= self.status < 300

    @property
    def error_message(self) -> str:
        """The Beacon error envelope's message (empty for an answer)."""
        error = self.document.get("error") or {}
        return str(error.get("errorMessage", "")) if isinstance(error, dict) else ""


def api_url(path: str, parameters: dict[str, str]) -> str:
    """The path under /api with its query string, as a client would send it."""
    query = urlencode(parameters)
    return f"/api{path}" + (f"?{query}" if query else "")


def call_api(app: Flask, path: str, parameters: dict[str, str], token: str | None = None) -> ApiAnswer:
    """GET `/api{path}?{parameters}` through the app's own request handling, as the caller whose token is given."""
    url = api_url(path, parameters)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    environ = EnvironBuilder(path=f"/api{path}", query_string=parameters, headers=headers).get_environ()
    # A fresh application context gives the inner request its own `g` (its own caller, request id...).
    with app.app_context(), app.request_context(environ):
        response = app.full_dispatch_request()
        document = response.get_json(silent=True) or {}
        status = response.status_code
        response.close()
    return ApiAnswer(status=status, document=document, url=url)
