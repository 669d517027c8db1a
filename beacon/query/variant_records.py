"""Beacon `genomicVariations` records (camelCase JSON) built from variant documents; no I/O.

Stores keep the fields of `VariantDocument` and call `build_record` when a record is returned, so
loading never serialises whole records. The `variation` is a `LegacyVariation`: VCF-style bases
(as loaded, padded), `variantType`, and a VRS 1.3 `SequenceLocation` on the chromosome's RefSeq
accession (`refseq:NC_...`) whose 0-based interval spans the reference bases. The HGVS id is
written from the trimmed allele, without the 3' shift HGVS asks for (that needs the reference).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from beacon.genome import genomic_hgvs, refseq_accession
from beacon.query.structural_records import is_structural_document, structural_variation
from beacon.store.base import FrequencySource, PopulationFrequency, VariantDocument
from beacon.structural import structural_hgvs

ZYGOSITY_TERMS = {
    "heterozygous": {"id": "GENO:0000135", "label": "heterozygous"},
    "homozygous": {"id": "GENO:0000136", "label": "homozygous"},
    "hemizygous": {"id": "GENO:0000134", "label": "hemizygous"},
}
"""GENO terms for the zygosity labels the VCF loader assigns to carriers."""

CASE_LEVEL_LIMIT = 1000
"""Most carriers one record lists in `caseLevelData` (the first, in load order): a variant carried by
hundreds of thousands of biosamples would otherwise make one record tens of MB. The record's `info`
says when the list is cut; `/g_variants/{id}/biosamples` pages through all of them."""
CASE_LEVEL_READ = CASE_LEVEL_LIMIT + 1
"""The `VariantQuery.max_carriers` of record pages: one more than a record lists, to tell a cut list."""

_COUNT_KEYS = (
    (2, "alleleCount"),
    (3, "alleleNumber"),
    (4, "alleleCountHomozygous"),
    (5, "alleleCountHeterozygous"),
    (6, "alleleCountHemizygous"),
)


DEFAULT_FREQUENCY_SOURCE = FrequencySource(
    source="The allele counts of this Beacon dataset",
    source_reference="https://docs.genomebeacons.org/",
)
"""Used when a load names no source; callers should pass the dataset's own name and URL."""


def dataset_frequency_source(dataset: Mapping[str, Any], base_url: str) -> FrequencySource:
    """The source naming the dataset itself (its name, its URL under `base_url`, its `version`), for
    variants loaded without a source of their own."""
    return FrequencySource(
        source=str(dataset.get("name") or dataset["id"]),
        source_reference=f"{base_url}/datasets/{dataset['id']}",
        version=dataset.get("version"),
    )


def build_record(
    document: VariantDocument,
    *,
    frequency_source: FrequencySource = DEFAULT_FREQUENCY_SOURCE,
    include_case_level: bool = True,
) -> dict[str, Any]:
    """The `genomicVariations` record of one variant; it validates against the Beacon v2 model."""
    accession = refseq_accession(document.assembly, document.chromosome)
    record: dict[str, Any] = {
        # `id` too: clients following the map's `singleEntryUrl` (`/g_variants/{id}`) fill it from `id`.
        "id": document.variant_id,
        "variantInternalId": document.variant_id,
        "variation": _variation(document, accession),
        "identifiers": _identifiers(document, accession),
    }
    if document.frequencies:
        record["frequencyInPopulations"] = [frequency_in_populations(document.frequencies, frequency_source)]
    attributes = _molecular_attributes(document)
    if attributes:
        record["molecularAttributes"] = attributes
    if include_case_level and document.carriers:
        record["caseLevelData"] = case_level_data(document.carriers[:CASE_LEVEL_LIMIT])
        if len(document.carriers) > CASE_LEVEL_LIMIT:
            record["info"] = {"caseLevelData": case_level_note(document.variant_id)}
    return record


def case_level_note(variant_id: str) -> dict[str, Any]:
    """What a record's `info` says when its `caseLevelData` lists only the first CASE_LEVEL_LIMIT carriers."""
    return {
        "listed": CASE_LEVEL_LIMIT,
        "complete": False,
        "note": f"caseLevelData lists the first {CASE_LEVEL_LIMIT} carriers of this variant only; "
        f"/g_variants/{variant_id}/biosamples returns all of them",
    }


def _variation(document: VariantDocument, accession: str) -> dict[str, Any]:
    if is_structural_document(document):
        return structural_variation(document, accession)
    return {
        "variantType": document.variant_type,
        "referenceBases": document.reference_bases,
        "alternateBases": document.alternate_bases,
        "location": {
            "type": "SequenceLocation",
            "sequence_id": f"refseq:{accession}",
            "interval": {
                "type": "SequenceInterval",
                "start": {"type": "Number", "value": document.start},
                "end": {"type": "Number", "value": document.end},
            },
        },
    }


def _identifiers(document: VariantDocument, accession: str) -> dict[str, Any]:
    identifiers: dict[str, Any] = {}
    if not is_structural_document(document):
        identifiers["genomicHGVSId"] = genomic_hgvs(
            accession, document.norm_start, document.norm_ref, document.norm_alt
        )
    elif hgvs := structural_hgvs(accession, document.variant_type, document.start, document.end):
        identifiers["genomicHGVSId"] = hgvs
    if document.rs_ids:
        identifiers["variantAlternativeIds"] = [
            {"id": f"dbSNP:{rs_id}", "reference": f"https://www.ncbi.nlm.nih.gov/snp/{rs_id}", "notes": "dbSNP id"}
            for rs_id in document.rs_ids
        ]
    if document.protein_hgvs_ids:
        identifiers["proteinHGVSIds"] = list(document.protein_hgvs_ids)
    return identifiers


def frequency_in_populations(
    frequencies: Iterable[PopulationFrequency], frequency_source: FrequencySource = DEFAULT_FREQUENCY_SOURCE
) -> dict[str, Any]:
    """One `frequencyInPopulations` item: the source and its per-population frequencies."""
    item: dict[str, Any] = {
        "source": frequency_source.source,
        "sourceReference": frequency_source.source_reference,
    }
    if frequency_source.version:
        item["version"] = frequency_source.version
    item["frequencies"] = [population_frequency(frequency) for frequency in frequencies]
    return item


def population_frequency(frequency: PopulationFrequency) -> dict[str, Any]:
    """A GoE-shaped `frequencies[]` item; counts the input lacked are left out, never written as 0."""
    # Frequencies read from Float INFO fields are float32: 7 significant digits is what they hold.
    item: dict[str, Any] = {
        "population": frequency[0],
        "alleleFrequency": float(f"{frequency[1]:.7g}"),
    }
    for index, key in _COUNT_KEYS:
        if frequency[index] is not None:
            item[key] = frequency[index]
    return item


def _molecular_attributes(document: VariantDocument) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if document.gene_ids:
        attributes["geneIds"] = list(document.gene_ids)
    if document.aminoacid_changes:
        attributes["aminoacidChanges"] = list(document.aminoacid_changes)
    return attributes


def case_level_data(carriers: Iterable[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """`caseLevelData` items: each carrier's biosampleId and, when known, its zygosity term."""
    items = []
    for biosample_id, zygosity in carriers:
        item: dict[str, Any] = {"biosampleId": biosample_id}
        if zygosity in ZYGOSITY_TERMS:
            item["zygosity"] = dict(ZYGOSITY_TERMS[zygosity])
        items.append(item)
    return items
