"""g_variants request parameters -> one typed variant query (sequence, range, bracket, gene or id).

Coordinates are 0-based half-open as the spec defines them. GET values arrive as strings (`start=100`,
`start=100,200` for brackets); POST values may be numbers, numeric strings or lists of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from beacon import genome, variant_ids
from beacon.errors import BadRequest
from beacon.query.limits import whole_number
from beacon.store.base import VariantQuery

G_VARIANT_PARAMETERS = (
    "referenceName",
    "assemblyId",
    "start",
    "end",
    "referenceBases",
    "alternateBases",
    "variantType",
    "variantMinLength",
    "variantMaxLength",
    "geneId",
    "aminoacidChange",
    "genomicAlleleShortForm",
    "mateName",
    "geneid",
    "allele",
    "variantAlternativeId",
)
"""Request parameters the g_variants endpoints accept (GET and POST); `geneid` and `allele` are the
spellings of geneId and genomicAlleleShortForm in the spec's OpenAPI document; `variantAlternativeId`
(an rsID) is this beacon's extension. The dataset selection (`datasets`) is common to every entry
endpoint (`beacon.query.requests`)."""
_ALIASES = {"geneid": "geneId", "allele": "genomicAlleleShortForm"}
# Parameters that may hold several values; any other given as a list must hold exactly one.
_MULTIPLE = frozenset({"start", "end", "variantType"})

_BASES = re.compile(r"^[ACGTN]*$")
# Answering the biggest ranges must stay within the aggregators' 5 s budget.
MAX_RANGE = 100_000_000


@dataclass(frozen=True)
class VariantRequest:
    """A parsed g_variants query, before it is narrowed to one dataset."""

    template: VariantQuery

    def for_dataset(self, dataset_id: str, skip: int, limit: int) -> VariantQuery:
        """The store query for one dataset and one page."""
        return replace(self.template, dataset_id=dataset_id, skip=skip, limit=limit)


def parse_variant_request(parameters: Mapping[str, Any], assemblies: set[str]) -> VariantRequest:
    """Validate and type the g_variants parameters; `assemblies` are those of the loaded variants."""
    parameters = {_ALIASES.get(key, key): _scalar(key, value) for key, value in parameters.items()}
    positional = parameters.get("referenceName") not in (None, "")
    assembly = _assembly(parameters.get("assemblyId"), assemblies, positional)
    common = _narrowing(parameters)
    hgvs = parameters.get("genomicAlleleShortForm")
    if hgvs not in (None, ""):
        template = _hgvs_query(str(hgvs), assembly, common)
    elif parameters.get("mateName") not in (None, ""):
        template = _mate_query(parameters, assembly, common)
    elif parameters.get("referenceName") in (None, ""):
        template = _gene_query(parameters, assembly, common)
    else:
        template = _positional_query(parameters, assembly, common)
    return VariantRequest(template=template)


def has_variant_parameters(parameters: Mapping[str, Any]) -> bool:
    """Whether a request names a variant (any g_variants parameter with a value; null and "" are unset)."""
    return any(key in G_VARIANT_PARAMETERS and value not in (None, "", []) for key, value in parameters.items())


def _scalar(key: str, value: Any) -> Any:
    # Clients wrap single values in lists (`"referenceName": ["17"]`); positions may hold two.
    if key in _MULTIPLE or not isinstance(value, list | tuple):
        return value
    if len(value) > 1:
        raise BadRequest(f"{key} takes one value, got {len(value)}")
    return value[0] if value else None


def _assembly(value: Any, assemblies: set[str], positional: bool) -> str | None:
    if value in (None, ""):
        if len(assemblies) > 1 and not positional:
            return None  # a gene, HGVS or whole-dataset query: coordinates of no assembly are compared
        if len(assemblies) > 1:
            names = ", ".join(sorted(assemblies))
            raise BadRequest(f"assemblyId is required: this beacon serves several assemblies ({names})")
        return next(iter(assemblies), None)
    try:
        return genome.normalise_assembly(str(value))
    except ValueError as error:
        raise BadRequest(f"assemblyId: {error}") from None


def _narrowing(parameters: Mapping[str, Any]) -> dict[str, Any]:
    types = _string_list("variantType", parameters.get("variantType"))
    return {
        "variant_types": genome.expand_variant_types(types) if types else (),
        "min_length": _optional_int("variantMinLength", parameters.get("variantMinLength")),
        "max_length": _optional_int("variantMaxLength", parameters.get("variantMaxLength")),
        "gene_id": _gene(parameters.get("geneId")),
        **_protein_change(parameters.get("aminoacidChange")),
        "rs_id": _rs_id(parameters.get("variantAlternativeId")),
    }


def _gene_query(parameters: Mapping[str, Any], assembly: str | None, common: dict[str, Any]) -> VariantQuery:
    if parameters.get("start") not in (None, "", []) or parameters.get("end") not in (None, "", []):
        raise BadRequest(
            "referenceName is required with start/end: a position means nothing without its chromosome "
            "(e.g. referenceName 17, start 7577120)"
        )
    alternate = _bases("alternateBases", parameters.get("alternateBases"))
    # Without a gene this is every variant of the dataset, optionally narrowed (type, length, bases).
    kind = "all" if common["gene_id"] is None else "gene"
    return VariantQuery(dataset_id="", assembly=assembly, kind=kind, alternate_bases=alternate, **common)


def _hgvs_query(expression: str, assembly: str | None, common: dict[str, Any]) -> VariantQuery:
    try:
        hgvs_assembly, chromosome, start, end, ref, alt = genome.parse_genomic_hgvs(expression)
    except ValueError as error:
        raise BadRequest(f"genomicAlleleShortForm: {error}") from None
    whole_number("genomicAlleleShortForm position", max(start, end))
    if assembly is not None and chromosome != "MT" and hgvs_assembly != assembly:
        raise BadRequest(f"genomicAlleleShortForm names a {hgvs_assembly} accession but assemblyId is {assembly}")
    return VariantQuery(
        dataset_id="",
        assembly=hgvs_assembly if chromosome != "MT" else assembly or hgvs_assembly,
        chromosome=chromosome,
        kind="sequence",
        start=start,
        norm_start=start,
        norm_ref=ref,
        norm_alt=alt,
        **common,
    )


def _positional_query(parameters: Mapping[str, Any], assembly: str | None, common: dict[str, Any]) -> VariantQuery:
    chromosome = _chromosome(parameters["referenceName"], assembly)
    starts = _int_list("start", parameters.get("start"))
    ends = _int_list("end", parameters.get("end"))
    reference = _bases("referenceBases", parameters.get("referenceBases"))
    alternate = _bases("alternateBases", parameters.get("alternateBases"))
    base = VariantQuery(dataset_id="", assembly=assembly, chromosome=chromosome, alternate_bases=alternate, **common)
    if not starts:
        raise BadRequest("start is required with referenceName")
    if len(starts) == 2 or len(ends) == 2:
        return _bracket(base, starts, ends)
    if ends:
        return _range(base, starts[0], ends[0], reference)
    return _sequence(base, starts[0], reference, alternate)


def _sequence(base: VariantQuery, start: int, reference: str | None, alternate: str | None) -> VariantQuery:
    if reference is None or alternate is None:
        # Without both alleles nothing can be trimmed: compare VCF-style and trimmed starts as given.
        return replace(
            base, kind="sequence", start=start, norm_start=start, norm_alt=alternate, reference_bases=reference
        )
    norm_start, norm_ref, norm_alt = genome.trim_alleles(start, reference, alternate)
    return replace(
        base,
        kind="sequence",
        start=start,
        reference_bases=reference,
        norm_start=norm_start,
        norm_ref=norm_ref,
        norm_alt=norm_alt,
    )


def _range(base: VariantQuery, start: int, end: int, reference: str | None) -> VariantQuery:
    if end <= start:
        raise BadRequest(f"end ({end}) must be greater than start ({start}) in a range query")
    if end - start > MAX_RANGE:
        raise BadRequest(f"a range query may span at most {MAX_RANGE} bases")
    return replace(base, kind="range", start=start, end=end, reference_bases=reference)


def _bracket(base: VariantQuery, starts: list[int], ends: list[int]) -> VariantQuery:
    if len(starts) != 2 or len(ends) != 2:
        raise BadRequest("a bracket query needs two start values and two end values: start=s0,s1&end=e0,e1")
    (s0, s1), (e0, e1) = starts, ends
    if s1 < s0 or e1 < e0:
        raise BadRequest("bracket bounds must be given in increasing order")
    return replace(base, kind="bracket", start=s0, start_max=s1, end_min=e0, end=e1)


def _mate_query(parameters: Mapping[str, Any], assembly: str | None, common: dict[str, Any]) -> VariantQuery:
    """Breakends joining referenceName to mateName (fusions, translocations).

    `start` places the breakend on referenceName and `end` its mate on mateName: two values are a
    bracket `[s0, s1)`, one value an exact position, none the whole chromosome.
    """
    if parameters.get("referenceName") in (None, ""):
        raise BadRequest("mateName needs referenceName: the chromosome of the other breakend")
    chromosome = _chromosome(parameters["referenceName"], assembly)
    mate = _chromosome(parameters["mateName"], assembly)
    start, start_max = _position_bracket("start", _int_list("start", parameters.get("start")))
    mate_start, mate_start_max = _position_bracket("end", _int_list("end", parameters.get("end")))
    return VariantQuery(
        dataset_id="",
        assembly=assembly,
        chromosome=chromosome,
        kind="mate",
        start=start,
        start_max=start_max,
        mate_chromosome=mate,
        mate_start=mate_start,
        mate_start_max=mate_start_max,
        **common,
    )


def _position_bracket(name: str, values: list[int]) -> tuple[int, int]:
    if not values:
        return 0, genome.MAX_POSITION + 1
    if len(values) == 1:
        return values[0], values[0] + 1
    if values[1] < values[0]:
        raise BadRequest(f"{name}: bracket bounds must be given in increasing order")
    return values[0], values[1]


def _chromosome(value: Any, assembly: str | None) -> str:
    text = str(value).removeprefix("refseq:")
    try:
        return genome.normalise_chromosome(text, assembly)
    except ValueError as error:
        raise BadRequest(f"referenceName: {error}") from None


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _int_list(name: str, value: Any) -> list[int]:
    values = _values(value)
    if len(values) > 2:
        raise BadRequest(f"{name} takes one value, or two for a bracket query")
    return [_to_int(name, item) for item in values]


def _to_int(name: str, item: Any) -> int:
    return whole_number(name, item)


def _optional_int(name: str, value: Any) -> int | None:
    values = _values(value)
    if len(values) > 1:
        raise BadRequest(f"{name} takes one value")
    return _to_int(name, values[0]) if values else None


def _bases(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    if not _BASES.match(text):
        raise BadRequest(f"{name} must contain only A, C, G, T or N, got {value!r}")
    return text


def missing_annotations(query: VariantQuery, available: set[str]) -> list[str]:
    """The annotations (`geneId`, `aminoacidChange`, `variantAlternativeId`) a query needs that a dataset's
    variants (carrying `available`, `Store.variant_annotations`) lack: the dataset cannot tell."""
    needed = (
        ("geneId", query.gene_id),
        ("aminoacidChange", query.aminoacid_change or query.protein_id),
        ("variantAlternativeId", query.rs_id),
    )
    return [name for name, value in needed if value is not None and name not in available]


def _gene(value: Any) -> str | None:
    text = _optional_text(value)
    return None if text is None else variant_ids.gene_key(text)


def _protein_change(value: Any) -> dict[str, str | None]:
    # A change is compared in its one-letter form without `p.` (`V600E`), as the spec's examples write it;
    # a protein HGVS id (`ENSP00000356770.3:p.Arg534Gln`) names the protein too.
    text = _optional_text(value)
    if text is None:
        return {"aminoacid_change": None, "protein_id": None}
    if ":" not in text:
        return {"aminoacid_change": variant_ids.one_letter_change(text), "protein_id": None}
    key = variant_ids.protein_key(text)
    if key is None:
        raise BadRequest(
            f"aminoacidChange: {text!r} is neither a protein change (R175H, p.Arg175His) nor a "
            "protein HGVS id (ENSP00000269305.4:p.Arg175His)"
        )
    return {"aminoacid_change": variant_ids.short_protein_change(text), "protein_id": key}


def _rs_id(value: Any) -> str | None:
    text = _optional_text(value)
    if text is None:
        return None
    key = variant_ids.rs_key(text)
    if key is None:
        raise BadRequest(f"variantAlternativeId: {text!r} is not a dbSNP rsID (rs28934576 or dbSNP:rs28934576)")
    return key


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else str(value).strip()


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    values = _values(value)
    if not all(isinstance(item, str) and item for item in values):
        raise BadRequest(f"{name} must be a list of strings")
    return tuple(values)
