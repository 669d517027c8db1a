"""Lookups by name through the API: rsIDs (`variantAlternativeId`), gene ids in every form, protein changes in
one- and three-letter form, and per-dataset "cannot tell" (`info.cannotTell`).

Two datasets: the demo (CINECA UK1 chr22, GRCh37: rsIDs in the ID column, no CSQ/ANN, case-level data) and
`ega-test` (the EGA synthetic VCF, GRCh38: VEP CSQ with SYMBOL, Gene, HGNC_ID and HGVSp, no rsIDs, no
case-level data). Expected answers are read from the VCF text by the small parser below (not our loader),
and from the bcftools-derived table of the alleles the loader keeps (`tests/api/test_g_variants.py`).
"""

from __future__ import annotations

import gzip
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from beacon import create_app
from beacon.store.base import MetadataBatch
from beacon.store.sqlite import SqliteStore
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.api.test_g_variants import loaded_rows
from tests.conftest import DATA_DIR, DEMO_DATASET, assert_valid, make_settings

DEMO_VCF = Path(__file__).parents[2] / "beacon" / "demo" / "cineca_uk1_chr22.vcf.gz"
EGA_VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
EGA = "ega-test"
OUTSIDE_GENE = {"upstream_gene_variant", "downstream_gene_variant", "intergenic_variant", "intergenic_region"}


def vcf_records(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n").split("\t")[:8] for line in handle if not line.startswith("#")]


def csq_entries(path: Path) -> list[tuple[str, list[dict[str, str]]]]:
    """(allele `CHROM:POS REF>ALT`, its CSQ entries as field dicts) of each ALT of a VEP-annotated VCF that some
    sample carries (INFO AC > 0: the loader keeps only those); VEP names the ALT of each entry (`Allele`)."""
    with gzip.open(path, "rt") as handle:
        header = next(line for line in handle if line.startswith("##INFO=<ID=CSQ"))
    names = header.split("Format: ", 1)[1].rstrip('">\n').split("|")
    result = []
    for chrom, pos, _id, ref, alts, _qual, _filter, info in vcf_records(path):
        fields = dict(item.split("=", 1) for item in info.split(";") if "=" in item)
        entries = [dict(zip(names, entry.split("|"), strict=False)) for entry in fields.get("CSQ", "").split(",")]
        for alt, count in zip(alts.split(","), fields["AC"].split(","), strict=True):
            if int(count) > 0 and set(alt) <= set("ACGTN"):
                mine = [entry for entry in entries if entry["Allele"] == alt] if "," in alts else entries
                result.append((f"{chrom}:{pos}{ref}>{alt}", mine))
    return result


def genes_in_file() -> dict[tuple[str, str, str], set[str]]:
    """(SYMBOL, Gene, HGNC_ID) -> ids of the variants inside that gene (not only up/downstream of it)."""
    genes: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for variant_id, entries in csq_entries(EGA_VCF):
        for entry in entries:
            if not set(entry["Consequence"].split("&")) <= OUTSIDE_GENE:
                genes[(entry["SYMBOL"], entry["Gene"], entry["HGNC_ID"])].add(variant_id)
    return genes


def proteins_in_file() -> dict[str, set[str]]:
    """Protein HGVS id (VEP HGVSp) -> ids of the variants annotated with it."""
    proteins: dict[str, set[str]] = defaultdict(set)
    for variant_id, entries in csq_entries(EGA_VCF):
        for entry in entries:
            if ":p." in entry["HGVSp"] and "%3D" not in entry["HGVSp"]:  # synonymous changes are no change
                proteins[entry["HGVSp"]].add(variant_id)
    return proteins


def demo_rs_ids() -> dict[str, str]:
    """rsID -> `22:POS REF>ALT`, for the demo alleles the loader keeps (one ALT per record, one rsID each)."""
    kept = {(row["pos"], row["ref"], row["alt"]) for row in loaded_rows()}
    return {
        rs: f"22:{pos}{ref}>{alt}"
        for _chrom, pos, rs, ref, alt, *_ in vcf_records(DEMO_VCF)
        if rs.startswith("rs") and (pos, ref, alt) in kept
    }


@pytest.fixture(scope="module")
def lookup_client(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("lookups") / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    store = SqliteStore(path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": EGA, "name": "EGA synthetic"}])
    store.put_metadata(batch)
    load_vcf_files(store, [EGA_VCF], EGA, VcfOptions(assembly="GRCh38"))
    policy = path.parent / "policy.yaml"
    policy.write_text(
        f"rare_alleles: {{enabled: false}}\n"
        f"datasets:\n  {EGA}: {{level: PUBLIC}}\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    )
    return create_app(make_settings(path, access_file=policy), store=store).test_client()


def answer(client, validator, **parameters: Any) -> dict[str, Any]:
    response = client.get(
        "/api/g_variants", query_string={"requestedGranularity": "record", "limit": 100, **parameters}
    )
    document = response.get_json()
    assert response.status_code == 200, document
    assert_valid(validator, document)
    return document


def result_sets(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result_set["id"]: result_set for result_set in document["response"]["resultSets"]}


def found(client, validator, dataset: str, **parameters: Any) -> set[str]:
    document = answer(client, validator, datasets=dataset, includeResultsetResponses="ALL", **parameters)
    result_set = result_sets(document)[dataset]
    assert "cannotTell" not in result_set.get("info", {}), result_set
    return {allele(record) for record in result_set.get("results", [])}


def allele(record: dict[str, Any]) -> str:
    """`CHROM:POS REF>ALT` of a record, as the VCF line spells it (long alleles have digest ids)."""
    variation = record["variation"]
    chromosome = record["variantInternalId"].split("-")[1]
    position = variation["location"]["interval"]["start"]["value"] + 1
    return f"{chromosome}:{position}{variation['referenceBases']}>{variation['alternateBases']}"


def test_every_gene_of_the_file_is_found_by_symbol_in_any_case_hgnc_id_and_ensembl_id(lookup_client, validator):
    genes = genes_in_file()
    assert any(symbol == "BRCA2" for symbol, _, _ in genes)  # the issue's example is among them
    expected_by_name: dict[str, set[str]] = defaultdict(set)
    for (symbol, ensembl, hgnc), variant_ids in genes.items():
        for name in (symbol, ensembl, hgnc):
            if name:
                expected_by_name[name] |= variant_ids
    for name, expected in expected_by_name.items():
        for form in {name, name.lower(), name.capitalize()}:
            assert found(lookup_client, validator, EGA, geneId=form) == expected, form


def test_the_issue_examples_answer_true(lookup_client, validator):
    # 13  32340301  GT  G  ...CSQ=-|frameshift_variant|HIGH|BRCA2|ENSG00000139618|...|HGNC|HGNC:1101|...
    brca2 = {"13:32340301GT>G"}
    for form in ("brca2", "ENSG00000139618", "HGNC:1101"):
        assert found(lookup_client, validator, EGA, geneId=form) == brca2
    # 1  169549811  C  T  ...CSQ=T|missense_variant|MODERATE|F5|...|ENSP00000356770.3:p.Arg534Gln|...
    f5 = {"1:169549811C>T"}
    for form in ("p.Arg534Gln", "Arg534Gln", "R534Q", "p.R534Q", "p.(Arg534Gln)"):
        assert found(lookup_client, validator, EGA, aminoacidChange=form) == f5, form
        assert found(lookup_client, validator, EGA, geneId="f5", aminoacidChange=form) == f5, form
    assert found(lookup_client, validator, EGA, geneId="BRCA2", aminoacidChange="Arg534Gln") == set()


def test_every_protein_id_of_the_file_finds_its_variants(lookup_client, validator):
    proteins = proteins_in_file()
    assert "ENSP00000356770.3:p.Arg534Gln" in proteins
    for protein, expected in proteins.items():
        assert found(lookup_client, validator, EGA, aminoacidChange=protein) == expected, protein
    # The same change of another protein of the file is another question.
    assert found(lookup_client, validator, EGA, aminoacidChange="ENSP00000356770.3:p.Arg534Trp") == set()
    assert found(lookup_client, validator, EGA, aminoacidChange="ENSP00000275493.2:p.Arg534Gln") == set()


def test_rs_ids_find_their_variant_in_every_form_get_and_post(lookup_client, validator):
    rs_ids = demo_rs_ids()
    assert len(rs_ids) > 1000
    for rs, variant_id in list(rs_ids.items())[::500]:
        for form in (rs, rs.upper(), f"dbSNP:{rs}"):
            assert found(lookup_client, validator, DEMO_DATASET, variantAlternativeId=form) == {variant_id}, form
        body = {"query": {"requestParameters": {"variantAlternativeId": rs}, "requestedGranularity": "record"}}
        posted = lookup_client.post("/api/g_variants", json=body).get_json()
        assert_valid(validator, posted)
        records = result_sets(posted)[DEMO_DATASET]["results"]
        assert [allele(record) for record in records] == [variant_id]
        assert {"id": f"dbSNP:{rs}"}.items() <= records[0]["identifiers"]["variantAlternativeIds"][0].items()


def test_an_rs_id_narrows_a_position_query(lookup_client, validator):
    rs, variant_id = next(iter(demo_rs_ids().items()))
    position = int(variant_id.split(":")[1].rstrip("ACGT>"))
    at = {"assemblyId": "GRCh37", "referenceName": "22", "variantAlternativeId": rs}
    assert found(lookup_client, validator, DEMO_DATASET, **at, start=position - 1, end=position) == {variant_id}
    assert found(lookup_client, validator, DEMO_DATASET, **at, start=position, end=position + 10) == set()


def test_an_rs_id_no_loaded_variant_has_is_a_no(lookup_client, validator):
    in_file = {record[2] for record in vcf_records(DEMO_VCF)}
    absent = next(f"rs{n}" for n in range(1, 100) if f"rs{n}" not in in_file)
    assert found(lookup_client, validator, DEMO_DATASET, variantAlternativeId=absent) == set()


def test_a_malformed_rs_id_is_a_400(lookup_client):
    for value in ("28934576", "rs", "rs12x", "ENSG00000139618"):
        response = lookup_client.get("/api/g_variants", query_string={"variantAlternativeId": value})
        assert response.status_code == 400, value
        assert "variantAlternativeId" in response.get_json()["error"]["errorMessage"]


def test_a_gene_query_on_a_dataset_without_annotations_cannot_tell(lookup_client, validator):
    document = answer(lookup_client, validator, geneId="BRCA2")  # HIT: only hits... and those that cannot tell
    sets = result_sets(document)
    assert sets[EGA]["exists"] is True
    demo = sets[DEMO_DATASET]
    assert demo["exists"] is False and demo["info"]["cannotTell"] == "noAnnotations"
    assert demo["info"]["error"]["errorCode"] == 501
    assert "geneId" in demo["info"]["error"]["errorMessage"]
    assert demo["info"]["error"]["errorMessage"] in document["info"]["warnings"]
    assert document["responseSummary"]["exists"] is True


def test_an_rs_id_query_on_a_dataset_without_rs_ids_cannot_tell(lookup_client, validator):
    rs = next(iter(demo_rs_ids()))
    sets = result_sets(answer(lookup_client, validator, variantAlternativeId=rs))
    assert sets[DEMO_DATASET]["exists"] is True and "info" not in sets[DEMO_DATASET]
    assert sets[EGA]["info"]["cannotTell"] == "noVariantIds"


def test_filters_on_individuals_cannot_tell_on_variants_without_case_level_data(lookup_client, validator):
    document = answer(lookup_client, validator, variantType="SNP", filters="NCIT:C16576", limit=1)
    sets = result_sets(document)
    assert sets[EGA]["exists"] is False and sets[EGA]["info"]["cannotTell"] == "noCaseLevelData"
    assert sets[DEMO_DATASET]["exists"] is True  # the demo's women carry SNPs
    assert "info" not in sets[DEMO_DATASET] or "cannotTell" not in sets[DEMO_DATASET]["info"]


def test_a_gene_query_on_the_unannotated_demo_alone_is_no_longer_a_400(client, validator):
    """The demo VCF keeps only 1000 Genomes INFO fields: no CSQ/ANN, so it cannot tell (was a global 400)."""
    for parameters in ({"geneId": "BRCA1"}, {"referenceName": "22", "start": 1, "end": 9, "aminoacidChange": "V600E"}):
        response = client.get("/api/g_variants", query_string={**parameters, "requestedGranularity": "count"})
        document = response.get_json()
        assert response.status_code == 200, document
        assert_valid(validator, document)
        (result_set,) = document["response"]["resultSets"]
        assert result_set["id"] == DEMO_DATASET and result_set["info"]["cannotTell"] == "noAnnotations"
        assert document["responseSummary"] == {"exists": False, "numTotalResults": 0}


def test_carrier_questions_say_which_datasets_cannot_tell_and_why(lookup_client, validator):
    response = lookup_client.get("/api/individuals", query_string={"geneId": "brca2", "requestedGranularity": "count"})
    document = response.get_json()
    assert response.status_code == 200, document
    assert_valid(validator, document)
    sets = result_sets(document)
    # The demo has carriers but no gene annotations; ega-test has the gene but no carriers.
    assert sets[DEMO_DATASET]["info"]["cannotTell"] == "noAnnotations"
    assert sets[EGA]["info"]["cannotTell"] == "noCaseLevelData"
    assert document["responseSummary"]["exists"] is False
