"""The official Beacon v2 JSON Schemas, loaded with `referencing` and validated with `jsonschema`.

The schema files have no `$id` and refer to each other by relative paths, by absolute URLs to the
upstream repository and by the VRS 1.3 w3id URL; `schemas/beacon-v2/SOURCE.txt` (Beacon v2.2.0) explains
the mapping implemented in `_retrieve`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

from beacon.resources import package_dir

SCHEMA_PACKAGE = "beacon_schemas"
"""`schemas/` of the source tree, installed under this name (setup.cfg `package_dir`)."""
BEACON_V2 = "beacon-v2"
"""The folder of the official Beacon v2 schema set inside the schemas package."""
_UPSTREAM_PREFIX = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
_VRS_URL = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"
_MODELS = "models/json/beacon-v2-default-model"

RESPONSE_SCHEMAS = {
    "boolean": "framework/json/responses/beaconBooleanResponse.json",
    "count": "framework/json/responses/beaconCountResponse.json",
    "record": "framework/json/responses/beaconResultsetsResponse.json",
    "resultsets": "framework/json/responses/sections/beaconResultsets.json",
    "collections": "framework/json/responses/beaconCollectionsResponse.json",
    "error": "framework/json/responses/beaconErrorResponse.json",
    "info": "framework/json/responses/beaconInfoResponse.json",
    "service-info": "framework/json/responses/ga4gh-service-info-1-0-0-schema.json",
    "configuration": "framework/json/responses/beaconConfigurationResponse.json",
    "map": "framework/json/responses/beaconMapResponse.json",
    "entry_types": "framework/json/responses/beaconEntryTypesResponse.json",
    "filtering_terms": "framework/json/responses/beaconFilteringTermsResponse.json",
    "request": "framework/json/requests/beaconRequestBody.json",
}
"""Framework schemas by the name the code uses for them."""

MODEL_ENTITIES = ("analyses", "biosamples", "cohorts", "datasets", "genomicVariations", "individuals", "runs")


def schema_path(*parts: str) -> Path:
    """A file or folder of the schemas package (the official set is `schema_path(BEACON_V2)`)."""
    return package_dir(SCHEMA_PACKAGE).joinpath(*parts)


@functools.cache
def _schema_base() -> Path:
    return schema_path(BEACON_V2)


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def read_spec_file(relative_path: str) -> Any:
    """A fresh copy of one JSON file of the official set, e.g. `framework/json/endpoints.json` (OpenAPI)."""
    return _read(_schema_base() / relative_path)


def upstream_url(relative_path: str) -> str:
    """The upstream URL the official files use for one of them (`$ref`s resolve against it)."""
    return _UPSTREAM_PREFIX + relative_path


def model_file(entity: str, name: str) -> str:
    """The relative path of one file of a model entity, e.g. `model_file("runs", "endpoints.json")`."""
    if entity not in MODEL_ENTITIES:
        raise KeyError(f"no Beacon v2 model for entity {entity!r}")
    return f"{_MODELS}/{entity}/{name}"


def _retrieve(uri: str) -> referencing.Resource:
    base = _schema_base()
    if uri.startswith(_VRS_URL):
        contents = _read(base / "external/ga4gh-vrs-1.3/schema/vrs.json")
        return referencing.jsonschema.DRAFT7.create_resource(contents)
    if uri.startswith(_UPSTREAM_PREFIX):
        path = base / uri.removeprefix(_UPSTREAM_PREFIX)
    elif uri.startswith("file://"):
        path = Path(uri.removeprefix("file://"))
    else:
        raise referencing.exceptions.NoSuchResource(ref=uri)
    if not path.exists():
        raise referencing.exceptions.NoSuchResource(ref=uri)
    return referencing.jsonschema.DRAFT202012.create_resource(_read(path))


def _preloaded_registry() -> referencing.Registry:
    # Registering every file up front matters: a lazily retrieving registry is immutable, so each
    # validation would retrieve and re-crawl the referenced files again (about 100x slower).
    base = _schema_base()
    resources = []
    for path in sorted(base.rglob("*.json")):
        if "examples" in path.parts:
            continue
        resources.append((path.resolve().as_uri(), _retrieve(path.resolve().as_uri())))
        relative = path.relative_to(base).as_posix()
        if relative.startswith(("framework/", "models/")):
            resources.append((_UPSTREAM_PREFIX + relative, resources[-1][1]))
    resources.append((_VRS_URL, _retrieve(_VRS_URL)))
    registry = referencing.Registry(retrieve=_retrieve).with_resources(resources)
    return registry.crawl()


class SchemaValidator:
    """Validates documents against the Beacon v2 framework and model schemas."""

    def __init__(self) -> None:
        self._registry: referencing.Registry = _preloaded_registry()
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    def _validator(self, relative_path: str) -> jsonschema.Draft202012Validator:
        if relative_path not in self._validators:
            uri = (_schema_base() / relative_path).resolve().as_uri()
            self._validators[relative_path] = jsonschema.Draft202012Validator({"$ref": uri}, registry=self._registry)
        return self._validators[relative_path]

    def framework_errors(self, name: str, document: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        """Errors of a document against a framework schema named in RESPONSE_SCHEMAS."""
        return self._validator(RESPONSE_SCHEMAS[name]).iter_errors(document)

    def model_errors(self, entity: str, record: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        """Errors of one record against its model's defaultSchema.json."""
        if entity not in MODEL_ENTITIES:
            raise KeyError(f"no Beacon v2 model for entity {entity!r}")
        return self._validator(f"{_MODELS}/{entity}/defaultSchema.json").iter_errors(record)

    def first_model_error(self, entity: str, record: Mapping[str, Any]) -> str | None:
        """A one-line description (`field.path: reason`) of the record's first error, or None."""
        error = next(iter(sorted(self.model_errors(entity, record), key=_error_order)), None)
        return None if error is None else describe_error(error)


def _error_order(error: jsonschema.ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), error.message)


def describe_error(error: jsonschema.ValidationError) -> str:
    """`field.path: reason` for a validation error; the path is `(root)` at the top level."""
    best = jsonschema.exceptions.best_match([error])
    path = ".".join(str(part) for part in best.absolute_path) or "(root)"
    return f"{path}: {_short(best.message)}"


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


@functools.cache
def default_validator() -> SchemaValidator:
    """A process-wide validator; it holds only immutable, lazily compiled schemas."""
    return SchemaValidator()
