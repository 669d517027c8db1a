"""Filters: GET/POST parsing, type checks, resolution with a real HPO excerpt, and CINECA counts.

Expected term sets are read off the excerpt's tree by hand (tests/data/ontology/SOURCE.md); expected
counts come from `ontology_terms_used.tsv` and `uk1.tsv`, never from the code under test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from beacon.errors import BadRequest
from beacon.query.filters import (
    CUSTOM_FILTERS,
    AlphanumericFilter,
    CustomFilter,
    FilterError,
    OntologyFilter,
    custom_filtering_terms,
    expand_term,
    parse_filter_object,
    parse_filters,
    resolve,
)
from beacon.query.indexing import record_matches
from beacon.store.base import TermCondition, ValueCondition
from loaders.ontology import OntologyIndex, read_ontology
from tests.conftest import cineca_rows

EXCERPT = Path(__file__).resolve().parents[1] / "data" / "ontology" / "hp_seizure_excerpt.obo"
ONSET = "diseases.ageOfOnset.iso8601duration"
HEIGHT = "measures.measurementValue.value"

SEIZURE = "HP:0001250"
SEIZURE_DESCENDANTS = {"HP:0002197", "HP:0007359", "HP:0002349", "HP:0002384", "HP:0011145", "HP:0002199", "HP:0011146"}
SEIZURE_SIBLINGS = {"HP:0001298", "HP:0002315"}  # Encephalopathy, Headache
HEADACHE_CHILD = "HP:0002331"
PHYSIOLOGY, MORPHOLOGY = "HP:0012638", "HP:0012639"  # Seizure's parent and the parent's sibling


@pytest.fixture(scope="module")
def hpo() -> OntologyIndex:
    return OntologyIndex(read_ontology(EXCERPT).terms)


# -- GET -------------------------------------------------------------------------------------------


def test_get_ontology_filters_and_defaults() -> None:
    assert parse_filters(["NCIT:C16576,GAZ:00002641", "HP:0001250"]) == (
        OntologyFilter("NCIT:C16576"),
        OntologyFilter("GAZ:00002641"),
        OntologyFilter("HP:0001250", include_descendant_terms=True, similarity="exact", scope=None),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("measures.measurementValue.value>170", AlphanumericFilter(HEIGHT, ">", "170")),
        ("measures.measurementValue.value>=170.5", AlphanumericFilter(HEIGHT, ">=", "170.5")),
        ("measures.measurementValue.value<170", AlphanumericFilter(HEIGHT, "<", "170")),
        ("measures.measurementValue.value<=-1e2", AlphanumericFilter(HEIGHT, "<=", "-1e2")),
        ("measures.measurementValue.value=170", AlphanumericFilter(HEIGHT, "=", "170")),
        ("measures.measurementValue.value!170", AlphanumericFilter(HEIGHT, "!", "170")),
        ("sex.label!=male", AlphanumericFilter("sex.label", "!", "male")),
        ("sex.label = fem%", AlphanumericFilter("sex.label", "=", "fem%")),
        (f"{ONSET}<=P40Y", AlphanumericFilter(ONSET, "<=", "P40Y")),
        ("sex:female", CustomFilter("sex:female", scope="individuals")),
        ("ICD10:F3181", OntologyFilter("ICD10:F3181")),
    ],
)
def test_get_filter_kinds(text: str, expected: object) -> None:
    assert parse_filters([text]) == (expected,)


def test_get_blank_parameter_means_no_filter() -> None:
    assert parse_filters([""]) == ()
    assert parse_filters([]) == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NCIT:C16576,,GAZ:00002641", "empty filter id"),
        ("NCIT:C16576, ", "empty filter id"),
        ("sex.label", "needs an operator and a value"),
        ("female", "not an ontology term CURIE"),
        ("age=>40", "unknown operator '=>'"),
        ("age<<40", "unknown operator '<<'"),
        ("sex.label~female", "nor a comparison"),
        ("sex.label<female", "operator < needs a number or an ISO 8601 duration"),
        ("measures.measurementValue.value>=tall", "operator >= needs a number"),
        (f"{ONSET}<40", "holds ISO 8601 durations"),
        (f"{ONSET}=adult", "holds ISO 8601 durations"),
        ("9lives=1", "is not a field path"),
        ("sex label=female", "is not a field path"),
        ("sex.label=", "empty value"),
    ],
)
def test_get_malformed_filters(text: str, reason: str) -> None:
    with pytest.raises(FilterError, match=reason) as raised:
        parse_filters([text])
    assert raised.value.status == 400
    assert "filter '" in raised.value.message  # the message names the filter


# -- POST ------------------------------------------------------------------------------------------


def test_post_ontology_filter_options() -> None:
    item = {"id": SEIZURE, "includeDescendantTerms": False, "similarity": "Medium", "scope": "biosample"}
    assert parse_filter_object(item) == OntologyFilter(SEIZURE, False, "medium", "biosamples")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"id": ONSET, "operator": "<=", "value": "P40Y"}, AlphanumericFilter(ONSET, "<=", "P40Y")),
        ({"id": "BMI", "operator": ">", "value": 25}, AlphanumericFilter("BMI", ">", "25")),
        ({"id": "BMI", "operator": ">", "value": 25.5}, AlphanumericFilter("BMI", ">", "25.5")),
        ({"id": "sex.label", "value": "female"}, AlphanumericFilter("sex.label", "=", "female")),
        (
            {"id": "sex.label", "operator": "!", "value": "male", "scope": "individuals"},
            AlphanumericFilter("sex.label", "!", "male", "individuals"),
        ),
        ({"id": "ageOfOnset:adult"}, CustomFilter("ageOfOnset:adult", "individuals")),
        ({"id": "sex:male", "scope": "individual"}, CustomFilter("sex:male", "individuals")),
        ({"id": " NCIT:C16576 ", "scope": "genomicVariation"}, OntologyFilter("NCIT:C16576", scope="g_variants")),
    ],
)
def test_post_filter_kinds(item: Mapping[str, Any], expected: object) -> None:
    assert parse_filters([item]) == (expected,)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"id": ""}, "empty filter id"),
        ({"id": "  "}, "empty filter id"),
        ({"includeDescendantTerms": True}, "empty filter id"),
        ({"id": 5}, "empty filter id"),
        ({"id": "BMI", "operator": "==", "value": "25"}, "unknown operator '=='"),
        ({"id": "BMI", "operator": "!=", "value": "25"}, "unknown operator '!='"),
        ({"id": "BMI", "operator": ">"}, "needs a value"),
        ({"id": "BMI", "operator": ">", "value": True}, "string or a number"),
        ({"id": "BMI", "operator": ">", "value": ["25"]}, "string or a number"),
        ({"id": "BMI", "operator": ">", "value": "high"}, "operator > needs a number"),
        ({"id": "BMI", "operator": ">", "value": ""}, "empty value"),
        ({"id": ONSET, "operator": "<", "value": 40}, "holds ISO 8601 durations"),
        ({"id": SEIZURE, "operator": ">", "value": "3"}, "is not a field path"),
        ({"id": SEIZURE, "scope": "patients"}, "unknown scope 'patients'"),
        ({"id": SEIZURE, "scope": 3}, "unknown scope 3"),
        ({"id": SEIZURE, "includeDescendantTerms": "yes"}, "includeDescendantTerms must be true or false"),
        ({"id": SEIZURE, "similarity": "close"}, "unknown similarity 'close'"),
        ({"id": "sex:female", "scope": "biosamples"}, "applies to individuals, not biosamples"),
        ({"id": "female"}, "not an ontology term CURIE"),
    ],
)
def test_post_malformed_filters(item: Mapping[str, Any], reason: str) -> None:
    with pytest.raises(FilterError, match=reason):
        parse_filters([item])


def test_post_custom_like_curie_is_an_ontology_filter_unless_registered() -> None:
    # `demographic.ethnicity:asian` (the spec's CustomFilter example) is CURIE-shaped: without a
    # registry entry it is an ontology term this beacon does not know.
    assert parse_filters([{"id": "demographic.ethnicity:asian"}]) == (OntologyFilter("demographic.ethnicity:asian"),)


def test_filter_error_is_a_bad_request_naming_the_filter() -> None:
    with pytest.raises(BadRequest, match=r"^filter 'BMI': unknown operator"):
        parse_filters([{"id": "BMI", "operator": "~", "value": "25"}])
    with pytest.raises(FilterError, match="a filter is a string"):
        parse_filters([42])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "item",
    [
        OntologyFilter(SEIZURE, False, "low", "biosamples"),
        OntologyFilter("NCIT:C16576"),
        AlphanumericFilter(ONSET, "<=", "P40Y", "individuals"),
        AlphanumericFilter("sex.label", "=", "fem%"),
        CustomFilter("sex:female", "individuals"),
    ],
)
def test_to_json_round_trips(item: OntologyFilter | AlphanumericFilter | CustomFilter) -> None:
    assert parse_filter_object(item.to_json()) == item


def test_to_json_uses_spec_names() -> None:
    assert OntologyFilter(SEIZURE).to_json() == {"id": SEIZURE, "includeDescendantTerms": True, "similarity": "exact"}


# -- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        (f"{ONSET}<=P40Y", ValueCondition(ONSET, "<=", 14610.0, is_duration=True)),
        (f"{ONSET}>P3Y6M", ValueCondition(ONSET, ">", 1278.375, is_duration=True)),
        (f"{ONSET}=P10W", ValueCondition(ONSET, "=", 70.0, is_duration=True)),
        ("measures.measurementValue.value>170", ValueCondition(HEIGHT, ">", 170.0)),
        ("measures.measurementValue.value!.5", ValueCondition(HEIGHT, "!", 0.5)),
        ("sex.label=fem%", ValueCondition("sex.label", "=", "fem%")),
        ("sex.label!male", ValueCondition("sex.label", "!", "male")),
    ],
)
def test_alphanumeric_conditions(text: str, condition: ValueCondition) -> None:
    (item,) = parse_filters([text])
    assert isinstance(item, AlphanumericFilter)
    assert item.condition() == condition


# -- resolve: ontology hierarchy -----------------------------------------------------------------


def terms_of(conditions: dict[str, tuple[Any, ...]], entity: str = "individuals") -> frozenset[str]:
    (condition,) = conditions[entity]
    assert isinstance(condition, TermCondition)
    return condition.term_ids


def test_descendants_are_included_by_default(hpo: OntologyIndex) -> None:
    conditions, warnings = resolve(parse_filters([SEIZURE]), hpo, "individuals")
    assert terms_of(conditions) == {SEIZURE} | SEIZURE_DESCENDANTS
    assert warnings == ()


def test_descendants_can_be_left_out(hpo: OntologyIndex) -> None:
    filters = parse_filters([{"id": SEIZURE, "includeDescendantTerms": False}])
    assert terms_of(resolve(filters, hpo, "individuals")[0]) == {SEIZURE}


def test_a_term_with_two_parents_is_a_descendant_of_both(hpo: OntologyIndex) -> None:
    assert "HP:0002384" in expand_term(hpo, "HP:0007359")
    assert "HP:0002384" in expand_term(hpo, "HP:0011146")
    assert expand_term(hpo, "HP:0002384") == {"HP:0002384"}


@pytest.mark.parametrize(
    ("similarity", "descendants", "expected"),
    [
        ("exact", True, {SEIZURE} | SEIZURE_DESCENDANTS),
        ("high", True, {SEIZURE} | SEIZURE_DESCENDANTS),
        ("high", False, {SEIZURE}),
        ("medium", False, {SEIZURE} | SEIZURE_SIBLINGS),
        ("medium", True, {SEIZURE} | SEIZURE_DESCENDANTS | SEIZURE_SIBLINGS | {HEADACHE_CHILD}),
        ("low", False, {SEIZURE} | SEIZURE_SIBLINGS | {PHYSIOLOGY, MORPHOLOGY}),
        (
            "low",
            True,
            {SEIZURE} | SEIZURE_DESCENDANTS | SEIZURE_SIBLINGS | {HEADACHE_CHILD, PHYSIOLOGY, MORPHOLOGY},
        ),
    ],
)
def test_similarity(hpo: OntologyIndex, similarity: str, descendants: bool, expected: set[str]) -> None:
    filters = parse_filters([{"id": SEIZURE, "similarity": similarity, "includeDescendantTerms": descendants}])
    assert terms_of(resolve(filters, hpo, "individuals")[0]) == expected


def test_similarity_low_stays_below_the_grandparent(hpo: OntologyIndex) -> None:
    # Everything under HP:0000707 except HP:0000707 itself: 16 terms minus the three top ones.
    widened = expand_term(hpo, SEIZURE, "low", include_descendants=True)
    assert len(widened) == 13
    assert widened.isdisjoint({"HP:0000707", "HP:0000118", "HP:0000001"})


def test_similarity_at_the_top_of_the_hierarchy(hpo: OntologyIndex) -> None:
    assert expand_term(hpo, "HP:0000001", "medium", include_descendants=False) == {"HP:0000001"}
    assert expand_term(hpo, "HP:0000118", "low", include_descendants=False) == {"HP:0000118", "HP:0000001"}
    assert expand_term(hpo, "HP:0002384", "medium", include_descendants=False) == {"HP:0002384", "HP:0002349"}


# -- resolve: unknown terms ----------------------------------------------------------------------


def test_unknown_term_of_a_loaded_ontology_warns(hpo: OntologyIndex) -> None:
    conditions, warnings = resolve(parse_filters(["HP:9999999"]), hpo, "individuals")
    assert terms_of(conditions) == {"HP:9999999"}  # matches exactly, i.e. nothing
    assert len(warnings) == 1
    assert "HP:9999999" in warnings[0] and "unknown term" in warnings[0]


def test_terms_of_ontologies_not_loaded_match_exactly(hpo: OntologyIndex) -> None:
    conditions, warnings = resolve(parse_filters(["NCIT:C16576"]), hpo, "individuals")
    assert terms_of(conditions) == {"NCIT:C16576"}
    assert warnings == ()
    _, warnings = resolve(parse_filters(["NCIT:C16576"]), hpo, "individuals", known_terms={"NCIT:C16576"})
    assert warnings == ()


def test_unknown_terms_warn_when_the_loaded_data_does_not_use_them() -> None:
    filters = parse_filters(["NCIT:C99999999", "NCIT:C16576"])
    _, warnings = resolve(filters, OntologyIndex(), "individuals", known_terms={"NCIT:C16576"})
    assert len(warnings) == 1
    assert "NCIT:C99999999" in warnings[0] and "no NCIT ontology is loaded" in warnings[0]


def test_similarity_without_an_ontology_warns() -> None:
    filters = parse_filters([{"id": "NCIT:C16576", "similarity": "low"}])
    conditions, warnings = resolve(filters, OntologyIndex(), "individuals", known_terms={"NCIT:C16576"})
    assert terms_of(conditions) == {"NCIT:C16576"}
    assert len(warnings) == 1 and "matched it exactly" in warnings[0]


# -- resolve: scopes and custom filters ----------------------------------------------------------


def test_conditions_are_grouped_by_scope_queried_entity_first(hpo: OntologyIndex) -> None:
    filters = parse_filters(
        [
            {"id": "UBERON:0000178", "scope": "biosamples"},
            {"id": "NCIT:C16576", "scope": "individuals"},
            {"id": ONSET, "operator": "<", "value": "P40Y", "scope": "individuals"},
        ]
    )
    conditions, _ = resolve(filters, hpo, "g_variants")
    assert list(conditions) == ["g_variants", "biosamples", "individuals"]
    assert conditions["g_variants"] == ()
    assert conditions["biosamples"] == (TermCondition(frozenset({"UBERON:0000178"})),)
    assert conditions["individuals"] == (
        TermCondition(frozenset({"NCIT:C16576"})),
        ValueCondition(ONSET, "<", 14610.0, is_duration=True),
    )


def test_no_filters_give_no_conditions(hpo: OntologyIndex) -> None:
    assert resolve((), hpo, "biosamples") == ({"biosamples": ()}, ())


def test_custom_filters_resolve_to_their_conditions(hpo: OntologyIndex) -> None:
    conditions, _ = resolve(parse_filters(["sex:female,ageOfOnset:adult"]), hpo, "biosamples")
    assert conditions["individuals"] == (
        TermCondition(frozenset({"NCIT:C16576"})),
        ValueCondition(ONSET, ">=", 18 * 365.25, is_duration=True),
    )


def test_unregistered_custom_filter_is_an_error(hpo: OntologyIndex) -> None:
    with pytest.raises(FilterError, match="not a custom filter"):
        resolve([CustomFilter("sex:other", "individuals")], hpo, "individuals")


def test_custom_filtering_terms() -> None:
    terms = custom_filtering_terms()
    assert [term.id for term in terms] == ["ageOfOnset:adult", "ageOfOnset:paediatric", "sex:female", "sex:male"]
    assert {term.type for term in terms} == {"custom"}
    assert all(term.scopes == ("individuals",) and term.label for term in terms)
    assert custom_filtering_terms(entity="biosamples") == []
    assert set(CUSTOM_FILTERS) == {term.id for term in terms}


# -- end to end on the CINECA UK1 individuals ----------------------------------------------------


@pytest.fixture(scope="module")
def individuals(demo_individuals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return demo_individuals


@pytest.fixture(scope="module")
def phenotypes() -> list[dict[str, str]]:
    return cineca_rows("uk1.tsv")


@pytest.fixture(scope="module")
def terms_used() -> dict[str, int]:
    rows = cineca_rows("ontology_terms_used.tsv")
    return {row["term_id"]: int(row["n_records"]) for row in rows if row["entity"] == "individuals"}


def count(individuals: list[dict[str, Any]], filters: list[Any], ontology: OntologyIndex | None = None) -> int:
    conditions, _ = resolve(parse_filters(filters), ontology or OntologyIndex(), "individuals")
    return sum(record_matches(record, conditions["individuals"]) for record in individuals)


@pytest.mark.parametrize(
    "term",
    ["NCIT:C16576", "NCIT:C20197", "GAZ:00002641", "GAZ:00004018", "NCIT:C67109", "ICD10:I42", "ICD10:F3181"],
)
def test_single_term_counts(individuals: list[dict[str, Any]], terms_used: dict[str, int], term: str) -> None:
    assert count(individuals, [term]) == terms_used[term]


def test_counts_checked_by_hand_against_the_issue(individuals: list[dict[str, Any]]) -> None:
    assert count(individuals, ["NCIT:C16576"]) == 1271  # female, ontology_terms_used.tsv
    assert count(individuals, [{"id": "sex:female"}]) == 1271
    assert count(individuals, ["sex.label!male"]) == 1271
    assert count(individuals, ["NCIT:C20197"]) == 1233  # male


def test_combined_filters_match_the_phenotype_table(
    individuals: list[dict[str, Any]], phenotypes: list[dict[str, str]]
) -> None:
    country = "Country of birth (UK/elsewhere)-0.0"
    female_england = sum(row["Sex"] == "female" and row[country] == "England" for row in phenotypes)
    assert count(individuals, ["NCIT:C16576,GAZ:00002641"]) == female_england
    tall_women = sum(row["Sex"] == "female" and float(row["Standing height-0.0"]) > 170 for row in phenotypes)
    assert count(individuals, ["NCIT:C16576", f"{HEIGHT}>170"]) == tall_women
    irish = sum(row[country].endswith("Ireland") for row in phenotypes)
    assert count(individuals, ["geographicOrigin.label=%Ireland"]) == irish
    assert min(female_england, tall_women, irish) > 0  # none of the checks is vacuous
