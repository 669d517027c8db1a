"""geneId, aminoacidChange and genomicAlleleShortForm queries on a VEP-annotated VCF (EGA synthetic set, GRCh38).

Expected answers are read off the VCF lines, quoted below (datasets without annotations: test_g_variants_lookups).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from beacon import create_app
from beacon.store.base import MetadataBatch
from beacon.store.sqlite import SqliteStore
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.conftest import DATA_DIR, assert_valid, make_settings

EGA_VCF = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"


@pytest.fixture(scope="module")
def annotated_client(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("annotated") / "beacon.sqlite"
    store = SqliteStore(path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "ega-test", "name": "EGA synthetic"}])
    store.put_metadata(batch)
    load_vcf_files(store, [EGA_VCF], "ega-test", VcfOptions(assembly="GRCh38"))
    policy = path.parent / "policy.yaml"
    policy.write_text("rare_alleles: {enabled: false}\ndatasets:\n  ega-test: {level: PUBLIC}\n")
    return create_app(make_settings(path, access_file=policy), store=store).test_client()


def count(client, **parameters) -> int:
    response = client.get("/api/g_variants", query_string={**parameters, "requestedGranularity": "count"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["responseSummary"]["numTotalResults"]


def test_gene_query(annotated_client):
    # 17  43045704  G  A  ...CSQ=A|missense_variant|MODERATE|BRCA1|...|ENSP00000350283.3:p.Pro1856Ser
    assert count(annotated_client, geneId="BRCA1") == 1
    # DLGAP2 intron variants at 8:876540 (two records), 876542, 876544, 876545, 876546, 876548, 987654, 987662
    assert count(annotated_client, geneId="DLGAP2") == 9
    assert count(annotated_client, geneId="NOSUCHGENE") == 0


def test_gene_with_aminoacid_change(annotated_client, validator):
    assert count(annotated_client, geneId="BRCA1", aminoacidChange="P1856S") == 1
    assert count(annotated_client, geneId="BRCA1", aminoacidChange="p.P1856S") == 1
    assert count(annotated_client, geneId="BRCA1", aminoacidChange="R534Q") == 0
    # 1  169549811  C  T  ...CSQ=T|missense_variant|MODERATE|F5|...|ENSP00000356770.3:p.Arg534Gln
    document = annotated_client.get(
        "/api/g_variants", query_string={"geneId": "F5", "aminoacidChange": "R534Q", "requestedGranularity": "record"}
    ).get_json()
    assert_valid(validator, document)
    (record,) = document["response"]["resultSets"][0]["results"]
    assert record["variantInternalId"] == "GRCh38-1-169549811-C-T"
    assert "F5" in record["molecularAttributes"]["geneIds"]


def test_gene_query_narrowed_by_position(annotated_client):
    assert count(annotated_client, referenceName="8", start=876500, end=876550, geneId="DLGAP2") == 7


def test_genomic_allele_short_form(annotated_client):
    # 17:43045704 G>A on GRCh38 is NC_000017.11:g.43045704G>A
    assert count(annotated_client, genomicAlleleShortForm="NC_000017.11:g.43045704G>A") == 1
    assert count(annotated_client, genomicAlleleShortForm="NC_000017.11:g.43045704G>C") == 0
