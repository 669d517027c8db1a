"""What a clinician types in the lookup page's search box -> the g_variants request parameters of the API.

Pure text work (no Flask, no store): positions are typed 1-based as clinicians and VCFs write them and
become the API's 0-based `start` here; one `Lookup` says which request answers the question and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RSID_PARAMETER = "variantAlternativeId"
"""The API's request parameter for a dbSNP rs identifier (this beacon's extension, see README.md)."""
GENE_PARAMETER = "geneId"
"""The API's request parameter for a gene: an HGNC symbol, an HGNC id or an Ensembl gene id."""

_CHROMOSOME = r"(?:chr)?(?P<chrom>[0-9]{1,2}|X|Y|MT|M)"
_NUMBER = r"[0-9][0-9,_ ]*"
_ALLELE = r"(?P<ref>[ACGTN]+)(?:>|-|/|:|\s+)(?P<alt>[ACGTN]+)"
_VARIANT_FORMS = (
    # 17-7577121-C-T (gnomAD), 17:7577121:C:T, chr17:7577121 C>T, chr17 7577121 C T
    re.compile(rf"^{_CHROMOSOME}(?:[-:\s]+)(?P<pos>{_NUMBER}?)(?:[-:\s]+|(?=[ACGTN]))(?P<alleles>{_ALLELE})$", re.I),
    # 17:g.7577121C>T
    re.compile(rf"^{_CHROMOSOME}:g\.(?P<pos>[0-9]+)(?P<alleles>(?P<ref>[ACGTN]+)>(?P<alt>[ACGTN]+))$", re.I),
)
_REGION = re.compile(rf"^{_CHROMOSOME}(?:[:\s]+)(?P<first>{_NUMBER}?)\s*(?:-|\u2013|\.\.)\s*(?P<last>{_NUMBER})$", re.I)
_POSITION_ONLY = re.compile(rf"^{_CHROMOSOME}[:\s-]+(?P<pos>{_NUMBER})$", re.I)
_REFSEQ_HGVS = re.compile(r"^(?P<accession>NC_0\d{5}\.\d+):g\.(?P<pos>\d+)(?P<ref>[ACGTN]+)>(?P<alt>[ACGTN]+)$", re.I)
_RSID = re.compile(r"^rs(?P<number>[0-9]+)$", re.I)
_GENE = re.compile(
    r"^(?P<gene>HGNC:[0-9]+|ENSG[0-9]{11}(?:\.[0-9]+)?|[A-Za-z][A-Za-z0-9-]*(?:orf[0-9]+)?)"
    r"(?:\s+(?P<change>\S+))?$",
    re.I,
)
_PROTEIN_ONE = re.compile(
    r"^(?P<ref>[ACDEFGHIKLMNPQRSTVWY*])(?P<pos>[0-9]+)(?P<alt>[ACDEFGHIKLMNPQRSTVWY*]|fs|del)$", re.I
)
_PROTEIN_THREE = re.compile(r"^(?P<ref>[A-Z][a-z]{2})(?P<pos>[0-9]+)(?P<alt>[A-Z][a-z]{2}|=|\*|fs|del)$")
THREE_LETTER = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip
"""The IUPAC three-letter amino-acid codes and their one-letter forms (`Ter` is a stop, `*`)."""
MAX_REGION = 10_000_000
"""The widest region the page lists (the API allows wider; a page of a whole chromosome helps nobody)."""

EXAMPLES = (
    "17-7577121-C-T",
    "chr17:7577121 C>T",
    "17:g.7577121C>T",
    "NC_000017.11:g.7577121C>T",
    "rs28934576",
    "TP53 p.Arg175His",
    "17:7,570,000-7,590,000",
)


class InputError(ValueError):
    """The search text is not one of the forms the page understands; the message says what to type."""


@dataclass(frozen=True)
class Lookup:
    """One search: its kind (variant, region, gene, rsid), the API parameters and a plain explanation."""

    kind: str
    parameters: dict[str, str]
    explanation: str
    notes: tuple[str, ...] = field(default=())

    @property
    def lists(self) -> bool:
        """Whether the answer is a list of variants (a region or gene) rather than one variant."""
        return self.kind in ("region", "gene")


def parse_search(text: str, assembly: str | None = None) -> Lookup:
    """The API request for one search text; `assembly` (e.g. GRCh38) is added to positional queries."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError("type a variant (17-7577121-C-T), an rsID (rs28934576), a gene (TP53) or a region")
    if len(cleaned) > 200:
        raise InputError("the search text is too long: type one variant, rsID, gene or region")
    for parse in (_refseq_hgvs, _rsid, _variant, _region, _position_only, _gene):
        lookup = parse(cleaned, assembly)
        if lookup is not None:
            return lookup
    raise InputError(_unrecognised(cleaned))


def _refseq_hgvs(text: str, _assembly: str | None) -> Lookup | None:
    match = _REFSEQ_HGVS.match(text)
    if match is None:
        return None
    expression = f"{match['accession'].upper()}:g.{int(match['pos'])}{match['ref'].upper()}>{match['alt'].upper()}"
    return Lookup(
        "variant",
        {"genomicAlleleShortForm": expression},
        f"HGVS {expression}: the accession names the chromosome and the assembly.",
    )


def _rsid(text: str, _assembly: str | None) -> Lookup | None:
    match = _RSID.match(text)
    if match is None:
        return None
    rsid = f"rs{int(match['number'])}"
    return Lookup("rsid", {RSID_PARAMETER: rsid}, f"dbSNP identifier {rsid}.")


def _variant(text: str, assembly: str | None) -> Lookup | None:
    for form in _VARIANT_FORMS:
        match = form.match(text)
        if match is not None:
            break
    else:
        return None
    chromosome = _chromosome(match["chrom"])
    position = _position(match["pos"])
    ref, alt = match["ref"].upper(), match["alt"].upper()
    if ref == alt:
        raise InputError(f"the reference and alternate bases are the same ({ref}): that is no variant")
    parameters = {
        "referenceName": chromosome,
        "start": str(position - 1),
        "referenceBases": ref,
        "alternateBases": alt,
    }
    explanation = (
        f"Chromosome {chromosome}, position {position:,} (1-based, as in VCF and HGVS), {ref}>{alt}. "
        f"The API counts from 0, so its start is {position - 1:,}."
    )
    return Lookup("variant", _with_assembly(parameters, assembly), explanation)


def _region(text: str, assembly: str | None) -> Lookup | None:
    match = _REGION.match(text)
    if match is None:
        return None
    chromosome = _chromosome(match["chrom"])
    first, last = _position(match["first"]), _position(match["last"])
    if last < first:
        raise InputError(f"the region ends ({last:,}) before it begins ({first:,}): write the smaller position first")
    if last - first + 1 > MAX_REGION:
        raise InputError(
            f"the region spans {last - first + 1:,} bases: the page lists regions of at most {MAX_REGION:,}"
        )
    parameters = {"referenceName": chromosome, "start": str(first - 1), "end": str(last)}
    explanation = (
        f"Chromosome {chromosome}, positions {first:,} to {last:,} (1-based, both included). "
        f"The API counts from 0 and excludes the end: start {first - 1:,}, end {last:,}."
    )
    return Lookup("region", _with_assembly(parameters, assembly), explanation)


def _position_only(text: str, _assembly: str | None) -> Lookup | None:
    match = _POSITION_ONLY.match(text)
    if match is None:
        return None
    position = _position(match["pos"])
    chromosome = _chromosome(match["chrom"])
    raise InputError(
        f"a position alone is not a variant: add the bases ({chromosome}-{position}-C-T) "
        f"or make it a region ({chromosome}:{position}-{position})"
    )


def _gene(text: str, _assembly: str | None) -> Lookup | None:
    match = _GENE.match(text)
    if match is None or re.fullmatch(r"(chr)?[0-9]+", match["gene"], re.I):
        return None
    gene = match["gene"]
    if gene.upper().startswith(("HGNC:", "ENSG")):
        gene = gene.upper()
    parameters = {GENE_PARAMETER: gene}
    explanation = f"Gene {gene}: every variant annotated with it."
    if match["change"]:
        change = protein_change(match["change"])
        parameters["aminoacidChange"] = change
        explanation = f"Gene {gene}, protein change p.{change} (one-letter form)."
    return Lookup("gene", parameters, explanation)


def protein_change(text: str) -> str:
    """The one-letter form (`R175H`) of a protein change typed as R175H, p.R175H, p.Arg175His or p.(Arg175His)."""
    bare = text.strip().removeprefix("p.").removeprefix("(").removesuffix(")")
    one = _PROTEIN_ONE.match(bare)
    if one is not None:
        alt = one["alt"].lower() if one["alt"].lower() in ("fs", "del") else one["alt"].upper()
        return f"{one['ref'].upper()}{int(one['pos'])}{alt}"
    three = _PROTEIN_THREE.match(bare[:1].upper() + bare[1:])
    if three is not None:
        ref, alt = _amino_acid(three["ref"]), three["alt"]
        alt = ref if alt == "=" else alt if alt in ("*", "fs", "del") else _amino_acid(alt)
        return f"{ref}{int(three['pos'])}{alt}"
    raise InputError(f"{text!r} is not a protein change: write it like R175H, p.R175H or p.Arg175His")


def _amino_acid(code: str) -> str:
    letter = THREE_LETTER.get(code.capitalize())
    if letter is None:
        raise InputError(f"{code!r} is not an amino acid's three-letter code (Arg, His, Ter...)")
    return letter


def _chromosome(text: str) -> str:
    upper = text.upper()
    if upper == "M":
        return "MT"
    if upper.isdigit() and not 1 <= int(upper) <= 22:
        raise InputError(f"there is no chromosome {text}: human chromosomes are 1 to 22, X, Y and MT")
    return upper.lstrip("0") if upper.isdigit() else upper


def _position(text: str) -> int:
    digits = re.sub(r"[,_ ]", "", text or "")
    if not digits.isdigit():
        raise InputError("a position must be a whole number, e.g. 7577121 or 7,577,121")
    position = int(digits)
    if position < 1:
        raise InputError("positions start at 1 (as in VCF files and HGVS): 0 is no position")
    if position > 300_000_000:
        raise InputError(f"position {position:,} is beyond the end of every human chromosome")
    return position


def _with_assembly(parameters: dict[str, str], assembly: str | None) -> dict[str, str]:
    return {**parameters, "assemblyId": assembly} if assembly else parameters


def _unrecognised(text: str) -> str:
    if re.match(r"^(NM_|NP_|ENST|c\.)", text, re.I) or ":c." in text:
        return (
            f"{text!r} is a transcript (c.) or protein accession: type the genomic form "
            "(NC_000017.11:g.7577121C>T or 17-7577121-C-T) or the gene and protein change (TP53 R175H)"
        )
    if re.match(r"^(NC_|chr|[0-9XYM]{1,2}[:\-])", text, re.I):
        return (
            f"{text!r} looks like a position but not one this page reads: write 17-7577121-C-T, "
            "chr17:7577121 C>T, 17:g.7577121C>T, NC_000017.11:g.7577121C>T or a region 17:7,570,000-7,590,000"
        )
    return f"{text!r} is not a variant, rsID, gene or region this page reads. Examples: " + ", ".join(EXAMPLES)
