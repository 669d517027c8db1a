"""Hidden means hidden: nothing in an answer tells an anonymous caller what a dataset it may not see holds.

One store, two datasets: `open_ds` (PUBLIC) and `hidden_ds` (anonymous callers: none). Only the hidden
dataset's individuals carry NCIT:C20197 (male) and the field `karyotypicSex`, and only its biosamples
carry UBERON:0000178 (blood). The same store is served under a second policy that shows both datasets,
so each test also proves the term would be known (and listed) if the dataset were visible.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from tests.conftest import make_settings

OPEN, HIDDEN = "open_ds", "hidden_ds"
FEMALE, MALE, BLOOD = "NCIT:C16576", "NCIT:C20197", "UBERON:0000178"
NOBODYS = {MALE: "NCIT:C99999", BLOOD: "UBERON:9999999"}  # terms of the same ontologies that no record uses
HIDING = f"""\
default_level: CONTROLLED
datasets:
  {OPEN}: {{level: PUBLIC}}
  {HIDDEN}: {{level: CONTROLLED, granularity: {{anonymous: none}}}}
"""
SHOWING = f"default_level: PUBLIC\ndatasets:\n  {OPEN}: {{level: PUBLIC}}\n  {HIDDEN}: {{level: PUBLIC}}\n"
STATUS = {"id": "EFO:0009654", "label": "reference sample"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory, validator) -> dict[str, FlaskClient]:
    """Test clients of the same store under the hiding and the showing policy."""
    directory = tmp_path_factory.mktemp("hidden")
    female, male = {"id": FEMALE, "label": "female"}, {"id": MALE, "label": "male"}
    records = {
        "datasets": [{"id": OPEN, "name": "open"}, {"id": HIDDEN, "name": "hidden"}],
        "individuals": [
            {"id": "O1", "sex": female, "datasetId": OPEN},
            {"id": "H1", "sex": male, "karyotypicSex": "XY", "datasetId": HIDDEN},
        ],
        "biosamples": [
            {"id": "OB1", "individualId": "O1", "datasetId": OPEN, "biosampleStatus": STATUS,
             "sampleOriginType": {"id": "UBERON:0000955", "label": "brain"}},
            {"id": "HB1", "individualId": "H1", "datasetId": HIDDEN, "biosampleStatus": STATUS,
             "sampleOriginType": {"id": BLOOD, "label": "blood"}},
        ],
    }  # fmt: skip
    for entity, items in records.items():
        (directory / f"{entity}.json").write_text(json.dumps(items), encoding="utf-8")
    store = SqliteStore(directory / "beacon.sqlite")
    load_metadata(store, [directory / f"{entity}.json" for entity in records], validator)
    apps = {}
    for name, policy in (("hiding", HIDING), ("showing", SHOWING)):
        (directory / f"{name}.yaml").write_text(policy, encoding="utf-8")
        settings = make_settings(directory / "beacon.sqlite", access_file=directory / f"{name}.yaml")
        apps[name] = create_app(settings, store=store).test_client()
    return apps


def listed(client: FlaskClient, path: str = "/api/filtering_terms") -> set[str]:
    response = client.get(path)
    assert response.status_code == 200
    return {term["id"] for term in response.get_json()["response"]["filteringTerms"]}


def warnings(client: FlaskClient, path: str, term: str) -> list[str]:
    """The warnings of a count query filtered by `term`, with the term written as TERM."""
    response = client.get(f"{path}?filters={term}&requestedGranularity=count")
    assert response.status_code == 200, response.get_json()
    found = response.get_json().get("info", {}).get("warnings", [])
    return [warning.replace(term, "TERM") for warning in found]


def test_filtering_terms_list_only_what_anonymous_callers_may_see(clients):
    hiding, showing = listed(clients["hiding"]), listed(clients["showing"])
    assert {FEMALE, "sex:female"} <= hiding  # the open dataset's term and the custom filters
    assert {MALE, BLOOD, "karyotypicSex"} <= showing
    assert not {MALE, BLOOD, "karyotypicSex"} & hiding


def test_a_hidden_datasets_own_terms_stay_behind_its_403(clients):
    response = clients["hiding"].get(f"/api/datasets/{HIDDEN}/filtering_terms")
    assert response.status_code in (403, 404)
    assert MALE not in response.get_data(as_text=True)
    assert MALE in listed(clients["showing"], f"/api/datasets/{HIDDEN}/filtering_terms")


@pytest.mark.parametrize("path", ["/api/individuals", "/api/biosamples", "/api/g_variants", "/api/cohorts"])
def test_a_term_only_a_hidden_dataset_uses_is_as_unknown_as_a_term_nobody_uses(clients, path):
    hiding = clients["hiding"]
    for term in (MALE, BLOOD):
        assert warnings(hiding, path, term) == warnings(hiding, path, NOBODYS[term])
        assert warnings(hiding, path, term) != []
        # Under the showing policy the term is known: no "unknown term" warning names it.
        assert not [warning for warning in warnings(clients["showing"], path, term) if "unknown term" in warning]


def test_a_scope_hint_never_points_at_a_hidden_datasets_records(clients):
    # Blood occurs only in the hidden dataset's biosamples: the showing beacon says so, the hiding one does not.
    shown = warnings(clients["showing"], "/api/individuals", BLOOD)
    assert any("it occurs in biosamples" in warning for warning in shown)
    assert not any("occurs in" in warning for warning in warnings(clients["hiding"], "/api/individuals", BLOOD))


def test_a_field_only_a_hidden_dataset_holds_gives_no_sign_of_it(clients):
    hiding = clients["hiding"]
    for path in ("/api/individuals", "/api/datasets"):
        held = hiding.get(f"{path}?filters=karyotypicSex=XY&requestedGranularity=count").get_json()
        nobody = hiding.get(f"{path}?filters=karyotypicSex=XX&requestedGranularity=count").get_json()
        assert held["responseSummary"] == nobody["responseSummary"] == {"exists": False, "numTotalResults": 0}


def test_the_hidden_individual_is_counted_when_the_policy_shows_it(clients):
    # The two answers differ by policy alone: the showing beacon counts the hidden individual.
    showing = clients["showing"].get(f"/api/individuals?filters={MALE}&requestedGranularity=count").get_json()
    assert showing["responseSummary"] == {"exists": True, "numTotalResults": 1}
