"""VCF loader: read `.vcf`, `.vcf.gz` (bgzip or plain gzip) and `.bcf` with cyvcf2 into variant documents.

`read_alleles` yields one `VcfAllele` per ALT allele of each record; `to_documents` turns them into
`VariantDocument`s (coordinates, trimming, types, ids) without touching the file; `read_documents`
does both in one pass (through `to_document`, which `to_documents` uses too). Problems with the
input raise `VcfError`, whose message names the file, the record (number, line, CHROM:POS) and the
field; alleles that cannot be variants are skipped and counted in the `LoadReport` by reason
(unknown symbolic ALTs, `*`, zero total allele count, duplicates, unsplit Number=A values, ...).
Structural alleles (symbolic, breakend, copy number) get their type, span, imprecise interval, mate
and copy number from `vcf_structural` (docs/structural-variants.md).

Frequencies (`frequencyInPopulations`, GoE shape) come from one of three sources:

1. **Genotypes with a sample panel** (`VcfOptions.sample_panel`): a TSV with a header row whose
   first column is the VCF sample name, one column the caller names holds the population (for the
   1000 Genomes panel: `pop` or `super_pop`) and optionally one holds the sex (`gender`: male/female,
   M/F or PLINK 1/2). Each population gets AC/AN/AF and zygosity counts, plus `<POP>_F` and `<POP>_M`
   when sexes are known (`split_by_sex`); `Total` covers every VCF sample. Outside the X/Y
   pseudo-autosomal regions a male's homozygous call counts as one hemizygous allele and a female's
   Y calls are ignored; heterozygous male calls there are kept as given (they are caller errors or
   unannotated PAR calls). `alleleCountHemizygous` is given on X and Y only: on autosomes and MT
   it would be a structural zero, not an observation.
2. **A populations map** (`VcfOptions.population_map`, `--populations MAP.json`) naming the INFO
   fields of each population. The format is that of EGA's beacon-data-tools `populations.json`::

       {"source": "Genome of Europe", "sourceReference": "https://...", "version": "2025-01",
        "populations": [
          {"population": "Total", "alleleFrequency": "AF", "alleleCount": "AC", "alleleNumber": "AN",
           "alleleCountHomozygous": "AC_Hom", "alleleCountHeterozygous": "AC_Het",
           "alleleCountHemizygous": "AC_Hemi"},
          {"population": "SE", "alleleFrequency": "SWEREFAF"}]}

   Every key but `population` is optional (an empty string means absent); a population needs
   `alleleFrequency` or both `alleleCount` and `alleleNumber`. Named fields must be declared in
   the header as numbers (Float for the frequency, Integer for counts); per-allele fields should be
   `Number=A` (a `Number=1` one is used for single-ALT records only). `numberOfPopulations`, if
   present, must match. `source`, `sourceReference` and `version` describe the frequencies: the
   variant set remembers them and its records' `frequencyInPopulations` name them instead of the
   dataset. `source` and `sourceReference` come together or not at all (the Beacon schema requires
   both in an item), and `version` needs them: a map breaking this is rejected with a VcfError
   naming the missing field. An empty string is absent; a map naming no source (like a sample panel
   or detected INFO fields) leaves the records naming the dataset: its name, URL and `version`.
3. **INFO fields detected from the header** otherwise: `AF`/`AC`/`AN` and `AC_Het`/`AC_Hom`/
   `AC_Hemi` give `Total`; `AF_<pop>`, `<pop>_AF`, `AC_<pop>`/`<pop>_AC`, `AN_<pop>`/`<pop>_AN` and
   `AC_<pop>_Het`/`_Hom`/`_Hemi` give `<pop>` (a code such as `FI`, optionally with one `_` part such
   as `FI_F`). Tokens meaning something else (`Adj`, `raw`, `Het`, `Hom`, `Hemi`, anything with
   `max`) are ignored, as are fields of the wrong type or Number. A VCF with genotypes and no
   such fields gets `Total` from its genotypes.

A populations map may instead label the populations of a sample panel (with `sample_panel`; the
Genome of Europe shape `Total`, `GB`, `GB_F`/`GB_M`, `F`/`M`)::

    {"populations": [{"population": "GB", "panelPopulations": ["GBR"]},
                     {"population": "CN", "panelPopulations": ["CHB", "CHS", "CDX"]}],
     "splitBySex": true}

Only the populations it names are published, under its labels (several panel populations may share
one); samples of other populations count in `Total` and the sex totals only. `splitBySex` adds
`<label>_F`/`<label>_M` and the sex totals `F`/`M` (every sample of known sex) and needs the panel's
sexes; without it no sex split is published. Labels must not collide (`Total`, `F`, `M`, `GB_F`...).
Without such a map a panel publishes its own population names, split by sex when sexes are known.

A sample panel and a map of INFO fields exclude each other. `alleleFrequency` is AC/AN whenever both
counts are known (so a rounded AF field is not even read), else the AF field.
Zygosity counts are taken verbatim from INFO and follow bcftools +fill-tags (`AC_Hom` counts alleles
in homozygous genotypes, 2 per diploid carrier). Counts the input lacks are left out, never 0.
A Number=A INFO value of `.` is missing; a value htslib cannot read as a number is an error.
htslib reads a number followed by junk (`5x`) as the number, so such values are not caught.

The work is split by concern: `vcf_types` (options, error, report), `vcf_populations` (maps,
panels, detection), `vcf_info` and `vcf_genotypes` (frequencies per record), `vcf_annotations`
(CSQ/ANN), `vcf_diagnosis` (bad input), `vcf_reader` (the record loop). Import from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from beacon.genome import classify_variant, normalise_assembly, trim_alleles, variant_length
from beacon.store.base import PopulationFrequency, VariantDocument
from loaders.vcf_annotations import short_protein_change
from loaders.vcf_populations import (
    detect_population_fields,
    parse_population_map,
    read_population_map,
    read_sample_panel,
)
from loaders.vcf_reader import VcfReader
from loaders.vcf_structural import SvShape
from loaders.vcf_types import (
    SKIP_BAD_BASES,
    SKIP_BREAKEND,
    SKIP_DUPLICATE,
    SKIP_NO_ALT,
    SKIP_SAME_AS_REF,
    SKIP_STAR,
    SKIP_SYMBOLIC,
    SKIP_UNKNOWN_CONTIG,
    SKIP_VALUE_COUNT,
    SKIP_ZERO_COUNT,
    TOTAL,
    LoadReport,
    PopulationFields,
    PopulationMap,
    SamplePanel,
    VcfAllele,
    VcfError,
    VcfOptions,
)

__all__ = [
    "SKIP_BAD_BASES",
    "SKIP_BREAKEND",
    "SKIP_DUPLICATE",
    "SKIP_NO_ALT",
    "SKIP_SAME_AS_REF",
    "SKIP_STAR",
    "SKIP_SYMBOLIC",
    "SKIP_UNKNOWN_CONTIG",
    "SKIP_VALUE_COUNT",
    "SKIP_ZERO_COUNT",
    "TOTAL",
    "LoadReport",
    "PopulationFields",
    "PopulationMap",
    "SamplePanel",
    "VcfAllele",
    "VcfError",
    "VcfOptions",
    "detect_population_fields",
    "parse_population_map",
    "read_alleles",
    "read_documents",
    "read_population_map",
    "read_sample_panel",
    "short_protein_change",
    "to_document",
    "to_documents",
    "variant_id",
]

_LONG_ALLELES = 64  # variant ids spell out REF/ALT up to this combined length, then hash them


def read_documents(
    path: str | Path, options: VcfOptions, report: LoadReport | None = None
) -> Iterator[VariantDocument]:
    """The variant documents of a VCF/BCF file, one per loadable ALT allele (see `read_alleles`)."""
    # Building documents straight from each record spares an intermediate object per allele.
    return VcfReader(Path(path), options, report if report is not None else LoadReport(), to_document).open()


def read_alleles(path: str | Path, options: VcfOptions, report: LoadReport | None = None) -> Iterator[VcfAllele]:
    """One `VcfAllele` per loadable ALT allele; counts go to `report`; bad input raises VcfError.

    The header is read at once, so an unreadable file, a bad populations map or a panel matching
    no sample raise before the first allele is asked for; record problems raise while iterating.
    """
    return VcfReader(Path(path), options, report if report is not None else LoadReport(), _allele).open()


def _allele(_assembly: str, *fields: Any) -> VcfAllele:
    return VcfAllele(*fields)


def to_documents(alleles: Iterable[VcfAllele], assembly: str) -> Iterator[VariantDocument]:
    """Variant documents for alleles read from a VCF of `assembly` (coordinates, trimming, type, id)."""
    assembly = normalise_assembly(assembly)
    for allele in alleles:
        yield to_document(
            assembly, allele.chromosome, allele.position, allele.reference_bases, allele.alternate_bases,
            allele.rs_ids, allele.frequencies, allele.carriers, allele.gene_ids, allele.aminoacid_changes,
            allele.protein_hgvs_ids, allele.structure,
        )  # fmt: skip


def to_document(
    assembly: str,
    chromosome: str,
    position: int,
    ref: str,
    alt: str,
    rs_ids: tuple[str, ...] = (),
    frequencies: tuple[PopulationFrequency, ...] = (),
    carriers: tuple[tuple[str, str | None], ...] = (),
    gene_ids: tuple[str, ...] = (),
    aminoacid_changes: tuple[str, ...] = (),
    protein_hgvs_ids: tuple[str, ...] = (),
    structure: SvShape | None = None,
) -> VariantDocument:
    """The document of one ALT allele (`VcfAllele` fields in order, after a canonical assembly)."""
    start = position - 1
    if structure is not None:
        return _structural_document(
            assembly, chromosome, position, ref, alt, structure, rs_ids, frequencies, carriers, gene_ids,
            aminoacid_changes, protein_hgvs_ids,
        )  # fmt: skip
    if len(ref) == 1 and len(alt) == 1:  # SNPs are most variants and need no trimming
        norm_start, norm_ref, norm_alt, variant_type, length = start, ref, alt, "SNP", 1
    else:
        norm_start, norm_ref, norm_alt = trim_alleles(start, ref, alt)
        variant_type = classify_variant(norm_ref, norm_alt)
        length = variant_length(norm_ref, norm_alt)
    if len(ref) + len(alt) <= _LONG_ALLELES:
        identifier = f"{assembly}-{chromosome}-{position}-{ref}-{alt}"
    else:
        identifier = variant_id(assembly, chromosome, position, ref, alt)
    return VariantDocument(
        identifier, assembly, chromosome, start, start + len(ref), ref, alt, norm_start, norm_ref, norm_alt,
        variant_type, length, frequencies, rs_ids, gene_ids, aminoacid_changes, protein_hgvs_ids, carriers,
    )  # fmt: skip


def _structural_document(
    assembly: str,
    chromosome: str,
    position: int,
    ref: str,
    alt: str,
    shape: SvShape,
    *rest: Any,
) -> VariantDocument:
    """A symbolic or breakend allele: its ALT kept as written, its span and type from the shape."""
    rs_ids, frequencies, carriers, gene_ids, aminoacid_changes, protein_hgvs_ids = rest
    start = position - 1
    return VariantDocument(
        structural_variant_id(assembly, chromosome, position, ref, alt, _extent(shape)), assembly, chromosome, start,
        shape.end, ref, alt, start, ref, alt, shape.variant_type, shape.length, frequencies, rs_ids, gene_ids,
        aminoacid_changes, protein_hgvs_ids, carriers, shape.cipos, shape.ciend, shape.mate_chromosome,
        shape.mate_start, shape.copy_number,
    )  # fmt: skip


def _extent(shape: SvShape) -> str:
    mate = f">{shape.mate_chromosome}:{shape.mate_start}" if shape.mate_chromosome is not None else ""
    return f"{shape.end}{mate}"


def structural_variant_id(assembly: str, chromosome: str, position: int, ref: str, alt: str, extent: str) -> str:
    """The id of a structural allele: always the digest form, over REF, ALT and its extent (end and
    mate: two `<DEL>`s at one POS differ by their END, two `<BND>`s by their mates)."""
    digest = hashlib.sha256(f"{ref}>{alt}>{extent}".encode()).hexdigest()[:20]
    return f"{assembly}-{chromosome}-{position}-{len(ref)}-{len(alt)}-{digest}"


def variant_id(assembly: str, chromosome: str, position: int, ref: str, alt: str) -> str:
    """`GRCh37-22-16050075-A-G`: the variant's internal id; long alleles are replaced by a digest."""
    if len(ref) + len(alt) > _LONG_ALLELES:
        digest = hashlib.sha256(f"{ref}>{alt}".encode()).hexdigest()[:20]
        return f"{assembly}-{chromosome}-{position}-{len(ref)}-{len(alt)}-{digest}"
    return f"{assembly}-{chromosome}-{position}-{ref}-{alt}"
