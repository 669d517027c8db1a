"""What stores index of a record (terms, values) and the reference semantics of store conditions.

Counts on the CINECA UK1 individuals are checked against files nobody here computed with this code:
`ontology_terms_used.tsv` (independently counted) and `uk1.tsv` (the upstream phenotype table the
individuals were generated from).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from beacon.query.indexing import extract_terms, extract_values, is_curie, record_matches, value_matches
from beacon.store.base import TermCondition, ValueCondition
from tests.conftest import DATA_DIR, cineca_rows

HEIGHT = "measures.measurementValue.value"


@pytest.fixture(scope="module")
def individuals(demo_individuals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return demo_individuals


@pytest.fixture(scope="module")
def phenotypes() -> dict[str, dict[str, str]]:
    """uk1.tsv rows by individual id (`Subject id`)."""
    return {row["Subject id"]: row for row in cineca_rows("uk1.tsv")}


def terms_used(entity: str) -> Iterator[dict[str, str]]:
    yield from (row for row in cineca_rows("ontology_terms_used.tsv") if row["entity"] == entity)


# -- CINECA UK1 individuals ----------------------------------------------------------------------


def test_extract_terms_counts_match_ontology_terms_used(individuals: list[dict[str, Any]]) -> None:
    expected = {row["term_id"]: int(row["n_records"]) for row in terms_used("individuals")}
    counted = Counter(term for record in individuals for term in extract_terms(record))
    assert len(expected) == 2230
    assert dict(counted) == expected
    assert counted["NCIT:C16576"] == 1271  # female
    assert counted["NCIT:C20197"] == 1233  # male


def test_extract_values_paths_carry_no_array_indices(individuals: list[dict[str, Any]]) -> None:
    # ontology_terms_used.tsv gives each term's json_path without indices; the `.id` leaf must be there.
    counted = Counter(
        (path, text) for record in individuals for path, text, _ in extract_values(record) if text is not None
    )
    for row in terms_used("individuals"):
        assert counted[(f"{row['json_path']}.id", row["term_id"])] == int(row["n_records"]), row


def test_sex_labels_match_the_phenotype_table(
    individuals: list[dict[str, Any]], phenotypes: dict[str, dict[str, str]]
) -> None:
    expected = Counter(row["Sex"] for row in phenotypes.values())
    assert expected == {"female": 1271, "male": 1233}
    for sex, count in expected.items():
        condition = ValueCondition("sex.label", "=", sex)
        assert sum(value_matches(condition, extract_values(record)) for record in individuals) == count


def test_heights_are_numbers_equal_to_the_phenotype_table(
    individuals: list[dict[str, Any]], phenotypes: dict[str, dict[str, str]]
) -> None:
    for record in individuals:
        heights = [number for path, _, number in extract_values(record) if path == HEIGHT]
        assert heights == [float(phenotypes[record["id"]]["Standing height-0.0"])]


@pytest.mark.parametrize(
    ("operator", "limit"),
    [(">", 180.0), (">=", 179.2973), ("<", 150.5), ("<=", 160.0), ("=", 179.2973), ("!", 179.2973)],
)
def test_numeric_comparisons_count_like_the_phenotype_table(
    individuals: list[dict[str, Any]], phenotypes: dict[str, dict[str, str]], operator: str, limit: float
) -> None:
    compare = {
        ">": lambda x: x > limit,
        ">=": lambda x: x >= limit,
        "<": lambda x: x < limit,
        "<=": lambda x: x <= limit,
        "=": lambda x: x == limit,
        "!": lambda x: x != limit,
    }[operator]
    expected = sum(compare(float(row["Standing height-0.0"])) for row in phenotypes.values())
    condition = ValueCondition(HEIGHT, operator, limit)
    assert sum(value_matches(condition, extract_values(record)) for record in individuals) == expected
    assert 0 < expected < len(individuals)  # the comparison is not vacuous


def test_a_malformed_duration_in_real_data_stays_a_string() -> None:
    # EGA's synthetic individuals carry `treatments.ageAtOnset.iso8601duration: "P1Y1"` (not ISO 8601).
    with (DATA_DIR / "ega_synthetic_testset" / "bff" / "individuals.json").open() as handle:
        sample = json.load(handle)[0]
    values = extract_values(sample)
    assert ("treatments.ageAtOnset.iso8601duration", "P1Y1", None) in values
    assert ("exposures.ageAtExposure.iso8601duration", "P32Y6M1D", 11871.625) in values


# -- extract_values on hand-made records ---------------------------------------------------------

RECORD = {
    "id": "ind-1",
    "sex": {"id": "NCIT:C16576", "label": "female"},
    "diseases": [
        {"diseaseCode": {"id": "HP:0001250", "label": "Seizure"}, "ageOfOnset": {"iso8601duration": "P3Y6M"}},
        {"diseaseCode": {"id": "HP:0002315", "label": "Headache"}, "ageOfOnset": {"iso8601duration": "P40Y"}},
        {"diseaseCode": {"id": "HP:0001250", "label": "Seizure"}},
    ],
    "measures": [{"measurementValue": {"value": 25}}, {"measurementValue": {"value": 31.5}}],
    "info": {"smoker": False, "note": None, "code": "48"},
}


def test_extract_values_lists_every_leaf_once() -> None:
    assert extract_values(RECORD) == [
        ("id", "ind-1", None),
        ("sex.id", "NCIT:C16576", None),
        ("sex.label", "female", None),
        ("diseases.diseaseCode.id", "HP:0001250", None),
        ("diseases.diseaseCode.label", "Seizure", None),
        ("diseases.ageOfOnset.iso8601duration", "P3Y6M", 1278.375),
        ("diseases.diseaseCode.id", "HP:0002315", None),
        ("diseases.diseaseCode.label", "Headache", None),
        ("diseases.ageOfOnset.iso8601duration", "P40Y", 14610.0),
        ("measures.measurementValue.value", None, 25.0),
        ("measures.measurementValue.value", None, 31.5),
        ("info.smoker", "false", None),
        ("info.code", "48", None),
    ]


def test_extract_terms_is_unchanged() -> None:
    assert extract_terms(RECORD) == {"NCIT:C16576": "female", "HP:0001250": "Seizure", "HP:0002315": "Headache"}


@pytest.mark.parametrize(("text", "curie"), [("NCIT:C16576", True), ("ICD10:F3181", True), ("sex.label", False)])
def test_is_curie(text: str, curie: bool) -> None:
    assert is_curie(text) is curie


# -- condition semantics (the contract every store implements) -----------------------------------

ONSET = "diseases.ageOfOnset.iso8601duration"
VALUE = "measures.measurementValue.value"


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        # numbers: any leaf satisfies the comparison
        (ValueCondition(VALUE, "=", 25.0), True),
        (ValueCondition(VALUE, "=", 26.0), False),
        (ValueCondition(VALUE, "<", 25.0), False),
        (ValueCondition(VALUE, "<=", 25.0), True),
        (ValueCondition(VALUE, ">", 31.0), True),
        (ValueCondition(VALUE, ">", 31.5), False),
        (ValueCondition(VALUE, ">=", 31.5), True),
        (ValueCondition(VALUE, "!", 25.0), False),  # a leaf equals 25
        (ValueCondition(VALUE, "!", 30.0), True),
        # durations, in days: P3Y6M = 1278.375, P40Y = 14610
        (ValueCondition(ONSET, "<", 14610.0, is_duration=True), True),  # P3Y6M < P40Y
        (ValueCondition(ONSET, "<", 1278.375, is_duration=True), False),
        (ValueCondition(ONSET, "<=", 1278.375, is_duration=True), True),
        (ValueCondition(ONSET, ">", 14610.0, is_duration=True), False),
        (ValueCondition(ONSET, ">=", 14610.0, is_duration=True), True),
        (ValueCondition(ONSET, "=", 14610.0, is_duration=True), True),
        (ValueCondition(ONSET, "!", 14610.0, is_duration=True), False),
        # strings: exact, case-sensitive, % wildcard
        (ValueCondition("sex.label", "=", "female"), True),
        (ValueCondition("sex.label", "=", "Female"), False),
        (ValueCondition("sex.label", "=", "fem"), False),
        (ValueCondition("sex.label", "=", "fem%"), True),
        (ValueCondition("sex.label", "=", "%male"), True),
        (ValueCondition("sex.label", "=", "%"), True),
        (ValueCondition("sex.label", "=", "f%e%e"), True),
        (ValueCondition("sex.label", "=", "f_male"), False),  # `_` is no wildcard
        (ValueCondition("diseases.diseaseCode.label", "=", "Head%"), True),
        (ValueCondition("diseases.diseaseCode.label", "!", "Head%"), False),
        (ValueCondition("diseases.diseaseCode.label", "!", "Asthma"), True),
        (ValueCondition("sex.label", "!", "male"), True),
        # a missing path: comparisons fail, `!` holds
        (ValueCondition("karyotypicSex", "=", "XX"), False),
        (ValueCondition("karyotypicSex", "!", "XX"), True),
        (ValueCondition("info.weight", ">", 0.0), False),
        # types never mix: numbers vs durations vs numeric strings
        (ValueCondition(ONSET, "<", 20000.0), False),  # a number against duration leaves
        (ValueCondition(VALUE, "<", 20000.0, is_duration=True), False),  # a duration against numbers
        (ValueCondition("info.code", "=", 48.0), False),  # "48" is a string leaf
        (ValueCondition("info.code", "=", "48"), True),
        (ValueCondition("info.smoker", "=", "false"), True),
    ],
)
def test_value_matches(condition: ValueCondition, matches: bool) -> None:
    assert value_matches(condition, extract_values(RECORD)) is matches


def test_value_matches_refuses_ordering_on_strings() -> None:
    with pytest.raises(ValueError, match="not strings"):
        value_matches(ValueCondition("sex.label", "<", "m"), extract_values(RECORD))


def test_record_matches_and_combines_conditions() -> None:
    female = TermCondition(frozenset({"NCIT:C16576"}))
    onset_before_40 = ValueCondition(ONSET, "<", 14610.0, is_duration=True)
    assert record_matches(RECORD, [female, onset_before_40])
    assert record_matches(RECORD, [TermCondition(frozenset({"HP:0002197", "HP:0001250"}))])
    assert not record_matches(RECORD, [female, TermCondition(frozenset({"NCIT:C20197"}))])
    assert not record_matches(RECORD, [female, ValueCondition(VALUE, ">", 40.0)])
    assert record_matches(RECORD, [])
