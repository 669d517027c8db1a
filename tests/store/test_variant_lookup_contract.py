"""Store contract, lookups by name: rsID, gene key (symbol in any case, HGNC or Ensembl id), protein HGVS id.

The variants are written by hand; each query value is the key the query layer sends (`beacon.variant_ids`
documents them), spelt out here, so the expected variant follows from the documents alone.
"""

from __future__ import annotations

import pytest

from beacon.store.base import MetadataBatch, VariantQuery
from tests.store.test_variant_contract import variant

D = "D1"
TP53 = variant(
    7675088,
    "C",
    "T",
    rs_ids=("rs28934576",),
    gene_ids=("TP53", "ENSG00000141510", "HGNC:11998"),
    aminoacid_changes=("R175H",),
    protein_hgvs_ids=("ENSP00000269305.4:p.Arg175His",),
)
# Same change name in another gene and protein: only the protein id tells them apart.
OTHER = variant(
    7675100,
    "G",
    "A",
    rs_ids=("rs1042522", "rs999"),
    gene_ids=("Kiaa1549",),
    aminoacid_changes=("R175H",),
    protein_hgvs_ids=("ENSP00000999999.1:p.Arg175His",),
)
PLAIN = variant(7675200, "A", "G")


@pytest.fixture
def loaded(any_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": D, "name": "one"}])
    any_store.put_metadata(batch)
    load = any_store.begin_variant_load(D)
    load.add([TP53, OTHER, PLAIN])
    load.commit()
    return any_store


def found(store, **fields) -> list[str]:
    fields.setdefault("kind", "all")
    query = VariantQuery(dataset_id=D, limit=100, **fields)
    documents = store.find_variants(query)
    assert store.count_variants(query) == len(documents)
    return [document.variant_id for document in documents]


def test_rs_id_finds_the_variant_naming_it(loaded):
    assert found(loaded, rs_id="rs28934576") == [TP53.variant_id]
    assert found(loaded, rs_id="rs999") == [OTHER.variant_id]  # the second id of a record
    assert found(loaded, rs_id="rs1") == []


def test_rs_id_narrows_a_position_query(loaded):
    at = {"kind": "range", "chromosome": "17", "start": 7675000, "end": 7675300}
    assert found(loaded, **at, rs_id="rs1042522") == [OTHER.variant_id]
    assert found(loaded, **{**at, "end": 7675090}, rs_id="rs1042522") == []


def test_gene_keys_match_symbols_in_upper_case_and_gene_ids(loaded):
    for key in ("TP53", "ENSG00000141510", "HGNC:11998"):
        assert found(loaded, gene_id=key) == [TP53.variant_id], key
    # A symbol loaded in mixed case is found by its upper-case key.
    assert found(loaded, gene_id="KIAA1549") == [OTHER.variant_id]
    assert found(loaded, gene_id="ENSG00000000000") == []


def test_protein_id_tells_apart_the_same_change_of_two_proteins(loaded):
    assert found(loaded, aminoacid_change="R175H") == [TP53.variant_id, OTHER.variant_id]
    protein = "ENSP00000269305.4:p.R175H"
    assert found(loaded, aminoacid_change="R175H", protein_id=protein) == [TP53.variant_id]
    assert found(loaded, aminoacid_change="R175H", protein_id="ENSP00000269305.4:p.R175C") == []


def test_variant_annotations_name_rs_ids(loaded, any_store):
    assert {"geneId", "aminoacidChange", "variantAlternativeId"} <= loaded.variant_annotations(D)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "D2", "name": "two"}])
    any_store.put_metadata(batch)
    load = any_store.begin_variant_load("D2")
    load.add([variant(100, "A", "G")])
    load.commit()
    assert "variantAlternativeId" not in any_store.variant_annotations("D2")
