"""The hub's own informational documents, built from its members' (pure: no Flask, no HTTP).

The hub serves the entry types of the default model that at least one queried member's /map offers,
at the default paths (`/individuals`, `/g_variants`...), whatever URLs the members use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from beacon.network.metadata import MemberMetadata
from beacon.query import framework
from beacon.query.entry_types import ENTRY_TYPES, EntryTypeRegistry
from beacon.query.framework import BeaconIdentity

NETWORK_DEFAULTS = {"id": "org.example.beacon-network", "name": "Beacon network"}
"""Identity of a hub whose BEACON_INFO_FILE does not say (the rest as for a beacon)."""


def hub_identity(info: Mapping[str, Any], environment: str, base_url: str) -> BeaconIdentity:
    """The hub's identity from its info file, named as a network by default."""
    return BeaconIdentity.from_info({**NETWORK_DEFAULTS, **info}, environment, base_url)


def hub_registry(members: Sequence[MemberMetadata]) -> EntryTypeRegistry:
    """The default-model entry types some member's valid /map offers."""
    offered = {entry_type for metadata in members for entry_type in metadata.endpoint_sets}
    return EntryTypeRegistry(tuple(entry_type for entry_type in ENTRY_TYPES if entry_type.id in offered))


def hub_info(identity: BeaconIdentity, members: Sequence[MemberMetadata]) -> dict[str, Any]:
    """The hub's /info: its own identity, and under `info.members` each member's /info and problems."""
    document = framework.build_info(identity)
    document["info"] = {"members": [_member_info(metadata) for metadata in members]}
    return document


def _member_info(metadata: MemberMetadata) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": metadata.member.name,
        "url": metadata.member.url,
        "reachable": metadata.answered,
        "queried": bool(metadata.endpoint_sets),
        "metadataErrors": [dict(problem) for problem in metadata.problems],
    }
    if metadata.beacon_id:
        entry["beaconId"] = metadata.beacon_id
        entry["info"] = metadata.documents["info"]["response"]
    return entry


def hub_configuration(identity: BeaconIdentity, members: Sequence[MemberMetadata]) -> dict[str, Any]:
    """The hub's /configuration: its entry types and the members' security levels together."""
    levels: set[str] = set()
    for metadata in members:
        configuration = metadata.documents.get("configuration")
        if configuration:
            levels.update(configuration["response"].get("securityAttributes", {}).get("securityLevels", []))
    ordered = sorted(levels) or ["CONTROLLED"]
    return framework.build_configuration(identity, hub_registry(members), ordered)


def merged_filtering_terms(documents: Iterable[Mapping[str, Any]]) -> tuple[list[dict], list[dict]]:
    """The union of filtering terms documents: terms by id with their scopes merged, resources by id."""
    terms: dict[str, dict[str, Any]] = {}
    resources: dict[str, dict[str, Any]] = {}
    for document in documents:
        response = document.get("response") or {}
        for term in response.get("filteringTerms") or []:
            merged = terms.setdefault(term["id"], {key: value for key, value in term.items() if key != "scopes"})
            scopes = merged.setdefault("scopes", [])
            scopes.extend(scope for scope in term.get("scopes") or [] if scope not in scopes)
        for resource in response.get("resources") or []:
            resources.setdefault(resource["id"], dict(resource))
    for term in terms.values():
        if not term["scopes"]:
            del term["scopes"]
    return list(terms.values()), list(resources.values())


def hub_filtering_terms(
    identity: BeaconIdentity, terms: Sequence[Mapping[str, Any]], resources: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A /filtering_terms document of already merged and paged terms."""
    meta = framework.informational_meta(identity, "beacon-filtering-terms-v2.0.0")
    return {"meta": meta, "response": {"filteringTerms": list(terms), "resources": list(resources)}}
