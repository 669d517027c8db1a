"""The ontology model: terms with their is_a parents, resource metadata, and the hierarchy index.

`loaders.ontology.read_ontology` builds an `Ontology` from a file; a store keeps its terms and
resource; `OntologyIndex` answers hierarchy questions over them (descendants for
`includeDescendantTerms`, parents and siblings for `similarity`) without any database. The model
lives here, not in `loaders/`, so that the store and the query layer never import the loaders.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


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
