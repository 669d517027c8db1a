"""Store contract, incremental loads (`LoadMode` add / replace-contigs), on every backend.

Variants are written by hand (`test_variant_contract.variant`); expected answers are worked out from
their coordinates. Each load is one switch: the previous version answers until `commit`.
"""

from __future__ import annotations

import dataclasses

import pytest

from beacon.store.base import DuplicateVariantsError, FrequencySource, MetadataBatch, StoreError, VariantQuery
from tests.store.test_variant_contract import variant

D = "D1"
SNV_17 = variant(7577121, "C", "T", gene_ids=("TP53",))
DEL_17 = variant(7577200, "GACGTAC", "G")  # start 7577199, end 7577206: span 7
SNV_17_FAR = variant(7_600_000, "A", "G")
SNV_1 = variant(1_000_000, "C", "T", chromosome="1")
SNV_1_NEXT = variant(1_030_000, "G", "A", chromosome="1")
SNV_2 = variant(5_000, "T", "C", chromosome="2")
LONG_DEL_2 = variant(10_000, "A" + "C" * 2999, "A", chromosome="2")  # start 9999, end 13000
GOE = FrequencySource("Genome of Europe", "https://genomeofeurope.eu/", "2025-01")


def load(store, documents, mode="new", source=None) -> None:
    loading = store.begin_variant_load(D, mode=mode, frequency_source=source)
    loading.add(documents)
    loading.commit()


def everything(store) -> set[str]:
    found = store.find_variants(VariantQuery(D, kind="all", limit=1000))
    assert store.count_variants(VariantQuery(D, kind="all")) == len(found)
    return {document.variant_id for document in found}


def in_range(store, chromosome: str, start: int, end: int) -> set[str]:
    q = VariantQuery(D, assembly="GRCh38", chromosome=chromosome, kind="range", start=start, end=end, limit=1000)
    found = {document.variant_id for document in store.find_variants(q)}
    assert store.count_variants(q) == len(found)  # wide ranges count through the bins (SQLite)
    return found


@pytest.fixture
def store(any_store):
    any_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    return any_store


def test_add_puts_new_chromosomes_beside_the_loaded_ones(store) -> None:
    load(store, [SNV_17, SNV_17_FAR], mode="add")  # add to nothing is a first load
    adding = store.begin_variant_load(D, mode="add")
    adding.add([SNV_1, SNV_2, LONG_DEL_2])
    assert everything(store) == {SNV_17.variant_id, SNV_17_FAR.variant_id}  # invisible until the switch
    adding.commit()
    assert everything(store) == {v.variant_id for v in (SNV_17, SNV_17_FAR, SNV_1, SNV_2, LONG_DEL_2)}
    assert in_range(store, "2", 12_000, 12_001) == {LONG_DEL_2.variant_id}  # a long one, from far before
    assert in_range(store, "17", 0, 10_000_000) == {SNV_17.variant_id, SNV_17_FAR.variant_id}
    assert in_range(store, "1", 0, 250_000_000) == {SNV_1.variant_id}
    gene = VariantQuery(D, kind="gene", gene_id="TP53", limit=10)
    assert [d.variant_id for d in store.find_variants(gene)] == [SNV_17.variant_id]
    assert store.variant_annotations(D) == {"geneId"}  # from the first load, still there


def test_add_into_a_loaded_chromosome_keeps_counts_spans_and_bins_right(store) -> None:
    load(store, [SNV_17, SNV_1])
    load(store, [DEL_17, SNV_17_FAR, SNV_1_NEXT], mode="add")
    # The deletion (span 7) is found from inside it: the chromosome's longest span grew with the add.
    assert in_range(store, "17", 7577204, 7577205) == {DEL_17.variant_id}
    assert in_range(store, "17", 7_500_000, 7_700_000) == {v.variant_id for v in (SNV_17, DEL_17, SNV_17_FAR)}
    assert in_range(store, "1", 990_000, 1_040_000) == {SNV_1.variant_id, SNV_1_NEXT.variant_id}
    assert in_range(store, "1", 1_000_000, 1_040_000) == {SNV_1_NEXT.variant_id}
    ordered = [d.variant_id for d in store.find_variants(VariantQuery(D, kind="all", limit=10))]
    assert ordered == [v.variant_id for v in (SNV_1, SNV_1_NEXT, SNV_17, DEL_17, SNV_17_FAR)]
    assert [d.variant_id for d in store.find_variants(VariantQuery(D, kind="all", skip=3, limit=1))] == [
        DEL_17.variant_id
    ]


def test_add_refuses_variants_already_present_and_changes_nothing(store) -> None:
    load(store, [SNV_17, SNV_1])
    adding = store.begin_variant_load(D, mode="add")
    adding.add([SNV_2, SNV_17, SNV_1, SNV_17_FAR])
    with pytest.raises(DuplicateVariantsError, match="already has 2 of the variants") as raised:
        adding.commit()
    adding.abort()  # the loader's reaction: harmless after a failed commit
    assert raised.value.count == 2
    assert set(raised.value.examples) == {SNV_17.variant_id, SNV_1.variant_id}
    assert everything(store) == {SNV_17.variant_id, SNV_1.variant_id}
    load(store, [SNV_2], mode="add")  # the store is usable: the refused load left nothing behind
    assert everything(store) == {SNV_17.variant_id, SNV_1.variant_id, SNV_2.variant_id}


def test_replace_contigs_replaces_the_input_chromosomes_only(store) -> None:
    load(store, [SNV_17, DEL_17, SNV_1, SNV_2])  # one load: every chromosome together
    load(store, [SNV_17_FAR], mode="replace-contigs")
    assert everything(store) == {SNV_17_FAR.variant_id, SNV_1.variant_id, SNV_2.variant_id}
    assert in_range(store, "17", 0, 10_000_000) == {SNV_17_FAR.variant_id}
    assert store.variant_annotations(D) == set()  # TP53 went with chromosome 17's old variants
    load(store, [SNV_1_NEXT, SNV_1], mode="replace-contigs")
    assert everything(store) == {SNV_17_FAR.variant_id, SNV_1.variant_id, SNV_1_NEXT.variant_id, SNV_2.variant_id}
    load(store, [SNV_2], mode="replace")  # --replace keeps its meaning
    assert everything(store) == {SNV_2.variant_id}


def test_an_aborted_add_leaves_the_previous_version(store) -> None:
    load(store, [SNV_17])
    adding = store.begin_variant_load(D, mode="add")
    adding.add([SNV_1])
    adding.abort()
    assert everything(store) == {SNV_17.variant_id}
    abandoned = store.begin_variant_load(D, mode="replace-contigs")
    abandoned.add([SNV_17_FAR])  # never committed nor aborted: like a killed process
    load(store, [SNV_2], mode="add")
    assert everything(store) == {SNV_17.variant_id, SNV_2.variant_id}


def test_one_version_keeps_one_frequency_source_and_one_assembly(store) -> None:
    load(store, [SNV_17], source=GOE)
    with pytest.raises(StoreError, match="frequencies come from Genome of Europe and this load's come from no"):
        store.begin_variant_load(D, mode="add")
    load(store, [SNV_1], mode="add", source=GOE)
    assert store.variant_frequency_source(D) == GOE
    other = dataclasses.replace(SNV_2, assembly="GRCh37", variant_id="GRCh37-2-5000-T-C")
    adding = store.begin_variant_load(D, mode="add", frequency_source=GOE)
    adding.add([other])
    with pytest.raises(StoreError, match="assembly"):
        adding.commit()
    adding.abort()
    assert everything(store) == {SNV_17.variant_id, SNV_1.variant_id}
    assert store.variant_assemblies() == {"GRCh38"}


def test_a_load_finds_a_variant_it_holds_twice(store) -> None:
    loading = store.begin_variant_load(D)
    loading.add([SNV_17, SNV_1])
    loading.add([SNV_17_FAR, SNV_1])  # a second file repeating SNV_1
    loading.duplicates(["17"])  # chromosome 17 repeats nothing
    with pytest.raises(DuplicateVariantsError, match="holds 1 variant") as raised:
        loading.duplicates(["1", "17"])
    assert raised.value.examples == (SNV_1.variant_id,)
    if raised.value.ordinals is not None:  # places in the load: 2nd and 4th variant
        assert raised.value.ordinals == (2, 4)
    loading.abort()
    assert everything(store) == set()
