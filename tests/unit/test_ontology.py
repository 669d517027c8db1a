"""Ontology loading (pronto) and the in-memory is_a index, on a real HPO excerpt (tests/data/ontology)."""

from __future__ import annotations

from pathlib import Path

import pytest

from beacon.ontology import Ontology, OntologyIndex, OntologyTerm, children_map, descendants
from loaders.ontology import OntologyError, read_ontology

DATA = Path(__file__).resolve().parent.parent / "data" / "ontology"
OBO = DATA / "hp_seizure_excerpt.obo"
OWL = DATA / "hp_seizure_excerpt.owl"

# Copied by hand from the excerpt (see tests/data/ontology/SOURCE.md).
SEIZURE = "HP:0001250"
SEIZURE_DESCENDANTS = {
    "HP:0002197",  # Generalized-onset seizure
    "HP:0007359",  # Focal-onset seizure
    "HP:0002349",  # Focal aware seizure
    "HP:0002384",  # Focal impaired awareness seizure
    "HP:0011145",  # Symptomatic seizures
    "HP:0002199",  # Hypocalcemic seizures
    "HP:0011146",  # Dialeptic seizure
}


@pytest.fixture(scope="module")
def hpo() -> Ontology:
    return read_ontology(OBO)


@pytest.fixture(scope="module")
def index(hpo: Ontology) -> OntologyIndex:
    return OntologyIndex(hpo.terms)


def test_obo_terms_labels_and_parents(hpo: Ontology) -> None:
    terms = {term.id: term for term in hpo.terms}
    assert len(terms) == 16
    assert terms[SEIZURE] == OntologyTerm(SEIZURE, "Seizure", ("HP:0012638",))
    assert terms["HP:0002384"].parents == ("HP:0007359", "HP:0011146")
    assert terms["HP:0000001"] == OntologyTerm("HP:0000001", "All", ())


def test_obo_resource_metadata_comes_from_the_header(hpo: Ontology) -> None:
    assert hpo.resource.to_json() == {
        "id": "hp",
        "name": "Human Phenotype Ontology",
        "url": "https://purl.obolibrary.org/obo/hp.owl",
        "version": "2026-09-01",
        "nameSpacePrefix": "HP",
        "iriPrefix": "https://purl.obolibrary.org/obo/HP_",
    }


def test_owl_loads_into_the_same_terms_and_resource(hpo: Ontology) -> None:
    owl = read_ontology(OWL)
    assert sorted(owl.terms, key=lambda term: term.id) == sorted(hpo.terms, key=lambda term: term.id)
    assert owl.resource == hpo.resource


def test_descendants(index: OntologyIndex) -> None:
    assert index.descendants(SEIZURE) == SEIZURE_DESCENDANTS
    assert index.descendants("HP:0007359") == {"HP:0002349", "HP:0002384"}
    assert index.descendants("HP:0002384") == frozenset()
    assert len(index.descendants("HP:0000001")) == 15


def test_parents_children_ancestors_siblings(index: OntologyIndex) -> None:
    assert index.parents("HP:0002384") == {"HP:0007359", "HP:0011146"}
    assert index.children(SEIZURE) == {"HP:0002197", "HP:0007359", "HP:0011145", "HP:0011146"}
    assert index.ancestors(SEIZURE) == {"HP:0012638", "HP:0000707", "HP:0000118", "HP:0000001"}
    assert index.siblings(SEIZURE) == {"HP:0001298", "HP:0002315"}
    # Siblings through either parent of a term with two parents.
    assert index.siblings("HP:0002384") == {"HP:0002349"}
    assert index.siblings("HP:0000001") == frozenset()


def test_knows_label_and_covers(index: OntologyIndex) -> None:
    assert index.knows(SEIZURE)
    assert index.label("HP:0002315") == "Headache"
    assert not index.knows("HP:9999999")
    assert index.label("HP:9999999") is None
    assert index.covers("HP:9999999")  # the HP ontology is loaded, the term is not in it
    assert not index.covers("NCIT:C16576")
    assert index.parents("NCIT:C16576") == frozenset()
    assert len(index) == 16


def test_index_over_several_ontologies() -> None:
    other = Ontology(resource=read_ontology(OBO).resource, terms=(OntologyTerm("NCIT:C28421", "Sex", ()),))
    merged = OntologyIndex.from_ontologies([read_ontology(OBO), other])
    assert merged.knows("NCIT:C28421") and merged.knows(SEIZURE)
    assert merged.covers("NCIT:C16576")


def test_descendants_function_is_safe_on_cycles() -> None:
    terms = [OntologyTerm("X:1", "a", ("X:3",)), OntologyTerm("X:2", "b", ("X:1",)), OntologyTerm("X:3", "c", ("X:2",))]
    children = children_map(terms)
    assert children == {"X:3": ("X:1",), "X:1": ("X:2",), "X:2": ("X:3",)}
    assert descendants(children, "X:1") == {"X:2", "X:3"}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="no such ontology file"):
        read_ontology(tmp_path / "absent.obo")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("format-version: 1.2\nontology: x\n\n[Term]\nid: X:1\nname: one\nis_a X:2\n", "SyntaxError"),
        ("format-version: 1.2\nontology: x\n\n[Term]\nid: X:1\nname: one\nis_a: Y:9 ! undefined\n", "KeyError"),
        ("this is not an ontology", "ValueError"),
    ],
)
def test_unreadable_files_raise_ontology_error_naming_the_file(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "broken.obo"
    path.write_text(text)
    with pytest.raises(OntologyError, match=f"broken.obo: cannot read ontology \\({reason}"):
        read_ontology(path)


def test_obsolete_terms_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x.obo"
    path.write_text(
        "format-version: 1.2\nontology: x\n\n[Term]\nid: X:1\nname: kept\n\n"
        "[Term]\nid: X:2\nname: obsolete gone\nis_obsolete: true\n"
    )
    ontology = read_ontology(path)
    assert [term.id for term in ontology.terms] == ["X:1"]
    assert ontology.resource.to_json() == {
        "id": "x",
        "name": "X",
        "url": "https://purl.obolibrary.org/obo/x.owl",
        "nameSpacePrefix": "X",
        "iriPrefix": "https://purl.obolibrary.org/obo/X_",
    }


def test_file_without_terms_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.obo"
    path.write_text("format-version: 1.2\nontology: empty\n")
    with pytest.raises(OntologyError, match="defines no ontology terms"):
        read_ontology(path)
