"""Network mode end to end: `beacon network serve` over three real nodes and four faulty members (conftest).

Expected answers are the nodes' own answers to the same request, asked of each node directly; every hub
and node response is checked against the Beacon v2.2 schemas by the clients' hooks (tests/schema_client.py).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from beacon.cli import main
from tests.auth.oidc_provider import BONA_FIDE_VISAS
from tests.network.conftest import BUDGET, FAULTY, NODES, PUBLIC_DATASET, REGISTERED_DATASET, Network, Server

pytestmark = pytest.mark.oidc

GRANULARITIES = ("boolean", "count", "record")
TRIO_RANGE = "referenceName=1&start=7800000&end=8000000&assemblyId=GRCh37"
DEMO_RANGE = "referenceName=22&start=16000000&end=17000000&assemblyId=GRCh37"
EXPECTED_FAULTS = {"slow": "timeout", "invalid-json": "invalid", "invalid-map": "notQueried", "down": "error"}


def node_id(name: str) -> str:
    return f"org.test.{name}"


def ask(server: Server, method: str, path: str, body: dict | None = None, **headers: str) -> dict[str, Any]:
    response = answer_of(server, method, path, body, **headers)
    assert response.status_code == 200, response.text[:2000]
    return response.json()


def answer_of(server: Server, method: str, path: str, body: dict | None = None, **headers: str) -> httpx.Response:
    with server.client() as client:
        return client.request(method, path, json=body, headers=headers)


def sets_of(document: dict[str, Any], beacon_id: str) -> list[dict[str, Any]]:
    return [found for found in document["response"]["resultSets"] if found["beaconId"] == beacon_id]


def outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {member["name"]: member["outcome"] for member in document["info"]["members"]}


def body(granularity: str, include: str = "ALL", **parameters: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"requestedGranularity": granularity, "includeResultsetResponses": include}
    if parameters:
        query["requestParameters"] = parameters
    return {"meta": {"apiVersion": "2.0"}, "query": query}


def assert_merged(hub: dict[str, Any], direct: dict[str, dict[str, Any]]) -> None:
    """The hub's answer is the nodes' answers put together (ALL: every node's sets, with its beaconId)."""
    for name, answer in direct.items():
        expected = [found | {"beaconId": node_id(name)} for found in answer["response"]["resultSets"]]
        assert sets_of(hub, node_id(name)) == expected, name
    summaries = [answer["responseSummary"] for answer in direct.values()]
    assert hub["responseSummary"]["exists"] == any(summary["exists"] for summary in summaries)
    levels = [GRANULARITIES.index(answer["meta"]["returnedGranularity"]) for answer in direct.values()]
    assert hub["meta"]["returnedGranularity"] == GRANULARITIES[max(levels)]
    if hub["meta"]["returnedGranularity"] != "boolean":
        expected_total = sum(s.get("numTotalResults", 1 if s["exists"] else 0) for s in summaries)
        assert hub["responseSummary"]["numTotalResults"] == expected_total
    assert {name: outcomes(hub)[name] for name in FAULTY} == EXPECTED_FAULTS
    assert all(outcomes(hub)[name] == "answered" for name in direct)


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize(
    ("method", "path", "parameters"),
    [
        ("GET", "/api/individuals", {}),
        ("POST", "/api/biosamples", {}),
        ("GET", f"/api/g_variants?{TRIO_RANGE}", {}),
        (
            "POST",
            "/api/g_variants",
            {"referenceName": "22", "start": [16000000], "end": [17000000], "assemblyId": "GRCh37"},
        ),
        ("GET", "/api/g_variants/{vid}/individuals", {}),
    ],
)
def test_the_hub_merges_the_nodes_own_answers_and_reports_every_faulty_member(
    network: Network, granularity: str, method: str, path: str, parameters: dict
):
    if "{vid}" in path:  # a variant of the case-level node, by the id that node gives it
        found = ask(network.nodes["node-case"], "GET", f"/api/g_variants?{TRIO_RANGE}&requestedGranularity=record")
        path = path.format(vid=found["response"]["resultSets"][0]["results"][0]["variantInternalId"])
    if method == "GET":
        path += ("&" if "?" in path else "?") + f"requestedGranularity={granularity}&includeResultsetResponses=ALL"
    request_body = body(granularity, **parameters) if method == "POST" else None
    hub = ask(network.hub, method, path, request_body)
    answers = {name: answer_of(node, method, path, request_body) for name, node in network.nodes.items()}
    assert_merged(hub, {name: answer.json() for name, answer in answers.items() if answer.status_code == 200})
    refused = {name: answer.status_code for name, answer in answers.items() if answer.status_code != 200}
    reported = {m["name"]: m.get("httpStatus") for m in hub["info"]["members"] if m["outcome"] == "error"}
    assert reported == refused | {"down": None}


def test_hit_and_miss_choose_members_by_their_summary_while_every_member_is_reported(network: Network):
    direct = {name: ask(node, "POST", "/api/g_variants", body("count", "HIT", referenceName="1", start=[7800000],
                                                             end=[8000000], assemblyId="GRCh37"))
              for name, node in network.nodes.items()}  # fmt: skip
    hitting = {name for name, answer in direct.items() if answer["responseSummary"]["exists"]}
    assert hitting == {"node-case"}  # the trio is on chromosome 1; the demo on 22; node-public has no variants
    for include, members in (("HIT", hitting), ("MISS", set(NODES) - hitting), ("NONE", set())):
        query = body("count", include, referenceName="1", start=[7800000], end=[8000000], assemblyId="GRCh37")
        hub = ask(network.hub, "POST", "/api/g_variants", query)
        assert {found["beaconId"] for found in hub["response"]["resultSets"]} == {node_id(m) for m in members}
        returned = {member["name"] for member in hub["info"]["members"] if member["returned"]}
        assert returned == members
        assert set(outcomes(hub)) == set(NODES) | set(FAULTY)  # nobody vanishes
        assert hub["responseSummary"]["exists"] is True  # the summary is over every answering member


def test_collections_of_every_node_come_back_untouched(network: Network):
    hub = ask(network.hub, "GET", "/api/datasets?requestedGranularity=record")
    expected = []
    for node in network.nodes.values():
        expected += ask(node, "GET", "/api/datasets?requestedGranularity=record")["response"]["collections"]
    assert hub["response"]["collections"] == expected
    assert {PUBLIC_DATASET, REGISTERED_DATASET} <= {dataset["id"] for dataset in expected}


def test_a_single_record_comes_from_the_node_holding_it_and_the_others_404s_are_reported(network: Network):
    records = ask(network.nodes["node-public"], "GET", "/api/individuals?requestedGranularity=record&limit=1")
    record_id = records["response"]["resultSets"][0]["results"][0]["id"]
    path = f"/api/individuals/{record_id}?requestedGranularity=record"
    hub = ask(network.hub, "GET", path)
    direct = ask(network.nodes["node-public"], "GET", path)
    assert sets_of(hub, node_id("node-public")) == [s | {"beaconId": node_id("node-public")}
                                                    for s in direct["response"]["resultSets"]]  # fmt: skip
    others = {m["name"]: m for m in hub["info"]["members"] if m["name"] in ("node-registered", "node-case")}
    assert {m["outcome"] for m in others.values()} == {"error"}
    assert {m["httpStatus"] for m in others.values()} == {404}


def test_the_callers_token_reaches_the_registered_node_and_only_then_its_records_appear(network: Network):
    op = network.op
    token = op.token(op.add_account(visas=list(BONA_FIDE_VISAS)))
    path = "/api/individuals?requestedGranularity=record&includeResultsetResponses=ALL&limit=5"
    registered = network.nodes["node-registered"]
    anonymous_hub, anonymous_node = ask(network.hub, "GET", path), ask(registered, "GET", path)
    signed_hub = ask(network.hub, "GET", path, Authorization=f"Bearer {token}")
    signed_node = ask(registered, "GET", path, Authorization=f"Bearer {token}")
    ours = node_id("node-registered")
    assert sets_of(anonymous_hub, ours) == [s | {"beaconId": ours} for s in anonymous_node["response"]["resultSets"]]
    assert sets_of(signed_hub, ours) == [s | {"beaconId": ours} for s in signed_node["response"]["resultSets"]]
    (anonymous_set,) = [s for s in sets_of(anonymous_hub, ours) if s["id"] == REGISTERED_DATASET]
    (signed_set,) = [s for s in sets_of(signed_hub, ours) if s["id"] == REGISTERED_DATASET]
    assert "results" not in anonymous_set and "resultsCount" not in anonymous_set
    assert len(signed_set["results"]) == 5


def test_a_slow_member_never_delays_the_answer_past_the_budget(network: Network):
    # A functional bound (the brief's): the slow member sleeps 30 s; the answer must not wait for it. The time is
    # the hub's own (its access log), so that the test process's scheduling on a busy machine does not count.
    hub = ask(network.hub, "GET", "/api/individuals?requestedGranularity=count", **{"X-Request-ID": "budget-1"})
    (slow,) = [member for member in hub["info"]["members"] if member["name"] == "slow"]
    assert slow["outcome"] == "timeout" and "budget" in slow["error"]
    deadline = time.monotonic() + 5
    while not (lines := [line for line in network.hub.log_lines() if line.get("request_id") == "budget-1"
                         and line["logger"] == "gunicorn.access"]):  # fmt: skip
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.1)
    assert lines[0]["http"]["duration_ms"] <= (BUDGET + 0.5) * 1000, lines[0]


def test_the_hubs_info_lists_each_members_info_and_metadata_problems(network: Network):
    members = {member["name"]: member for member in ask(network.hub, "GET", "/api/info")["info"]["members"]}
    for name in NODES:
        assert members[name]["beaconId"] == node_id(name) and members[name]["info"]["id"] == node_id(name)
        assert members[name]["metadataErrors"] == [] and members[name]["queried"] is True
    invalid_map = members["invalid-map"]
    assert invalid_map["reachable"] is True and invalid_map["queried"] is False
    assert [problem["endpoint"] for problem in invalid_map["metadataErrors"]] == ["/map"]
    assert "endpointSets" in json.dumps(invalid_map["metadataErrors"])
    assert members["down"]["reachable"] is False and members["down"]["queried"] is False
    assert {problem["endpoint"] for problem in members["down"]["metadataErrors"]} == {
        "/info", "/map", "/configuration", "/entry_types", "/filtering_terms"}  # fmt: skip


def test_map_configuration_and_entry_types_are_built_from_the_members(network: Network):
    hub_map = ask(network.hub, "GET", "/api/map")["response"]["endpointSets"]
    offered = set()
    for node in network.nodes.values():
        offered |= {s["entryType"] for s in ask(node, "GET", "/api/map")["response"]["endpointSets"].values()}
    assert {endpoint_set["entryType"] for endpoint_set in hub_map.values()} == offered
    assert all(s["rootUrl"].startswith(network.hub.api + "/") for s in hub_map.values())
    configuration = ask(network.hub, "GET", "/api/configuration")["response"]
    assert set(configuration["entryTypes"]) == offered
    levels = set()
    for node in network.nodes.values():
        levels |= set(ask(node, "GET", "/api/configuration")["response"]["securityAttributes"]["securityLevels"])
    assert set(configuration["securityAttributes"]["securityLevels"]) == levels | {"PUBLIC"}  # the stubs' level
    assert set(ask(network.hub, "GET", "/api/entry_types")["response"]["entryTypes"]) == offered


def test_filtering_terms_are_the_union_of_the_members_with_scopes_merged_and_pages(network: Network):
    union: dict[str, set[str]] = {}
    for node in network.nodes.values():
        for term in ask(node, "GET", "/api/filtering_terms")["response"]["filteringTerms"]:
            union.setdefault(term["id"], set()).update(term.get("scopes", []))
    terms = ask(network.hub, "GET", "/api/filtering_terms")["response"]["filteringTerms"]
    assert len(terms) == len(union) > 2
    assert {term["id"]: set(term.get("scopes", [])) for term in terms} == union
    page = ask(network.hub, "GET", "/api/filtering_terms?skip=1&limit=2")["response"]["filteringTerms"]
    assert page == terms[2:4]


def test_a_hub_is_a_member_of_another_hub_and_its_members_sets_name_both(network: Network):
    path = "/api/individuals?requestedGranularity=count&includeResultsetResponses=ALL"
    outer, inner = ask(network.outer, "GET", path), ask(network.hub, "GET", path)
    through_hub = [s for s in outer["response"]["resultSets"] if s.get("beaconNetworkId") == "org.test.hub"]
    assert through_hub == [s | {"beaconNetworkId": "org.test.hub"} for s in inner["response"]["resultSets"]]
    direct = [s for s in outer["response"]["resultSets"] if "beaconNetworkId" not in s]
    assert {s["beaconId"] for s in direct} == {node_id("node-public")}
    public = ask(network.nodes["node-public"], "GET", path)
    total = inner["responseSummary"]["numTotalResults"] + public["responseSummary"]["numTotalResults"]
    assert outer["responseSummary"]["numTotalResults"] == total
    assert outcomes(outer) == {"hub": "answered", "node-public": "answered"}


def test_the_request_id_reaches_the_members_logs(network: Network):
    ask(network.hub, "GET", "/api/individuals", **{"X-Request-ID": "network-test-4711"})
    for node in network.nodes.values():
        deadline = time.monotonic() + 5
        while not any(line.get("request_id") == "network-test-4711" for line in node.log_lines()):
            assert time.monotonic() < deadline, f"{node.name} never logged the request id"
            time.sleep(0.1)
    hub_lines = [line for line in network.hub.log_lines() if line.get("request_id") == "network-test-4711"]
    assert any("slow" in line["message"] and "timeout" in line["message"] for line in hub_lines)


def test_health_and_per_member_metrics(network: Network):
    with httpx.Client(base_url=f"http://127.0.0.1:{network.hub.port}") as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").json()["membersAnswering"] == 6  # all but the one that is down
        assert client.head("/api/individuals").status_code == 200  # asked of the members as a GET
        ask(network.hub, "GET", "/api/individuals")
        text = client.get("/metrics").text
    calls = {(m, o): float(v) for m, o, v in re.findall(
        r'beacon_network_member_calls_total\{member="([^"]+)",outcome="([^"]+)"\} (\S+)', text)}  # fmt: skip
    for name, outcome in (("slow", "timeout"), ("down", "error"), ("invalid-json", "invalid")):
        assert calls[(name, outcome)] >= 1, name
    for name in NODES:
        assert calls[(name, "answered")] >= 1
        assert re.search(rf'beacon_network_member_duration_seconds_count\{{member="{name}"\}} [1-9]', text)


def test_a_request_every_member_refuses_is_their_error_at_the_hub_and_an_unknown_path_a_404(network: Network):
    bad = {"meta": {"apiVersion": "2.0"}, "query": {"requestedGranularity": "everything"}}
    refused = {name: answer_of(node, "POST", "/api/individuals", bad) for name, node in network.nodes.items()}
    assert {answer.status_code for answer in refused.values()} == {400}
    hub = answer_of(network.hub, "POST", "/api/individuals", bad)
    assert hub.status_code == 400
    assert refused["node-public"].json()["error"]["errorMessage"] in hub.json()["error"]["errorMessage"]
    unknown = answer_of(network.hub, "GET", "/api/no_such_entry_type")
    assert unknown.status_code == 404 and unknown.json()["error"]["errorCode"] == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- url: https://a.example/api\n- name: b\n", "line 2: url: expected an absolute http(s) URL"),
        ("- url: https://a.example/api\n  timeout: -1\n", "line 1: timeout: expected a number of seconds"),
        ("- url: https://a.example/api\n  colour: red\n", "line 1: colour: unknown field"),
        ("url: https://a.example/api\n", "line 1: expected a list of members"),
        ("- url: https://a.example/api\n- url: https://a.example/api\n", "is listed twice"),
    ],
)
def test_a_bad_members_file_stops_the_hub_with_one_line_naming_file_line_and_field(tmp_path, content, message):
    members = tmp_path / "members.yaml"
    members.write_text(content)
    result = CliRunner().invoke(main, ["network", "serve", "--members", str(members)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {members}: ") and message in result.output
