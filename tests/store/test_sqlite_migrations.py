"""SQLite stores written by older beacons are upgraded in place and answer what those beacons stored.

`tests/data/old_stores/v<N>.sqlite` were written once by the code of the commit that introduced schema
version N, with that commit's own CLI and the same small data (`input/`, the EGA synthetic VCF and an
HP excerpt; see SOURCE.md there). Each test opens a copy with the current code. What the old code
stored is read from the untouched copy with plain SQL (its tables as they were), and the inputs are
read from their files: the upgraded store must give back exactly that.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from beacon import create_app
from beacon.store.base import (
    FrequencySource,
    MetadataBatch,
    RecordQuery,
    TermCondition,
    ValueCondition,
    VariantQuery,
    build_id_query,
)
from beacon.store.sqlite import SqliteStore, schema as sqlite_schema
from loaders.variant_load import load_vcf_files
from loaders.vcf import PopulationFields, PopulationMap, VcfOptions
from tests.conftest import DATA_DIR, assert_valid, make_settings

OLD_STORES = DATA_DIR / "old_stores"
INPUT = OLD_STORES / "input"
VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
VERSIONS = [1, 3, 4, 5, 6]  # schema version 2 never shipped on its own: it came with 3
WITH_VARIANTS = [3, 4, 5, 6]  # variants and ontologies arrived with version 3
DATASET = "test"
# The VCF line `6 18138997 . C T ... GT 0/0 x4, 0/1 (SAMPLE5) ... 0/1 (SAMPLE20)`.
KNOWN_VARIANT, KNOWN_CARRIERS = "GRCh38-6-18138997-C-T", ["SAMPLE20", "SAMPLE5"]
GOE = FrequencySource("Genome of Europe", "https://genomeofeurope.eu/", "2025-01")


@dataclass
class Stored:
    """What an old beacon wrote, read with SQL from its file before the current code opens it."""

    version: int
    records: dict[str, dict[str, dict]]  # entity -> id -> document
    variants: list[tuple[str, str, int]]  # (variant_id, chromosome, start) in rowid order
    carriers: dict[str, list[str]]  # variant_id -> sorted biosample ids
    genes: dict[str, set[str]]  # gene id -> variant ids
    ontology_terms: int


def read_stored(path: Path) -> Stored:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        records: dict[str, dict[str, dict]] = defaultdict(dict)
        for entity, record_id, doc in conn.execute("SELECT entity, id, doc FROM records"):
            records[entity][record_id] = json.loads(doc)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "variant_sets" not in tables:
            return Stored(version, dict(records), [], {}, {}, 0)
        (set_version,) = conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchone()
        table = f"variants_{set_version}"
        rows = conn.execute(f"SELECT rowid, variant_id, chromosome, start FROM {table} ORDER BY rowid").fetchall()
        ids = {rowid: variant_id for rowid, variant_id, _, _ in rows}
        carriers: dict[str, list[str]] = defaultdict(list)
        for rowid, biosample in conn.execute(f"SELECT rowid_ref, biosample_id FROM {table}_carriers"):
            carriers[ids[rowid]].append(biosample)
        # Version 3 kept genes in <table>_genes; version 4 on, in <table>_annotations with kind 'gene'.
        genes_sql = (
            f"SELECT gene_id, rowid_ref FROM {table}_genes"
            if f"{table}_genes" in tables
            else f"SELECT value, rowid_ref FROM {table}_annotations WHERE kind = 'gene'"
        )
        genes: dict[str, set[str]] = defaultdict(set)
        for gene, rowid in conn.execute(genes_sql):
            genes[gene].add(ids[rowid])
        (terms,) = conn.execute("SELECT count(*) FROM ontology_terms").fetchone()
        return Stored(
            version, dict(records), [(v, c, s) for _, v, c, s in rows],
            {variant: sorted(names) for variant, names in carriers.items()}, dict(genes), terms,
        )  # fmt: skip
    finally:
        conn.close()


def input_records(entity: str) -> list[dict]:
    return json.loads((INPUT / f"{entity}.json").read_text(encoding="utf-8"))


@pytest.fixture
def old(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Stored, Path]:
    """(what the old beacon stored, a copy of its file for the current code to open)."""
    path = tmp_path / "old.sqlite"
    shutil.copy(OLD_STORES / f"v{request.param}.sqlite", path)
    stored = read_stored(path)
    assert stored.version == request.param  # the file is what SOURCE.md says it is
    return stored, path


@pytest.fixture
def upgraded(old: tuple[Stored, Path]):
    store = SqliteStore(old[1])
    yield store
    store.close()


@pytest.mark.parametrize("old", VERSIONS, indirect=True)
def test_an_old_store_is_upgraded_to_the_current_schema(old, upgraded) -> None:
    upgraded.check()
    with sqlite3.connect(old[1]) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_schema.SCHEMA_VERSION


@pytest.mark.parametrize("old", VERSIONS, indirect=True)
def test_an_old_store_gives_back_every_record_it_stored(old, upgraded) -> None:
    stored, _ = old
    assert [dataset["id"] for dataset in upgraded.list_datasets()] == [DATASET]
    for entity in ("cohorts", "individuals", "biosamples"):
        expected = sorted(input_records(entity), key=lambda record: record["id"])
        found = upgraded.find_records(RecordQuery(entity, DATASET, limit=100))
        assert upgraded.count_records(RecordQuery(entity, DATASET)) == len(expected) > 0
        assert found == expected == [stored.records[entity][record["id"]] for record in expected]


def holding(individuals: list[dict], values) -> dict[str, list[str]]:
    """value -> ids of the individuals holding it, for the values some but not all individuals hold."""
    ids: dict[str, list[str]] = defaultdict(list)
    for individual in individuals:
        for value in set(values(individual)):
            ids[value].append(individual["id"])
    return {value: sorted(held) for value, held in ids.items() if len(held) < len(individuals)}


def heights(individual: dict) -> list[float]:
    return [
        m["measurementValue"]["value"] for m in individual.get("measures", []) if "Height" in m["assayCode"]["label"]
    ]


@pytest.mark.parametrize("old", VERSIONS, indirect=True)
def test_filters_answer_on_an_old_store(old, upgraded) -> None:
    # Term filters use what the old beacon indexed; value filters need the index version 3 built
    # from the records the old beacon stored.
    individuals = input_records("individuals")
    diseases = holding(individuals, lambda i: [d["diseaseCode"]["id"] for d in i.get("diseases", [])])
    origins = holding(individuals, lambda i: [i["geographicOrigin"]["label"]] if "geographicOrigin" in i else [])
    tall = sorted(i["id"] for i in individuals if any(height > 170 for height in heights(i)))
    cases = [(TermCondition(frozenset({term})), ids) for term, ids in diseases.items()]
    cases += [(ValueCondition("geographicOrigin.label", "=", label), ids) for label, ids in origins.items()]
    cases.append((ValueCondition("measures.measurementValue.value", ">", 170.0), tall))
    assert len(diseases) >= 3 and len(origins) >= 3 and 0 < len(tall) < len(individuals)
    for condition, expected in cases:
        query = RecordQuery("individuals", DATASET, conditions=(condition,), limit=100)
        assert [record["id"] for record in upgraded.find_records(query)] == expected, condition
    assert set(diseases) <= {term.id for term in upgraded.filtering_terms()}


@pytest.mark.parametrize("old", WITH_VARIANTS, indirect=True)
def test_an_old_store_answers_with_the_variants_it_stored(old, upgraded) -> None:
    stored, _ = old
    everything = upgraded.find_variants(VariantQuery(DATASET, kind="all", limit=1000))
    assert sorted(d.variant_id for d in everything) == sorted(variant_id for variant_id, _, _ in stored.variants)
    assert upgraded.count_variants(VariantQuery(DATASET, kind="all")) == len(stored.variants) > 0
    assert upgraded.variant_assemblies() == {"GRCh38"}
    assert upgraded.variant_frequency_source(DATASET) is None  # no populations map named one
    by_chromosome: dict[str, int] = defaultdict(int)
    for _, chromosome, _ in stored.variants:
        by_chromosome[chromosome] += 1
    for chromosome, count in by_chromosome.items():  # wide ranges add up bins, which version 5 built
        wide = VariantQuery(DATASET, assembly="GRCh38", chromosome=chromosome, kind="range", start=0, end=99_000_000)
        narrow = [s for _, c, s in stored.variants if c == chromosome and s < 99_000_000]
        assert upgraded.count_variants(wide) == len(narrow) <= count
    for variant_id, _, _ in stored.variants:
        assert upgraded.variant_carriers(DATASET, variant_id) == stored.carriers.get(variant_id, [])
    assert stored.carriers[KNOWN_VARIANT] == KNOWN_CARRIERS
    assert upgraded.ontologies()[0].resource.id == "hp" and len(upgraded.ontologies()[0].terms) == stored.ontology_terms


@pytest.mark.parametrize("old", WITH_VARIANTS, indirect=True)
def test_gene_and_case_level_queries_work_on_an_old_store(old, upgraded) -> None:
    stored, _ = old
    assert stored.genes  # the VCF is VEP-annotated: the old loader indexed genes
    assert {"geneId", "caseLevelData"} <= upgraded.variant_annotations(DATASET)
    for gene, variant_ids in stored.genes.items():
        found = upgraded.find_variants(VariantQuery(DATASET, assembly="GRCh38", kind="gene", gene_id=gene, limit=100))
        assert {document.variant_id for document in found} == variant_ids
    carried = VariantQuery(DATASET, kind="all", biosample_ids=frozenset({"SAMPLE5"}), limit=100)
    expected = sorted(variant_id for variant_id, carriers in stored.carriers.items() if "SAMPLE5" in carriers)
    assert sorted(document.variant_id for document in upgraded.find_variants(carried)) == expected
    assert KNOWN_VARIANT in expected


@pytest.mark.parametrize("old", WITH_VARIANTS, indirect=True)
def test_old_variant_payloads_make_valid_beacon_records(old, upgraded, tmp_path, validator) -> None:
    stored, path = old
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"default_level: CONTROLLED\nrare_alleles: {{enabled: false}}\ndatasets:\n  {DATASET}: {{level: PUBLIC}}\n"
    )
    client = create_app(make_settings(path, access_file=policy), store=upgraded).test_client()
    for variant_id, _, _ in stored.variants:
        assert build_id_query(DATASET, variant_id) is not None
        document = client.get(f"/api/g_variants/{variant_id}?requestedGranularity=record").get_json()
        assert_valid(validator, document)
        (record,) = document["response"]["resultSets"][0]["results"]
        assert record["variantInternalId"] == variant_id
        carriers = sorted(item["biosampleId"] for item in record.get("caseLevelData", []))
        assert carriers == stored.carriers.get(variant_id, [])
        genes = {gene for gene, ids in stored.genes.items() if variant_id in ids}
        assert set(record.get("molecularAttributes", {}).get("geneIds", [])) == genes


@pytest.mark.parametrize("old", WITH_VARIANTS, indirect=True)
def test_an_old_store_takes_a_new_load_and_drops_the_old_variants(old, upgraded) -> None:
    stored, path = old
    populations = PopulationMap(
        (PopulationFields("ALL", allele_frequency="AF", allele_count="AC", allele_number="AN"),),
        source=GOE.source, source_reference=GOE.source_reference, version=GOE.version,
    )  # fmt: skip
    options = VcfOptions("GRCh38", population_map=populations, case_level=True)
    (report,) = load_vcf_files(upgraded, [VCF], DATASET, options, replace=True)
    assert upgraded.count_variants(VariantQuery(DATASET, kind="all")) == report.loaded >= len(stored.variants)
    assert upgraded.variant_carriers(DATASET, KNOWN_VARIANT) == KNOWN_CARRIERS
    assert upgraded.variant_frequency_source(DATASET) == GOE  # the column version 7 added
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'variants_1%'")]
    assert tables == []  # every table of the old version went, whatever its layout


def test_a_store_of_schema_8_gets_rs_id_lookups(tmp_path: Path) -> None:
    """Schema 9 indexes the rsIDs of the stored payloads: a store as version 8 left it has no rsID rows."""
    vcf = DATA_DIR / "vcf" / "test_1000G.vcf.gz"
    path = tmp_path / "v8.sqlite"
    store = SqliteStore(path)
    store.put_metadata(MetadataBatch({"datasets": [{"id": DATASET}]}))
    load_vcf_files(store, [vcf], DATASET, VcfOptions(assembly="GRCh37"))
    store.close()
    with sqlite3.connect(path) as conn:  # back to what version 8 wrote
        ((version,),) = conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchall()
        conn.execute(f"DELETE FROM variants_{version}_annotations WHERE kind = 'rs'")
        conn.execute("UPDATE variant_sets SET annotations = '' WHERE version = ?", (version,))
        conn.execute("PRAGMA user_version = 8")
    with gzip.open(vcf, "rt") as handle:
        records = [line.split("\t")[:5] for line in handle if not line.startswith("#")]
    lines = [record for record in records if "," not in record[4] and ";" not in record[2]]  # one ALT, one rsID
    upgraded = SqliteStore(path)
    try:
        assert "variantAlternativeId" in upgraded.variant_annotations(DATASET)
        for chrom, pos, rs, ref, alt in lines[::100]:
            found = upgraded.find_variants(VariantQuery(DATASET, kind="all", rs_id=rs, limit=10))
            assert [(d.chromosome, d.start + 1, d.reference_bases, d.alternate_bases) for d in found] == [
                (chrom, int(pos), ref, alt)
            ], rs
    finally:
        upgraded.close()


@pytest.mark.parametrize("old", WITH_VARIANTS, indirect=True)
def test_an_old_store_takes_a_chromosome_replaced_in_place(old, upgraded, tmp_path) -> None:
    stored, _ = old
    with gzip.open(VCF, "rt") as handle:
        lines = handle.readlines()
    chr8 = [line for line in lines if line.startswith("8\t")][:5]
    fixed = tmp_path / "chr8.vcf"
    fixed.write_text("".join(line for line in lines if line.startswith("#")) + "".join(chr8))
    (report,) = load_vcf_files(upgraded, [fixed], DATASET, VcfOptions("GRCh38"), mode="replace-contigs")
    kept = [variant for variant in stored.variants if variant[1] != "8"]
    assert 0 < report.loaded <= len(chr8)
    assert upgraded.count_variants(VariantQuery(DATASET, kind="all")) == len(kept) + report.loaded
    whole = VariantQuery(DATASET, chromosome="8", kind="range", start=0, end=200_000_000, limit=100)
    found = upgraded.find_variants(whole)
    assert {(d.start + 1, d.reference_bases) for d in found} == {(int(c[1]), c[3]) for c in map(str.split, chr8)}
    for variant_id, _, _ in kept:  # the old table's other chromosomes answer as before
        query = build_id_query(DATASET, variant_id)
        assert query is not None and [d.variant_id for d in upgraded.find_variants(query)] == [variant_id]
