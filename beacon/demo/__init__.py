"""The bundled demo data (CINECA synthetic cohort UK1, and a small synthetic test dataset; see SOURCE.md)."""

from __future__ import annotations

from collections.abc import Iterator

from beacon.resources import package_dir
from beacon.schemas import default_validator
from beacon.store.base import Store
from loaders.metadata import load_metadata

DEMO_DIR = package_dir(__name__)
DEMO_METADATA = ("datasets.json", "cohorts.json", "individuals.json", "biosamples.json")
DEMO_ACCESS_POLICY = DEMO_DIR / "access-policy.yaml"
DEMO_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
DEMO_VCF = DEMO_DIR / "cineca_uk1_chr22.vcf.gz"
DEMO_PANEL = DEMO_DIR / "1000g_sample_panel.tsv"
DEMO_POPULATIONS = DEMO_DIR / "populations.json"
TEST_DATASET = "synthetic-test"
"""A test dataset (`info.testDataset`): answered only to requests in testMode (e.g. a network's validator)."""
TEST_METADATA = tuple(
    f"{entity}.synthetic-test.json"
    for entity in ("datasets", "cohorts", "individuals", "biosamples", "runs", "analyses")
)
TEST_VCF = DEMO_DIR / "synthetic-test.vcf.gz"


def load_demo(store: Store) -> Iterator[str]:
    """Load or reload the demo data (everything is replaced, so repeating it changes nothing)."""
    from loaders.variant_load import load_vcf_files
    from loaders.vcf import VcfOptions, read_population_map, read_sample_panel

    files = [DEMO_DIR / name for name in (*DEMO_METADATA, *TEST_METADATA)]
    yield from load_metadata(store, files, default_validator(), replace=True).lines()
    # Frequencies computed from the genotypes, labelled as Genome of Europe labels them: Total, the sex
    # totals F/M, and the 1000 Genomes European populations by country (GBR as GB, ...) and sex (GB_F, GB_M).
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    labels = read_population_map(DEMO_POPULATIONS)
    options = VcfOptions(assembly="GRCh37", sample_panel=panel, population_map=labels, case_level=True)
    for report in load_vcf_files(store, [DEMO_VCF], DEMO_DATASET, options, replace=True):
        yield from report.lines()
    test_options = VcfOptions(assembly="GRCh37", case_level=True)
    for report in load_vcf_files(store, [TEST_VCF], TEST_DATASET, test_options, replace=True):
        yield from report.lines()
