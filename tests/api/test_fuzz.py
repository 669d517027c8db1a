"""Property-based fuzzing of every endpoint with hostile parameters and bodies (hypothesis, the demo store).

GET query strings are built from the request-parameter names the endpoints understand (and a few they
do not), with values mixing valid ones and garbage: huge, negative and fractional numbers, control
characters, long strings, broken CURIEs and filters. POST bodies mix the spec's request shape with
garbage at every level, and some bodies are not JSON at all. Whatever arrives, the beacon must answer
within 5 s with a JSON Beacon document (an error envelope whose errorCode is the status for errors),
and never with a 5xx.

Examples per endpoint group: 300 (`FUZZ_EXAMPLES` changes it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings, strategies as st

from beacon.query.requests import COMMON_GET_PARAMETERS
from beacon.query.variants import G_VARIANT_PARAMETERS
from tests.conftest import DEMO_COHORT, DEMO_DATASET

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the 5 s bound is asserted on each request instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run: a failure is reproduced by running the test again
)
ANSWER_WITHIN = 5.0

METADATA = ["/api", "/api/", "/api/info", "/api/service-info", "/api/configuration", "/api/map", "/api/entry_types",
            "/api/filtering_terms", f"/api/datasets/{DEMO_DATASET}/filtering_terms",
            f"/api/cohorts/{DEMO_COHORT}/filtering_terms"]  # fmt: skip
ENTRIES = ["/api/individuals", "/api/biosamples", "/api/datasets", "/api/cohorts", "/api/individuals/{id}",
           "/api/biosamples/{id}", "/api/datasets/{id}", "/api/cohorts/{id}", "/api/datasets/{id}/individuals",
           "/api/datasets/{id}/biosamples", "/api/cohorts/{id}/individuals",
           "/api/individuals/{id}/biosamples"]  # fmt: skip
VARIANTS = ["/api/g_variants", "/api/g_variants/{id}", "/api/datasets/{id}/g_variants",
            "/api/g_variants/{id}/biosamples", "/api/g_variants/{id}/individuals"]  # fmt: skip

IDS = st.sampled_from(
    [
        DEMO_DATASET,
        DEMO_COHORT,
        "HG00096",
        "HG00096_sample",
        "22:16050075:A:G",
        "nope",
        "",
        "%2F",
        "..",
        "a%00b",
        "x" * 300,
        "%C3%A9",
        "NCIT:C16576",
    ]
)
ENTRY_NAMES = st.sampled_from(sorted(COMMON_GET_PARAMETERS))
VARIANT_NAMES = st.sampled_from(sorted(COMMON_GET_PARAMETERS | set(G_VARIANT_PARAMETERS)))
UNKNOWN_NAMES = st.sampled_from(["unknown", "filter", "start[]", "", "skip ", "Limit"])
VALID = st.sampled_from(
    [
        "22",
        "chr22",
        "NC_000022.10",
        "GRCh37",
        "GRCh38",
        "hg19",
        "A",
        "G",
        "AC",
        "N",
        "SNP",
        "INDEL",
        "DEL",
        "count",
        "record",
        "boolean",
        "ALL",
        "HIT",
        "MISS",
        "NONE",
        "true",
        "false",
        "0",
        "1",
        "10",
        "16050074",
        "16050075",
        "16050074,16050100",
        "NCIT:C16576",
        "NCIT:C20197",
        "sex.label=female",
        "sex:female",
        "ageOfOnset:adult",
        "diseases.ageOfOnset.iso8601duration>=P40Y",
        "NC_000022.10:g.16050075A>G",
        "BRCA1",
        "V600E",
        "v2.1.1",
        "v2.0",
        "ga4gh-beacon-individual-v2.0.0",
        DEMO_DATASET,
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "1e300",
            "-0",
            "1.5",
            "nan",
            "inf",
            "-inf",
            "0x10",
            "1_000",
            "٣",
            "9" * 400,
            "2147483648",
            "9223372036854775808",
            "18446744073709551616",
            str(2**100),
        ]
    ),
)
GARBAGE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda t: t * 50),
    st.sampled_from(
        [
            "",
            " ",
            ",",
            ",,",
            "\x00",
            "\r\n",
            "'",
            '"',
            "\\",
            "%",
            "%%",
            "*",
            "?",
            "[]",
            "{}",
            "null",
            "NCIT:",
            ":",
            "a:b:c",
            "x=",
            "=1",
            "age=>40",
            "a.b..c=1",
            "sex.label!=",
            "<script>",
        ]
    ),
)
VALUES = st.one_of(
    VALID,
    VALID,
    VALID,
    VALID,
    NUMBERS,
    GARBAGE,
    st.lists(st.one_of(VALID, NUMBERS), min_size=2, max_size=4).map(",".join),
)


def query(names: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query-string pairs: mostly distinct known names; now and then an unknown or repeated one."""
    known = st.dictionaries(names, VALUES, max_size=4).map(lambda pairs: list(pairs.items()))
    odd = st.lists(st.tuples(names | UNKNOWN_NAMES, VALUES), max_size=6)
    return st.one_of(known, known, known, known, known, odd)


ENTRY_QUERY, VARIANT_QUERY = query(ENTRY_NAMES), query(VARIANT_NAMES)


def path_of(template: str, entry_id: str) -> str:
    return template.replace("{id}", entry_id)


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


def answers_as_a_beacon(app: Flask, method: str, path: str, **kwargs: Any) -> None:
    """The property: a JSON Beacon document within the time bound, an error envelope for errors, never a 5xx."""
    started = time.monotonic()
    response = app.test_client().open(path, method=method, **kwargs)
    elapsed = time.monotonic() - started
    assert response.status_code < 500, (path, response.get_data(as_text=True)[:500])
    assert elapsed < ANSWER_WITHIN, (path, elapsed)
    assert response.headers["Content-Type"].startswith("application/json"), path
    document = json.loads(response.get_data())
    assert isinstance(document, dict), path
    if response.status_code < 400 and path.startswith("/api/service-info"):
        assert document["type"]["group"] == "org.ga4gh"  # GA4GH service-info, not a Beacon document
        return
    assert "meta" in document, path
    if response.status_code >= 400:
        assert document["error"]["errorCode"] == response.status_code, path
        assert isinstance(document["error"]["errorMessage"], str) and document["error"]["errorMessage"]
    else:
        assert "error" not in document


# -- POST bodies ----------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e300, -1e300, 2**63, 2**64 + 1, 0.5]),
    VALID,
    GARBAGE,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FILTER = st.one_of(
    st.fixed_dictionaries(
        {"id": st.one_of(VALID, GARBAGE)},
        optional={
            "operator": st.sampled_from(["=", "<", ">", "!", ">=", "<=", "~", ""]) | JSON,
            "value": st.one_of(VALID, NUMBERS, st.integers(), st.floats(allow_nan=False), JSON),
            "scope": st.sampled_from(["individuals", "biosamples", "g_variants", "runs", "nope"]) | JSON,
            "includeDescendantTerms": st.booleans() | JSON,
            "similarity": st.sampled_from(["exact", "high", "medium", "low", "odd"]) | JSON,
        },
    ),
    VALID,
    JSON,
)
PARAMETERS = st.dictionaries(
    st.sampled_from(list(G_VARIANT_PARAMETERS)) | st.sampled_from(["unknown", ""]),
    st.one_of(
        VALID,
        NUMBERS,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.lists(st.integers(), max_size=3),
        st.floats(allow_nan=False),
        JSON,
    ),
    max_size=6,
)
QUERY_BODY = st.fixed_dictionaries(
    {},
    optional={
        "requestParameters": st.one_of(PARAMETERS, PARAMETERS, JSON),
        "filters": st.one_of(st.lists(FILTER, max_size=5), st.lists(FILTER, max_size=5), JSON),
        "pagination": st.fixed_dictionaries(
            {}, optional={"skip": st.integers(min_value=-5, max_value=2**70) | JSON, "limit": st.integers() | JSON}
        )
        | JSON,
        "requestedGranularity": st.sampled_from(["boolean", "count", "record", "aggregated", "RECORD"]) | JSON,
        "includeResultsetResponses": st.sampled_from(["ALL", "HIT", "MISS", "NONE", "SOME"]) | JSON,
        "testMode": st.booleans() | JSON,
    },
)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "meta": st.fixed_dictionaries({}, optional={"apiVersion": VALID | JSON, "requestedSchemas": JSON}) | JSON,
        "query": st.one_of(QUERY_BODY, QUERY_BODY, QUERY_BODY, JSON),
    },
)
# Mostly the request's shape with hostile values, then any JSON, then bytes that are not JSON at all.
BODY = st.one_of(SHAPED, SHAPED, SHAPED, SHAPED, JSON)
RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.integers(min_value=30, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=30, max_value=3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(["", "{", "NaN", '{"query": Infinity}', '{"a": 1e999}', "\ufeff{}", '"\\ud800"', "[]" * 100]),
)

POST_BODY = st.one_of(BODY, BODY, BODY, RAW_BODIES)


def post(app: Flask, path: str, body: Any) -> None:
    if isinstance(body, str | bytes):
        answers_as_a_beacon(app, "POST", path, data=body, content_type="application/json")
    else:
        answers_as_a_beacon(app, "POST", path, json=body)


@FUZZ
@given(path=st.sampled_from(METADATA), pairs=ENTRY_QUERY)
def test_metadata_endpoints_survive_hostile_query_strings(demo_app, path, pairs):
    answers_as_a_beacon(demo_app, "GET", f"{path}?{query_string(pairs)}")


@FUZZ
@given(template=st.sampled_from(ENTRIES), entry_id=IDS, pairs=ENTRY_QUERY)
def test_entry_endpoints_survive_hostile_query_strings(demo_app, template, entry_id, pairs):
    answers_as_a_beacon(demo_app, "GET", f"{path_of(template, entry_id)}?{query_string(pairs)}")


@FUZZ
@given(template=st.sampled_from(VARIANTS), entry_id=IDS, pairs=VARIANT_QUERY)
def test_variant_endpoints_survive_hostile_query_strings(demo_app, template, entry_id, pairs):
    answers_as_a_beacon(demo_app, "GET", f"{path_of(template, entry_id)}?{query_string(pairs)}")


@FUZZ
@given(template=st.sampled_from(ENTRIES + METADATA[:1] + METADATA[4:]), entry_id=IDS, body=POST_BODY)
def test_entry_and_metadata_endpoints_survive_hostile_post_bodies(demo_app, template, entry_id, body):
    post(demo_app, path_of(template, entry_id), body)


@FUZZ
@given(template=st.sampled_from(VARIANTS), entry_id=IDS, body=POST_BODY)
def test_variant_endpoints_survive_hostile_post_bodies(demo_app, template, entry_id, body):
    post(demo_app, path_of(template, entry_id), body)


# Each parameter with values of its own kind, valid or at its edges: these reach the stores' queries
# rather than the parsers' refusals of unrelated values.
POSITIONS = st.one_of(st.integers(min_value=0, max_value=60_000_000).map(str), NUMBERS)
OF_ITS_KIND = {
    "referenceName": st.sampled_from(["22", "chr22", "NC_000022.10", "1", "X", "MT", "Z", "refseq:NC_000022.10"]),
    "start": POSITIONS | st.lists(POSITIONS, min_size=2, max_size=3).map(",".join),
    "end": POSITIONS | st.lists(POSITIONS, min_size=2, max_size=3).map(",".join),
    "referenceBases": st.sampled_from(["A", "G", "AC", "N", "", "a", "X"]),
    "alternateBases": st.sampled_from(["A", "G", "T", "AC", "N", "", "<DEL>"]),
    "variantType": st.sampled_from(["SNP", "INDEL", "DEL", "INS", "DUP", "CNV", "MNP", "SV", "X"]),
    "variantMinLength": NUMBERS,
    "variantMaxLength": NUMBERS,
    "assemblyId": st.sampled_from(["GRCh37", "GRCh38", "hg19", "NCBI36", "x"]),
    "geneId": st.sampled_from(["BRCA1", "CECR5", "x"]),
    "aminoacidChange": st.sampled_from(["V600E", "p.Val600Glu", "x"]),
    "genomicAlleleShortForm": st.builds(
        "NC_000022.10:g.{}{}".format, POSITIONS, st.sampled_from(["A>G", "del", "dup", "_5del", "insA", ">"])
    ),
    "datasets": st.sampled_from([DEMO_DATASET, "nope", f"{DEMO_DATASET},nope"]),
    "requestedGranularity": st.sampled_from(["boolean", "count", "record"]),
    "includeResultsetResponses": st.sampled_from(["ALL", "HIT", "MISS", "NONE"]),
    "skip": NUMBERS,
    "limit": NUMBERS,
    "filters": st.lists(
        st.sampled_from(
            [
                "NCIT:C16576",
                "NCIT:C20197",
                "sex:female",
                "ageOfOnset:adult",
                "diseases.ageOfOnset.iso8601duration>=P40Y",
                "sex.label=female",
                "NCIT:C99999",
                "UBERON:0000178",
            ]
        ),
        max_size=3,
    ).map(",".join),
    "testMode": st.sampled_from(["true", "false"]),
}
PLAUSIBLE = st.fixed_dictionaries({}, optional=OF_ITS_KIND).map(lambda pairs: list(pairs.items()))


@FUZZ
@given(path=st.sampled_from(["/api/g_variants", f"/api/datasets/{DEMO_DATASET}/g_variants"]), pairs=PLAUSIBLE)
def test_variant_queries_from_valid_parts_answer(demo_app, path, pairs):
    answers_as_a_beacon(demo_app, "GET", f"{path}?{query_string(pairs)}")


@FUZZ
@given(path=st.sampled_from(["/api/individuals", "/api/biosamples", "/api/cohorts"]), pairs=PLAUSIBLE)
def test_entry_queries_from_valid_parts_answer(demo_app, path, pairs):
    allowed = [(name, value) for name, value in pairs if name in COMMON_GET_PARAMETERS]
    answers_as_a_beacon(demo_app, "GET", f"{path}?{query_string(allowed)}")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods_answer_without_a_5xx(demo_app, method):
    for path in METADATA + [path_of(template, "HG00096") for template in ENTRIES + VARIANTS]:
        response = demo_app.test_client().open(path, method=method)
        assert response.status_code < 500, (method, path)
