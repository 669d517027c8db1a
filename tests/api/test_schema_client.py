"""The schema-checking test client: it is every app's client, and it rejects what the Beacon v2.2.0 schemas refuse."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify

from beacon import create_app
from tests.conftest import make_settings
from tests.schema_client import SCHEMA_CHECKING_HOOKS, SchemaCheckingClient

META = {
    "beaconId": "org.example.broken",
    "apiVersion": "v2.2.0",
    "returnedGranularity": "record",
    "receivedRequestSummary": {
        "apiVersion": "v2.2.0",
        "requestedSchemas": [],
        "pagination": {"skip": 0, "limit": 10},
        "requestedGranularity": "record",
    },
    "returnedSchemas": [{"entityType": "individual", "schema": "beacon-individual-v2.2.0"}],
}
INDIVIDUAL = {"id": "I1", "sex": {"id": "NCIT:C16576", "label": "female"}}
GOOD = {
    "meta": META,
    "responseSummary": {"exists": True, "numTotalResults": 1},
    "response": {
        "resultSets": [{"id": "D1", "setType": "dataset", "exists": True, "resultsCount": 1, "results": [INDIVIDUAL]}]
    },
}


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the valid record response with one thing broken."""
    document = copy.deepcopy(GOOD)
    change(document)
    return document


def at_granularity(granularity: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["meta"]["returnedGranularity"] = granularity
        document["meta"]["receivedRequestSummary"]["requestedGranularity"] = granularity

    return change


def count_response_with(result_set: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        at_granularity("count")(document)
        document["response"]["resultSets"] = [result_set]

    return change


def client_serving(document: Any, status: int = 200, path: str = "/api/individuals") -> SchemaCheckingClient:
    """A schema-checking client of a bare Flask app that answers `document` at `path`."""
    app = Flask(__name__)
    app.add_url_rule(path, "canned", lambda: (jsonify(document), status), methods=["GET", "POST"])
    return app.test_client()


def test_every_flask_app_of_the_test_session_gets_the_schema_checking_client(tmp_path, client):
    """The `client` fixture and apps built inside tests or other fixtures alike."""
    assert isinstance(client, SchemaCheckingClient)
    assert isinstance(create_app(make_settings(tmp_path / "x.sqlite")).test_client(), SchemaCheckingClient)
    assert isinstance(Flask(__name__).test_client(), SchemaCheckingClient)


@pytest.mark.parametrize(
    ("path", "query", "schema"),
    [
        ("/api/individuals", {}, "boolean"),
        ("/api/individuals", {"requestedGranularity": "count"}, "count"),
        ("/api/individuals", {"requestedGranularity": "record"}, "record"),
        ("/api/datasets", {"requestedGranularity": "record"}, "collections"),
        ("/api/info", {}, "info"),
        ("/api/map", {}, "map"),
        ("/api/configuration", {}, "configuration"),
        ("/api/entry_types", {}, "entry_types"),
        ("/api/filtering_terms", {}, "filtering_terms"),
        ("/api/service-info", {}, "service-info"),
        ("/api/individuals/NOPE", {}, "error"),
        ("/nowhere", {}, "error"),
    ],
)
def test_each_real_response_is_checked_against_the_schema_its_endpoint_selects(client, path, query, schema):
    response = client.get(path, query_string=query)
    assert response.beacon_schema == schema


def test_the_valid_control_document_passes():
    response = client_serving(GOOD).get("/api/individuals")
    assert response.beacon_schema == "record"


BROKEN = {
    "summary without exists": (lambda d: d["responseSummary"].pop("exists"), "exists"),
    "meta without returnedGranularity": (lambda d: d["meta"].pop("returnedGranularity"), "returnedGranularity"),
    "result set without setType": (lambda d: d["response"]["resultSets"][0].pop("setType"), "setType"),
    "record response without response": (lambda d: d.pop("response"), "response"),
    "string count": (lambda d: d["response"]["resultSets"][0].update(resultsCount="1"), "'1'"),
    "countAdjustedTo not an array": (lambda d: d["response"]["resultSets"][0].update(countAdjustedTo="<5"), "<5"),
    "countPrecision outside the v2.2 enum": (
        lambda d: d["response"]["resultSets"][0].update(countPrecision="approx"),
        "approx",
    ),
    "record breaking its model": (lambda d: d["response"]["resultSets"][0]["results"][0].update(sex="female"), "sex"),
    "result set without exists in a boolean response": (
        lambda d: (at_granularity("boolean")(d), d["response"]["resultSets"][0].pop("exists")),
        "exists",
    ),
    "records in a count response": (
        count_response_with({"id": "D1", "setType": "dataset", "exists": True, "results": [INDIVIDUAL]}),
        "records in a count response",
    ),
    "a count in a boolean response": (
        lambda d: at_granularity("boolean")(d),
        "count in a boolean response",
    ),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_envelope_fails_the_request(name):
    change, words = BROKEN[name]
    with pytest.raises(AssertionError, match=r"Beacon v2\.2\.0") as failure:
        client_serving(broken(change)).get("/api/individuals")
    assert words in str(failure.value)


def test_an_error_body_must_be_the_error_envelope_with_the_status_as_code():
    envelope = {"meta": {**META, "returnedGranularity": "boolean"}, "error": {"errorCode": 404, "errorMessage": "x"}}
    with pytest.raises(AssertionError, match="errorCode 404 is not the HTTP status 400"):
        client_serving(envelope, status=400).get("/api/individuals")
    with pytest.raises(AssertionError, match="error schema"):
        client_serving({"message": "not found"}, status=404).get("/api/individuals")


def test_a_non_json_api_body_fails_the_request():
    app = Flask(__name__)
    app.add_url_rule("/api/info", "html", lambda: "<html>oops</html>")
    with pytest.raises(AssertionError, match="not JSON"):
        app.test_client().get("/api/info")


def test_the_httpx_hook_checks_real_server_responses_too():
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=broken(lambda d: d["responseSummary"].pop("exists")))

    with httpx.Client(transport=httpx.MockTransport(serve), event_hooks=SCHEMA_CHECKING_HOOKS) as client:
        with pytest.raises(AssertionError, match="exists"):
            client.get("http://beacon.test/api/individuals")
        assert client.get("http://beacon.test/health/live").status_code == 200  # not a Beacon endpoint
