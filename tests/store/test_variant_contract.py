"""Store contract, variant side: sequence, range (overlap), bracket, gene and id queries; atomic loads.

The variants are written by hand, so every expected answer here is worked out from the coordinates
(0-based half-open, VCF-style padded indels), not by the code under test.
"""

from __future__ import annotations

import dataclasses

import pytest

from beacon.store.base import (
    FrequencySource,
    MetadataBatch,
    PopulationFrequency,
    StoreError,
    UnknownDatasetError,
    VariantDocument,
    VariantQuery,
    build_id_query,
)

D = "D1"


def variant(position: int, ref: str, alt: str, chromosome: str = "17", **extra) -> VariantDocument:
    """A document as the VCF loader would build it for `chromosome:position ref>alt` (VCF POS)."""
    from beacon.genome import classify_variant, trim_alleles, variant_length

    start = position - 1
    norm_start, norm_ref, norm_alt = trim_alleles(start, ref, alt)
    return VariantDocument(
        variant_id=f"GRCh38-{chromosome}-{position}-{ref}-{alt}",
        assembly="GRCh38",
        chromosome=chromosome,
        start=start,
        end=start + len(ref),
        reference_bases=ref,
        alternate_bases=alt,
        norm_start=norm_start,
        norm_ref=norm_ref,
        norm_alt=norm_alt,
        variant_type=classify_variant(norm_ref, norm_alt),
        length=variant_length(norm_ref, norm_alt),
        **extra,
    )


SNV = variant(7577121, "C", "T", gene_ids=("TP53",), frequencies=(PopulationFrequency("Total", 0.25, 1, 4),))
SNV_OTHER_ALT = variant(7577121, "C", "A")
DELETION = variant(7577200, "GA", "G")  # start 7577199, end 7577201, trimmed: 7577200 A>""
INSERTION = variant(7577300, "T", "TAC")  # trimmed: 7577300 ""> AC
LONG_DELETION = variant(7570000, "A" + "C" * 2999, "A")  # start 7569999, end 7572999 (spans a range boundary)
MNP = variant(7577400, "AC", "GT")
OTHER_CHROMOSOME = variant(7577121, "C", "T", chromosome="1")
ALL = [SNV, SNV_OTHER_ALT, DELETION, INSERTION, LONG_DELETION, MNP, OTHER_CHROMOSOME]


def query(**fields) -> VariantQuery:
    fields.setdefault("limit", 100)
    return VariantQuery(dataset_id=D, assembly="GRCh38", chromosome="17", **fields)


def ids(store, q: VariantQuery) -> set[str]:
    found = store.find_variants(q)
    assert store.count_variants(q) == len(found)
    return {document.variant_id for document in found}


@pytest.fixture
def loaded(any_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": D, "name": "one"}, {"id": "D2", "name": "two"}])
    any_store.put_metadata(batch)
    load = any_store.begin_variant_load(D)
    load.add(ALL[:3])
    load.add(ALL[3:])
    load.commit()
    return any_store


def by_id(variant_id: str) -> VariantQuery:
    located = build_id_query(D, variant_id)
    assert located is not None
    return located


def test_documents_round_trip(loaded):
    (found,) = loaded.find_variants(by_id(SNV.variant_id))
    assert found == SNV


def test_id_query_finds_each_variant_and_only_it(loaded):
    for document in ALL:  # SNV and OTHER_CHROMOSOME differ only by chromosome
        assert loaded.find_variants(by_id(document.variant_id)) == [document]
        assert loaded.count_variants(by_id(document.variant_id)) == 1
    assert ids(loaded, by_id("GRCh38-17-7577121-C-G")) == set()  # in our format, not stored


def test_id_query_finds_a_long_allele_by_its_digest_id(any_store):
    from loaders.vcf import to_document

    long_insertion = to_document("GRCh38", "17", 7578000, "A", "A" + "CGT" * 30)
    assert long_insertion.variant_id.count("-") == 5  # GRCh38-17-7578000-1-91-<digest>
    any_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    load = any_store.begin_variant_load(D)
    load.add([long_insertion, SNV])
    load.commit()
    assert any_store.find_variants(by_id(long_insertion.variant_id)) == [long_insertion]


def test_id_query_looks_only_at_the_position_it_names(loaded):
    # A stored id at another position is not found: the stores look the id up by position.
    located = by_id(SNV.variant_id)
    assert ids(loaded, located) == {SNV.variant_id}
    assert ids(loaded, dataclasses.replace(located, start=SNV.start + 1)) == set()
    assert ids(loaded, dataclasses.replace(located, chromosome="1")) == set()


def test_id_query_without_a_position_is_refused(loaded):
    # Looking an id up without its position would read every variant of the dataset.
    with pytest.raises((TypeError, ValueError)):
        loaded.find_variants(query(kind="id", variant_id=SNV.variant_id))


def test_sequence_query_matches_the_exact_allele(loaded):
    snv = query(kind="sequence", start=7577120, norm_start=7577120, norm_ref="C", norm_alt="T")
    assert ids(loaded, snv) == {SNV.variant_id}


def test_off_by_one_start_given_as_pos_finds_nothing(loaded):
    wrong = query(kind="sequence", start=7577121, norm_start=7577121, norm_ref="C", norm_alt="T")
    assert ids(loaded, wrong) == set()


def test_padded_and_trimmed_deletion_queries_find_the_same_variant(loaded):
    padded = query(kind="sequence", start=7577199, norm_start=7577200, norm_ref="A", norm_alt="")
    trimmed = query(kind="sequence", start=7577200, norm_start=7577200, norm_ref="A", norm_alt="")
    assert ids(loaded, padded) == ids(loaded, trimmed) == {DELETION.variant_id}


def test_insertion_in_trimmed_form(loaded):
    trimmed = query(kind="sequence", start=7577300, norm_start=7577300, norm_ref="", norm_alt="AC")
    assert ids(loaded, trimmed) == {INSERTION.variant_id}


def test_sequence_without_reference_matches_vcf_style_and_wildcards(loaded):
    no_ref = query(kind="sequence", start=7577120, norm_start=7577120, alternate_bases="N", norm_alt="N")
    assert ids(loaded, no_ref) == {SNV.variant_id, SNV_OTHER_ALT.variant_id}
    padded_deletion = query(kind="sequence", start=7577199, norm_start=7577199, alternate_bases="G", norm_alt="G")
    assert ids(loaded, padded_deletion) == {DELETION.variant_id}


def test_range_query_finds_overlaps_including_a_long_deletion_starting_before(loaded):
    # [7572000, 7577150) overlaps the long deletion (ends 7572999) and both SNVs at 7577120.
    overlapping = query(kind="range", start=7572000, end=7577150)
    assert ids(loaded, overlapping) == {LONG_DELETION.variant_id, SNV.variant_id, SNV_OTHER_ALT.variant_id}


def test_wide_ranges_cutting_through_variants(loaded):
    # Ranges of 20 kb and more are counted from per-bin start counts plus edge scans on SQLite.
    inside_long_deletion = query(kind="range", start=7570500, end=7600000)
    assert ids(loaded, inside_long_deletion) == {
        LONG_DELETION.variant_id, SNV.variant_id, SNV_OTHER_ALT.variant_id, DELETION.variant_id,
        INSERTION.variant_id, MNP.variant_id,
    }  # fmt: skip
    just_after_the_snvs = query(kind="range", start=7577121, end=7600000)
    assert ids(loaded, just_after_the_snvs) == {DELETION.variant_id, INSERTION.variant_id, MNP.variant_id}
    ending_on_the_deletions_first_base = query(kind="range", start=7550000, end=7577200)  # it starts at 7577199
    assert ids(loaded, ending_on_the_deletions_first_base) == {
        LONG_DELETION.variant_id, SNV.variant_id, SNV_OTHER_ALT.variant_id, DELETION.variant_id,
    }  # fmt: skip
    ending_just_before_it = query(kind="range", start=7550000, end=7577199)
    assert DELETION.variant_id not in ids(loaded, ending_just_before_it)


def test_range_end_is_exclusive_and_start_inclusive(loaded):
    assert ids(loaded, query(kind="range", start=7577000, end=7577120)) == set()
    assert SNV.variant_id in ids(loaded, query(kind="range", start=7577120, end=7577121))
    assert ids(loaded, query(kind="range", start=7577121, end=7577199)) == set()
    assert ids(loaded, query(kind="range", start=7577200, end=7577201)) == {DELETION.variant_id}


def test_range_narrowed_by_type_alternate_bases_and_length(loaded):
    wide = {"kind": "range", "start": 7560000, "end": 7580000}
    assert ids(loaded, query(**wide, variant_types=("DEL",))) == {DELETION.variant_id, LONG_DELETION.variant_id}
    assert ids(loaded, query(**wide, variant_types=("MNP",))) == {MNP.variant_id}
    assert ids(loaded, query(**wide, alternate_bases="A")) == {SNV_OTHER_ALT.variant_id, LONG_DELETION.variant_id}
    assert ids(loaded, query(**wide, min_length=2, max_length=2)) == {INSERTION.variant_id, MNP.variant_id}


def test_bracket_query(loaded):
    # s0 <= start < s1 and e0 <= end < e1
    bracket = query(kind="bracket", start=7577100, start_max=7577200, end_min=7577121, end=7577202)
    assert ids(loaded, bracket) == {SNV.variant_id, SNV_OTHER_ALT.variant_id, DELETION.variant_id}
    tight = query(kind="bracket", start=7577100, start_max=7577199, end_min=7577121, end=7577202)
    assert ids(loaded, tight) == {SNV.variant_id, SNV_OTHER_ALT.variant_id}


def test_gene_query(loaded):
    gene = VariantQuery(dataset_id=D, kind="gene", gene_id="TP53", limit=10)
    assert ids(loaded, gene) == {SNV.variant_id}


def test_chromosome_assembly_and_dataset_separate_variants(loaded):
    snv = {"kind": "sequence", "start": 7577120, "norm_start": 7577120, "norm_ref": "C", "norm_alt": "T"}
    on_1 = VariantQuery(dataset_id=D, assembly="GRCh38", chromosome="1", **snv)
    assert ids(loaded, on_1) == {OTHER_CHROMOSOME.variant_id}
    assert ids(loaded, VariantQuery(dataset_id=D, assembly="GRCh37", chromosome="17", **snv)) == set()
    assert ids(loaded, VariantQuery(dataset_id="D2", assembly="GRCh38", chromosome="17", **snv)) == set()
    assert loaded.variant_assemblies() == {"GRCh38"}


def test_pagination_orders_by_position(loaded):
    everything = query(kind="range", start=0, end=10_000_000)
    first = [d.variant_id for d in loaded.find_variants(query(kind="range", start=0, end=10_000_000, limit=2))]
    rest = [d.variant_id for d in loaded.find_variants(query(kind="range", start=0, end=10_000_000, skip=2))]
    assert first == [LONG_DELETION.variant_id, SNV_OTHER_ALT.variant_id]
    assert len(first) + len(rest) == loaded.count_variants(everything) == 6


def test_a_second_load_needs_replace_and_swaps_in_one_step(loaded):
    with pytest.raises(StoreError, match="replace"):
        loaded.begin_variant_load(D)
    load = loaded.begin_variant_load(D, replace=True)
    load.add([MNP])
    everything = query(kind="range", start=0, end=10_000_000)
    assert loaded.count_variants(everything) == 6  # the previous version answers during the load
    load.commit()
    assert ids(loaded, everything) == {MNP.variant_id}


def test_an_aborted_load_leaves_the_previous_version(loaded):
    load = loaded.begin_variant_load(D, replace=True)
    load.add([MNP])
    load.abort()
    assert loaded.count_variants(query(kind="range", start=0, end=10_000_000)) == 6


def test_an_abandoned_load_is_cleaned_up_by_the_next(loaded):
    abandoned = loaded.begin_variant_load(D, replace=True)
    abandoned.add([MNP])  # never committed nor aborted: like a killed process
    load = loaded.begin_variant_load(D, replace=True)
    load.add([SNV])
    load.commit()
    assert ids(loaded, query(kind="range", start=0, end=10_000_000)) == {SNV.variant_id}


GOE = FrequencySource("Genome of Europe", "https://genomeofeurope.eu/", "2025-01")
SWEGEN = FrequencySource("SweGen", "https://swefreq.nbis.se/")  # no version


def load_with_source(store, source: FrequencySource | None, *, replace: bool = False) -> None:
    load = store.begin_variant_load(D, replace=replace, frequency_source=source)
    load.add([SNV])
    load.commit()


def test_a_load_keeps_the_frequency_source_it_was_begun_with(any_store):
    any_store.put_metadata(MetadataBatch({"datasets": [{"id": D}, {"id": "D2"}]}))
    assert any_store.variant_frequency_source(D) is None  # no variants yet
    load = any_store.begin_variant_load(D, frequency_source=GOE)
    load.add([SNV])
    assert any_store.variant_frequency_source(D) is None  # invisible until committed
    load.commit()
    assert any_store.variant_frequency_source(D) == GOE
    assert any_store.variant_frequency_source("D2") is None  # another dataset, no variants
    assert any_store.variant_frequency_source("NOPE") is None
    load_with_source(any_store, SWEGEN, replace=True)
    assert any_store.variant_frequency_source(D) == SWEGEN  # the version is not made up


def test_a_load_without_a_frequency_source_names_none_and_a_replace_clears_one(any_store):
    any_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    load_with_source(any_store, None)
    assert any_store.variant_frequency_source(D) is None
    load_with_source(any_store, GOE, replace=True)
    aborted = any_store.begin_variant_load(D, replace=True, frequency_source=SWEGEN)
    aborted.add([MNP])
    aborted.abort()
    assert any_store.variant_frequency_source(D) == GOE  # the aborted load's source went with it
    load_with_source(any_store, None, replace=True)
    assert any_store.variant_frequency_source(D) is None
    assert ids(any_store, query(kind="range", start=0, end=10_000_000)) == {SNV.variant_id}
    any_store.remove_dataset(D)
    assert any_store.variant_frequency_source(D) is None


def test_loading_into_an_unknown_dataset_fails(loaded):
    with pytest.raises(UnknownDatasetError):
        loaded.begin_variant_load("NOPE")


def test_carriers_and_removal(any_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": D, "name": "one"}])
    any_store.put_metadata(batch)
    carried = variant(100, "A", "G", carriers=(("S2", "heterozygous"), ("S1", "homozygous")))
    load = any_store.begin_variant_load(D)
    load.add([carried, SNV])
    load.commit()
    assert any_store.variant_carriers(D, carried.variant_id) == ["S1", "S2"]
    assert any_store.variant_carriers(D, SNV.variant_id) == []
    assert any_store.variant_carriers(D, "GRCh38-17-100-A-C") == []  # in our format, not stored
    assert any_store.variant_carriers(D, "GRCh38-17-0100-A-G") == []  # not in our format
    assert any_store.variant_carriers("D2", carried.variant_id) == []  # no variants loaded
    narrowed = query(kind="range", start=0, end=10_000_000, biosample_ids=frozenset({"S1"}))
    assert ids(any_store, narrowed) == {carried.variant_id}
    nobody = query(kind="range", start=0, end=10_000_000, biosample_ids=frozenset({"S9"}))
    assert ids(any_store, nobody) == set()
    assert any_store.remove_dataset(D)
    assert any_store.count_variants(query(kind="range", start=0, end=10_000_000)) == 0


def test_carriers_of_every_variant_a_query_matches(any_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": D, "name": "one"}, {"id": "D2", "name": "two"}])
    any_store.put_metadata(batch)
    near = variant(100, "A", "G", carriers=(("S2", "heterozygous"), ("S1", "homozygous")))
    far = variant(5000, "C", "T", carriers=(("S3", "heterozygous"), ("S1", "heterozygous")))
    deletion = variant(6000, "CA", "C", gene_ids=("TP53",), carriers=(("S4", None),))
    load = any_store.begin_variant_load(D)
    load.add([near, far, deletion, SNV])
    load.commit()
    carriers = any_store.carriers_of_variants
    assert carriers(query(kind="range", start=0, end=10_000_000)) == ["S1", "S2", "S3", "S4"]
    assert carriers(query(kind="range", start=0, end=4999, limit=1)) == ["S1", "S2"]
    assert carriers(query(kind="sequence", start=4999, norm_start=4999, norm_alt="T")) == ["S1", "S3"]
    anywhere = dataclasses.replace(query(kind="all"), chromosome=None)
    assert carriers(dataclasses.replace(anywhere, kind="gene", gene_id="TP53")) == ["S4"]
    assert carriers(dataclasses.replace(anywhere, variant_types=("DEL",))) == ["S4"]
    assert carriers(query(kind="range", start=7577000, end=7578000)) == []  # the SNV has no carriers
    assert carriers(dataclasses.replace(anywhere, assembly="GRCh37")) == []
    assert carriers(dataclasses.replace(anywhere, dataset_id="D2")) == []


def test_abort_after_commit_changes_nothing(loaded):
    """A loader's `finally: abort()` after a successful commit must not drop what it committed."""
    load = loaded.begin_variant_load(D, replace=True)
    load.add([MNP])
    load.commit()
    load.abort()
    assert ids(loaded, query(kind="range", start=0, end=10_000_000)) == {MNP.variant_id}
