"""Filters over HTTP on the CINECA UK1 demo data (individuals, biosamples, cohorts, datasets).

Expected counts come from files this code never produced: `ontology_terms_used.tsv` (every term of
the BFF files, independently counted), `uk1.tsv` (the upstream phenotype table the individuals were
generated from) and the raw demo BFF files; the cohort's ages are read off its record by hand.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

import pytest

from beacon import create_app
from beacon.demo import DEMO_DIR
from tests.conftest import DATA_DIR, DEMO_COHORT, DEMO_DATASET, assert_valid, make_settings

CINECA = DATA_DIR / "cineca_uk1_bff_ritools_v2"
HEIGHT = "measures.measurementValue.value"
STANDING_HEIGHT = "Standing height-0.0"
COUNTRY = "Country of birth (UK/elsewhere)-0.0"
FEMALE, MALE, ENGLAND = "NCIT:C16576", "NCIT:C20197", "GAZ:00002641"


def term_rows(entity: str) -> Iterator[dict[str, str]]:
    with (CINECA / "ontology_terms_used.tsv").open(newline="", encoding="utf-8") as handle:
        yield from (row for row in csv.DictReader(handle, delimiter="\t") if row["entity"] == entity)


def phenotypes() -> list[dict[str, str]]:
    with (CINECA / "uk1.tsv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


PHENOTYPES = phenotypes()
FEMALE_IDS = frozenset(row["Subject id"] for row in PHENOTYPES if row["Sex"] == "female")
# sex, geographic origin, diseases and ethnicity of the individuals, with their independent counts
INDIVIDUAL_TERMS = [
    (row["term_id"], int(row["n_records"]))
    for row in term_rows("individuals")
    if row["json_path"] in ("sex", "geographicOrigin", "diseases.diseaseCode", "ethnicity")
]


def demo_bff(entity: str) -> list[dict[str, Any]]:
    with (DEMO_DIR / f"{entity}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def get(client, path: str, filters: str | None = None, **params: Any) -> dict[str, Any]:
    query = {"requestedGranularity": "count", **params}
    if filters is not None:
        query["filters"] = filters
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def post(client, path: str, filters: list[dict[str, Any]], granularity: str = "count") -> dict[str, Any]:
    body = {"meta": {"apiVersion": "v2.1.1"}, "query": {"filters": filters, "requestedGranularity": granularity}}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def total(document: dict[str, Any]) -> int:
    return document["responseSummary"]["numTotalResults"]


# -- ontology filters: counts from the independent term table ----------------------------------


def test_the_term_table_covers_every_asked_category():
    # Every term the raw demo individuals hold in these categories is in the table, counted, and so is
    # asked by the test below; the table names no term they do not hold.
    individuals = demo_bff("individuals")
    held = {
        "sex": {i["sex"]["id"] for i in individuals},
        "geographicOrigin": {i["geographicOrigin"]["id"] for i in individuals if "geographicOrigin" in i},
        "diseases.diseaseCode": {d["diseaseCode"]["id"] for i in individuals for d in i.get("diseases", [])},
        "ethnicity": {i["ethnicity"]["id"] for i in individuals if "ethnicity" in i},
    }
    counted: dict[str, set[str]] = {path: set() for path in held}
    for row in term_rows("individuals"):
        if row["json_path"] in counted and int(row["n_records"]) > 0:
            counted[row["json_path"]].add(row["term_id"])
    assert counted == held
    assert sorted(term for term, _ in INDIVIDUAL_TERMS) == sorted(set().union(*held.values()))
    assert [len(held[path]) for path in held] == [2, 5, 19, 7]


@pytest.mark.parametrize(("term", "expected"), INDIVIDUAL_TERMS, ids=[term for term, _ in INDIVIDUAL_TERMS])
def test_individual_term_counts_match_the_term_table(client, term, expected):
    assert total(get(client, "/api/individuals", term)) == expected


def test_counts_checked_by_hand(client, validator):
    document = get(client, "/api/individuals", FEMALE)
    assert_valid(validator, document)
    assert total(document) == 1271
    assert total(get(client, "/api/individuals", MALE)) == 1233
    assert total(get(client, "/api/individuals", "GAZ:00002641")) == 322  # England
    assert total(get(client, "/api/individuals", "ICD10:I42")) == 133  # cardiomyopathy
    assert total(get(client, "/api/individuals", "NCIT:C67109")) == 1144  # White and Asian


def test_terms_of_biosamples_cohorts_and_datasets(client):
    for row in term_rows("biosamples"):
        assert total(get(client, "/api/biosamples", row["term_id"])) == int(row["n_records"])
    cohort_terms = list(term_rows("cohorts"))
    for row in cohort_terms:
        assert total(get(client, "/api/cohorts", row["term_id"])) == int(row["n_records"])
    assert total(get(client, "/api/cohorts", FEMALE)) == 0  # the cohort's inclusion criteria name males only
    # The dataset's DUO "term" holds a comma, so only a POST filter object can name it.
    (row,) = term_rows("datasets")
    assert total(post(client, "/api/datasets", [{"id": row["term_id"]}])) == int(row["n_records"])


# -- alphanumeric filters: every operator, checked against uk1.tsv -----------------------------


@pytest.mark.parametrize(
    ("operator", "value"), [("=", 179.2973), ("<", 150.5), (">", 180.0), ("!", 179.2973), (">=", 170.0), ("<=", 160.0)]
)
def test_every_operator_on_heights(client, operator, value):
    compare = {
        "=": float.__eq__,
        "<": float.__lt__,
        ">": float.__gt__,
        "!": float.__ne__,
        ">=": float.__ge__,
        "<=": float.__le__,
    }[operator]
    expected = sum(compare(float(row[STANDING_HEIGHT]), value) for row in PHENOTYPES)
    assert 0 < expected < len(PHENOTYPES)
    assert total(get(client, "/api/individuals", f"{HEIGHT}{operator}{value}")) == expected
    posted = post(client, "/api/individuals", [{"id": HEIGHT, "operator": operator, "value": str(value)}])
    assert total(posted) == expected


def test_string_equality_negation_and_wildcards(client):
    assert total(get(client, "/api/individuals", "sex.label=female")) == len(FEMALE_IDS) == 1271
    assert total(get(client, "/api/individuals", "sex.label!male")) == len(FEMALE_IDS)
    assert total(get(client, "/api/individuals", "sex.label=Female")) == 0  # case-sensitive
    irish = sum(row[COUNTRY].endswith("Ireland") for row in PHENOTYPES)
    assert irish > 0
    assert total(get(client, "/api/individuals", "geographicOrigin.label=%Ireland")) == irish
    assert total(get(client, "/api/individuals", "geographicOrigin.label=Republic%")) == sum(
        row[COUNTRY] == "Republic of Ireland" for row in PHENOTYPES
    )


def test_filters_are_and_combined(client):
    female_england = sum(row["Sex"] == "female" and row[COUNTRY] == "England" for row in PHENOTYPES)
    tall_women = sum(row["Sex"] == "female" and float(row[STANDING_HEIGHT]) > 170 for row in PHENOTYPES)
    assert min(female_england, tall_women) > 0
    assert total(get(client, "/api/individuals", f"{FEMALE},{ENGLAND}")) == female_england
    assert total(get(client, "/api/individuals", f"sex.label=female,{HEIGHT}>170")) == tall_women
    response = client.get(f"/api/individuals?requestedGranularity=count&filters={FEMALE}&filters={HEIGHT}>170")
    assert total(response.get_json()) == tall_women  # a repeated parameter ANDs too


# The demo cohort's inclusionCriteria.ageRange is P18Y..P65Y (read off beacon/demo/cohorts.json).
@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("inclusionCriteria.ageRange.start.iso8601duration<=P40Y", 1),
        ("inclusionCriteria.ageRange.start.iso8601duration>P40Y", 0),
        ("inclusionCriteria.ageRange.start.iso8601duration=P216M", 1),  # 216 months = 18 years
        ("inclusionCriteria.ageRange.start.iso8601duration!P18Y", 0),
        ("inclusionCriteria.ageRange.end.iso8601duration>=P65Y", 1),
        ("inclusionCriteria.ageRange.end.iso8601duration<P64Y11M", 0),
    ],
)
def test_durations_compare_by_length(client, filter_text, expected):
    assert total(get(client, "/api/cohorts", filter_text)) == expected


def test_custom_filters(client):
    assert total(get(client, "/api/individuals", "sex:female")) == 1271
    assert total(post(client, "/api/individuals", [{"id": "sex:male"}])) == 1233


# -- GET and POST agree, and the filters are echoed as spec objects ------------------------------

AGREEING = [
    ("NCIT:C16576", [{"id": "NCIT:C16576"}]),
    (f"{HEIGHT}>=170,GAZ:00002639", [{"id": HEIGHT, "operator": ">=", "value": "170"}, {"id": "GAZ:00002639"}]),
    ("geographicOrigin.label!%Ireland", [{"id": "geographicOrigin.label", "operator": "!", "value": "%Ireland"}]),
    ("sex:male", [{"id": "sex:male"}]),
]


@pytest.mark.parametrize(("text", "objects"), AGREEING, ids=[text for text, _ in AGREEING])
def test_get_and_post_agree(client, validator, text, objects):
    by_get, by_post = get(client, "/api/individuals", text), post(client, "/api/individuals", objects)
    assert total(by_get) == total(by_post) > 0
    assert by_get["meta"]["receivedRequestSummary"]["filters"] == by_post["meta"]["receivedRequestSummary"]["filters"]
    assert by_get["info"]["receivedFilters"] == by_post["info"]["receivedFilters"]
    assert [item["id"] for item in by_get["info"]["receivedFilters"]] == [item["id"] for item in objects]
    assert_valid(validator, by_get)
    assert_valid(validator, by_post)


def test_filters_are_echoed_as_text_and_as_spec_objects(client, validator):
    # Beacon v2 types receivedRequestSummary.filters as strings (ga4gh-beacon/beacon-v2#176): the
    # filter objects, with their defaults made explicit, are in `info.receivedFilters`.
    body = [
        {"id": FEMALE},
        {"id": HEIGHT, "operator": "<", "value": "150"},
        {"id": "UBERON:0000178", "scope": "biosample"},
    ]
    document = post(client, "/api/individuals", body)
    assert_valid(validator, document)
    assert document["meta"]["receivedRequestSummary"]["filters"] == [FEMALE, f"{HEIGHT}<150", "UBERON:0000178"]
    assert document["info"]["receivedFilters"] == [
        {"id": FEMALE, "includeDescendantTerms": True, "similarity": "exact"},
        {"id": HEIGHT, "operator": "<", "value": "150"},
        {"id": "UBERON:0000178", "includeDescendantTerms": True, "similarity": "exact", "scope": "biosamples"},
    ]


# -- malformed filters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ("sex.label=>female", "unknown operator"),
        ("sex.label<<female", "unknown operator"),
        (f"{HEIGHT}>abc", "needs a number"),
        (f"{HEIGHT}<=tall", "needs a number"),
        ("diseases.ageOfOnset.iso8601duration<=40", "iso 8601 duration"),
        ("=female", "not an ontology term"),
        ("sex.label", "needs an operator"),
    ],
)
def test_malformed_get_filters_are_400(client, validator, filters, words):
    response = client.get("/api/individuals", query_string={"filters": filters})
    document = response.get_json()
    assert response.status_code == 400, document
    assert words in document["error"]["errorMessage"].lower()
    assert_valid(validator, document)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"id": ""}, "empty filter id"),
        ({"id": "   "}, "empty filter id"),
        ({"id": HEIGHT, "operator": "~", "value": "1"}, "operator"),
        ({"id": HEIGHT, "operator": ">", "value": "tall"}, "needs a number"),
        ({"id": FEMALE, "scope": "planets"}, "unknown scope"),
        ({"id": FEMALE, "similarity": "somewhat"}, "similarity"),
        ({"id": FEMALE, "scope": "runs"}, "cannot be applied to individuals"),
    ],
)
def test_malformed_post_filters_are_400(client, item, words):
    body = {"meta": {"apiVersion": "v2.1.1"}, "query": {"filters": [item]}}
    response = client.post("/api/individuals", json=body)
    assert response.status_code == 400, response.get_json()
    assert words in response.get_json()["error"]["errorMessage"].lower()


# -- unknown terms, scopes and links --------------------------------------------------------------


def test_an_unknown_term_matches_nothing_with_a_warning(client, validator):
    document = get(client, "/api/individuals", "HP:0001250")
    assert_valid(validator, document)
    assert total(document) == 0
    assert document["responseSummary"]["exists"] is False
    (warning,) = document["info"]["warnings"]
    assert "HP:0001250" in warning and "unknown term" in warning


def test_a_term_of_another_entity_says_which_scope_has_it(client):
    document = get(client, "/api/biosamples", FEMALE)
    assert total(document) == 0
    assert "individuals" in document["info"]["warnings"][0]


def test_biosamples_filtered_by_their_individuals_sex(client, validator):
    expected = sum(sample.get("individualId") in FEMALE_IDS for sample in demo_bff("biosamples"))
    assert expected > 0
    document = post(client, "/api/biosamples", [{"id": FEMALE, "scope": "individuals"}], granularity="record")
    assert_valid(validator, document)
    assert total(document) == expected
    assert all(record["individualId"] in FEMALE_IDS for record in document["response"]["resultSets"][0]["results"])
    assert (
        total(
            post(
                client,
                "/api/biosamples",
                [{"id": "sex.label", "operator": "=", "value": "female", "scope": "individual"}],
            )
        )
        == expected
    )


def test_individuals_filtered_by_their_biosamples(client):
    blood = {
        sample["individualId"]
        for sample in demo_bff("biosamples")
        if sample["sampleOriginType"]["id"] == "UBERON:0000178"
    }
    assert total(post(client, "/api/individuals", [{"id": "UBERON:0000178", "scope": "biosamples"}])) == len(blood)
    first = {"id": "individualId", "operator": "=", "value": "HG00097", "scope": "biosamples"}
    document = post(client, "/api/individuals", [first], granularity="record")
    assert [r["id"] for r in document["response"]["resultSets"][0]["results"]] == ["HG00097"]


def test_collections_filtered_through_their_records(client, validator):
    document = post(client, "/api/datasets", [{"id": ENGLAND, "scope": "individuals"}], granularity="record")
    assert_valid(validator, document)
    assert [dataset["id"] for dataset in document["response"]["collections"]] == [DEMO_DATASET]
    assert total(post(client, "/api/cohorts", [{"id": FEMALE, "scope": "individuals"}])) == 1
    assert total(post(client, "/api/datasets", [{"id": "HP:0001250", "scope": "individuals"}])) == 0
    assert total(post(client, "/api/individuals", [{"id": MALE, "scope": "cohorts"}])) == 2504
    assert total(post(client, "/api/individuals", [{"id": FEMALE, "scope": "cohorts"}])) == 0


def test_relation_endpoints_are_filtered(client):
    assert total(get(client, f"/api/datasets/{DEMO_DATASET}/individuals", FEMALE)) == 1271
    assert total(get(client, f"/api/cohorts/{DEMO_COHORT}/individuals", f"{MALE},{ENGLAND}")) == sum(
        row["Sex"] == "male" and row[COUNTRY] == "England" for row in PHENOTYPES
    )


def test_record_pages_hold_only_matching_records(client):
    document = get(client, "/api/individuals", FEMALE, requestedGranularity="record", limit=50)
    records = document["response"]["resultSets"][0]["results"]
    assert len(records) == 50
    assert all(record["id"] in FEMALE_IDS for record in records)


def test_single_records_with_filters(client):
    male, female = PHENOTYPES[0]["Subject id"], PHENOTYPES[1]["Subject id"]
    assert (PHENOTYPES[0]["Sex"], PHENOTYPES[1]["Sex"]) == ("male", "female")
    assert get(client, f"/api/individuals/{male}", FEMALE)["responseSummary"]["exists"] is False
    assert get(client, f"/api/individuals/{female}", FEMALE)["responseSummary"]["exists"] is True
    assert client.get("/api/individuals/NOBODY", query_string={"filters": FEMALE}).status_code == 404
    assert get(client, f"/api/cohorts/{DEMO_COHORT}", FEMALE)["responseSummary"]["exists"] is False
    assert get(client, f"/api/cohorts/{DEMO_COHORT}", MALE)["responseSummary"]["exists"] is True


# -- /filtering_terms ----------------------------------------------------------------------------


def test_filtering_terms_list_terms_fields_and_custom_filters(client, validator):
    document = client.get("/api/filtering_terms").get_json()
    assert list(validator.framework_errors("filtering_terms", document)) == []
    by_id = {term["id"]: term for term in document["response"]["filteringTerms"]}
    for row in term_rows("individuals"):
        assert "individual" in by_id[row["term_id"]]["scopes"]
    assert by_id[HEIGHT] == {"id": HEIGHT, "type": "alphanumeric", "scopes": ["individual"]}
    assert by_id["collectionMoment"]["scopes"] == ["biosample"]
    assert by_id["inclusionCriteria.ageRange.start.iso8601duration"]["scopes"] == ["cohort"]
    assert by_id["sex:female"]["type"] == "custom"
    assert not {"id", "datasetId", "individualId", "sex.id"} & set(by_id)  # identifiers are not offered
    assert document["response"]["resources"] == []  # no ontology loaded in the demo


def test_dataset_and_cohort_filtering_terms(client, validator):
    everything = client.get("/api/filtering_terms").get_json()["response"]["filteringTerms"]
    for path in (f"/api/datasets/{DEMO_DATASET}/filtering_terms", f"/api/cohorts/{DEMO_COHORT}/filtering_terms"):
        document = client.get(path).get_json()
        assert list(validator.framework_errors("filtering_terms", document)) == []
        assert document["response"]["filteringTerms"] == everything  # the demo has one dataset
    response = client.get("/api/datasets/NOPE/filtering_terms")
    assert response.status_code == 404
    assert_valid(validator, response.get_json())


# -- nonFilteredQueriesAllowed --------------------------------------------------------------------


def test_configuration_allows_unfiltered_queries_by_default(client):
    entry_types = client.get("/api/configuration").get_json()["response"]["entryTypes"]
    assert {entry["nonFilteredQueriesAllowed"] for entry in entry_types.values()} == {True}


def test_entry_types_can_require_filters(demo_store_file, validator):
    app = create_app(make_settings(demo_store_file, filters_required=("individuals", "g_variants")))
    client = app.test_client()
    for path in ("/api/configuration", "/api/entry_types"):
        entry_types = client.get(path).get_json()["response"]["entryTypes"]
        allowed = {entry_id: entry["nonFilteredQueriesAllowed"] for entry_id, entry in entry_types.items()}
        assert allowed == {
            "dataset": True,
            "cohort": True,
            "individual": False,
            "biosample": True,
            "genomicVariant": False,
            "run": True,
            "analysis": True,
        }
    for path in ("/api/individuals", f"/api/datasets/{DEMO_DATASET}/individuals"):
        response = client.get(path)
        assert response.status_code == 400
        assert "nonfilteredqueriesallowed" in response.get_json()["error"]["errorMessage"].lower()
        assert_valid(validator, response.get_json())
    assert total(get(client, "/api/individuals", FEMALE)) == 1271
    assert get(client, "/api/individuals/HG00096")["responseSummary"]["exists"] is True  # a lookup by id
    assert total(get(client, "/api/biosamples")) == 2504
