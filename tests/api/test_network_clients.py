"""Replays of the request bodies real network clients send to /individuals and /biosamples with variants.

The bodies are those of the team notes `shared/docs/NETWORK-CLIENTS.md`: the GDI portal's dataset search (section 1:
flat string parameters, no referenceName, JSON nulls, filter scope `individual`) and the EGA template
UI's searches (section 4: sequence, range, bracket, gene, aminoacid change and HGVS shapes). Each test
checks the fields that client reads. Expected answers are read off the VCFs with cyvcf2 (a sample
carries an allele when its genotype holds that allele's index) and off the metadata files, never from
the beacon's own code.

The store holds the demo (CINECA UK1 chr22, GRCh37, case-level; and its synthetic test dataset), the
EGA synthetic set (GRCh38, VEP-annotated, case-level), the cgbeacon2 trio loaded WITHOUT case-level
data, and a dataset with individuals but no variants.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cyvcf2
import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_DIR, DEMO_VCF
from beacon.schemas import default_validator
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.conftest import DATA_DIR, DEMO_COHORT, DEMO_DATASET, assert_valid, make_settings, write_bff_files

EGA, TRIO, BARE = "ega-synthetic", "trio-no-case-level", "metadata-only"
EGA_VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
TRIO_VCF = DATA_DIR / "vcf" / "test_trio.vcf.gz"
FEMALE = "NCIT:C16576"


# --- truth, from the files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Allele:
    """One ALT allele of a VCF record (VCF POS, 0-based half-open span) and the samples carrying it."""

    chrom: str
    pos: int
    ref: str
    alt: str
    csq: tuple[dict[str, str], ...]
    carriers: frozenset[str]
    info_end: int | None = None  # INFO END of a symbolic allele: its span ends there

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def end(self) -> int:
        return self.info_end if self.info_end is not None else self.pos - 1 + len(self.ref)


def read_alleles(path: Path) -> list[Allele]:
    """Every ALT allele of a VCF but `*` with its carriers; symbolic ones span to their INFO END."""
    vcf = cyvcf2.VCF(str(path))
    samples = vcf.samples
    fields = _csq_fields(vcf)
    alleles = []
    for record in vcf:
        csq = tuple(dict(zip(fields, entry.split("|"), strict=False)) for entry in _csq_entries(record))
        for index, alt in enumerate(record.ALT, start=1):
            if alt != "*":
                end = record.INFO.get("END") if alt.startswith("<") else None
                carriers = _carriers(record, index, samples)
                alleles.append(Allele(record.CHROM, record.POS, record.REF, alt, csq, carriers, end))
    return alleles


def _carriers(record: Any, index: int, samples: list[str]) -> frozenset[str]:
    if len(record.ALT) == 1:  # cyvcf2 gt_types: 1 heterozygous, 3 homozygous alternate
        return frozenset(sample for sample, kind in zip(samples, record.gt_types, strict=True) if kind in (1, 3))
    genotypes = record.genotypes  # [allele, allele, ..., phased] per sample
    return frozenset(sample for sample, genotype in zip(samples, genotypes, strict=True) if index in genotype[:-1])


def _csq_fields(vcf: cyvcf2.VCF) -> list[str]:
    for header in vcf.header_iter():
        if header.info().get("ID") == "CSQ":
            return header.info()["Description"].split("Format: ")[1].strip('"').split("|")
    return []


def _csq_entries(record: Any) -> list[str]:
    value = record.INFO.get("CSQ")
    return value.split(",") if value else []


def carriers(alleles: list[Allele], keep: Callable[[Allele], bool]) -> frozenset[str]:
    return frozenset(sample for allele in alleles if keep(allele) for sample in allele.carriers)


def demo_records(name: str) -> list[dict[str, Any]]:
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_alleles() -> list[Allele]:
    return read_alleles(DEMO_VCF)


@pytest.fixture(scope="module")
def ega_alleles() -> list[Allele]:
    return read_alleles(EGA_VCF)


@pytest.fixture(scope="module")
def individual_of() -> dict[str, str]:
    """Demo biosample id -> individual id, from the demo's biosamples file."""
    return {record["id"]: record["individualId"] for record in demo_records("biosamples.json")}


@pytest.fixture(scope="module")
def demo_females() -> frozenset[str]:
    return frozenset(r["id"] for r in demo_records("individuals.json") if r["sex"]["id"] == FEMALE)


@pytest.fixture(scope="module")
def chosen(demo_alleles: list[Allele], demo_females: frozenset[str]) -> Allele:
    """A demo SNV carried by 2 to 99 women and by at least one man (so the sex filter narrows it)."""
    return next(
        allele
        for allele in demo_alleles
        if len(allele.ref) == len(allele.alt) == 1
        and 2 <= len(allele.carriers & demo_females) < 100
        and allele.carriers - demo_females
    )


# --- the beacon ------------------------------------------------------------------------------------


def write_metadata(directory: Path) -> list[Path]:
    ega = json.loads((DATA_DIR / "ega_synthetic_testset" / "bff" / "individuals.json").read_text())
    trio = cyvcf2.VCF(str(TRIO_VCF)).samples
    sample = {
        "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
        "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"},
    }
    unknown_sex = {"id": "NCIT:C17998", "label": "Unknown"}
    files = {
        "datasets": [{"id": d, "name": d} for d in (EGA, TRIO, BARE)],
        # The EGA records' bare-timestamp `measures` are refused by the v2.1.1 model: left out.
        "individuals": [{k: v for k, v in r.items() if k != "measures"} | {"datasetId": EGA} for r in ega]
        + [{"id": s, "sex": unknown_sex, "datasetId": TRIO} for s in trio]
        + [{"id": f"BARE-{n}", "sex": unknown_sex, "datasetId": BARE} for n in (1, 2)],
        "biosamples": [
            {"id": r["id"], "individualId": r["id"], "datasetId": EGA, **sample} for r in ega
        ]  # the VCF's samples are the individuals' ids
        + [{"id": s, "individualId": s, "datasetId": TRIO, **sample} for s in trio],
    }
    return write_bff_files(directory, files)


@pytest.fixture(scope="module")
def network_client(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    directory = tmp_path_factory.mktemp("network")
    path = directory / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    store = SqliteStore(path)
    load_metadata(store, write_metadata(directory), default_validator())
    load_vcf_files(store, [EGA_VCF], EGA, VcfOptions(assembly="GRCh38", case_level=True))
    load_vcf_files(store, [TRIO_VCF], TRIO, VcfOptions(assembly="GRCh37"))  # no case-level data
    store.close()
    policy = directory / "policy.yaml"
    policy.write_text(
        "default_level: PUBLIC\nrare_alleles: {enabled: false}\n"
        "datasets:\n  synthetic-test: {level: PUBLIC, test_dataset: true}\n"
    )
    yield create_app(make_settings(path, access_file=policy)).test_client()


def post(client: FlaskClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/json"
    return response.get_json()


def result_set(document: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    (found,) = [s for s in document["response"]["resultSets"] if s["id"] == dataset_id]
    return found


def result_ids(document: dict[str, Any], dataset_id: str) -> set[str]:
    return {record["id"] for record in result_set(document, dataset_id)["results"]}


# --- GDI portal (section 1) ------------------------------------------------------------------------


def gdi_body(parameters: dict[str, Any] | None, filters: list[dict[str, Any]]) -> dict[str, Any]:
    """The portal's body: apiVersion "2.0", HIT, record, testMode false, {skip 0, limit 1}, nulls unset."""
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": filters,
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": 1, "currentPage": None, "nextPage": None, "previousPage": None},
            "requestParameters": parameters,
        },
    }


def gdi_reads(document: dict[str, Any]) -> dict[str, int]:
    """What the portal keeps: setType "dataset", an id and an integer resultsCount > 0, by id."""
    kept = {}
    for found in document["response"]["resultSets"]:
        assert isinstance(found["resultsCount"], int) and not isinstance(found["resultsCount"], bool)
        if found["setType"] == "dataset" and found["id"].strip() and found["resultsCount"] > 0:
            kept[found["id"]] = found["resultsCount"]
    return kept


def test_gdi_variant_entries_without_reference_name_are_a_400_saying_why(network_client, validator):
    # The portal's variant ENTRIES example, verbatim: start as a string and no referenceName.
    parameters = {"start": "7577120", "referenceBases": "G", "alternateBases": "A", "assemblyId": "GRCh38"}
    document = post(network_client, "/api/individuals", gdi_body(parameters, []), status=400)
    assert_valid(validator, document)
    assert document["error"]["errorCode"] == 400
    assert "referenceName is required with start/end" in document["error"]["errorMessage"]


def test_gdi_search_with_a_variant_and_the_sex_facet(network_client, validator, chosen, individual_of, demo_females):
    parameters = {
        "referenceName": "22",
        "start": str(chosen.start),
        "referenceBases": chosen.ref,
        "alternateBases": chosen.alt,
        "assemblyId": "GRCh37",
        "geneId": None,
    }
    document = post(network_client, "/api/individuals", gdi_body(parameters, [{"id": FEMALE, "scope": "individual"}]))
    assert_valid(validator, document)
    expected = {individual_of[sample] for sample in chosen.carriers} & demo_females
    assert gdi_reads(document) == {DEMO_DATASET: len(expected)}
    assert len(result_set(document, DEMO_DATASET)["results"]) == 1  # limit 1
    # The trio has GRCh37 variants but no case-level data: it says so rather than answering 0.
    trio = result_set(document, TRIO)
    assert trio["exists"] is False and trio["resultsCount"] == 0
    assert "case-level" in trio["info"]["error"]["errorMessage"]
    assert any("case-level" in warning for warning in document["info"]["warnings"])


def test_gdi_gene_and_protein_facets_verbatim(network_client, validator, ega_alleles):
    # Section 1's first example, verbatim (NCIT:C3117 and the onset facet match no loaded record).
    filters = [
        {"id": "NCIT:C3117", "scope": "individual"},
        {"id": "diseases.ageOfOnset.iso8601duration", "operator": ">", "value": "P30Y", "scope": "individual"},
    ]
    document = post(
        network_client, "/api/individuals", gdi_body({"geneId": "KRAS", "aminoacidChange": "p.R121H"}, filters)
    )
    assert_valid(validator, document)
    assert not any("KRAS" in [entry.get("SYMBOL") for entry in allele.csq] for allele in ega_alleles)
    assert gdi_reads(document) == {}
    assert document["responseSummary"]["exists"] is False
    reasons = {s["id"]: s["info"]["error"]["errorMessage"] for s in document["response"]["resultSets"] if "info" in s}
    assert "geneId" in reasons[DEMO_DATASET]  # the demo VCF carries no VEP/SnpEff annotation
    assert "no genomic variants" in reasons[BARE]
    assert EGA not in reasons  # annotated and case-level: it answered, with no KRAS carrier


def test_gdi_null_request_parameters_and_no_filters(network_client, validator):
    document = post(network_client, "/api/individuals", gdi_body(None, [{"id": FEMALE, "scope": "individual"}]))
    assert_valid(validator, document)
    females = sum(1 for r in demo_records("individuals.json") if r["sex"]["id"] == FEMALE)
    ega = json.loads((DATA_DIR / "ega_synthetic_testset" / "bff" / "individuals.json").read_text())
    assert gdi_reads(document) == {DEMO_DATASET: females, EGA: sum(1 for r in ega if r["sex"]["id"] == FEMALE)}


# --- EGA template UI (section 4) -------------------------------------------------------------------


def ui_body(parameters: dict[str, Any], filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": filters or [],
            "requestParameters": parameters,
            "includeResultsetResponses": "HIT",
            "pagination": {"skip": 0, "limit": 100},
            "testMode": False,
            "requestedGranularity": "record",
        },
    }


def ui_reads(document: dict[str, Any], dataset_id: str) -> tuple[bool, int, set[str]]:
    found = result_set(document, dataset_id)
    assert found["setType"] == "dataset"
    return found["exists"], int(found["resultsCount"]), {record["id"] for record in found["results"]}


def test_ui_sequence_search_with_sex_filter(network_client, validator, chosen, individual_of, demo_females):
    parameters = {
        "assemblyId": "GRCh37",
        "referenceName": "22",
        "start": [chosen.start],
        "referenceBases": chosen.ref,
        "alternateBases": chosen.alt,
    }
    document = post(network_client, "/api/individuals", ui_body(parameters, [{"id": FEMALE, "scope": "individual"}]))
    assert_valid(validator, document)
    expected = {individual_of[sample] for sample in chosen.carriers} & demo_females
    assert ui_reads(document, DEMO_DATASET) == (True, len(expected), expected)
    # Without the filter the men come back too; the details modal re-POSTs without Authorization.
    everyone = post(network_client, "/api/individuals", ui_body(parameters))
    assert ui_reads(everyone, DEMO_DATASET)[2] == {individual_of[sample] for sample in chosen.carriers}


@pytest.mark.parametrize("variant_type", [None, "SNP"])
def test_ui_range_search_on_biosamples(network_client, validator, demo_alleles, variant_type):
    start, end = 16_050_000, 16_052_000
    parameters: dict[str, Any] = {"assemblyId": "GRCh37", "referenceName": "22", "start": [start], "end": [end]}
    if variant_type:
        parameters["variantType"] = variant_type

    def keep(allele: Allele) -> bool:
        snv = len(allele.ref) == len(allele.alt) == 1
        return allele.start < end and allele.end > start and (variant_type is None or snv)

    expected = carriers(demo_alleles, keep)
    document = post(
        network_client,
        "/api/biosamples",
        ui_body(parameters) | {"query": {**ui_body(parameters)["query"], "requestedGranularity": "count"}},
    )
    assert_valid(validator, document)
    assert document["responseSummary"]["numTotalResults"] == len(expected)
    assert 100 < len(expected) < 2504  # the range really narrows (and the page would not hold them)


def test_ui_bracket_search(network_client, validator, demo_alleles, individual_of):
    starts, ends = [16_050_000, 16_051_000], [16_050_000, 16_052_000]

    def keep(allele: Allele) -> bool:
        return starts[0] <= allele.start < starts[1] and ends[0] <= allele.end < ends[1]

    expected = {individual_of[s] for s in carriers(demo_alleles, keep)}
    parameters = {"assemblyId": "GRCh37", "referenceName": "22", "start": starts, "end": ends}
    body = ui_body(parameters)
    body["query"]["requestedGranularity"] = "count"
    document = post(network_client, "/api/individuals", body)
    assert_valid(validator, document)
    assert document["responseSummary"]["numTotalResults"] == len(expected) > 0


@pytest.mark.parametrize("gene", ["DLGAP2", "TPMT", "BRCA2"])
def test_ui_gene_search(network_client, validator, ega_alleles, gene):
    annotated = [allele for allele in ega_alleles if any(e.get("SYMBOL") == gene for e in allele.csq)]
    assert all(allele.csq and len({e["Allele"] for e in allele.csq}) == 1 for allele in annotated)  # one ALT each
    expected = carriers(annotated, lambda allele: True)
    assert expected
    document = post(network_client, "/api/individuals", ui_body({"geneId": gene, "assemblyId": "GRCh38"}))
    assert_valid(validator, document)
    assert ui_reads(document, EGA) == (True, len(expected), set(expected))


def test_ui_aminoacid_change_built_from_its_parts(network_client, validator, ega_alleles):
    # The UI writes ref + position + alt ("P1856S"), without "p.".
    def keep(allele: Allele) -> bool:
        return any(
            e.get("SYMBOL") == "BRCA1" and e.get("Protein_position") == "1856" and e.get("Amino_acids") == "P/S"
            for e in allele.csq
        )

    expected = carriers(ega_alleles, keep)
    assert expected
    document = post(network_client, "/api/biosamples", ui_body({"geneId": "BRCA1", "aminoacidChange": "P1856S"}))
    assert_valid(validator, document)
    assert ui_reads(document, EGA) == (True, len(expected), set(expected))


def test_ui_hgvs_search(network_client, validator, chosen, individual_of):
    hgvs = f"NC_000022.10:g.{chosen.pos}{chosen.ref}>{chosen.alt}"  # GRCh37 chromosome 22
    document = post(network_client, "/api/individuals", ui_body({"genomicAlleleShortForm": hgvs}))
    assert_valid(validator, document)
    expected = {individual_of[sample] for sample in chosen.carriers}
    assert ui_reads(document, DEMO_DATASET)[:2] == (True, len(expected))


# --- the dataset and cohort forms, single records, GET -----------------------------------------------


def sequence_parameters(allele: Allele) -> dict[str, Any]:
    return {
        "assemblyId": "GRCh37",
        "referenceName": "22",
        "start": allele.start,
        "referenceBases": allele.ref,
        "alternateBases": allele.alt,
    }


@pytest.mark.parametrize(
    ("path", "entity"),
    [
        (f"/api/datasets/{DEMO_DATASET}/individuals", "individuals"),
        (f"/api/datasets/{DEMO_DATASET}/biosamples", "biosamples"),
        (f"/api/cohorts/{DEMO_COHORT}/individuals", "individuals"),
        (f"/api/cohorts/{DEMO_COHORT}/biosamples", "biosamples"),
    ],
)
def test_collection_forms(network_client, validator, chosen, individual_of, path, entity):
    document = post(network_client, path, ui_body(sequence_parameters(chosen)))
    assert_valid(validator, document)
    expected = set(chosen.carriers) if entity == "biosamples" else {individual_of[s] for s in chosen.carriers}
    assert ui_reads(document, DEMO_DATASET) == (True, len(expected), expected)
    assert [s["id"] for s in document["response"]["resultSets"]] == [DEMO_DATASET]


def test_a_dataset_without_case_level_data_says_so_in_its_own_form(network_client, validator, chosen):
    document = post(network_client, f"/api/datasets/{TRIO}/individuals", ui_body(sequence_parameters(chosen)))
    assert_valid(validator, document)
    (only,) = document["response"]["resultSets"]
    assert (only["id"], only["exists"]) == (TRIO, False)
    assert only["info"]["error"]["errorCode"] == 501
    assert "case-level" in only["info"]["error"]["errorMessage"]


def test_one_individual_with_a_variant(network_client, validator, chosen, individual_of):
    carrier = individual_of[sorted(chosen.carriers)[0]]
    other = next(
        r["id"] for r in demo_records("individuals.json") if r["id"] not in {individual_of[s] for s in chosen.carriers}
    )
    for individual, exists in ((carrier, True), (other, False)):
        response = network_client.get(
            f"/api/individuals/{individual}",
            query_string=sequence_parameters(chosen) | {"requestedGranularity": "count"},
        )
        assert response.status_code == 200
        assert response.get_json()["responseSummary"]["exists"] is exists
    unknown = network_client.get("/api/individuals/NOPE", query_string=sequence_parameters(chosen))
    assert unknown.status_code == 404


def test_get_equals_post(network_client, chosen, individual_of, demo_females):
    query = sequence_parameters(chosen) | {"filters": FEMALE, "requestedGranularity": "count", "datasets": DEMO_DATASET}
    document = network_client.get("/api/individuals", query_string=query).get_json()
    expected = {individual_of[sample] for sample in chosen.carriers} & demo_females
    assert document["responseSummary"]["numTotalResults"] == len(expected)


# --- dataset selection -------------------------------------------------------------------------------


def selection_body(shape: str, parameters: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {"requestedGranularity": "count", "requestParameters": dict(parameters)}
    if shape == "spec":  # the spec's own example: requestParameters.datasets.datasetIds
        query["requestParameters"]["datasets"] = {"datasetIds": [EGA]}
    elif shape == "list":
        query["requestParameters"]["datasets"] = [EGA]
    else:
        query["datasets"] = {"datasetIds": [EGA]}
    return {"meta": {"apiVersion": "v2.2.0"}, "query": query}


@pytest.mark.parametrize("shape", ["spec", "list", "query"])
@pytest.mark.parametrize(
    ("path", "parameters", "expected"),
    [
        ("/api/individuals", {}, 20),
        ("/api/biosamples", {}, 20),
        ("/api/datasets", {}, 1),
        # synthetic_usecases_4beacon_testingV4.vcf.gz: 44 records; the DLGAP2 lines are quoted in
        # tests/api/test_g_variants_annotations.py (9 alleles).
        ("/api/g_variants", {"geneId": "DLGAP2"}, 9),
    ],
)
def test_dataset_selection_shapes(network_client, validator, shape, path, parameters, expected):
    document = post(network_client, path, selection_body(shape, parameters))
    assert_valid(validator, document)
    assert document["responseSummary"]["numTotalResults"] == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/individuals", 2504), ("/api/biosamples", 2504), ("/api/datasets", 1), ("/api/cohorts", 1)],
)
def test_get_datasets_selects_on_every_entry_endpoint(network_client, path, expected):
    query = {"datasets": DEMO_DATASET, "requestedGranularity": "count"}
    assert network_client.get(path, query_string=query).get_json()["responseSummary"]["numTotalResults"] == expected
