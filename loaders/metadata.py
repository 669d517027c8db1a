"""Metadata loader: BFF-style JSON arrays of datasets, cohorts, individuals, biosamples, analyses, runs.

Pure conversion (`to_document`) and validation, plus `load_metadata`, which validates every record of
every file before it writes anything, then writes them all in one atomic store transaction.
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
    """Read, convert and validate every record of one file; the first bad record raises MetadataError."""
    documents: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, record in enumerate(read_records(path), start=1):
        try:
            document = to_document(entity, record, dataset_id)
        except ValueError as error:
            raise MetadataError(f"{path}: record {number}: {error}") from None
        problem = validator.first_model_error(_MODEL_OF[entity], document)
        if problem is not None:
            raise MetadataError(f"{path}: record {number}: {problem}")
        if document["id"] in seen:
            raise MetadataError(f"{path}: record {number}: id: {document['id']!r} appears twice in the file")
        seen.add(document["id"])
        documents.append(document)
    return documents


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
    for path in _datasets_first(files, entity):
        file_entity = entity_for(path, entity)
        documents = convert_file(path, file_entity, validator, dataset_id)
        batch.add(file_entity, documents)
        for number, document in enumerate(documents, start=1):
            origins[(file_entity, document["id"])] = f"{path}: record {number}"
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
