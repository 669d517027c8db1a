"""The SQLite store's variant payload: compact arrays that decode to exactly the document written."""

from __future__ import annotations

from dataclasses import fields, replace

import orjson
import pytest

from beacon.store.base import PopulationFrequency, VariantDocument
from beacon.store.sqlite.variants import _COLUMNS, _PAYLOAD_FIELDS, decode_payload, encode_payload

BASE = VariantDocument(
    "GRCh38-22-100-A-G", "GRCh38", "22", 99, 100, "A", "G", 99, "A", "G", "SNP", 1
)  # fmt: skip

FREQUENCY_SHAPES = {
    "counts": (PopulationFrequency("Total", 3 / 7, 3, 7),),
    "counts and zygosity": (PopulationFrequency("FI", 4 / 10, 4, 10, 2, 2, None),),
    "hemizygous only": (PopulationFrequency("FI_M", 1 / 5, 1, 5, None, None, 1),),
    "frequency only": (PopulationFrequency("SE", 0.0123),),
    "rounded frequency field": (PopulationFrequency("Total", 0.43, 3, 7),),
    "zero allele number": (PopulationFrequency("NL", 0.0, 0, 0),),
    "count without number": (PopulationFrequency("DE", 0.5, 2, None),),
    "several": (
        PopulationFrequency("Total", 775 / 27672, 775, 27672),
        PopulationFrequency("NL", 0.0289, 242, 8364),
        PopulationFrequency("NL_F", 100 / 4000, 100, 4000, 20, 60, None),
    ),
}


@pytest.mark.parametrize("shape", sorted(FREQUENCY_SHAPES))
def test_frequencies_round_trip(shape: str) -> None:
    document = replace(BASE, frequencies=FREQUENCY_SHAPES[shape])
    decoded = decode_payload(encode_payload(document))
    assert decoded["frequencies"] == document.frequencies
    assert all(type(item) is PopulationFrequency for item in decoded["frequencies"])


def test_every_payload_field_round_trips() -> None:
    document = replace(
        BASE,
        frequencies=FREQUENCY_SHAPES["several"],
        rs_ids=("rs1", "rs2"),
        gene_ids=("TP53",),
        aminoacid_changes=("R175H",),
        protein_hgvs_ids=("NP_000537.3:p.Arg175His",),
        carriers=(("HG00096", "heterozygous"), ("HG00097", None)),
        cipos=(-10, 20),
        ciend=(0, 5),
        mate_chromosome="8",
        mate_start=107653517,
        copy_number=3,
    )
    decoded = decode_payload(encode_payload(document))
    assert {name: getattr(document, name) for name in _PAYLOAD_FIELDS} == decoded


@pytest.mark.parametrize("rs_ids", [(), ("rs10009",)])
def test_trailing_empty_fields_are_left_out_and_read_back_empty(rs_ids: tuple[str, ...]) -> None:
    document = replace(BASE, frequencies=FREQUENCY_SHAPES["counts"], rs_ids=rs_ids)
    stored = orjson.loads(encode_payload(document))
    assert len(stored) == (2 if rs_ids else 1)
    decoded = decode_payload(encode_payload(document))
    assert replace(BASE, **{**_defaults(), **decoded}) == document


def test_counts_are_stored_without_the_derived_frequency() -> None:
    document = replace(BASE, frequencies=FREQUENCY_SHAPES["counts"])
    assert orjson.loads(encode_payload(document)) == [[["Total", 3, 7]]]


def test_older_object_payloads_still_decode() -> None:
    # The form written by schema versions up to 5: field names and every frequency in full.
    old = orjson.dumps(
        {
            "frequencies": [["Total", 0.5, 1, 2, None, None, None]],
            "rs_ids": ["rs1"],
            "gene_ids": [],
            "aminoacid_changes": [],
            "protein_hgvs_ids": [],
            "carriers": [["HG00096", "homozygous"]],
        }
    )
    decoded = decode_payload(old)
    assert decoded["frequencies"] == (PopulationFrequency("Total", 0.5, 1, 2),)
    assert decoded["rs_ids"] == ("rs1",)
    assert decoded["carriers"] == (("HG00096", "homozygous"),)


def test_payload_fields_are_the_documents_non_column_fields() -> None:
    document_fields = {f.name for f in fields(VariantDocument)} - {*_COLUMNS, "assembly"}
    assert set(_PAYLOAD_FIELDS) == document_fields


def _defaults() -> dict[str, object]:
    return {f.name: f.default for f in fields(VariantDocument) if f.name in _PAYLOAD_FIELDS}
