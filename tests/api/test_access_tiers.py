"""Access tiers end to end over HTTP, with real tokens from a local OpenID provider (tests/oidc/op.mjs).

One store holds three datasets: the demo (CINECA UK1, PUBLIC), the cgbeacon2 trio (REGISTERED) and
the EGA synthetic test set (CONTROLLED). Five callers ask: anonymous, authenticated (a valid token and
no visas), registered (bona fide visas), controlled (bona fide + a ControlledAccessGrants visa for the
CONTROLLED dataset) and granted-only (the grant without bona fide status).

Every expected value is typed in by hand: the ceilings from issue #4's table (PUBLIC - everyone
record; REGISTERED - anonymous boolean, registered and granted record; CONTROLLED - anonymous
boolean, registered count, granted record); record counts from the data files (2504 demo
individuals and biosamples, 3 trio samples, 20 EGA individuals); variant counts and carriers from the
VCF lines quoted next to them and from the bcftools-checked truth tables of tests/data/vcf.
"""

from __future__ import annotations

import base64
import csv
import gzip
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_VCF
from beacon.schemas import SchemaValidator, default_validator
from beacon.settings import Settings
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.allele_counts import info_ends
from tests.auth.oidc_provider import AUDIENCE, BONA_FIDE_VISAS, OpenIdProvider, grant_visa
from tests.conftest import DATA_DIR, DEMO_COHORT, DEMO_DATASET, assert_valid, write_bff_files

pytestmark = pytest.mark.oidc

PUBLIC, REGISTERED, CONTROLLED = DEMO_DATASET, "cgbeacon2_trio", "ega_synthetic"
DATASETS = (PUBLIC, REGISTERED, CONTROLLED)
COHORTS = {PUBLIC: DEMO_COHORT, REGISTERED: "cgbeacon2_trio_cohort", CONTROLLED: "ega_synthetic_cohort"}
CONTROLLED_GRANT = "https://beacon.test/datasets/ega_synthetic"
LEVELS = {PUBLIC: "PUBLIC", REGISTERED: "REGISTERED", CONTROLLED: "CONTROLLED"}

# These tests are about tiers: the rare-allele protection every dataset gets by default (tests/privacy)
# would hide the rare alleles their counts are worked out from, so their policies turn it off.
POLICY = f"""\
default_level: CONTROLLED
rare_alleles: {{enabled: false}}
datasets:
  {PUBLIC}: {{level: PUBLIC}}
  {REGISTERED}: {{level: REGISTERED}}
  {CONTROLLED}: {{level: CONTROLLED, visas: ["{CONTROLLED_GRANT}"]}}
"""

B, C, R = "boolean", "count", "record"
RANK = {B: 0, C: 1, R: 2}
TIERS = ("anonymous", "authenticated", "registered", "controlled", "granted_only")
CEILINGS = {
    "anonymous": {PUBLIC: R, REGISTERED: B, CONTROLLED: B},
    "authenticated": {PUBLIC: R, REGISTERED: B, CONTROLLED: B},
    "registered": {PUBLIC: R, REGISTERED: R, CONTROLLED: C},
    "controlled": {PUBLIC: R, REGISTERED: R, CONTROLLED: R},
    "granted_only": {PUBLIC: R, REGISTERED: B, CONTROLLED: R},
}
"""Issue #4's ceilings per caller and dataset (granted-only: a grant without bona fide status)."""

# Records per dataset: demo files (2504 each), the 3 samples of test_trio.vcf.gz, the 20 EGA individuals.
INDIVIDUALS = {PUBLIC: 2504, REGISTERED: 3, CONTROLLED: 20}
TRIO_SAMPLES = ("ADM1059A1", "ADM1059A2", "ADM1059A3")
EGA_SAMPLES = tuple(f"SAMPLE{number}" for number in range(1, 21))

GRCH37_RANGE = {"assemblyId": "GRCh37", "referenceName": "22", "start": 16_000_000, "end": 23_700_000}
GRCH38_RANGE = {"assemblyId": "GRCh38", "referenceName": "8", "start": 876_000, "end": 877_000}
# test_trio.vcf.gz in GRCH37_RANGE (every one carried, INFO AC 1 or 2): 19770232 A>T, 23541249 C>A,
# 23632777 G>GT, 23657595 T>C, 23657604 T>C, 23657664 C>T, 23657874 AA>GC.
TRIO_IN_RANGE = 7
# synthetic_usecases_4beacon_testingV4.vcf.gz in GRCH38_RANGE: 876540 TTTCTCTTGT>T, 876540 TTTCT>T,
# 876542 T>ATG, 876544 T>C, 876545 CTTG>C, 876546 T>ATGTCTTAT, 876548 GTAGCTTTT>A.
EGA_IN_RANGE = 7

# Carriers (biosample = individual ids): the trio line `22 23632777 G GT ... 0/1 0/1 0/0` and the EGA
# line `6 18138997 C T ... AC=2` (SAMPLE5 and SAMPLE20 are 0|1, the others 0|0).
TRIO_VARIANT, TRIO_CARRIERS = "GRCh37-22-23632777-G-GT", {"ADM1059A1", "ADM1059A2"}
EGA_VARIANT, EGA_CARRIERS = "GRCh38-6-18138997-C-T", {"SAMPLE5", "SAMPLE20"}
TRUTH = DATA_DIR / "vcf" / "cineca_uk1_chr22_population_allele_counts.tsv"
CASES = DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz"

Headers = dict[str, str]


def demo_in_range(start: int, end: int) -> int:
    """Demo alleles overlapping [start, end) per the truth table (carried by someone); symbolic ones span
    to their INFO END, read from the VCF text."""
    with TRUTH.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if int(r["gt_AC"]) > 0]
    ends = info_ends(DEMO_VCF)
    return sum(1 for r in rows if int(r["start0"]) < end and _end(r, ends) > start)


def _end(row: dict[str, str], ends: dict[int, int]) -> int:
    return ends[int(row["pos"])] if row["alt"][0] == "<" else int(row["start0"]) + len(row["ref"])


def demo_variant_and_carriers() -> tuple[str, set[str]]:
    """A demo variant and its carriers according to the Perl reference tool's case-level output."""
    with gzip.open(CASES, "rt", newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    carriers = {s for s in f"{row['heterozygous']},{row['homozygous']}".split(",") if s}
    return f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}", carriers


DEMO_VARIANT, DEMO_CARRIERS = demo_variant_and_carriers()
DEMO_IN_RANGE = demo_in_range(GRCH37_RANGE["start"], GRCH37_RANGE["end"])


# --- the store, the apps and the callers -------------------------------------------------------


def write_metadata(directory: Path) -> list[Path]:
    """BFF files of the two added datasets: hand-written records plus the EGA synthetic individuals."""
    ega = json.loads((DATA_DIR / "ega_synthetic_testset" / "bff" / "individuals.json").read_text())
    unknown_sex = {"id": "NCIT:C17998", "label": "Unknown"}
    reference_sample = {"id": "EFO:0009654", "label": "reference sample"}
    blood = {"id": "UBERON:0000178", "label": "blood"}
    samples = {REGISTERED: TRIO_SAMPLES, CONTROLLED: EGA_SAMPLES}
    files = {
        "datasets": [
            {"id": REGISTERED, "name": "cgbeacon2 demo trio (GRCh37)"},
            {"id": CONTROLLED, "name": "EGA synthetic test set (GRCh38)"},
        ],
        "cohorts": [
            {"id": COHORTS[d], "name": f"{d} cohort", "cohortType": "study-defined", "datasetId": d}
            for d in (REGISTERED, CONTROLLED)
        ],
        "individuals": [{"id": s, "sex": unknown_sex, "datasetId": REGISTERED} for s in TRIO_SAMPLES]
        + [record | {"datasetId": CONTROLLED} for record in ega],
        "biosamples": [
            {"id": s, "individualId": s, "biosampleStatus": reference_sample, "sampleOriginType": blood, "datasetId": d}
            for d, names in samples.items()
            for s in names
        ],
    }
    return write_bff_files(directory, files)


@pytest.fixture(scope="module")
def tiers_store_file(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store plus the trio (REGISTERED) and EGA (CONTROLLED) datasets, with case-level data."""
    directory = tmp_path_factory.mktemp("tiers")
    path = directory / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    store = SqliteStore(path)
    try:
        load_metadata(store, write_metadata(directory), default_validator())
        vcf = DATA_DIR / "vcf"
        trio = VcfOptions(assembly="GRCh37", case_level=True)
        load_vcf_files(store, [vcf / "test_trio.vcf.gz"], REGISTERED, trio)
        ega = VcfOptions(assembly="GRCh38", case_level=True)
        load_vcf_files(store, [vcf / "synthetic_usecases_4beacon_testingV4.vcf.gz"], CONTROLLED, ega)
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def make_app(tiers_store_file: Path, op: OpenIdProvider, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """Builds an app over the tiers store that trusts `op`, with a policy text (None: no policy file)."""
    directory = tmp_path_factory.mktemp("policies")

    def make(policy: str | None) -> Flask:
        access_file = None
        if policy is not None:
            access_file = directory / f"policy-{len(list(directory.iterdir()))}.yaml"
            access_file.write_text(policy, encoding="utf-8")
        settings = Settings(
            store_uri=f"sqlite:///{tiers_store_file}",
            base_url="http://beacon.test/api",
            access_file=access_file,
            oidc_issuers=(op.issuer,),
            oidc_audiences=(AUDIENCE,),
            trusted_jkus=(op.visa_jku,),
            visa_issuers=(op.issuer,),
            http_timeout=1.0,
        )
        return create_app(settings)

    return make


@pytest.fixture(scope="module")
def client(make_app: Callable) -> FlaskClient:
    """The app with the three-level policy."""
    return make_app(POLICY).test_client()


def bearer(token: str) -> Headers:
    """Request headers carrying a bearer token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def callers(op: OpenIdProvider) -> dict[str, Headers]:
    """Request headers of each caller tier, with real access tokens (JWT + passport from userinfo)."""
    visas = {
        "authenticated": [],
        "registered": [*BONA_FIDE_VISAS],
        "controlled": [*BONA_FIDE_VISAS, grant_visa(CONTROLLED_GRANT)],
        "granted_only": [grant_visa(CONTROLLED_GRANT)],
    }
    headers = {tier: bearer(op.token(op.add_account(visas=listed))) for tier, listed in visas.items()}
    return {"anonymous": {}} | headers


def fetch(client: FlaskClient, path: str, headers: Headers, status: int = 200, **query: Any) -> dict[str, Any]:
    """GET `path` with query parameters; checks the status and returns the JSON."""
    response = client.get(f"/api{path}", query_string=query, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def post(client: FlaskClient, path: str, headers: Headers, granularity: str, **parameters: Any) -> dict[str, Any]:
    """POST a request body with `requestParameters` (for g_variants) and returns the JSON."""
    query: dict[str, Any] = {"requestedGranularity": granularity, "includeResultsetResponses": "ALL"}
    if parameters:
        query["requestParameters"] = parameters
    body = {"meta": {"apiVersion": "v2.1.1"}, "query": query | {"pagination": {"limit": 5}}}
    response = client.post(f"/api{path}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def narrowest(*levels: str) -> str:
    """The least revealing of some granularities (typed here so the test does not use the code's own)."""
    return min(levels, key=RANK.__getitem__)


def assert_tiered(
    document: Mapping[str, Any], granted: Mapping[str, str], counts: Mapping[str, int], limit: int = 5
) -> dict[str, dict[str, Any]]:
    """The response says what each visible dataset may say at its granted level, and nothing more.

    `granted`: granularity per visible dataset; `counts`: true matches per dataset (absent: 0). Expects
    `includeResultsetResponses=ALL` and no small-count protection; returns the result sets by dataset id.
    """
    returned = max(granted.values(), key=RANK.__getitem__)
    assert document["meta"]["returnedGranularity"] == returned
    summary = document["responseSummary"]
    hits = {dataset for dataset in granted if counts.get(dataset, 0) > 0}
    assert summary["exists"] is bool(hits)
    boolean_hits = {dataset for dataset in hits if granted[dataset] == B}
    if returned == B:
        assert "numTotalResults" not in summary
    else:
        # A boolean-level dataset with matches adds the least it can hold (1), and makes the total imprecise.
        exact = sum(counts.get(dataset, 0) for dataset, level in granted.items() if level != B)
        assert summary["numTotalResults"] == exact + len(boolean_hits)
        assert summary.get("countPrecision") == ("imprecise" if boolean_hits else None)
    result_sets = {result_set["id"]: result_set for result_set in document["response"]["resultSets"]}
    assert set(result_sets) == set(granted)  # one result set per visible dataset, at every granularity
    for dataset, level in granted.items():
        result_set, expected = result_sets[dataset], counts.get(dataset, 0)
        assert (result_set["setType"], result_set["exists"]) == ("dataset", expected > 0)
        assert result_set.get("resultsCount") == (None if level == B else expected)
        assert len(result_set.get("results", [])) == (min(limit, expected) if level == R else 0)
        assert ("results" in result_set) is (level == R)
        below = None if level == returned else level  # a set granted less than the response says so
        assert result_set.get("info", {}).get("returnedGranularity") == below
    return result_sets


def record_ids(result_set: Mapping[str, Any]) -> set[str]:
    """Ids of the records of a result set (variantInternalId for variants)."""
    return {record.get("id") or record["variantInternalId"] for record in result_set["results"]}


# --- one dataset at a time: the relation endpoints ---------------------------------------------

RANGES = {PUBLIC: GRCH37_RANGE, REGISTERED: GRCH37_RANGE, CONTROLLED: GRCH38_RANGE}
VARIANTS_IN_RANGE = {PUBLIC: DEMO_IN_RANGE, REGISTERED: TRIO_IN_RANGE, CONTROLLED: EGA_IN_RANGE}
SINGLE_DATASET_ENDPOINTS = {
    "datasets/individuals": lambda d: (f"/datasets/{d}/individuals", {}, INDIVIDUALS[d]),
    "datasets/biosamples": lambda d: (f"/datasets/{d}/biosamples", {}, INDIVIDUALS[d]),
    "cohorts/individuals": lambda d: (f"/cohorts/{COHORTS[d]}/individuals", {}, INDIVIDUALS[d]),
    "cohorts/biosamples": lambda d: (f"/cohorts/{COHORTS[d]}/biosamples", {}, INDIVIDUALS[d]),
    "datasets/g_variants": lambda d: (f"/datasets/{d}/g_variants", RANGES[d], VARIANTS_IN_RANGE[d]),
}


@pytest.mark.parametrize("requested", [R, C, B])
@pytest.mark.parametrize("endpoint", SINGLE_DATASET_ENDPOINTS)
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("tier", TIERS)
def test_one_dataset_answers_at_the_tier_ceiling(
    client: FlaskClient,
    callers: dict[str, Headers],
    validator: SchemaValidator,
    tier: str,
    dataset: str,
    endpoint: str,
    requested: str,
) -> None:
    """Granted = min(requested, ceiling): boolean, count or record exactly as the policy says."""
    path, parameters, expected = SINGLE_DATASET_ENDPOINTS[endpoint](dataset)
    document = fetch(
        client, path, callers[tier], requestedGranularity=requested, includeResultsetResponses="ALL", limit=5,
        **parameters,
    )  # fmt: skip
    assert_valid(validator, document)
    granted = narrowest(requested, CEILINGS[tier][dataset])
    result_sets = assert_tiered(document, {dataset: granted}, {dataset: expected})
    if granted == R:
        records = document["response"]["resultSets"][0]["results"]
        if endpoint.endswith("g_variants"):
            assert all(r["variantInternalId"].startswith(parameters["assemblyId"]) for r in records)
        else:
            assert {r["datasetId"] for r in records} == {dataset}
        assert set(result_sets) == {dataset}


# --- several datasets in one answer ------------------------------------------------------------

CARRIER_COUNTS = {PUBLIC: len(DEMO_CARRIERS), REGISTERED: len(TRIO_CARRIERS), CONTROLLED: len(EGA_CARRIERS)}
HOLDER = {DEMO_VARIANT: PUBLIC, TRIO_VARIANT: REGISTERED, EGA_VARIANT: CONTROLLED}
CARRIERS = {DEMO_VARIANT: DEMO_CARRIERS, TRIO_VARIANT: TRIO_CARRIERS, EGA_VARIANT: EGA_CARRIERS}
ONE_RECORD = {PUBLIC: "HG00096", REGISTERED: "ADM1059A3", CONTROLLED: "SAMPLE7"}

MIXED_ENDPOINTS: dict[str, tuple[str, dict[str, Any], dict[str, int], set[str] | None]] = {
    "individuals": ("/individuals", {}, INDIVIDUALS, None),
    "biosamples": ("/biosamples", {}, INDIVIDUALS, None),
    "g_variants GRCh37": ("/g_variants", GRCH37_RANGE, {PUBLIC: DEMO_IN_RANGE, REGISTERED: TRIO_IN_RANGE}, None),
    "g_variants GRCh38": ("/g_variants", GRCH38_RANGE, {CONTROLLED: EGA_IN_RANGE}, None),
    **{
        f"{entity}/{record_id}": (f"/{entity}/{record_id}", {}, {dataset: 1}, {record_id})
        for entity in ("individuals", "biosamples")
        for dataset, record_id in ONE_RECORD.items()
    },
    **{
        f"g_variants/{variant}/{entity}": (
            f"/g_variants/{variant}/{entity}",
            {},
            {HOLDER[variant]: len(carriers)},
            carriers,
        )
        for variant, carriers in CARRIERS.items()
        for entity in ("individuals", "biosamples")
    },
    **{f"g_variants/{v}": (f"/g_variants/{v}", {}, {HOLDER[v]: 1}, {v}) for v in HOLDER},
}


@pytest.mark.parametrize("endpoint", MIXED_ENDPOINTS)
@pytest.mark.parametrize("tier", TIERS)
def test_each_dataset_of_a_mixed_answer_says_only_what_its_tier_allows(
    client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, tier: str, endpoint: str
) -> None:
    """Record, count and boolean datasets in one response: records and counts only where granted."""
    path, parameters, counts, expected_ids = MIXED_ENDPOINTS[endpoint]
    document = fetch(
        client, path, callers[tier], requestedGranularity=R, includeResultsetResponses="ALL", limit=5, **parameters
    )
    assert_valid(validator, document)
    result_sets = assert_tiered(document, CEILINGS[tier], counts)
    for dataset, result_set in result_sets.items():
        if expected_ids is not None and CEILINGS[tier][dataset] == R and counts.get(dataset):
            assert record_ids(result_set) == expected_ids


def test_boolean_datasets_count_as_one_match_and_never_reveal_their_count(
    client: FlaskClient, callers: dict[str, Headers]
) -> None:
    """Anonymous: the EGA variant's carriers exist (boolean); the total counts that dataset as 1, never as 2."""
    document = fetch(client, f"/g_variants/{EGA_VARIANT}/individuals", callers["anonymous"], requestedGranularity=R)
    assert document["meta"]["returnedGranularity"] == R  # the PUBLIC dataset grants record
    assert len(EGA_CARRIERS) > 1  # so a total of 1 reveals nothing the boolean answer does not
    assert document["responseSummary"] == {
        "exists": True,
        "numTotalResults": 1,
        "countPrecision": "imprecise",
        "countAdjustedTo": ["boolean-level datasets counted as 1"],
    }
    # HIT only: the PUBLIC and REGISTERED datasets have no carrier; the EGA set has no count.
    assert document["response"]["resultSets"] == [
        {
            "beaconId": document["meta"]["beaconId"],
            "id": CONTROLLED,
            "setType": "dataset",
            "exists": True,
            "info": {"returnedGranularity": B},
        }
    ]


@pytest.mark.parametrize("tier", TIERS)
def test_post_requests_get_the_same_tiers(
    client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, tier: str
) -> None:
    """POST bodies (as aggregators send them) are answered at the same per-dataset granularities."""
    individuals = post(client, "/individuals", callers[tier], R)
    assert_valid(validator, individuals)
    assert_tiered(individuals, CEILINGS[tier], INDIVIDUALS)
    variants = post(client, "/g_variants", callers[tier], R, **GRCH38_RANGE)
    assert_valid(validator, variants)
    assert_tiered(variants, CEILINGS[tier], {CONTROLLED: EGA_IN_RANGE})


# --- collections, configuration ----------------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_datasets_and_cohorts_list_every_visible_dataset_with_its_level(
    client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, tier: str
) -> None:
    """Dataset and cohort descriptions are discovery metadata: listed for every caller who may see the dataset."""
    datasets = fetch(client, "/datasets", callers[tier], requestedGranularity=R)
    assert_valid(validator, datasets)
    levels = {record["id"]: record["info"]["securityLevel"] for record in datasets["response"]["collections"]}
    assert levels == LEVELS
    cohorts = fetch(client, "/cohorts", callers[tier], requestedGranularity=R)
    assert_valid(validator, cohorts)
    assert {r["id"]: r["datasetId"] for r in cohorts["response"]["collections"]} == {c: d for d, c in COHORTS.items()}
    counted = fetch(client, "/datasets", callers[tier], requestedGranularity=C)
    assert counted["responseSummary"] == {"exists": True, "numTotalResults": 3}
    for dataset in DATASETS:
        one = fetch(client, f"/datasets/{dataset}", callers[tier], requestedGranularity=R)
        assert_valid(validator, one)
        (record,) = one["response"]["collections"]
        assert (record["id"], record["info"]["securityLevel"]) == (dataset, LEVELS[dataset])


def test_configuration_declares_the_levels_in_use(client: FlaskClient, validator: SchemaValidator) -> None:
    """`securityAttributes` names exactly the three levels the policy gives the loaded datasets."""
    response = client.get("/api/configuration").get_json()
    attributes = response["response"]["securityAttributes"]
    assert sorted(attributes["securityLevels"]) == ["CONTROLLED", "PUBLIC", "REGISTERED"]
    assert attributes["defaultGranularity"] == B  # what a request that names no granularity gets


# --- refused callers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_tokens(op: OpenIdProvider, rogue_op: OpenIdProvider) -> dict[str, str]:
    """Tokens refused (they name the trusted OP and fail) or ignored (not this beacon's); the rich ones would
    hold bona fide status and the CONTROLLED grant if they counted."""
    past = int(time.time()) - 3600
    unsigned = op.access_claims(sub="mallory@test")
    rich = [*BONA_FIDE_VISAS, grant_visa(CONTROLLED_GRANT)]
    return {
        "expired": op.sign(op.access_claims(iat=past - 600, exp=past)),
        "alg none": ".".join([b64url({"alg": "none", "typ": "at+jwt"}), b64url(unsigned), ""]),
        "untrusted OP signing as ours": rogue_op.sign(
            op.access_claims(sub=op.add_account(visas=rich), scope="openid ga4gh_passport_v1")
        ),
        "malformed": "not.a.jwt",
        "untrusted issuer": rogue_op.token(rogue_op.add_account(visas=rich)),
        "untrusted issuer, opaque": rogue_op.token(rogue_op.add_account(visas=rich), jwt=False),
    }


REFUSED_KINDS = ("expired", "alg none", "untrusted OP signing as ours")
IGNORED_KINDS = ("malformed", "untrusted issuer", "untrusted issuer, opaque")


def b64url(document: Mapping[str, Any]) -> str:
    """base64url of a JSON object, unpadded (as in a JWS)."""
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


DATA_PATHS = (
    "/individuals",
    "/biosamples",
    "/g_variants?assemblyId=GRCh38&referenceName=8&start=876000&end=877000",
    f"/g_variants/{EGA_VARIANT}",
    f"/g_variants/{EGA_VARIANT}/individuals",
    "/datasets",
    f"/datasets/{PUBLIC}",
    f"/datasets/{CONTROLLED}/individuals",
    f"/datasets/{CONTROLLED}/g_variants?assemblyId=GRCh38&referenceName=8&start=876000&end=877000",
    "/cohorts",
    f"/cohorts/{COHORTS[REGISTERED]}/individuals",
)


@pytest.mark.parametrize("path", DATA_PATHS)
@pytest.mark.parametrize("kind", REFUSED_KINDS)
def test_a_token_naming_our_issuer_that_fails_is_a_401_never_anonymous(
    client: FlaskClient, bad_tokens: dict[str, str], validator: SchemaValidator, kind: str, path: str
) -> None:
    """A token claiming the trusted issuer that fails verification gets the 401 envelope, on every data endpoint."""
    token = bad_tokens[kind]
    response = client.get(f"/api{path}", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    document = response.get_json()
    assert_valid(validator, document)
    assert document["error"]["errorCode"] == 401
    assert token not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", DATA_PATHS)
@pytest.mark.parametrize("kind", IGNORED_KINDS)
def test_a_token_that_is_not_ours_gets_exactly_the_anonymous_answer(
    client: FlaskClient, bad_tokens: dict[str, str], validator: SchemaValidator, kind: str, path: str
) -> None:
    """Another issuer's token (as a network forwards it) or an unreadable one: the anonymous answer plus a note."""
    url = f"/api{path}{'&' if '?' in path else '?'}requestedGranularity={R}&includeResultsetResponses=ALL"
    anonymous = client.get(url)
    response = client.get(url, headers=bearer(bad_tokens[kind]))
    assert (response.status_code, anonymous.status_code) == (200, 200)
    document, expected = response.get_json(), anonymous.get_json()
    assert_valid(validator, document)
    warnings = document.pop("info").pop("warnings")
    assert document == expected
    assert len(warnings) == 1 and warnings[0].startswith("the bearer token was ignored")
    assert bad_tokens[kind] not in response.get_data(as_text=True)


# --- a dataset hidden from a tier (`none`) -----------------------------------------------------

HIDDEN_POLICY = POLICY.replace(
    f'visas: ["{CONTROLLED_GRANT}"]', f'visas: ["{CONTROLLED_GRANT}"], granularity: {{anonymous: none}}'
)


@pytest.fixture(scope="module")
def hiding_client(make_app: Callable) -> FlaskClient:
    """The three-level policy, but the CONTROLLED dataset is invisible to the anonymous tier."""
    return make_app(HIDDEN_POLICY).test_client()


EXPLICIT_PATHS = (
    "/datasets/{}",
    "/datasets/{}/individuals",
    "/datasets/{}/biosamples",
    "/datasets/{}/g_variants?assemblyId=GRCh38&referenceName=8&start=876000&end=877000",
    "/datasets/{}/filtering_terms",
)
SELECTING_PATHS = (
    "/g_variants?assemblyId=GRCh38&referenceName=8&start=876000&end=877000&datasets={}",
    "/individuals?datasets={}",
    "/biosamples?requestedGranularity=record&datasets={}",
)


def _without_id(response: Any, dataset_id: str) -> tuple[int, str]:
    return response.status_code, response.get_data(as_text=True).replace(dataset_id, "<id>")


@pytest.mark.parametrize("tier", ["anonymous", "authenticated"])
@pytest.mark.parametrize("path", EXPLICIT_PATHS + SELECTING_PATHS)
def test_naming_a_hidden_dataset_answers_as_naming_an_unknown_one(
    hiding_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, path: str, tier: str
) -> None:
    """Asking by id for a dataset the tier may not see gives the answer an unknown id gets: same status,
    same body (but for the id), so a caller cannot learn which hidden ids exist."""
    hidden = hiding_client.get(f"/api{path.format(CONTROLLED)}", headers=callers[tier])
    unknown = hiding_client.get(f"/api{path.format('ega_synthetiq')}", headers=callers[tier])
    assert _without_id(hidden, CONTROLLED) == _without_id(unknown, "ega_synthetiq")
    assert_valid(validator, hidden.get_json())
    if path in EXPLICIT_PATHS:
        assert hidden.status_code == 404
        assert hidden.get_json()["error"] == {"errorCode": 404, "errorMessage": f"no dataset with id {CONTROLLED!r}"}
    else:  # a selection leaves the dataset out, and says so as it would of any id it does not know
        assert hidden.status_code == 200
        assert hidden.get_json()["responseSummary"]["exists"] is False
        assert f"no dataset with id {CONTROLLED!r}: it was left out" in hidden.get_json()["info"]["warnings"]


def test_a_selection_answers_from_the_visible_datasets_it_names(
    hiding_client: FlaskClient, callers: dict[str, Headers]
) -> None:
    """`datasets` naming a visible and a hidden dataset answers from the visible one only."""
    query = {"datasets": f"{PUBLIC},{CONTROLLED}", "requestedGranularity": "count"}
    document = hiding_client.get("/api/individuals", query_string=query, headers=callers["anonymous"]).get_json()
    assert document["responseSummary"]["numTotalResults"] == INDIVIDUALS[PUBLIC]
    body = {"query": {"requestParameters": {"datasets": {"datasetIds": [PUBLIC, CONTROLLED]}}, **query}}
    del body["query"]["datasets"]
    posted = hiding_client.post("/api/individuals", json=body, headers=callers["anonymous"]).get_json()
    assert posted["responseSummary"] == document["responseSummary"]


@pytest.mark.parametrize(
    "path",
    [
        f"/cohorts/{COHORTS[CONTROLLED]}",
        f"/cohorts/{COHORTS[CONTROLLED]}/individuals",
        "/individuals/SAMPLE7",
        "/biosamples/SAMPLE7",
        f"/g_variants/{EGA_VARIANT}",
    ],
)
def test_records_of_a_hidden_dataset_do_not_exist_for_that_tier(
    hiding_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, path: str
) -> None:
    """Records looked up by their own id in a hidden dataset are 404s: not even their existence shows."""
    response = hiding_client.get(f"/api{path}", headers=callers["anonymous"])
    assert response.status_code == 404
    assert_valid(validator, response.get_json())


def test_a_hidden_dataset_is_left_out_of_lists_and_answers(
    hiding_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator
) -> None:
    """Anonymous: not listed, not counted, and not even in `exists`; registered callers still get counts."""
    anonymous = callers["anonymous"]
    datasets = fetch(hiding_client, "/datasets", anonymous, requestedGranularity=R)
    assert {record["id"] for record in datasets["response"]["collections"]} == {PUBLIC, REGISTERED}
    cohorts = fetch(hiding_client, "/cohorts", anonymous, requestedGranularity=R)
    assert {record["id"] for record in cohorts["response"]["collections"]} == {COHORTS[PUBLIC], COHORTS[REGISTERED]}
    visible = {PUBLIC: R, REGISTERED: B}
    individuals = fetch(
        hiding_client, "/individuals", anonymous, requestedGranularity=R, includeResultsetResponses="ALL", limit=5
    )
    assert_tiered(individuals, visible, INDIVIDUALS)
    variants = fetch(hiding_client, "/g_variants", anonymous, requestedGranularity=R, **GRCH38_RANGE)
    assert_valid(validator, variants)
    assert variants["responseSummary"] == {"exists": False, "numTotalResults": 0}
    registered = fetch(
        hiding_client, f"/datasets/{CONTROLLED}/individuals", callers["registered"], requestedGranularity=R
    )
    assert_tiered(registered, {CONTROLLED: C}, INDIVIDUALS)


# --- secure default: no policy file ------------------------------------------------------------


def test_without_a_policy_file_every_dataset_is_controlled(
    make_app: Callable, callers: dict[str, Headers], validator: SchemaValidator, caplog: pytest.LogCaptureFixture
) -> None:
    """No BEACON_ACCESS_FILE: the start-up log says so, and nobody gets more than counts, not even grant holders."""
    with caplog.at_level(logging.WARNING, logger="beacon"):
        secure = make_app(None).test_client()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("BEACON_ACCESS_FILE" in message and "CONTROLLED" in message for message in warnings), warnings
    configuration = secure.get("/api/configuration").get_json()["response"]["securityAttributes"]
    assert configuration["securityLevels"] == ["CONTROLLED"]
    datasets = fetch(secure, "/datasets", {}, requestedGranularity=R)
    assert {record["info"]["securityLevel"] for record in datasets["response"]["collections"]} == {"CONTROLLED"}
    expected = {"anonymous": B, "authenticated": B, "registered": C, "controlled": C, "granted_only": B}
    for tier, level in expected.items():
        document = fetch(secure, "/individuals", callers[tier], requestedGranularity=R, includeResultsetResponses="ALL")
        assert_valid(validator, document)
        assert_tiered(document, dict.fromkeys(DATASETS, level), INDIVIDUALS)


def test_a_policy_file_silences_the_start_up_warning(make_app: Callable, caplog: pytest.LogCaptureFixture) -> None:
    """The CONTROLLED warning is only for beacons without a policy."""
    with caplog.at_level(logging.WARNING, logger="beacon"):
        make_app(POLICY)
    assert not [r for r in caplog.records if "BEACON_ACCESS_FILE" in r.getMessage()]


# --- small-count protection --------------------------------------------------------------------

# The trio becomes CONTROLLED too, so registered callers get counts of both added datasets.
PROTECTED_POLICY = f"""\
default_level: CONTROLLED
rare_alleles: {{enabled: false}}
datasets:
  {PUBLIC}: {{level: PUBLIC}}
  {REGISTERED}: {{level: CONTROLLED, min_count: 5}}
  {CONTROLLED}: {{level: CONTROLLED, visas: ["{CONTROLLED_GRANT}"], count_precision: 10}}
"""
NEXT_TEN = "next multiple of 10"


@pytest.fixture(scope="module")
def protected_client(make_app: Callable) -> FlaskClient:
    """Small counts of the trio are reported as 5; counts of EGA are rounded up to tens."""
    return make_app(PROTECTED_POLICY).test_client()


@pytest.mark.parametrize(
    ("path", "parameters", "count", "adjusted_to", "precision"),
    [
        (f"/datasets/{REGISTERED}/individuals", {}, 5, [5], "imprecise"),  # 3 trio samples
        (f"/datasets/{REGISTERED}/g_variants", GRCH37_RANGE, 7, None, None),  # 7 >= 5: exact
        (f"/datasets/{CONTROLLED}/individuals", {}, 20, [NEXT_TEN], "rounded"),  # 20 EGA individuals
        (f"/datasets/{CONTROLLED}/g_variants", GRCH38_RANGE, 10, [NEXT_TEN], "rounded"),  # 7 variants
        (f"/datasets/{CONTROLLED}/g_variants", GRCH37_RANGE, 0, None, None),  # no match stays 0
    ],
)
def test_counts_below_record_level_are_protected(
    protected_client: FlaskClient,
    callers: dict[str, Headers],
    validator: SchemaValidator,
    path: str,
    parameters: dict[str, Any],
    count: int,
    adjusted_to: list[Any] | None,
    precision: str | None,
) -> None:
    """A registered caller's counts say how they were adjusted (Beacon v2.2 countAdjustedTo/countPrecision)."""
    document = fetch(protected_client, path, callers["registered"], requestedGranularity=C, **parameters)
    assert_valid(validator, document)
    expected = {"exists": count > 0, "numTotalResults": count}
    if precision is not None:
        expected |= {"countAdjustedTo": adjusted_to, "countPrecision": precision}
    assert document["responseSummary"] == expected


def test_a_mixed_total_is_imprecise_and_each_result_set_says_why(
    protected_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator
) -> None:
    """Registered, /individuals: demo exact (record), trio 3 -> 5 (imprecise), EGA 20 (rounded)."""
    document = fetch(
        protected_client, "/individuals", callers["registered"], requestedGranularity=R, includeResultsetResponses="ALL"
    )
    assert_valid(validator, document)
    assert document["responseSummary"] == {
        "exists": True,
        "numTotalResults": 2504 + 5 + 20,
        "countAdjustedTo": [5, NEXT_TEN],
        "countPrecision": "imprecise",
    }
    sets = {result_set["id"]: result_set for result_set in document["response"]["resultSets"]}
    assert "countPrecision" not in sets[PUBLIC] and sets[PUBLIC]["resultsCount"] == 2504
    assert (sets[REGISTERED]["resultsCount"], sets[REGISTERED]["countPrecision"]) == (5, "imprecise")
    assert sets[REGISTERED]["countAdjustedTo"] == [5]
    assert (sets[CONTROLLED]["resultsCount"], sets[CONTROLLED]["countPrecision"]) == (20, "rounded")
    assert sets[CONTROLLED]["countAdjustedTo"] == [NEXT_TEN]


def test_rounded_counts_of_carriers(
    protected_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator
) -> None:
    """2 carriers of the EGA variant are reported as 10; the datasets without carriers add an exact 0."""
    document = fetch(protected_client, f"/g_variants/{EGA_VARIANT}/individuals", callers["registered"],
                     requestedGranularity=C)  # fmt: skip
    assert_valid(validator, document)
    assert document["responseSummary"] == {
        "exists": True,
        "numTotalResults": 10,
        "countAdjustedTo": [NEXT_TEN],
        "countPrecision": "rounded",
    }


@pytest.mark.parametrize("requested", [R, C])
def test_callers_who_may_see_records_get_exact_counts(
    protected_client: FlaskClient, callers: dict[str, Headers], validator: SchemaValidator, requested: str
) -> None:
    """A grant holder's EGA counts are exact, even when asking for counts only; the trio stays protected."""
    document = fetch(protected_client, f"/datasets/{CONTROLLED}/g_variants", callers["controlled"],
                     requestedGranularity=requested, **GRCH38_RANGE)  # fmt: skip
    assert_valid(validator, document)
    assert document["responseSummary"] == {"exists": True, "numTotalResults": EGA_IN_RANGE}
    trio = fetch(protected_client, f"/datasets/{REGISTERED}/individuals", callers["controlled"], requestedGranularity=R)
    assert trio["responseSummary"]["numTotalResults"] == 5


def test_boolean_answers_are_unchanged_by_protection(
    protected_client: FlaskClient, callers: dict[str, Headers]
) -> None:
    """Anonymous callers still learn only that the trio has individuals."""
    document = fetch(protected_client, f"/datasets/{REGISTERED}/individuals", callers["anonymous"],
                     requestedGranularity=R)  # fmt: skip
    assert document["meta"]["returnedGranularity"] == B
    assert document["responseSummary"] == {"exists": True}


# --- tokens stay out of logs -------------------------------------------------------------------


def test_tokens_never_reach_the_logs(
    client: FlaskClient, op: OpenIdProvider, bad_tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, neither accepted nor refused tokens (nor their signatures) are logged."""
    fresh = op.token(op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(CONTROLLED_GRANT)]))
    with caplog.at_level(logging.DEBUG):
        for token in (fresh, *bad_tokens.values()):
            client.get("/api/individuals", headers=bearer(token))
            client.get(f"/api/g_variants/{EGA_VARIANT}/individuals", headers=bearer(token))
    assert any(r.name.startswith(("beacon", "httpx")) for r in caplog.records)  # the logs were listening
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for token in (fresh, *bad_tokens.values()):
        for part in {token, *(piece for piece in token.split(".") if len(piece) > 16)}:
            assert part not in logged
