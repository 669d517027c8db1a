"""Every request limit is explicit: past it, a 4xx in the Beacon error envelope with a message that names it.

Row by row of the issue "Survive faults and hostile input": integers past 2^63 (were OverflowError 500s),
JSON nested 1,000 deep (RecursionError 500), 1,000 filters (SQLite "expression tree too large" 500),
10 MB bodies, long URLs, and odd ids (were 308 redirects in HTML).
"""

from __future__ import annotations

import json

import pytest

from beacon import create_app
from tests.conftest import make_settings, response_errors

HUGE = 2**63  # past every 64-bit integer a store can hold
VARIANT = "referenceName=22&referenceBases=A&alternateBases=G"


def refused(response, status: int, *words: str) -> str:
    """The error message of an envelope with `status`, checked against the schema; it must contain `words`."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.get_json()
    assert document["error"]["errorCode"] == status
    message = document["error"]["errorMessage"]
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def checked(client, validator):
    """The demo client, with every envelope checked against the Beacon schemas."""

    def send(method: str, path: str, **kwargs):
        response = client.open(path, method=method, **kwargs)
        assert response_errors(validator, response.get_json()) == []
        return response

    return send


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (f"/api/g_variants?{VARIANT}&start={HUGE}", ("start", "at most 2147483647")),
        (f"/api/g_variants?referenceName=22&start=10&end={HUGE}", ("end", "at most 2147483647")),
        (f"/api/g_variants?variantMinLength={HUGE}", ("variantMinLength", "at most")),
        (f"/api/g_variants?variantMaxLength={HUGE * HUGE}", ("variantMaxLength",)),
        (f"/api/g_variants?genomicAlleleShortForm=NC_000022.10:g.{HUGE}A>G", ("genomicAlleleShortForm position",)),
        (f"/api/individuals?skip={HUGE}", ("skip", "at most")),
        (f"/api/individuals?limit={HUGE}", ("limit",)),
        ("/api/g_variants?referenceName=22&start=1e300", ("start", "whole number")),
        (f"/api/g_variants?referenceName=22&start={'9' * 5000}", ("start", "whole number")),
    ],
)
def test_whole_numbers_past_the_bound_are_400s(checked, path, words):
    refused(checked("GET", path), 400, *words)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"query": {"requestParameters": {"referenceName": "22", "start": [1e300], "alternateBases": "G"}}}, ("st",)),
        ({"query": {"requestParameters": {"referenceName": "22", "start": [HUGE]}}}, ("start", "at most")),
        ({"query": {"requestParameters": {"variantMinLength": HUGE}}}, ("variantMinLength",)),
        ({"query": {"pagination": {"skip": 1e300}}}, ("skip",)),
        ({"query": {"pagination": {"skip": HUGE, "limit": 10}}}, ("skip",)),
    ],
)
def test_whole_numbers_past_the_bound_in_post_bodies_are_400s(checked, body, words):
    refused(checked("POST", "/api/g_variants", json=body), 400, *words)


def test_the_largest_coordinate_is_accepted(checked):
    response = checked("GET", f"/api/g_variants?{VARIANT}&start=2147483647")
    assert response.status_code == 200 and response.get_json()["responseSummary"]["exists"] is False


@pytest.mark.parametrize(
    "text", ["[" * 1000 + "]" * 1000, '{"a":' * 5000 + "1" + "}" * 5000, '{"query": ' + "[" * 33 + "]" * 33 + "}"]
)
def test_json_nested_past_the_limit_is_a_400(checked, text):
    response = checked("POST", "/api/individuals", data=text, content_type="application/json")
    refused(response, 400, "nests JSON arrays and objects more than 32 deep")


def test_json_nested_up_to_the_limit_is_read(checked):
    # 32 levels: the body object, query, the filters list, a filter object and 28 lists inside it.
    filters = [{"id": "sex.label", "operator": "=", "value": "female", "x": json.loads("[" * 28 + "]" * 28)}]
    response = checked("POST", "/api/individuals", json={"query": {"filters": filters}})
    assert "nests" not in response.get_data(as_text=True)


@pytest.mark.parametrize("text", ["{", '{"query": NaN}', '{"query": {"pagination": {"skip": Infinity}}}', "\ud800"])
def test_bodies_that_are_not_strict_json_are_400s(checked, text):
    data = text.encode("utf-8", "surrogatepass")
    response = checked("POST", "/api/individuals", data=data, content_type="application/json")
    refused(response, 400, "not valid JSON")


def test_a_body_past_the_limit_is_a_413(checked):
    body = b'{"query": {"filters": []}, "padding": "' + b"x" * (1 << 20) + b'"}'
    response = checked("POST", "/api/individuals", data=body, content_type="application/json")
    refused(response, 413, f"the request body is {len(body)} bytes; this beacon accepts at most 1048576")


def test_the_body_limit_is_a_setting(demo_store_file, validator):
    client = create_app(make_settings(demo_store_file, max_body_bytes=2048)).test_client()
    body = {"query": {"requestedGranularity": "count", "filters": [{"id": "NCIT:C16576"}]}, "pad": "x" * 1900}
    assert client.post("/api/individuals", json=body).status_code == 200
    body["pad"] = "x" * 2100
    refused(client.post("/api/individuals", json=body), 413, "at most 2048")


def test_a_url_past_the_limit_is_a_414(checked):
    path = "/api/individuals?filters=" + ",".join(["NCIT:C16576"] * 700)
    refused(checked("GET", path), 414, "the request URL is", "at most 8000", "POST")
    shorter = "/api/individuals?filters=" + ",".join(["NCIT:C16576"] * 90)
    assert checked("GET", shorter).status_code == 200


@pytest.mark.parametrize("count", [101, 1000])
def test_more_filters_than_the_limit_are_a_400(checked, count):
    get = checked("GET", "/api/individuals?filters=" + ",".join(f"NCIT:C{i}" for i in range(count // 10)) + "")
    assert get.status_code == 200
    body = {"query": {"filters": [{"id": f"NCIT:C{i}"} for i in range(count)]}}
    refused(checked("POST", "/api/individuals", json=body), 400, f"the request has {count} filters", "at most 100")
    text = ",".join(f"sex.label=x{i}" for i in range(count))
    refused(checked("GET", f"/api/biosamples?filters={text[:7000]}"), 400, "filters; this beacon accepts at most 100")


@pytest.mark.parametrize("path", ["/api/individuals", "/api/biosamples", "/api/g_variants", "/api/datasets"])
def test_the_most_filters_the_settings_allow_are_answered(demo_store_file, path):
    # BEACON_MAX_FILTERS may be at most 500: that many filters, each on another entity (a link to follow),
    # still fit SQLite's expression tree.
    client = create_app(make_settings(demo_store_file, max_filters=500)).test_client()
    filters = [{"id": "sex.label", "operator": "!", "value": f"x{i}", "scope": "individuals"} for i in range(250)]
    filters += [{"id": "NCIT:C16576", "scope": "individuals"}] * 250
    response = client.post(path, json={"query": {"filters": filters, "requestedGranularity": "count"}})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(
    "path",
    ["/api//individuals", "/api//", "/api/individuals//HG00096", "/api/individuals/HG00096/", "/api/individuals/",
     "/api/individuals/a/b", "/api/datasets/a%2Fb", "/api/g_variants/", "/api/info/"],
)  # fmt: skip
def test_odd_paths_are_404_envelopes_never_redirects(checked, path):
    for method in ("GET", "POST"):
        refused(checked(method, path, json={} if method == "POST" else None), 404)
