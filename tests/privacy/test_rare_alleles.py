"""Rare-allele protection on every entry point that can reveal an allele, per tier.

Expected answers come from the VCF genotypes read here with cyvcf2 (the demo: 2504 samples of chr22) or
from the INFO AC of the VEP-annotated EGA set, never from the beacon: an allele is rare when fewer than 5
copies of it are in the dataset. The protected app hides rare alleles from anonymous callers; the control
app protects only the registered tier, so anonymous callers there see everything (each test can fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cyvcf2
import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_VCF
from beacon.store.base import MetadataBatch
from beacon.store.sqlite import SqliteStore
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.conftest import DATA_DIR, DEMO_DATASET, make_settings

THRESHOLD = 5
START, END = 16050000, 16051000  # 0-based half-open window of chr22 (GRCh37)
FEMALE = "NCIT:C16576"
EGA_VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"


def demo_alleles() -> list[dict[str, Any]]:
    """Alleles overlapping the window: position (0-based), bases, allele count, carrier samples.

    Symbolic copy-number alleles (`<CN2>`...) span to their INFO END; the others span their REF."""
    vcf = cyvcf2.VCF(str(DEMO_VCF))
    found = []
    for record in vcf(f"22:{START + 1}-{END}"):
        symbolic = record.ALT[0].startswith("<") if record.ALT else False
        end = int(record.INFO["END"]) if symbolic else record.POS - 1 + len(record.REF)
        if not (record.POS - 1 < END and end > START) or len(record.ALT) != 1:
            continue
        genotypes = record.genotype.array()[:, :2]
        carriers = {vcf.samples[i] for i in range(len(vcf.samples)) if (genotypes[i] == 1).any()}
        allele_count = int((genotypes == 1).sum())
        found.append({"start": record.POS - 1, "ref": record.REF, "alt": record.ALT[0], "ac": allele_count})
        found[-1]["carriers"] = carriers
    return found


ALLELES = demo_alleles()
RARE = next(a for a in ALLELES if a["ac"] == 1 and a["alt"] in "ACGT")
COMMON = next(a for a in ALLELES if a["ac"] >= 20 and a["alt"] in "ACGT")
# Shown, but so few copies that some populations hold 1 to 4 of them.
UNCOMMON = next(a for a in ALLELES if THRESHOLD <= a["ac"] < 2 * THRESHOLD and a["alt"] in "ACGT")


def variant_id(allele: dict[str, Any]) -> str:
    return f"GRCh37-22-{allele['start'] + 1}-{allele['ref']}-{allele['alt']}"


def policy(tiers: str) -> str:
    return (
        "default_level: CONTROLLED\n"
        f"rare_alleles: {{min_allele_count: {THRESHOLD}, tiers: [{tiers}]}}\n"
        f"datasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n  ega-test: {{level: PUBLIC}}\n"
    )


def make_client(directory: Path, store_file: Path, tiers: str, **collaborators: Any) -> FlaskClient:
    access = directory / f"policy-{tiers or 'none'}.yaml"
    access.write_text(policy(tiers), encoding="utf-8")
    return create_app(make_settings(store_file, access_file=access), **collaborators).test_client()


@pytest.fixture(scope="module")
def clients(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, FlaskClient]:
    directory = tmp_path_factory.mktemp("rare")
    return {
        "protected": make_client(directory, demo_store_file, "anonymous"),
        "control": make_client(directory, demo_store_file, "registered"),
    }


def sequence(allele: dict[str, Any]) -> dict[str, Any]:
    return {
        "referenceName": "22",
        "assemblyId": "GRCh37",
        "start": allele["start"],
        "referenceBases": allele["ref"],
        "alternateBases": allele["alt"],
    }


def answer(client: FlaskClient, path: str, status: int = 200, **query: Any) -> dict[str, Any]:
    response = client.get(path, query_string=query)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def total(client: FlaskClient, path: str, **query: Any) -> int:
    return answer(client, path, requestedGranularity="count", **query)["responseSummary"]["numTotalResults"]


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_sequence_queries(clients, kind):
    rare = answer(clients[kind], "/api/g_variants", **sequence(RARE))["responseSummary"]["exists"]
    common = answer(clients[kind], "/api/g_variants", **sequence(COMMON))["responseSummary"]["exists"]
    assert (rare, common) == ((False, True) if kind == "protected" else (True, True))


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_range_and_bracket_queries(clients, kind):
    minimum = THRESHOLD if kind == "protected" else 1
    window = {"referenceName": "22", "assemblyId": "GRCh37", "start": START, "end": END}
    assert total(clients[kind], "/api/g_variants", **window) == sum(a["ac"] >= minimum for a in ALLELES)
    bracket = {
        "referenceName": "22",
        "assemblyId": "GRCh37",
        "start": f"{RARE['start']},{RARE['start'] + 1}",
        "end": f"{RARE['start'] + 1},{RARE['start'] + 2}",
    }
    assert total(clients[kind], "/api/g_variants", **bracket) == (0 if kind == "protected" else 1)


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_one_variant_by_id_and_its_carriers(clients, kind):
    client = clients[kind]
    answer(client, f"/api/g_variants/{variant_id(RARE)}", status=404 if kind == "protected" else 200)
    assert answer(client, f"/api/g_variants/{variant_id(COMMON)}")["responseSummary"]["exists"]
    carriers = total(client, f"/api/g_variants/{variant_id(RARE)}/biosamples")
    assert carriers == (0 if kind == "protected" else len(RARE["carriers"]))
    assert total(client, f"/api/g_variants/{variant_id(COMMON)}/individuals") == len(COMMON["carriers"])


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_variant_queries_on_individuals_and_biosamples(clients, kind):
    rare = total(clients[kind], "/api/biosamples", **sequence(RARE))
    assert rare == (0 if kind == "protected" else len(RARE["carriers"]))
    assert total(clients[kind], "/api/individuals", **sequence(COMMON)) == len(COMMON["carriers"])


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_the_variants_of_a_carrier_and_filters_over_variants(clients, kind):
    carrier = sorted(RARE["carriers"])[0]
    window = {"referenceName": "22", "assemblyId": "GRCh37", "start": RARE["start"], "end": RARE["start"] + 1}
    carried = total(clients[kind], f"/api/biosamples/{carrier}/g_variants", **window)
    assert carried == (0 if kind == "protected" else 1)
    # Filters on individuals select variants through their carriers: the rare allele stays hidden.
    filtered = answer(clients["protected"], "/api/g_variants", filters=FEMALE, **sequence(RARE))
    assert filtered["responseSummary"]["exists"] is False


def test_record_level_frequencies_leave_out_populations_where_the_allele_is_rare(clients):
    def frequencies(kind: str) -> list[dict[str, Any]]:
        document = answer(clients[kind], "/api/g_variants", requestedGranularity="record", **sequence(UNCOMMON))
        record = document["response"]["resultSets"][0]["results"][0]
        return record["frequencyInPopulations"][0]["frequencies"]

    shown = frequencies("control")
    assert any(0 < item.get("alleleCount", 0) < THRESHOLD for item in shown)  # the data has rare populations
    protected = frequencies("protected")
    assert protected and all(not 0 < item.get("alleleCount", 0) < THRESHOLD for item in protected)
    assert {item["population"] for item in protected} == {
        item["population"] for item in shown if not 0 < item.get("alleleCount", 0) < THRESHOLD
    }


def test_the_dataset_info_reports_the_threshold_and_its_effect(clients):
    document = answer(clients["protected"], "/api/datasets", requestedGranularity="record")
    demo = next(record for record in document["response"]["collections"] if record["id"] == DEMO_DATASET)
    rare = demo["info"]["privacy"]["rareAlleleProtection"]
    assert rare["minAlleleCount"] == THRESHOLD and rare["tiers"] == ["anonymous"] and "not found" in rare["effect"]


# --- gene and HGVS queries: the VEP-annotated EGA set (INFO AC over 40 alleles) ------------------------


def ega_allele_counts() -> dict[str, list[int]]:
    """INFO AC of the EGA set's alleles by gene symbol (from the CSQ field)."""
    by_gene: dict[str, list[int]] = {}
    for record in cyvcf2.VCF(str(EGA_VCF)):
        genes = {part.split("|")[3] for part in str(record.INFO.get("CSQ") or "").split(",") if part.count("|") > 3}
        for gene in genes - {""}:
            counts = record.INFO.get("AC")
            by_gene.setdefault(gene, []).extend(counts if isinstance(counts, tuple) else [counts])
    return by_gene


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FlaskClient]:
    path = tmp_path_factory.mktemp("annotated") / "beacon.sqlite"
    store = SqliteStore(path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "ega-test", "name": "EGA synthetic"}])
    store.put_metadata(batch)
    load_vcf_files(store, [EGA_VCF], "ega-test", VcfOptions(assembly="GRCh38"))
    return {kind: make_client(path.parent, path, tiers, store=store) for kind, tiers in TIER_CHOICES.items()}


TIER_CHOICES = {"protected": "anonymous", "control": "registered"}


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_gene_queries(annotated, kind):
    counts = ega_allele_counts()["DLGAP2"]
    minimum = THRESHOLD if kind == "protected" else 1
    assert total(annotated[kind], "/api/g_variants", geneId="DLGAP2") == sum(ac >= minimum for ac in counts)


@pytest.mark.parametrize("kind", ["protected", "control"])
def test_hgvs_queries(annotated, kind):
    # chr8:876540 TTTCT>T (AC 4 of 40): the deletion of 876541-876544; chr8:876545 CTTG>C (AC 25).
    rare = answer(annotated[kind], "/api/g_variants", genomicAlleleShortForm="NC_000008.11:g.876541_876544del")
    common = answer(annotated[kind], "/api/g_variants", genomicAlleleShortForm="NC_000008.11:g.876546_876548del")
    expected = (False, True) if kind == "protected" else (True, True)
    assert (rare["responseSummary"]["exists"], common["responseSummary"]["exists"]) == expected


@pytest.mark.oidc
def test_a_registered_caller_sees_what_anonymous_callers_may_not(demo_store_file, tmp_path, op):
    from tests.auth.oidc_provider import AUDIENCE, BONA_FIDE_VISAS

    access = tmp_path / "policy.yaml"
    access.write_text(policy("anonymous"), encoding="utf-8")
    trust = {"oidc_issuers": (op.issuer,), "oidc_audiences": (AUDIENCE,), "trusted_jkus": (op.visa_jku,)}
    settings = make_settings(demo_store_file, access_file=access, visa_issuers=(op.issuer,), http_timeout=1.0, **trust)
    client = create_app(settings).test_client()
    registered = {"Authorization": f"Bearer {op.token(op.add_account(visas=[*BONA_FIDE_VISAS]))}"}
    authenticated = {"Authorization": f"Bearer {op.token(op.add_account())}"}  # no visas: the anonymous tier
    query = sequence(RARE)
    assert client.get("/api/g_variants", query_string=query, headers=registered).get_json()["responseSummary"]["exists"]
    hidden = client.get("/api/g_variants", query_string=query, headers=authenticated).get_json()
    assert hidden["responseSummary"]["exists"] is False


def test_a_protected_count_and_its_page_read_the_matching_variants_once(demo_store_file):
    """A record-level answer counts, then pages, the same query: one read of the store, the same variants."""
    from dataclasses import replace

    from beacon.query.privacy import Protections, protected_search
    from beacon.store.base import VariantQuery

    store = SqliteStore(demo_store_file, access="read")
    reads = []

    class CountingStore:
        def find_variants(self, query):
            reads.append(query)
            return store.find_variants(query)

    try:
        count, find = protected_search(CountingStore(), Protections(min_allele_count=THRESHOLD))
        window = VariantQuery(DEMO_DATASET, chromosome="22", kind="range", start=START, end=END, limit=5)
        total = count(window)
        pages = [find(replace(window, skip=skip)) for skip in range(0, total, 5)]
        assert len(reads) == 1
        shown = [(d.start, d.reference_bases, d.alternate_bases) for page in pages for d in page]
        assert sorted(shown) == sorted((a["start"], a["ref"], a["alt"]) for a in ALLELES if a["ac"] >= THRESHOLD)
    finally:
        store.close()
