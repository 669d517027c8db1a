"""Metadata loader: BFF-style JSON arrays of datasets, cohorts, individuals, biosamples, analyses, runs.

Pure conversion (`to_document`) and validation, plus `load_metadata`, which validates every record of
every file before it writes anything, then writes them all in one atomic store transaction. A load
with bad records writes nothing and names every one of them (the first MAX_REPORTED, then a count).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beacon.schemas import SchemaValidator
from beacon.store.base import METADATA_ENTITIES, DuplicateRecordError, MetadataBatch, Store, UnknownDatasetError

_MODEL_OF = {entity: entity for entity in METADATA_ENTITIES}
_ALIASES = {
    "dataset": "datasets",
    "cohort": "cohorts",
    "individual": "individuals",
    "biosample": "biosamples",
    "analysis": "analyses",
    "run": "runs",
}
MAX_REPORTED = 50
"""Bad records a failed metadata load lists one by one; the others are counted."""
# Fields a document store added to BFF exports; they are not part of the Beacon model.
_STORAGE_FIELDS = ("_id",)


class MetadataError(Exception):
    """A metadata file or record that cannot be loaded; the message names file, record and field."""


@dataclass(frozen=True)
class LoadReport:
    """What a metadata load wrote, by entity."""

    counts: dict[str, int]

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        return [f"{entity}: {count} record(s) loaded" for entity, count in sorted(self.counts.items())]


def entity_for(path: Path, entity: str | None = None) -> str:
    """The entity of a file: `--entity` if given, else its name (`individuals.json` -> individuals)."""
    name = (entity or path.name.split(".")[0]).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in METADATA_ENTITIES:
        allowed = ", ".join(METADATA_ENTITIES)
        raise MetadataError(f"{path}: cannot tell the entity from {name!r}; use --entity ({allowed})")
    return name


def read_records(path: Path) -> list[Any]:
    """The JSON array in a file; errors name the file, line and column."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise MetadataError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise MetadataError(f"{path}: not UTF-8 text: {error.reason}") from None
    except json.JSONDecodeError as error:
        raise MetadataError(f"{path}: line {error.lineno} column {error.colno}: invalid JSON: {error.msg}") from None
    if isinstance(data, dict):  # a single record is accepted as an array of one
        data = [data]
    if not isinstance(data, list):
        raise MetadataError(f"{path}: expected a JSON array of records")
    return data


def to_document(entity: str, record: Any, dataset_id: str | None = None) -> dict[str, Any]:
    """The document to store for one record: storage fields dropped, `datasetId` set for non-datasets."""
    if not isinstance(record, dict):
        raise ValueError("(root): a record must be a JSON object")
    document = {key: value for key, value in record.items() if key not in _STORAGE_FIELDS}
    if entity == "datasets":
        return document
    stated = document.get("datasetId")
    if dataset_id is not None and stated not in (None, dataset_id):
        raise ValueError(f"datasetId: record says {stated!r} but --dataset is {dataset_id!r}")
    document["datasetId"] = dataset_id or stated
    if not isinstance(document["datasetId"], str) or not document["datasetId"]:
        raise ValueError("datasetId: missing; every record must name its dataset (or use --dataset)")
    return document


def convert_file(
    path: Path, entity: str, validator: SchemaValidator, dataset_id: str | None = None
) -> list[dict[str, Any]]:
    """Read, convert and validate every record of one file; MetadataError lists every bad record."""
    problems = BadRecords()
    documents = convert_records(path, entity, validator, dataset_id, problems)
    problems.raise_if_any()
    return documents


def convert_records(
    path: Path, entity: str, validator: SchemaValidator, dataset_id: str | None, problems: BadRecords
) -> list[dict[str, Any]]:
    """The valid documents of one file; each bad record is added to `problems` (`path: record N: field: why`)."""
    documents: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, record in enumerate(read_records(path), start=1):
        try:
            document = to_document(entity, record, dataset_id)
        except ValueError as error:
            problems.add(f"{path}: record {number}: {error}")
            continue
        problem = validator.first_model_error(_MODEL_OF[entity], document)
        if problem is not None:
            problems.add(f"{path}: record {number}: {problem}")
        elif document["id"] in seen:
            problems.add(f"{path}: record {number}: id: {document['id']!r} appears twice in the file")
        else:
            seen.add(document["id"])
            documents.append(document)
    return documents


class BadRecords:
    """The bad records of a load, the first MAX_REPORTED of them kept for the message."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.count = 0

    def add(self, problem: str) -> None:
        """Count one bad record."""
        self.count += 1
        if len(self.shown) < MAX_REPORTED:
            self.shown.append(problem)

    def raise_if_any(self) -> None:
        """MetadataError with one line per bad record (and how many more) when there was any."""
        if not self.count:
            return
        lines = list(self.shown)
        if self.count > len(self.shown):
            lines.append(f"and {self.count - len(self.shown)} more bad record(s)")
        if self.count > 1:
            lines.append(f"{self.count} bad record(s): nothing was loaded")
        raise MetadataError("\n".join(lines))


def load_metadata(
    store: Store,
    files: Sequence[Path],
    validator: SchemaValidator,
    *,
    entity: str | None = None,
    dataset_id: str | None = None,
    replace: bool = False,
) -> LoadReport:
    """Validate every record of every file, then write them all in one atomic step.

    A record the store refuses (its id exists, its dataset does not) is reported by file and number.
    """
    batch = MetadataBatch()
    origins: dict[tuple[str, str], str] = {}  # (entity, id) -> "FILE: record N"
    problems = BadRecords()
    for path in _datasets_first(files, entity):
        file_entity = entity_for(path, entity)
        documents = convert_records(path, file_entity, validator, dataset_id, problems)
        batch.add(file_entity, documents)
        for number, document in enumerate(documents, start=1):
            origins[(file_entity, document["id"])] = f"{path}: record {number}"
    problems.raise_if_any()  # every file is validated before any is written
    try:
        return LoadReport(store.put_metadata(batch, replace=replace))
    except DuplicateRecordError as error:
        raise MetadataError(f"{origins[(error.entity, error.record_id)]}: id: {error}") from None
    except UnknownDatasetError as error:
        origin = origins.get((error.entity or "", error.record_id or ""))
        if origin is None:
            raise
        raise MetadataError(f"{origin}: datasetId: {error}") from None


def _datasets_first(files: Iterable[Path], entity: str | None) -> list[Path]:
    return sorted(files, key=lambda path: entity_for(path, entity) != "datasets")
