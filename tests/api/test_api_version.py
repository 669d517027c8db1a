"""Any apiVersion string is accepted and echoed (clients send "2.0", "v2.0.0", ...); the beacon answers v2.2.0."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_DATASET

SENT = ("2.0", "v2.0", "v2.0.0", "v2.1.1", "v2.2.0", "v9.9-unknown")
PATHS = ("/api/individuals", "/api/g_variants", f"/api/datasets/{DEMO_DATASET}/individuals", "/api/info", "/api/map")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("version", SENT)
def test_any_api_version_string_is_answered_in_v2_2_0(client, path, version):
    for response in (
        client.post(path, json={"meta": {"apiVersion": version}, "query": {"requestedGranularity": "count"}}),
        client.get(path, query_string={"apiVersion": version}),
    ):
        assert response.status_code == 200, response.get_json()
        meta = response.get_json()["meta"]
        assert meta["apiVersion"] == "v2.2.0"
        if "receivedRequestSummary" in meta:
            assert meta["receivedRequestSummary"]["apiVersion"] == version


@pytest.mark.parametrize("version", [2.0, 2, ["v2.0"], {"major": 2}])
def test_an_api_version_that_is_not_a_string_is_a_400(client, version):
    response = client.post("/api/individuals", json={"meta": {"apiVersion": version}})
    assert response.status_code == 400
    assert "apiVersion" in response.get_json()["error"]["errorMessage"]
