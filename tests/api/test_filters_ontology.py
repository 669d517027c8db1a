"""Ontology filters with descendants, ages and the `beacon load ontology` command, end to end.

The ontology is the real HPO excerpt in tests/data/ontology (its SOURCE.md draws the tree). The six
individuals below are written by hand, so every expected count is worked out from that tree:

    p1 female  Seizure HP:0001250                        onset P3Y6M
    p2 male    Focal impaired awareness seizure HP:0002384 (is_a Focal-onset and Dialeptic)  onset P40Y
    p3 female  Hypocalcemic seizures HP:0002199          onset P39Y11M
    p4 male    Headache HP:0002315                       onset P480M (= 40 years)
    p5 female  Recurrent paroxysmal headache HP:0002331  onset P65Y
    p6 female  nothing
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beacon import create_app
from beacon.cli import main
from tests.conftest import DATA_DIR, assert_valid, make_settings

OBO = DATA_DIR / "ontology" / "hp_seizure_excerpt.obo"
OWL = DATA_DIR / "ontology" / "hp_seizure_excerpt.owl"
VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
DATASET = "hp-demo"
ONSET = "diseases.ageOfOnset.iso8601duration"
SEX = {"female": {"id": "NCIT:C16576", "label": "female"}, "male": {"id": "NCIT:C20197", "label": "male"}}
PEOPLE = [
    ("p1", "female", ("HP:0001250", "Seizure"), "P3Y6M"),
    ("p2", "male", ("HP:0002384", "Focal impaired awareness seizure"), "P40Y"),
    ("p3", "female", ("HP:0002199", "Hypocalcemic seizures"), "P39Y11M"),
    ("p4", "male", ("HP:0002315", "Headache"), "P480M"),
    ("p5", "female", ("HP:0002331", "Recurrent paroxysmal headache"), "P65Y"),
    ("p6", "female", None, None),
]


def individual(person_id: str, sex: str, feature: tuple[str, str] | None, onset: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": person_id, "datasetId": DATASET, "sex": SEX[sex]}
    if feature:
        record["phenotypicFeatures"] = [{"featureType": {"id": feature[0], "label": feature[1]}}]
    if onset:
        record["diseases"] = [
            {"diseaseCode": {"id": "ICD10:G40", "label": "epilepsy"}, "ageOfOnset": {"iso8601duration": onset}}
        ]
    return record


def cli(store: Path, *args: str | Path) -> Any:
    result = CliRunner().invoke(main, [str(arg) for arg in args], env={"BEACON_STORE_URI": f"sqlite:///{store}"})
    return result


def load_people(store: Path, folder: Path) -> None:
    datasets, individuals = folder / "datasets.json", folder / "individuals.json"
    datasets.write_text(json.dumps([{"id": DATASET, "name": "HP excerpt demo (hand-made)"}]))
    individuals.write_text(json.dumps([individual(*person) for person in PEOPLE]))
    result = cli(store, "load", "metadata", datasets, individuals)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def hp_client(tmp_path_factory):
    """The hand-made individuals, the HPO excerpt and a VCF loaded without case-level data."""
    folder = tmp_path_factory.mktemp("hp")
    store = folder / "beacon.sqlite"
    load_people(store, folder)
    assert cli(store, "load", "ontology", OBO).exit_code == 0
    result = cli(store, "load", "vcf", VCF, "--dataset", DATASET, "--assembly", "GRCh38")
    assert result.exit_code == 0, result.output
    return create_app(make_settings(store, access_file=public_policy(folder))).test_client()


def count(client, *filters: Any, path: str = "/api/individuals") -> tuple[int, list[str]]:
    """(numTotalResults, warnings) of a POST at count granularity; tokens are GET strings or objects."""
    items = [{"id": item} if isinstance(item, str) else item for item in filters]
    body = {"query": {"filters": items, "requestedGranularity": "count"}}
    response = client.post(path, json=body)
    document = response.get_json()
    assert response.status_code == 200, document
    return document["responseSummary"].get("numTotalResults", -1), document.get("info", {}).get("warnings", [])


def test_loading_an_ontology_takes_effect_without_a_restart(tmp_path, validator):
    store = tmp_path / "beacon.sqlite"
    load_people(store, tmp_path)
    client = create_app(make_settings(store, access_file=public_policy(tmp_path))).test_client()
    assert count(client, "HP:0001250") == (1, [])  # no ontology yet: the exact term only
    total, warnings = count(client, "HP:0012638")
    assert total == 0 and "no HP ontology is loaded" in warnings[0]
    assert client.get("/api/filtering_terms").get_json()["response"]["resources"] == []

    result = cli(store, "load", "ontology", OBO)
    assert result.exit_code == 0, result.output
    assert "16 terms" in result.output

    assert count(client, "HP:0001250") == (3, [])
    assert count(client, "HP:0012638") == (5, [])
    document = client.get("/api/filtering_terms").get_json()
    assert list(validator.framework_errors("filtering_terms", document)) == []
    assert document["response"]["resources"] == [
        {
            "id": "hp",
            "name": "Human Phenotype Ontology",
            "url": "https://purl.obolibrary.org/obo/hp.owl",
            "version": "2026-09-01",
            "nameSpacePrefix": "HP",
            "iriPrefix": "https://purl.obolibrary.org/obo/HP_",
        }
    ]


def public_policy(folder: Path) -> Path:
    """An access policy making the hand-made dataset PUBLIC (count and record answers for anyone)."""
    policy = folder / "policy.yaml"
    policy.write_text(f"default_level: CONTROLLED\ndatasets:\n  {DATASET}: {{level: PUBLIC}}\n")
    return policy


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["HP:0001250"], 3),  # Seizure and its descendants: p1, p2, p3
        ([{"id": "HP:0001250", "includeDescendantTerms": False}], 1),
        (["HP:0007359"], 1),  # Focal-onset seizure: p2
        (["HP:0011146"], 1),  # Dialeptic seizure, p2's other parent
        (["HP:0012638"], 5),  # Abnormal nervous system physiology: p1..p5
        (["HP:0000118"], 5),
        (["HP:0012639"], 0),  # known, carried by nobody
        (["HP:0002315"], 2),  # Headache: p4, p5
        ([{"id": "HP:0002197", "similarity": "exact"}], 0),
        ([{"id": "HP:0002197", "similarity": "medium"}], 2),  # its siblings' subtrees: p2, p3
        ([{"id": "HP:0002197", "similarity": "low"}], 5),  # up to its grandparent's children: p1..p5
        (["HP:0001250", "NCIT:C16576"], 2),  # female with a seizure: p1, p3
        ([{"id": "HP:0001250", "scope": "individuals"}, "sex:male"], 1),  # p2
    ],
)
def test_descendant_expansion(hp_client, filters, expected):
    assert count(hp_client, *filters) == (expected, [])


def test_an_unknown_term_of_a_loaded_ontology_warns(hp_client):
    total, warnings = count(hp_client, "HP:9999999")
    assert total == 0
    assert "not in the loaded HP ontology" in warnings[0]


@pytest.mark.parametrize(
    ("operator", "expected"),
    [("<=", 4), ("<", 2), ("=", 2), (">", 1), (">=", 3), ("!", 4)],
)
def test_age_of_onset_operators(hp_client, operator, expected):
    assert count(hp_client, {"id": ONSET, "operator": operator, "value": "P40Y"}) == (expected, [])


def test_age_filters_combine_with_sex_and_custom_filters(hp_client):
    assert count(hp_client, "NCIT:C16576", {"id": ONSET, "operator": "<", "value": "P40Y"}) == (2, [])
    assert count(hp_client, "ageOfOnset:adult") == (4, [])
    assert count(hp_client, "ageOfOnset:paediatric") == (1, [])
    response = hp_client.get(f"/api/individuals?requestedGranularity=count&filters={ONSET}<P40Y,NCIT:C16576")
    assert response.get_json()["responseSummary"]["numTotalResults"] == 2


def test_filtering_terms_follow_the_loaded_records(hp_client):
    terms = {
        term["id"]: term for term in hp_client.get("/api/filtering_terms").get_json()["response"]["filteringTerms"]
    }
    assert terms["HP:0002384"] == {
        "id": "HP:0002384",
        "type": "ontology",
        "label": "Focal impaired awareness seizure",
        "scopes": ["individual"],
    }
    assert terms[ONSET]["type"] == "alphanumeric"


def test_variants_without_case_level_data_say_so(hp_client, validator):
    query = {
        "assemblyId": "GRCh38",
        "referenceName": "8",
        "start": 0,
        "end": 10_000_000,
        "requestedGranularity": "count",
    }
    unfiltered = hp_client.get("/api/g_variants", query_string=query).get_json()
    assert unfiltered["responseSummary"]["numTotalResults"] > 0
    document = hp_client.get("/api/g_variants", query_string={**query, "filters": "NCIT:C16576"}).get_json()
    assert_valid(validator, document)
    assert document["responseSummary"]["numTotalResults"] == 0
    assert any("--case-level" in warning for warning in document["info"]["warnings"])


# -- the command ---------------------------------------------------------------------------------


def test_load_ontology_refuses_a_second_copy_unless_replacing(tmp_path):
    store = tmp_path / "beacon.sqlite"
    assert cli(store, "load", "ontology", OBO).exit_code == 0
    again = cli(store, "load", "ontology", OWL)
    assert again.exit_code == 1
    assert str(OWL) in again.output and "already loaded" in again.output
    replaced = cli(store, "load", "ontology", OWL, "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert "ontology hp (Human Phenotype Ontology, version 2026-09-01): 16 terms loaded" in replaced.output


@pytest.mark.parametrize("content", [None, "format-version: 1.2\n[Term]\nid: X:1\nis_a: X:404\n", "<rdf:RDF"])
def test_load_ontology_errors_name_the_file(tmp_path, content):
    path = tmp_path / "broken.obo"
    if content is not None:
        path.write_text(content)
    result = cli(tmp_path / "beacon.sqlite", "load", "ontology", path)
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "Traceback" not in result.output
