"""The informational documents: /info, /service-info, /configuration, /map, /entry_types, /filtering_terms."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from beacon.errors import API_VERSION
from beacon.query.entry_types import SPEC_VERSION, EntryType, EntryTypeRegistry
from beacon.query.requests import BeaconRequest, Limits
from beacon.store.base import FilteringTerm

SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"
BEACON_VERSION = "0.1.0"
_PRODUCTION_STATUS = {"prod": "PROD", "test": "TEST", "staging": "TEST", "dev": "DEV"}
TERMS_LIMITS = Limits(default_limit=sys.maxsize, max_limit=sys.maxsize)
"""Pages of `/filtering_terms`: every term unless `limit` asks for fewer (`limit=0`, as the BSC network
and the template UI send, is every term too). The list is metadata, so no maximum page applies."""
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class BeaconIdentity:
    """Who this beacon is: built from the settings' info file, with safe defaults."""

    id: str
    name: str
    environment: str
    base_url: str
    organization: Mapping[str, Any]
    description: str = ""
    version: str = BEACON_VERSION
    welcome_url: str | None = None
    create_date_time: str | None = None

    @classmethod
    def from_info(cls, info: Mapping[str, Any], environment: str, base_url: str) -> BeaconIdentity:
        """The identity from an info-file mapping (keys as in the spec's beaconInfoResults)."""
        organization = dict(info.get("organization") or {})
        organization.setdefault("id", "org.example")
        organization.setdefault("name", "Example organisation (set BEACON_INFO_FILE)")
        return cls(
            id=str(info.get("id", "org.example.beacon")),
            name=str(info.get("name", "Beacon v2 node")),
            environment=str(info.get("environment", environment)),
            base_url=base_url.rstrip("/"),
            organization=organization,
            description=str(info.get("description", "A GA4GH Beacon v2 discovery server.")),
            version=str(info.get("version", BEACON_VERSION)),
            welcome_url=info.get("welcomeUrl"),
            create_date_time=info.get("createDateTime"),
        )


def informational_meta(identity: BeaconIdentity, schema: str | None = None) -> dict[str, Any]:
    """The `meta` section of informational responses."""
    schemas = [{"entityType": "info", "schema": schema}] if schema else []
    return {"beaconId": identity.id, "apiVersion": API_VERSION, "returnedSchemas": schemas}


def build_info(identity: BeaconIdentity) -> dict[str, Any]:
    """The /info response."""
    response: dict[str, Any] = {
        "id": identity.id,
        "name": identity.name,
        "apiVersion": API_VERSION,
        "environment": identity.environment,
        "organization": dict(identity.organization),
        "description": identity.description,
        "version": identity.version,
    }
    if identity.welcome_url:
        response["welcomeUrl"] = identity.welcome_url
    if identity.create_date_time:
        response["createDateTime"] = identity.create_date_time
    return {"meta": informational_meta(identity, "ga4gh-beacon-info-v2.0.0"), "response": response}


def build_service_info(identity: BeaconIdentity) -> dict[str, Any]:
    """The GA4GH service-info document (not wrapped in a Beacon envelope)."""
    organization = identity.organization
    document: dict[str, Any] = {
        "id": identity.id,
        "name": identity.name,
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "description": identity.description,
        "organization": {
            "name": str(organization["name"]),
            "url": str(organization.get("welcomeUrl") or identity.welcome_url or identity.base_url),
        },
        "version": identity.version,
        "environment": identity.environment,
    }
    if organization.get("contactUrl"):
        document["contactUrl"] = organization["contactUrl"]
    return document


def entry_type_definition(entry_type: EntryType, filtered: bool = True) -> dict[str, Any]:
    """One entry type as `/configuration` and `/entry_types` describe it."""
    term_id, label = entry_type.ontology_term
    definition: dict[str, Any] = {
        "id": entry_type.id,
        "name": entry_type.name,
        "description": entry_type.description,
        "ontologyTermForThisType": {"id": term_id, "label": label},
        "partOfSpecification": SPEC_VERSION,
        "defaultSchema": entry_type.schema_reference,
        "additionallySupportedSchemas": [],
        "nonFilteredQueriesAllowed": filtered,
    }
    if entry_type.is_collection:
        definition["aCollectionOf"] = [{"id": r.child, "name": r.child} for r in entry_type.relations]
    return definition


def build_configuration(
    identity: BeaconIdentity,
    registry: EntryTypeRegistry,
    security_levels: Sequence[str],
    filters_required: Collection[str] = (),
) -> dict[str, Any]:
    """The /configuration response; `filters_required` lists the entry type paths refusing unfiltered queries."""
    response = {
        "$schema": SCHEMA_2020_12,
        "maturityAttributes": {"productionStatus": _PRODUCTION_STATUS.get(identity.environment, "DEV")},
        "securityAttributes": {"defaultGranularity": "boolean", "securityLevels": list(security_levels)},
        "entryTypes": _entry_type_definitions(registry, filters_required),
    }
    return {"meta": informational_meta(identity, "beacon-configuration-v2.0.0"), "response": response}


def _entry_type_definitions(registry: EntryTypeRegistry, filters_required: Collection[str]) -> dict[str, Any]:
    return {
        entry_type.id: entry_type_definition(entry_type, entry_type.path not in filters_required)
        for entry_type in registry.entry_types
    }


def build_entry_types(
    identity: BeaconIdentity, registry: EntryTypeRegistry, filters_required: Collection[str] = ()
) -> dict[str, Any]:
    """The /entry_types response."""
    entry_types = _entry_type_definitions(registry, filters_required)
    return {"meta": informational_meta(identity, "beacon-entry-types-v2.0.0"), "response": {"entryTypes": entry_types}}


def build_map(identity: BeaconIdentity, registry: EntryTypeRegistry) -> dict[str, Any]:
    """The /map response: every endpoint this app serves, with absolute URLs."""
    base = identity.base_url
    endpoint_sets = {}
    for entry_type in registry.entry_types:
        endpoint_set: dict[str, Any] = {
            "entryType": entry_type.id,
            "rootUrl": f"{base}/{entry_type.path}",
            "singleEntryUrl": f"{base}/{entry_type.path}/{{id}}",
            "openAPIEndpointsDefinition": f"{base}/{entry_type.path}/endpoints.json",
            "endpoints": {
                relation.name: {
                    "url": f"{base}/{entry_type.path}/{{id}}/{relation.child}",
                    "returnedEntryType": registry.by_path(relation.child).id,
                }
                for relation in registry.relations(entry_type)
            },
        }
        if entry_type.is_collection:
            endpoint_set["filteringTermsUrl"] = f"{base}/{entry_type.path}/{{id}}/filtering_terms"
        endpoint_sets[entry_type.id] = endpoint_set
    response = {"$schema": SCHEMA_2020_12, "endpointSets": endpoint_sets}
    return {"meta": informational_meta(identity, "beacon-map-v2.0.0"), "response": response}


def build_filtering_terms(
    identity: BeaconIdentity,
    terms: Iterable[FilteringTerm],
    registry: EntryTypeRegistry,
    resources: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The /filtering_terms response; scopes are reported as entry type ids."""
    scope_of = {entry_type.path: entry_type.id for entry_type in registry.entry_types}
    items = []
    for term in terms:
        item: dict[str, Any] = {"id": term.id, "type": term.type}
        if term.label:
            item["label"] = term.label
        scopes = [scope_of.get(scope, scope) for scope in term.scopes]
        if scopes:
            item["scopes"] = scopes
        items.append(item)
    response = {"filteringTerms": items, "resources": [dict(resource) for resource in resources]}
    return {"meta": informational_meta(identity, "beacon-filtering-terms-v2.0.0"), "response": response}


def page_of(items: Sequence[_Item], request: BeaconRequest) -> list[_Item]:
    """The page of `items` a request asks for (`skip` counts pages of `limit` items)."""
    return list(items[request.offset : request.offset + request.limit])
