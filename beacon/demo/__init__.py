"""The bundled demo data (CINECA synthetic cohort UK1; see SOURCE.md) and how to load it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from beacon.schemas import default_validator
from beacon.store.base import Store
from loaders.metadata import load_metadata

DEMO_DIR = Path(__file__).resolve().parent
DEMO_METADATA = ("datasets.json", "cohorts.json", "individuals.json", "biosamples.json")
DEMO_ACCESS_POLICY = DEMO_DIR / "access-policy.yaml"


def load_demo(store: Store) -> Iterator[str]:
    """Load or reload the demo data (records are replaced, so repeating it changes nothing)."""
    files = [DEMO_DIR / name for name in DEMO_METADATA]
    report = load_metadata(store, files, default_validator(), replace=True)
    yield from report.lines()
