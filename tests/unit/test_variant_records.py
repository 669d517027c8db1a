"""Beacon genomicVariations records built from documents of real VCFs validate against the Beacon v2 model."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from beacon.demo import DEMO_PANEL, DEMO_VCF
from beacon.query.variant_records import (
    DEFAULT_FREQUENCY_SOURCE,
    FrequencySource,
    build_record,
    case_level_data,
    population_frequency,
)
from beacon.schemas import default_validator
from beacon.store.base import PopulationFrequency, VariantDocument
from loaders.vcf import LoadReport, VcfAllele, VcfOptions, read_documents, read_sample_panel, to_documents

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"


# Each file is read as its header's assembly; multi-contig.vcf.gz (the VCF spec's example) is NCBI36, which the
# beacon does not serve, so its header is overridden (these tests are about the shape of records).
ASSEMBLY_OF = {"synthetic_usecases_4beacon_testingV4.vcf.gz": {"assembly": "GRCh38"},
               "multi-contig.vcf.gz": {"assembly": "GRCh37", "ignore_header_assembly": True}}  # fmt: skip


def documents(name: str | Path, limit: int | None = None, **options) -> list[VariantDocument]:
    assembly = ASSEMBLY_OF.get(str(name), {"assembly": "GRCh37"})
    read = read_documents(DATA / name, VcfOptions(**assembly, **options), LoadReport())
    return list(islice(read, limit))


def assert_valid(records: list[dict]) -> None:
    validator = default_validator()
    for record in records:
        assert validator.first_model_error("genomicVariations", record) is None, record["variantInternalId"]


@pytest.mark.parametrize(
    ("name", "limit", "options"),
    [
        ("synthetic_usecases_4beacon_testingV4.vcf.gz", None, {"case_level": True}),
        ("test_trio.vcf.gz", None, {"case_level": True}),
        ("exac.vcf.gz", None, {}),
        ("multi-contig.vcf.gz", None, {"case_level": True}),
        ("test_gt_bases.vcf.gz", None, {}),
        ("test_1000G.vcf.gz", 400, {}),
        (DEMO_VCF, 400, {"keep_zero_count": True}),
    ],
)
def test_records_of_real_vcfs_validate(name: str | Path, limit: int | None, options: dict) -> None:
    found = documents(name, limit, **options)
    assert found
    assert_valid([build_record(document) for document in found])


def test_records_with_panel_frequencies_and_case_level_data_validate() -> None:
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    found = documents("test_1000G.vcf.gz", 25, sample_panel=panel, case_level=True)
    records = [build_record(document) for document in found]
    assert_valid(records)
    assert all(len(record["frequencyInPopulations"][0]["frequencies"]) > 50 for record in records)


def test_a_snp_record() -> None:
    # 22:16050075 rs587697622 A>G, AC=1;AF=0.000199681;AN=5008;EUR_AF=0;SAS_AF=0.001 (GRCh37)
    document = documents(DEMO_VCF, 1)[0]
    record = build_record(
        document, frequency_source=FrequencySource("1000 Genomes", "https://www.internationalgenome.org/", "phase 3")
    )
    assert record["variantInternalId"] == "GRCh37-22-16050075-A-G"
    assert record["variation"] == {
        "variantType": "SNP",
        "referenceBases": "A",
        "alternateBases": "G",
        "location": {
            "type": "SequenceLocation",
            "sequence_id": "refseq:NC_000022.10",
            "interval": {
                "type": "SequenceInterval",
                "start": {"type": "Number", "value": 16050074},
                "end": {"type": "Number", "value": 16050075},
            },
        },
    }
    assert record["identifiers"] == {
        "genomicHGVSId": "NC_000022.10:g.16050075A>G",
        "variantAlternativeIds": [
            {
                "id": "dbSNP:rs587697622",
                "reference": "https://www.ncbi.nlm.nih.gov/snp/rs587697622",
                "notes": "dbSNP id",
            }
        ],
    }
    (frequencies,) = record["frequencyInPopulations"]
    assert (frequencies["source"], frequencies["sourceReference"], frequencies["version"]) == (
        "1000 Genomes",
        "https://www.internationalgenome.org/",
        "phase 3",
    )
    by_population = {item["population"]: item for item in frequencies["frequencies"]}
    assert by_population["Total"] == {
        "population": "Total",
        "alleleFrequency": 0.0001996805,
        "alleleCount": 1,
        "alleleNumber": 5008,
    }
    assert by_population["SAS"] == {"population": "SAS", "alleleFrequency": 0.001}  # float32 0.001 printed as given
    assert "caseLevelData" not in record and "molecularAttributes" not in record


def test_an_indel_record_names_the_trimmed_allele_in_hgvs() -> None:
    allele = VcfAllele("17", 41245466, "GA", "G")
    (document,) = to_documents([allele], "GRCh38")
    record = build_record(document)
    assert record["variation"]["variantType"] == "DEL"
    assert (record["variation"]["referenceBases"], record["variation"]["alternateBases"]) == ("GA", "G")
    interval = record["variation"]["location"]["interval"]
    assert (interval["start"]["value"], interval["end"]["value"]) == (41245465, 41245467)
    assert record["identifiers"]["genomicHGVSId"] == "NC_000017.11:g.41245467del"
    assert "frequencyInPopulations" not in record  # no frequencies loaded, so none invented
    assert_valid([record])


def test_annotations_become_molecular_attributes_and_protein_ids() -> None:
    found = {d.start + 1: d for d in documents("synthetic_usecases_4beacon_testingV4.vcf.gz")}
    # VEP CSQ: T|missense_variant|MODERATE|F5|ENSG00000198734|...|ENSP00000356770.3:p.Arg534Gln|...|HGNC:3542|...
    record = build_record(found[169549811])
    assert record["molecularAttributes"] == {
        "geneIds": ["F5", "ENSG00000198734", "HGNC:3542"],  # the symbol, then its ids (the spec's own example)
        "aminoacidChanges": ["R534Q"],
    }
    assert "ENSP00000356770.3:p.Arg534Gln" in record["identifiers"]["proteinHGVSIds"]
    assert_valid([record])


def test_counts_the_input_lacks_are_omitted_not_zero() -> None:
    item = population_frequency(PopulationFrequency("FI_F", 0.25, 2, 8, None, 2, None))
    assert item == {
        "population": "FI_F",
        "alleleFrequency": 0.25,
        "alleleCount": 2,
        "alleleNumber": 8,
        "alleleCountHeterozygous": 2,
    }
    zero = population_frequency(PopulationFrequency("FI_M", 0.0, 0, 8, 0, 0, 0))
    assert zero["alleleCountHomozygous"] == 0 and zero["alleleCountHemizygous"] == 0


def test_case_level_data_with_zygosity_terms() -> None:
    carriers = (("HG00096", "heterozygous"), ("HG00097", "homozygous"), ("HG00099", "hemizygous"), ("HG00100", None))
    assert case_level_data(carriers) == [
        {"biosampleId": "HG00096", "zygosity": {"id": "GENO:0000135", "label": "heterozygous"}},
        {"biosampleId": "HG00097", "zygosity": {"id": "GENO:0000136", "label": "homozygous"}},
        {"biosampleId": "HG00099", "zygosity": {"id": "GENO:0000134", "label": "hemizygous"}},
        {"biosampleId": "HG00100"},
    ]
    document = documents("synthetic_usecases_4beacon_testingV4.vcf.gz", 1, case_level=True)[0]
    assert len(build_record(document)["caseLevelData"]) == 17  # 1:1234567: 17 of 20 samples carry T
    assert "caseLevelData" not in build_record(document, include_case_level=False)


def test_the_default_frequency_source_satisfies_the_schema() -> None:
    document = documents("exac.vcf.gz", 1)[0]
    item = build_record(document)["frequencyInPopulations"][0]
    assert item["source"] == DEFAULT_FREQUENCY_SOURCE.source
    assert item["sourceReference"] == DEFAULT_FREQUENCY_SOURCE.source_reference
    assert "version" not in item
