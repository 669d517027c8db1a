"""Ontologies (OBO or OWL, read with pronto) as plain terms, is_a edges and resource metadata.

`read_ontology(path)` turns a file into an immutable `Ontology`: its terms (id, label, is_a
parents) and the `OntologyResource` that `/filtering_terms` lists under `resources`. A store keeps the
terms; `OntologyIndex` answers hierarchy questions over them (descendants for
`includeDescendantTerms`, parents and siblings for `similarity`) without any database.

Only `is_a` (OWL `rdfs:subClassOf` to a named class) builds the hierarchy; other relations
(`part_of`...) are ignored, and obsolete terms are dropped. Imports are not followed, so a file must
be self-contained (the OBO releases of HP, MONDO, NCIT... are).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pronto

OBO_PURL = "https://purl.obolibrary.org/obo/"
"""Base of OBO Foundry PURLs, used for `url` and `iriPrefix` when the file names an OBO ontology id."""

_TITLE_PROPERTIES = ("dc:title", "http://purl.org/dc/elements/1.1/title", "dcterms:title", "terms:title")
_VERSION_PROPERTIES = ("owl:versionInfo", "http://www.w3.org/2002/07/owl#versionInfo")
_ONTOLOGY_ID = re.compile(r"(?:.*/)?([^/]+?)(?:\.(?:obo|owl|json))?$")


class OntologyError(Exception):
    """An ontology file cannot be read; the message names the file."""


@dataclass(frozen=True)
class OntologyTerm:
    """One ontology class: CURIE, preferred label and the CURIEs of its direct is_a parents."""

    id: str
    label: str | None = None
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class OntologyResource:
    """An ontology as `/filtering_terms` lists it under `resources` (Beacon `Resource`)."""

    id: str
    name: str
    name_space_prefix: str
    url: str | None = None
    version: str | None = None
    iri_prefix: str | None = None

    def to_json(self) -> dict[str, str]:
        """The Beacon `Resource` object (camelCase keys, unknown fields left out)."""
        fields = {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "version": self.version,
            "nameSpacePrefix": self.name_space_prefix,
            "iriPrefix": self.iri_prefix,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> OntologyResource:
        """The resource from its `to_json` object (as a store keeps it)."""
        return cls(
            id=data["id"],
            name=data.get("name", data["id"]),
            name_space_prefix=data.get("nameSpacePrefix", ""),
            url=data.get("url"),
            version=data.get("version"),
            iri_prefix=data.get("iriPrefix"),
        )


@dataclass(frozen=True)
class Ontology:
    """The terms of one ontology file and its resource metadata."""

    resource: OntologyResource
    terms: tuple[OntologyTerm, ...]


def read_ontology(path: str | Path) -> Ontology:
    """Read an OBO or OWL (RDF/XML) file; raises OntologyError if it cannot be parsed."""
    path = Path(path)
    if not path.is_file():
        raise OntologyError(f"{path}: no such ontology file")
    try:
        parsed = pronto.Ontology(str(path), import_depth=0)
        terms = tuple(_to_term(term) for term in parsed.terms() if not term.obsolete)
    except (ValueError, SyntaxError, KeyError, OSError) as error:
        # pronto raises KeyError for an is_a to a term the file does not define.
        raise OntologyError(f"{path}: cannot read ontology ({type(error).__name__}: {error})") from None
    if not terms:
        raise OntologyError(f"{path}: the file defines no ontology terms")
    return Ontology(resource=_resource(parsed.metadata, terms, path), terms=terms)


def _to_term(term: pronto.Term) -> OntologyTerm:
    parents = sorted(parent.id for parent in term.superclasses(distance=1, with_self=False))
    return OntologyTerm(id=term.id, label=term.name or None, parents=tuple(parents))


def _resource(metadata: pronto.Metadata, terms: tuple[OntologyTerm, ...], path: Path) -> OntologyResource:
    ontology_id = _ontology_id(metadata.ontology, path)
    prefix = _main_prefix(terms)
    annotations = _annotations(metadata)
    obo_style = prefix.lower() == ontology_id.lower()
    return OntologyResource(
        id=ontology_id,
        name=_first(annotations, _TITLE_PROPERTIES) or prefix,
        name_space_prefix=prefix,
        url=f"{OBO_PURL}{ontology_id}.owl" if obo_style else None,
        version=_first(annotations, _VERSION_PROPERTIES) or metadata.data_version or None,
        iri_prefix=f"{OBO_PURL}{prefix}_" if obo_style else None,
    )


def _ontology_id(declared: str | None, path: Path) -> str:
    # OBO headers say `ontology: hp` or `ontology: hp.obo`; pronto gives OWL ontology IRIs as ids.
    text = declared or path.name.split(".")[0]
    match = _ONTOLOGY_ID.match(text.strip())
    return (match.group(1) if match else text).lower()


def _main_prefix(terms: Iterable[OntologyTerm]) -> str:
    prefixes = Counter(term.id.split(":", 1)[0] for term in terms if ":" in term.id)
    return prefixes.most_common(1)[0][0] if prefixes else ""


def _annotations(metadata: pronto.Metadata) -> dict[str, str]:
    values: dict[str, str] = {}
    for annotation in metadata.annotations:
        text = getattr(annotation, "literal", None) or getattr(annotation, "resource", None)
        if isinstance(text, str):
            values.setdefault(annotation.property, text)
    return values


def _first(values: Mapping[str, str], keys: Iterable[str]) -> str | None:
    return next((values[key] for key in keys if values.get(key)), None)


def descendants(children: Mapping[str, Collection[str]], term_id: str) -> frozenset[str]:
    """Every term below `term_id` (not itself) in a parent -> children map; safe on cycles."""
    found: set[str] = set()
    queue = deque(children.get(term_id, ()))
    while queue:
        child = queue.popleft()
        if child not in found:
            found.add(child)
            queue.extend(children.get(child, ()))
    found.discard(term_id)
    return frozenset(found)


def children_map(terms: Iterable[OntologyTerm]) -> dict[str, tuple[str, ...]]:
    """Parent id -> ids of its direct is_a children (the reverse of `OntologyTerm.parents`)."""
    children: dict[str, list[str]] = {}
    for term in terms:
        for parent in term.parents:
            children.setdefault(parent, []).append(term.id)
    return {parent: tuple(sorted(kids)) for parent, kids in children.items()}


class OntologyIndex:
    """In-memory is_a hierarchy over the terms of any number of ontologies (immutable once built)."""

    def __init__(self, terms: Iterable[OntologyTerm] = ()) -> None:
        by_id = {term.id: term for term in terms}
        self._terms: Mapping[str, OntologyTerm] = MappingProxyType(by_id)
        self._children: Mapping[str, tuple[str, ...]] = MappingProxyType(children_map(by_id.values()))
        self._prefixes = frozenset(_prefix(term_id) for term_id in by_id)

    @classmethod
    def from_ontologies(cls, ontologies: Iterable[Ontology]) -> OntologyIndex:
        """One index over the terms of several ontologies."""
        return cls(term for ontology in ontologies for term in ontology.terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __repr__(self) -> str:
        return f"OntologyIndex({len(self._terms)} terms, prefixes={sorted(self._prefixes)})"

    def knows(self, term_id: str) -> bool:
        """Whether a loaded ontology defines this term."""
        return term_id in self._terms

    def covers(self, term_id: str) -> bool:
        """Whether an ontology for the term's CURIE prefix is loaded (known term or not)."""
        return _prefix(term_id) in self._prefixes

    def label(self, term_id: str) -> str | None:
        """The preferred label of a term, None if unknown."""
        term = self._terms.get(term_id)
        return term.label if term else None

    def parents(self, term_id: str) -> frozenset[str]:
        """Direct is_a parents."""
        term = self._terms.get(term_id)
        return frozenset(term.parents) if term else frozenset()

    def children(self, term_id: str) -> frozenset[str]:
        """Direct is_a children."""
        return frozenset(self._children.get(term_id, ()))

    def descendants(self, term_id: str) -> frozenset[str]:
        """All terms below `term_id`, without itself."""
        return descendants(self._children, term_id)

    def ancestors(self, term_id: str) -> frozenset[str]:
        """All terms above `term_id`, without itself."""
        found: set[str] = set()
        queue = deque(self.parents(term_id))
        while queue:
            parent = queue.popleft()
            if parent not in found:
                found.add(parent)
                queue.extend(self.parents(parent))
        found.discard(term_id)
        return frozenset(found)

    def siblings(self, term_id: str) -> frozenset[str]:
        """Other children of the term's parents."""
        kids = (child for parent in self.parents(term_id) for child in self._children.get(parent, ()))
        return frozenset(kids) - {term_id}


def _prefix(term_id: str) -> str:
    return term_id.split(":", 1)[0] if ":" in term_id else ""
