"""Structured JSON logs: request ids, the access log's allow-list and redaction."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
from datetime import timedelta

import pytest

from beacon import create_app
from beacon.logs import JsonFormatter, RequestIdFilter, access_fields, incoming_request_id, redact_query
from beacon.store.mongo import MongoStore
from tests.conftest import make_settings


def test_a_record_becomes_one_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("beacon.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "beacon.x", "failed here")
    assert entry["time"].endswith("+00:00")
    assert "ValueError: boom" in entry["exception"]


@pytest.mark.parametrize(
    ("header", "kept"),
    [("abc-123", True), ("req.42:7_x", True), ("x" * 65, False), ("evil\nlevel=ERROR", False), ("", False)],
)
def test_a_proxy_request_id_is_kept_only_when_it_is_a_short_token(header, kept):
    request_id = incoming_request_id(header)
    if kept:
        assert request_id == header
    else:
        assert len(request_id) == 32 and request_id.isalnum()


def test_the_app_returns_the_request_id(client):
    assert client.get("/api/info", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/info").headers["X-Request-ID"]
    assert len(generated) == 32


def test_logs_written_during_a_request_carry_its_id(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = MongoStore.from_uri(f"mongodb://127.0.0.1:{port}/beacon?serverSelectionTimeoutMS=100", query_timeout=0.1)
    app = create_app(make_settings(tmp_path / "unused.sqlite"), store=store)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("beacon.api.health")  # logs a warning when not ready
    logger.addHandler(handler)
    try:
        response = app.test_client().get("/health/ready")
    finally:
        logger.removeHandler(handler)
    (entry,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["level"] == "WARNING"


def test_secret_query_parameters_are_redacted():
    query = "access_token=abc&limit=3&filters=NCIT:C16576&apiKey=zz&id_token=y&skip=0"
    expected = "access_token=[redacted]&limit=3&filters=NCIT%3AC16576&apiKey=[redacted]&id_token=[redacted]&skip=0"
    assert redact_query(query) == expected


def test_the_access_log_holds_allow_listed_fields_only():
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/individuals",
        "QUERY_STRING": "token=SECRET1&limit=5",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "curl/8.0",
        "HTTP_AUTHORIZATION": "Bearer SECRET2",
        "HTTP_COOKIE": "session=SECRET3",
    }
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "r-1")]
    fields = access_fields(environ, "200 OK", headers, timedelta(milliseconds=12.34), 512)
    assert fields == {
        "method": "GET",
        "path": "/api/individuals",
        "query": "token=[redacted]&limit=5",
        "status": 200,
        "bytes": 512,
        "duration_ms": 12.3,
        "remote": "10.0.0.7",
        "user_agent": "curl/8.0",
        "request_id": "r-1",
    }
