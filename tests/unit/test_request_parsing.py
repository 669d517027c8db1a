"""Request bodies as real clients write them: JSON nulls, the spec's dataset selection, lists for scalars.

The bodies are the shapes NETWORK-CLIENTS.md records for the GDI portal (generated Java classes that
send null for unset members), the EGA template UI and the spec's own MAX example.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beacon.errors import BadRequest
from beacon.query.requests import parse_get, parse_post
from beacon.query.variants import G_VARIANT_PARAMETERS, has_variant_parameters, parse_variant_request
from beacon.schemas import SchemaValidator

SPEC_MAX_EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "schemas/beacon-v2/framework/json/requests/examples-fullDocuments/beaconRequestBody-MAX-example.json"
)


def post(validator: SchemaValidator, body: dict) -> object:
    return parse_post(body, validator=validator, allowed_parameters=G_VARIANT_PARAMETERS)


def test_the_spec_example_selects_datasets(validator):
    body = json.loads(SPEC_MAX_EXAMPLE.read_text())
    assert body["query"]["requestParameters"]["datasets"] == {"datasetIds": ["DatasetXYZ", "Dataset123"]}
    request = post(validator, body)
    assert request.dataset_ids == ("DatasetXYZ", "Dataset123")
    assert request.request_parameters == {}  # the selection is not a variant parameter


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"requestParameters": {"datasets": ["A", "B"]}}, ("A", "B")),
        ({"requestParameters": {"datasets": "A,B"}}, ("A", "B")),
        ({"requestParameters": {"datasets": {"datasetIds": ["A"]}}}, ("A",)),
        ({"requestParameters": {"datasets": {"datasetIds": None}}}, None),
        ({"requestParameters": {"datasets": []}}, None),
        ({"datasets": {"datasetIds": ["A", "B"]}}, ("A", "B")),
        ({"datasets": ["B", "A"], "requestParameters": {"datasets": {"datasetIds": ["A", "B"]}}}, ("A", "B")),
        ({}, None),
    ],
)
def test_dataset_selection_shapes(validator, query, expected):
    assert post(validator, {"query": query}).dataset_ids == expected


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"requestParameters": {"datasets": {"ids": ["A"]}}}, "datasetIds"),
        ({"requestParameters": {"datasets": [1, 2]}}, "list of dataset ids"),
        ({"datasets": ["A"], "requestParameters": {"datasets": ["B"]}}, "different datasets"),
    ],
)
def test_unclear_dataset_selections_are_400s(validator, query, words):
    with pytest.raises(BadRequest, match=words):
        post(validator, {"query": query})


def test_get_selects_datasets_on_any_endpoint():
    request = parse_get([("datasets", "A"), ("datasets", "B,C")])
    assert request.dataset_ids == ("A", "B", "C")
    assert request.request_parameters == {}


def test_the_gdi_portal_nulls_are_not_given_members(validator):
    body = {
        "meta": {"apiVersion": "2.0", "requestedSchemas": None},
        "query": {
            "filters": [{"id": "NCIT:C16576", "scope": "individual", "similarity": None}],
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": 1, "currentPage": None, "nextPage": None, "previousPage": None},
            "requestParameters": None,
        },
    }
    request = post(validator, body)
    assert (request.skip, request.limit, request.requested_granularity.value) == (0, 1, "record")
    assert request.filters == ({"id": "NCIT:C16576", "scope": "individual"},)
    assert request.request_parameters == {}
    assert not has_variant_parameters(request.request_parameters)


def test_null_variant_parameters_are_unset(validator):
    parameters = {"geneId": None, "start": "16050074", "referenceName": "22", "alternateBases": None}
    request = post(validator, {"query": {"requestParameters": parameters}})
    assert request.request_parameters == {"start": "16050074", "referenceName": "22"}
    assert has_variant_parameters({"geneId": None, "assemblyId": ""}) is False


def test_a_one_item_list_of_parameter_sets_is_that_set(validator):
    request = post(validator, {"query": {"requestParameters": [{"referenceName": "22", "start": [5]}]}})
    assert request.request_parameters == {"referenceName": "22", "start": [5]}
    with pytest.raises(BadRequest, match="one set"):
        post(validator, {"query": {"requestParameters": [{"start": [5]}, {"start": [6]}]}})


def test_scalars_may_come_as_one_item_lists():
    typed = parse_variant_request(
        {"referenceName": ["22"], "start": ["16050074"], "referenceBases": ["A"], "alternateBases": ["G"]}, {"GRCh37"}
    )
    plain = parse_variant_request(
        {"referenceName": "22", "start": 16050074, "referenceBases": "A", "alternateBases": "G"}, {"GRCh37"}
    )
    assert typed == plain
    assert typed.template.chromosome == "22" and typed.template.norm_start == 16050074
    with pytest.raises(BadRequest, match="referenceName takes one value"):
        parse_variant_request({"referenceName": ["22", "21"], "start": 1}, {"GRCh37"})


def test_a_position_without_its_chromosome_says_why():
    with pytest.raises(BadRequest, match="referenceName is required with start/end"):
        parse_variant_request({"start": "7577120", "referenceBases": "G", "alternateBases": "A"}, {"GRCh38"})
