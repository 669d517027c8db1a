"""`/health/live`, `/health/ready`, and what a store that is down looks like: not ready, 503s, no crash.

The store-down cases use the real MongoDB store (real pymongo) pointed at a local port nothing listens
on: no server is needed, and the connection failure is a real one.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from pathlib import Path

import pytest

from beacon import create_app
from beacon.api.health import report_store_at_startup
from beacon.settings import Settings
from beacon.store.mongo import MongoStore
from beacon.store.sqlite import SqliteStore
from tests.conftest import DEMO_ACCESS_POLICY, make_settings, response_errors


@pytest.fixture(scope="module")
def down_uri() -> str:
    """A MongoDB URI (with credentials) whose server does not exist."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"mongodb://beacon:hunter2@127.0.0.1:{port}/beacon?serverSelectionTimeoutMS=150"


@pytest.fixture
def down_app(tmp_path: Path, down_uri: str):
    store = MongoStore.from_uri(down_uri, query_timeout=0.15)
    return create_app(make_settings(tmp_path / "unused.sqlite"), store=store)


def test_live_answers_while_the_process_runs(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_when_the_store_answers(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_not_ready_while_the_store_is_down_and_the_log_says_why(down_app, caplog):
    with caplog.at_level(logging.WARNING, logger="beacon.api.health"):
        response = down_app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "the data store is not available"}
    (record,) = [r for r in caplog.records if r.name == "beacon.api.health"]
    assert "not reachable" in record.getMessage() and "hunter2" not in record.getMessage()
    assert down_app.test_client().get("/health/live").status_code == 200


def test_a_query_while_the_store_is_down_gets_the_503_envelope(down_app, validator):
    for path in ("/api/individuals", "/api/datasets", "/api/filtering_terms"):
        response = down_app.test_client().get(path)
        document = response.get_json()
        assert response.status_code == 503, path
        assert document["error"]["errorCode"] == 503
        assert response_errors(validator, document) == []
        assert "hunter2" not in response.get_data(as_text=True)


def test_an_app_whose_mongodb_is_down_still_starts(down_uri):
    settings = Settings(store_uri=down_uri, base_url="http://beacon.test/api", access_file=DEMO_ACCESS_POLICY)
    app = create_app(settings)  # no exception: the store connects on first use
    assert app.test_client().get("/health/live").status_code == 200


def test_a_store_whose_schema_changed_under_the_app_is_not_ready(tmp_path):
    path = tmp_path / "newer.sqlite"
    SqliteStore(path).close()  # `beacon init`: the server never creates a store
    app = create_app(make_settings(path))
    assert app.test_client().get("/health/ready").status_code == 200
    with sqlite3.connect(path) as conn:  # e.g. a newer beacon migrated the file
        conn.execute("PRAGMA user_version = 999")
    assert app.test_client().get("/health/ready").status_code == 503


def test_start_up_report_is_one_clear_line_without_traceback(down_uri, caplog):
    store = MongoStore.from_uri(down_uri, query_timeout=0.15)
    with caplog.at_level(logging.INFO, logger="beacon.api.health"):
        assert report_store_at_startup(store) is False
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert "not ready at start-up" in record.getMessage() and "/health/ready" in record.getMessage()
    assert "hunter2" not in record.getMessage()


def test_start_up_report_of_a_healthy_store(store, caplog):
    with caplog.at_level(logging.INFO, logger="beacon.api.health"):
        assert report_store_at_startup(store) is True
    assert [record.getMessage() for record in caplog.records] == ["the store is ready"]
