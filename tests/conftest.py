"""Shared fixtures: stores, the demo data, the app, its schema-checking test client and CLI runner, schema checks."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_ACCESS_POLICY, DEMO_DIR, load_demo
from beacon.schemas import SchemaValidator, default_validator
from beacon.settings import Settings
from beacon.store.sqlite import SqliteStore
from tests.schema_client import SchemaCheckingClient, infer_schema, response_problems

# The local OpenID provider fixtures (op, rogue_op, make_verifier, ...), started only by tests that use them;
# under CI=true, a skip for a missing prerequisite fails the run (tests/ci_skips.py).
pytest_plugins = ("tests.auth.oidc_fixtures", "tests.ci_skips")

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"
CINECA_DIR = DATA_DIR / "cineca_uk1_bff_ritools_v2"
DEMO_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
DEMO_COHORT = "CINECA_synthetic_cohort_UK1"

EGA_BFF_DIR = DATA_DIR / "ega_synthetic_testset" / "bff"
EGA_DATASET = "test"
# Runs and analyses (none ship with the demo): CINECA UK1's first 40 of each, and EGA's synthetic dataset.
EXPERIMENT_FILES = (
    CINECA_DIR / "runs.json",
    CINECA_DIR / "analyses.json",
    EGA_BFF_DIR / "datasets.json",
    EGA_BFF_DIR / "runs.json",
    EGA_BFF_DIR / "analyses.json",
)


def cineca_rows(name: str) -> list[dict[str, str]]:
    """The rows of a CINECA UK1 truth table in tests/data (`uk1.tsv`, `ontology_terms_used.tsv`)."""
    with (CINECA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="session")
def demo_individuals() -> list[dict[str, Any]]:
    """The 2504 CINECA UK1 individuals of the demo data, as JSON records."""
    with (DEMO_DIR / "individuals.json").open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session", autouse=True)
def schema_checked_clients() -> Iterator[None]:
    """Every Flask test client of the session checks each response against the Beacon v2.2.0 schemas."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "test_client_class", SchemaCheckingClient)
        yield


@pytest.fixture(scope="session")
def validator() -> SchemaValidator:
    """The official Beacon v2 schemas."""
    return default_validator()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """An empty SQLite store of its own for one test."""
    sqlite_store = SqliteStore(tmp_path / "beacon.sqlite")
    yield sqlite_store
    sqlite_store.close()


@pytest.fixture(scope="session")
def demo_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the demo data loaded once per test session (copy it before writing)."""
    path = tmp_path_factory.mktemp("demo") / "beacon.sqlite"
    sqlite_store = SqliteStore(path)
    list(load_demo(sqlite_store))
    sqlite_store.close()
    return path


@pytest.fixture
def demo_store(demo_store_file: Path, tmp_path: Path) -> Iterator[SqliteStore]:
    """A private copy of the demo store, free to modify."""
    path = tmp_path / "demo.sqlite"
    shutil.copy(demo_store_file, path)
    sqlite_store = SqliteStore(path)
    yield sqlite_store
    sqlite_store.close()


@pytest.fixture(scope="session")
def experiments_store_file(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store plus EXPERIMENT_FILES, loaded by `beacon load metadata` (copy it before writing)."""
    from click.testing import CliRunner

    from beacon.cli import main

    path = tmp_path_factory.mktemp("experiments") / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    arguments = ["load", "metadata", *map(str, EXPERIMENT_FILES), "--store", f"sqlite:///{path}"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    return path


def make_settings(store_path: Path, **overrides: Any) -> Settings:
    """Test settings for a store file, with the demo access policy unless overridden."""
    values: dict[str, Any] = {
        "store_uri": f"sqlite:///{store_path}",
        "base_url": "http://beacon.test/api",
        "access_file": DEMO_ACCESS_POLICY,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def demo_app(demo_store_file: Path) -> Flask:
    """An app serving the shared demo store read-only (one per session: it is never written to)."""
    return create_app(make_settings(demo_store_file))


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    """A test client of the demo app."""
    return demo_app.test_client()


@pytest.fixture
def runner(demo_store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A CLI runner whose BEACON_STORE_URI points at a private demo store."""
    from click.testing import CliRunner

    monkeypatch.setenv("BEACON_STORE_URI", f"sqlite:///{demo_store.path}")
    return CliRunner()


def response_errors(validator: SchemaValidator, document: Mapping[str, Any]) -> list[str]:
    """Schema errors of a response judged from the document alone: the envelope, its result sets, its records."""
    return response_problems(validator, document, infer_schema(document))


def assert_valid(validator: SchemaValidator, document: Mapping[str, Any]) -> None:
    """Fail with the schema errors of a response, if any."""
    problems = response_errors(validator, document)
    assert not problems, problems[:5]


def write_bff_files(directory: Path, files: dict[str, list[dict]]) -> list[Path]:
    """Write each entity's records as `directory/<entity>.json` (BFF arrays), in the order given."""
    paths = []
    for entity, records in files.items():
        path = directory / f"{entity}.json"
        path.write_text(json.dumps(records), encoding="utf-8")
        paths.append(path)
    return paths
