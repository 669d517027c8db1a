"""Store contract, inspection side (`beacon datasets show`): variant counts per chromosome and type, load history.

Expected counts are worked out from the hand-written variants of the variant contract suite.
"""

from __future__ import annotations

from beacon.store.base import MetadataBatch
from tests.store.test_variant_contract import DELETION, INSERTION, MNP, OTHER_CHROMOSOME, SNV, SNV_OTHER_ALT


def with_dataset(store, dataset_id: str = "D1") -> None:
    batch = MetadataBatch()
    batch.add("datasets", [{"id": dataset_id, "name": dataset_id}])
    store.put_metadata(batch)


def load(store, documents, dataset_id: str = "D1", replace: bool = False, mode: str = "new") -> None:
    variant_load = store.begin_variant_load(dataset_id, replace=replace, mode=mode)
    variant_load.add(documents)
    variant_load.commit()


def test_statistics_count_the_current_variants_per_chromosome_and_type(any_store) -> None:
    with_dataset(any_store)
    assert any_store.variant_statistics("D1") is None  # nothing loaded yet
    load(any_store, [SNV, SNV_OTHER_ALT, DELETION, INSERTION, MNP, OTHER_CHROMOSOME])
    statistics = any_store.variant_statistics("D1")
    assert statistics.assembly == "GRCh38"
    assert statistics.count == 6
    assert list(statistics.by_chromosome.items()) == [("1", 1), ("17", 5)]  # karyotype order
    assert dict(statistics.by_type) == {"SNP": 3, "DEL": 1, "INS": 1, "MNP": 1}


def test_statistics_follow_a_replacement(any_store) -> None:
    with_dataset(any_store)
    load(any_store, [SNV, DELETION])
    load(any_store, [OTHER_CHROMOSOME], replace=True)
    statistics = any_store.variant_statistics("D1")
    assert (statistics.count, dict(statistics.by_chromosome), dict(statistics.by_type)) == (1, {"1": 1}, {"SNP": 1})


def test_statistics_count_every_chromosome_of_incremental_loads(any_store) -> None:
    """After `--add` and `--replace-contigs` the version's chromosomes live in several loads' tables."""
    with_dataset(any_store)
    load(any_store, [SNV, DELETION])
    load(any_store, [OTHER_CHROMOSOME], mode="add")
    statistics = any_store.variant_statistics("D1")
    assert (statistics.count, list(statistics.by_chromosome.items())) == (3, [("1", 1), ("17", 2)])
    load(any_store, [INSERTION, MNP, SNV_OTHER_ALT], mode="replace-contigs")  # chromosome 17 only
    statistics = any_store.variant_statistics("D1")
    assert (statistics.count, dict(statistics.by_chromosome)) == (4, {"1": 1, "17": 3})
    assert dict(statistics.by_type) == {"SNP": 2, "INS": 1, "MNP": 1}


def test_load_history_keeps_entries_in_order_per_dataset_and_goes_with_the_dataset(any_store) -> None:
    with_dataset(any_store, "D1")
    with_dataset(any_store, "D2")
    first = {"kind": "vcf", "files": [{"path": "/a/chr1.vcf.gz", "bytes": 10, "sha256": "ab" * 32}], "loaded": 5}
    second = {"kind": "vcf", "files": [{"path": "/a/chr2.vcf.gz", "bytes": 20, "sha256": "cd" * 32}], "loaded": 7}
    any_store.record_load("D1", first)
    any_store.record_load("D2", {"kind": "vcf", "loaded": 1})
    any_store.record_load("D1", second)
    assert any_store.load_history("D1") == [first, second]
    assert any_store.load_history("D2") == [{"kind": "vcf", "loaded": 1}]
    assert any_store.remove_dataset("D1")
    assert any_store.load_history("D1") == []
    assert any_store.load_history("D2") == [{"kind": "vcf", "loaded": 1}]
