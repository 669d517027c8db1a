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
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pronto

from beacon.ontology import Ontology, OntologyIndex, OntologyResource, OntologyTerm

OBO_PURL = "https://purl.obolibrary.org/obo/"
"""Base of OBO Foundry PURLs, used for `url` and `iriPrefix` when the file names an OBO ontology id."""

_TITLE_PROPERTIES = ("dc:title", "http://purl.org/dc/elements/1.1/title", "dcterms:title", "terms:title")
_VERSION_PROPERTIES = ("owl:versionInfo", "http://www.w3.org/2002/07/owl#versionInfo")
_ONTOLOGY_ID = re.compile(r"(?:.*/)?([^/]+?)(?:\.(?:obo|owl|json))?$")


class OntologyError(Exception):
    """An ontology file cannot be read; the message names the file."""


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


__all__ = ["Ontology", "OntologyError", "OntologyIndex", "OntologyResource", "OntologyTerm", "read_ontology"]
