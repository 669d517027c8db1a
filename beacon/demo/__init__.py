"""The bundled demo data (CINECA synthetic cohort UK1, and a small synthetic test dataset; see SOURCE.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from beacon.schemas import default_validator
from beacon.store.base import Store
from loaders.metadata import load_metadata

DEMO_DIR = Path(__file__).resolve().parent
DEMO_METADATA = ("datasets.json", "cohorts.json", "individuals.json", "biosamples.json")
DEMO_ACCESS_POLICY = DEMO_DIR / "access-policy.yaml"
DEMO_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
DEMO_VCF = DEMO_DIR / "cineca_uk1_chr22.vcf.gz"
DEMO_PANEL = DEMO_DIR / "1000g_sample_panel.tsv"
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
    from loaders.vcf import VcfOptions, read_sample_panel

    files = [DEMO_DIR / name for name in (*DEMO_METADATA, *TEST_METADATA)]
    yield from load_metadata(store, files, default_validator(), replace=True).lines()
    # Per-population frequencies (1000 Genomes populations, split by sex) computed from the genotypes.
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    options = VcfOptions(assembly="GRCh37", sample_panel=panel, case_level=True)
    for report in load_vcf_files(store, [DEMO_VCF], DEMO_DATASET, options, replace=True):
        yield from report.lines()
    test_options = VcfOptions(assembly="GRCh37", case_level=True)
    for report in load_vcf_files(store, [TEST_VCF], TEST_DATASET, test_options, replace=True):
        yield from report.lines()
