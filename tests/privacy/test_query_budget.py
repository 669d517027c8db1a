"""Query budgets in one process (Flask test client): per caller and dataset, over a sliding window, 429 with
Retry-After in the error envelope; metadata endpoints free; IP addresses, trusted proxies and tokens."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.api.protection import client_address
from tests.conftest import DEMO_DATASET, make_settings

VARIANT = "/api/g_variants?referenceName=22&start=16050074&referenceBases=A&alternateBases=G&assemblyId=GRCh37"
TEST_VARIANT = "/api/g_variants?referenceName=22&start=16050074&end=16050075&assemblyId=GRCh37&testMode=true"
METADATA = ("/api/info", "/api/map", "/api/configuration", "/api/datasets", "/api/filtering_terms", "/api/cohorts")


def budget_policy(queries: int, window: float, **tiers: dict[str, Any]) -> str:
    """A policy giving anonymous callers `queries` per `window` seconds on every dataset."""
    budgets = {"anonymous": {"queries": queries, "window": window}} | tiers
    lines = [f"  {tier}: {{queries: {b['queries']}, window: {b['window']}}}" for tier, b in budgets.items()]
    return "\n".join(
        [
            "default_level: CONTROLLED",
            "rare_alleles: {enabled: false}",
            "query_budget:",
            *lines,
            "datasets:",
            f"  {DEMO_DATASET}: {{level: PUBLIC}}",
            "  synthetic-test: {level: PUBLIC, test_dataset: true}",
        ]
    )


def make_client(tmp_path: Path, demo_store_file: Path, policy: str, **settings: Any) -> FlaskClient:
    """A client of an app over the demo store with `policy`, its counters in a fresh file of tmp_path."""
    access = tmp_path / f"policy-{len(list(tmp_path.glob('policy-*')))}.yaml"
    access.write_text(policy, encoding="utf-8")
    values = {"access_file": access, "limits_uri": f"sqlite:///{tmp_path / 'limits.sqlite'}"} | settings
    return create_app(make_settings(demo_store_file, **values)).test_client()


def get(client: FlaskClient, path: str, address: str = "192.0.2.1", **headers: str) -> Any:
    """GET as a client at `address`."""
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_a_spent_budget_is_a_429_envelope_with_retry_after(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(3, 3600))
    for _ in range(3):
        response = get(client, VARIANT)
        assert response.status_code == 200 and response.get_json()["responseSummary"]["exists"] is True
    refused = get(client, VARIANT)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"]["errorCode"] == 429 and DEMO_DATASET in body["error"]["errorMessage"]
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600


def test_metadata_endpoints_are_not_charged(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(1, 3600))
    for _ in range(3):
        for path in METADATA:
            assert get(client, path).status_code == 200, path
    assert get(client, VARIANT).status_code == 200  # the one query of the budget is still there
    assert get(client, VARIANT).status_code == 429


def test_record_queries_are_charged_like_variant_queries(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(2, 3600))
    assert get(client, "/api/individuals").status_code == 200
    assert get(client, "/api/biosamples?limit=1").status_code == 200
    assert get(client, "/api/individuals").status_code == 429
    assert get(client, VARIANT).status_code == 429


def test_each_dataset_has_its_own_budget(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(2, 3600))
    assert [get(client, VARIANT).status_code for _ in range(3)] == [200, 200, 429]
    # The test dataset (asked in testMode) is another dataset: its budget is untouched.
    answered = get(client, TEST_VARIANT)
    assert answered.status_code == 200
    assert [s["id"] for s in answered.get_json()["response"]["resultSets"]] == ["synthetic-test"]
    assert get(client, TEST_VARIANT).status_code == 200
    assert get(client, TEST_VARIANT).status_code == 429


def test_the_window_slides(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(2, 0.5))
    assert [get(client, VARIANT).status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.6)  # both queries of the window have left it
    assert [get(client, VARIANT).status_code for _ in range(3)] == [200, 200, 429]


def test_each_ip_address_has_its_own_budget_and_forwarded_for_is_ignored_by_default(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(1, 3600))
    assert get(client, VARIANT, "192.0.2.1").status_code == 200
    assert get(client, VARIANT, "192.0.2.1", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert get(client, VARIANT, "192.0.2.2").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_client_is_charged(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(1, 3600), trusted_proxies=("10.0.0.0/8",))
    proxy = "10.1.2.3"
    first = {"X-Forwarded-For": "198.51.100.7"}
    second = {"X-Forwarded-For": "198.51.100.8, 10.9.9.9"}  # through two of our proxies
    assert get(client, VARIANT, proxy, **first).status_code == 200
    assert get(client, VARIANT, proxy, **second).status_code == 200
    assert get(client, VARIANT, proxy, **first).status_code == 429
    assert get(client, VARIANT, proxy, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 429
    # A client that is not a trusted proxy cannot choose whom to charge.
    assert get(client, VARIANT, "192.0.2.9", **{"X-Forwarded-For": "198.51.100.99"}).status_code == 200
    assert get(client, VARIANT, "192.0.2.9", **{"X-Forwarded-For": "198.51.100.100"}).status_code == 429


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "203.0.113.9, 203.0.113.5, 10.0.0.2", "203.0.113.5"),  # a client's own forged hop is left
        ("192.0.2.1", "203.0.113.5", "192.0.2.1"),  # untrusted peer: the header is the client's word only
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "not-an-ip", "not-an-ip"),
    ],
)
def test_client_address_takes_the_right_most_untrusted_hop(peer, header, expected):
    assert client_address(peer, header, ("10.0.0.0/8",)) == expected


def test_the_policy_reports_budgets_in_the_dataset_info(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file, budget_policy(7, 60))
    datasets = get(client, "/api/datasets?requestedGranularity=record").get_json()["response"]["collections"]
    privacy = {record["id"]: record["info"].get("privacy") for record in datasets}
    assert privacy[DEMO_DATASET] == {"queryBudget": {"anonymous": {"queries": 7, "windowSeconds": 60.0}}}


@pytest.mark.oidc
def test_a_token_is_charged_by_its_subject_wherever_it_comes_from(tmp_path, demo_store_file, op):
    from tests.auth.oidc_provider import AUDIENCE, BONA_FIDE_VISAS

    policy = budget_policy(1, 3600, registered={"queries": 2, "window": 3600})
    settings = {
        "oidc_issuers": (op.issuer,),
        "oidc_audiences": (AUDIENCE,),
        "trusted_jkus": (op.visa_jku,),
        "visa_issuers": (op.issuer,),
        "http_timeout": 1.0,
    }
    client = make_client(tmp_path, demo_store_file, policy, **settings)
    alice = {"Authorization": f"Bearer {op.token(op.add_account())}"}  # authenticated: the anonymous tier
    bob = {"Authorization": f"Bearer {op.token(op.add_account())}"}
    carol = {"Authorization": f"Bearer {op.token(op.add_account(visas=[*BONA_FIDE_VISAS]))}"}  # registered
    assert get(client, VARIANT, "192.0.2.1", **alice).status_code == 200
    assert get(client, VARIANT, "192.0.2.2", **alice).status_code == 429  # same subject, another address
    assert get(client, VARIANT, "192.0.2.1", **bob).status_code == 200
    assert get(client, VARIANT, "192.0.2.1").status_code == 200  # the address's own budget is untouched
    assert get(client, VARIANT, "192.0.2.1").status_code == 429
    assert [get(client, VARIANT, "192.0.2.1", **carol).status_code for _ in range(3)] == [200, 200, 429]
