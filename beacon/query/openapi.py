"""The OpenAPI documents `/map` links to (`openAPIEndpointsDefinition`): the spec's `endpoints.json` files.

Each is the official file of the schema package, made to describe this beacon: `servers` names our base
URL, `paths` keeps the endpoints this beacon serves (the same registry builds `/map` and the routes), and
relative `$ref`s point at the upstream files they name, so a client can resolve them from our copy.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin, urlsplit

from beacon.query.entry_types import EntryType, EntryTypeRegistry
from beacon.schemas import model_file, read_spec_file, upstream_url

FRAMEWORK_ENDPOINTS = "framework/json/endpoints.json"
FRAMEWORK_PATHS = ("/", "/info", "/service-info", "/configuration", "/map", "/entry_types", "/filtering_terms")
"""The informational endpoints (beacon.api.framework), as the framework's OpenAPI file names them."""
ENDPOINTS_FILE = "endpoints.json"


def served_paths(registry: EntryTypeRegistry) -> frozenset[str]:
    """Every path this beacon serves, relative to its base URL, in OpenAPI form (`/runs/{id}/analyses`)."""
    paths = set(FRAMEWORK_PATHS)
    for entry_type in registry.entry_types:
        root = f"/{entry_type.path}"
        paths.update((root, f"{root}/{{id}}"))
        paths.update(f"{root}/{{id}}/{relation.child}" for relation in registry.relations(entry_type))
        if entry_type.is_collection:
            paths.add(f"{root}/{{id}}/filtering_terms")
    return frozenset(paths)


def endpoints_document(entry_type: EntryType | None, base_url: str, served: Collection[str]) -> dict[str, Any]:
    """The framework's OpenAPI document (`entry_type` None) or an entry type's, for this beacon."""
    relative = FRAMEWORK_ENDPOINTS if entry_type is None else model_file(entry_type.model, ENDPOINTS_FILE)
    document = read_spec_file(relative)
    document["servers"] = [{"url": base_url}]
    document["paths"] = {path: item for path, item in document.get("paths", {}).items() if path in served}
    return _absolute_refs(document, upstream_url(relative))


def _absolute_refs(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        return {
            key: _absolute_ref(value, base) if key == "$ref" else _absolute_refs(value, base)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(item, base) for item in node]
    return node


def _absolute_ref(ref: Any, base: str) -> Any:
    # Local (`#/components/...`) and absolute references stay; file references resolve against the upstream file.
    if not isinstance(ref, str) or ref.startswith("#") or urlsplit(ref).scheme:
        return ref
    return urljoin(base, ref)
