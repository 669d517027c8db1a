"""MongoDB filters for g_variants queries: the SQLite store's semantics, with request values as data only.

Every filter names the dataset version `v` (an integer the store issued) and, when the query has a
position, the shard key fields `assembly`, `chromosome` and `bucket` (`start // BUCKET_SIZE`), so
that mongos sends it only to the shards owning those buckets (docs/scaling.md). The kinds
(`beacon.store.base.VariantQuery`):

- sequence: the trimmed allele (`norm_start`, `norm_alt`, `norm_ref`); without a reference allele
  also VCF-style (`start` and `alternate_bases`). A variant's `norm_start` lies at most the
  version's `max_shift` after its `start`, which bounds the buckets to look in (usually one);
- range (overlap, `start < q.end and end > q.start`): as in SQLite, variants starting at most the
  version's longest short span (<= LONG_SPAN) before the range, plus, only when the version has
  any, the long ones (`span > LONG_SPAN`, a partial index) starting before that;
- bracket: `s0 <= start < s1 and e0 <= end < e1`;
- id: the `variant_id` at its `chromosome` and `start` (`beacon.store.base.build_id_query`).

By construction: text (chromosome, ids, genes, biosample ids, variant types) is compared only under
`$eq` or inside an `$in` list of strings, and anything else raises TypeError; positions and lengths
must be integers; bases must be `[ACGTN]*` (ValueError otherwise), and only bases holding an `N`
become a regular expression: anchored, every base literal, `N` matching one character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beacon.store.base import FrequencySource, VariantQuery
from beacon.store.mongo.lookups import lookup_clauses
from beacon.store.mongo.queries import eq, require_text, text_list
from beacon.store.mongo.structural import mate_filter

BUCKET_SIZE = 100_000
"""Positions per shard key bucket: small enough for chunks to split, large enough to keep ranges together."""
LONG_SPAN = 1000
"""Variants spanning more bases than this are indexed apart (a partial index), as in the SQLite store."""
MAX_BUCKETS = 256
"""A query spanning more buckets names none (it goes to every shard; the answer is the same)."""
_BASES = re.compile("[ACGTN]*")
_END = r"(?![\s\S])"  # end of text in PCRE and Python alike (`$` also matches before a final newline)


@dataclass(frozen=True)
class VariantSet:
    """One loaded version of a dataset's variants, as the dataset's variant set document records it."""

    version: int
    assembly: str | None = None
    count: int = 0
    max_short_span: int = 0  # the longest span <= LONG_SPAN
    max_span: int = 0
    max_shift: int = 0  # the largest `norm_start - start`
    annotations: tuple[str, ...] = ()  # geneId, aminoacidChange, caseLevelData
    frequency_source: FrequencySource | None = None  # named by the load (a populations map)

    def to_document(self) -> dict[str, Any]:
        """The BSON form kept in the variant set document (`frequency_source` only when named)."""
        document: dict[str, Any] = {
            "version": self.version,
            "assembly": self.assembly,
            "count": self.count,
            "max_short_span": self.max_short_span,
            "max_span": self.max_span,
            "max_shift": self.max_shift,
            "annotations": list(self.annotations),
        }
        if self.frequency_source is not None:
            document["frequency_source"] = self.frequency_source.to_json()
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> VariantSet:
        """The variant set from its `to_document` form."""
        numbers = {name: int(document[name]) for name in ("count", "max_short_span", "max_span", "max_shift")}
        source = document.get("frequency_source")
        return cls(
            version=int(document["version"]),
            assembly=document.get("assembly"),
            annotations=tuple(document.get("annotations", ())),
            frequency_source=None if source is None else FrequencySource.from_json(source),
            **numbers,
        )


Carried = Sequence[str] | None
"""The ids of the variants a query's biosamples carry (`mongo_carriers.carried_variant_ids`), or a batch of
them; None for a query naming no biosamples."""


def variant_filters(query: VariantQuery, variant_set: VariantSet, carried: Carried = None) -> list[dict[str, Any]]:
    """Disjoint filters whose counts add up to the query's count (two for a range over long variants)."""
    narrowing = _narrowing(query, carried)
    filters = _positional_parts(query, variant_set)
    return [{**part, "$and": narrowing} if narrowing else part for part in filters]


def find_filter(query: VariantQuery, variant_set: VariantSet, carried: Carried = None) -> dict[str, Any]:
    """One filter for the whole query: the positional parts joined by `$or`, the narrowing once beside them.

    The narrowing (e.g. a large biosample `$in`) is not copied into every `$or` branch.
    """
    parts, narrowing = _positional_parts(query, variant_set), _narrowing(query, carried)
    joined = parts[0] if len(parts) == 1 else {"$or": parts}
    if not narrowing:
        return joined
    return {**joined, "$and": narrowing} if len(parts) == 1 else {"$and": [joined, *narrowing]}


def _positional_parts(query: VariantQuery, variant_set: VariantSet) -> list[dict[str, Any]]:
    parts = _KINDS.get(query.kind)
    if parts is None:
        raise ValueError(f"unknown variant query kind {query.kind!r}")
    common: dict[str, Any] = {"v": {"$eq": int(variant_set.version)}}
    if variant_set.assembly is not None:
        common["assembly"] = eq(variant_set.assembly)
    if query.chromosome is not None:
        common["chromosome"] = eq(require_text(query.chromosome, "chromosome"))
    return [{**common, **part} for part in parts(query, variant_set)]


def index_hint(query: VariantQuery) -> str | None:
    """The index a query without a position must use: never a walk of the whole version in position order.

    A gene, amino acid change or carrier query sorted by position (record pages) may otherwise be
    planned on `by_position`, which gives the order for free but reads every variant of the version.
    Positional queries need no hint (their bounds make `by_position`/`by_allele` the obvious plan).
    """
    if query.kind not in ("gene", "all"):
        return None
    if query.rs_id is not None:
        return "by_rs_id"
    if query.protein_id is not None:
        return "by_protein_key"
    if query.gene_id is not None:
        # No hint: a gene is `$or` of `gene_keys` and `gene_ids` (`mongo_lookups`), which MongoDB plans clause
        # by clause on their two partial indexes; a hint would force one index the other clause does not fit.
        return None
    if query.aminoacid_change is not None:
        return "by_aminoacid_change"
    if query.biosample_ids is not None:  # `variant_id` among those the biosamples carry
        return "by_variant_id"
    return None


def is_everything(query: VariantQuery) -> bool:
    """True for an `all` query with nothing narrowing it: its count is the version's variant count."""
    return query.kind == "all" and query.biosample_ids is None and not _narrowing(query, None)


def _sequence(query: VariantQuery, variant_set: VariantSet) -> list[dict[str, Any]]:
    norm_start = require_int(query.norm_start, "norm_start")
    trimmed: dict[str, Any] = {"norm_start": {"$eq": norm_start}}
    if query.norm_alt is not None:
        trimmed["norm_alt"] = bases_match(query.norm_alt, "norm_alt")
    buckets = bucket_numbers(norm_start - variant_set.max_shift, norm_start)
    if query.norm_ref is not None:
        trimmed["norm_ref"] = bases_match(query.norm_ref, "norm_ref")
        return [{**trimmed, **_bucket_clause(buckets)}]
    # Without a reference allele the query could not be trimmed: also match it VCF-style.
    start = require_int(query.start, "start")
    padded: dict[str, Any] = {"start": {"$eq": start}}
    if query.alternate_bases is not None:
        padded["alternate_bases"] = bases_match(query.alternate_bases, "alternate_bases")
    both = None if buckets is None else sorted({*buckets, *(bucket_numbers(start, start) or [])})
    return [{"$or": [trimmed, padded], **_bucket_clause(both)}]


def _range(query: VariantQuery, variant_set: VariantSet) -> list[dict[str, Any]]:
    start, end = require_int(query.start, "start"), require_int(query.end, "end")
    lower = start - min(variant_set.max_short_span, LONG_SPAN)
    parts = [
        {
            "start": {"$gte": lower, "$lt": end},
            "end": {"$gt": start},
            **_bucket_clause(bucket_numbers(lower, end - 1)),
        }
    ]
    if variant_set.max_span > LONG_SPAN:  # the few long variants that start before `lower`
        earliest = start - variant_set.max_span
        parts.append(
            {
                "start": {"$gte": earliest, "$lt": lower},
                "end": {"$gt": start},
                "span": {"$gt": LONG_SPAN},
                **_bucket_clause(bucket_numbers(earliest, lower - 1)),
            }
        )
    return parts


def _bracket(query: VariantQuery, _variant_set: VariantSet) -> list[dict[str, Any]]:
    start, start_max = require_int(query.start, "start"), require_int(query.start_max, "start_max")
    end_min, end = require_int(query.end_min, "end_min"), require_int(query.end, "end")
    bracket = {"start": {"$gte": start, "$lt": start_max}, "end": {"$gte": end_min, "$lt": end}}
    return [{**bracket, **_bucket_clause(bucket_numbers(start, start_max - 1))}]


def _by_id(query: VariantQuery, _variant_set: VariantSet) -> list[dict[str, Any]]:
    # The id is looked up at its position (`build_id_query`): the `by_position` index, one shard.
    require_text(query.chromosome, "chromosome")
    start = require_int(query.start, "start")
    by_id = {"start": {"$eq": start}, "variant_id": eq(require_text(query.variant_id, "variant_id"))}
    return [{**by_id, **_bucket_clause(bucket_numbers(start, start))}]


def _everything(_query: VariantQuery, _variant_set: VariantSet) -> list[dict[str, Any]]:
    return [{}]  # a gene query's gene is a narrowing condition


_KINDS: dict[str, Callable[[VariantQuery, VariantSet], list[dict[str, Any]]]] = {
    "sequence": _sequence,
    "range": _range,
    "bracket": _bracket,
    "gene": _everything,
    "id": _by_id,
    "all": _everything,
    "mate": lambda query, _variant_set: mate_filter(query),
}


def _narrowing(query: VariantQuery, carried: Carried) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if query.kind != "sequence" and query.alternate_bases is not None:
        alternate = bases_match(query.alternate_bases, "alternate_bases")
        clauses.append({"$or": [{"alternate_bases": alternate}, {"norm_alt": alternate}]})
    if query.kind == "range" and query.reference_bases is not None:
        reference = bases_match(query.reference_bases, "reference_bases")
        clauses.append({"$or": [{"reference_bases": reference}, {"norm_ref": reference}]})
    if query.variant_types:
        clauses.append({"variant_type": {"$in": text_list(query.variant_types, "variant_types")}})
    lengths = {}
    if query.min_length is not None:
        lengths["$gte"] = require_int(query.min_length, "min_length")
    if query.max_length is not None:
        lengths["$lte"] = require_int(query.max_length, "max_length")
    if lengths:
        clauses.append({"length": lengths})
    clauses += lookup_clauses(query)
    if query.aminoacid_change is not None:
        clauses.append({"aminoacid_changes": eq(require_text(query.aminoacid_change, "aminoacid_change"))})
    if query.biosample_ids is not None:
        if carried is None:
            raise ValueError("a query naming biosamples needs the ids of the variants they carry")
        clauses.append({"variant_id": {"$in": text_list(carried, "carried variant ids")}})
    return clauses


def bases_match(bases: Any, name: str) -> dict[str, Any]:
    """`$eq` for plain bases, an anchored pattern for bases with `N`; ValueError unless `[ACGTN]*`."""
    text = require_text(bases, name)
    if not _BASES.fullmatch(text):
        raise ValueError(f"{name} must contain only A, C, G, T or N, got {text!r}")
    if "N" not in text:
        return {"$eq": text}
    return {"$regex": "^" + "".join("." if base == "N" else re.escape(base) for base in text) + _END}


def bucket_numbers(first_start: int, last_start: int) -> list[int] | None:
    """The buckets of starts `first_start..last_start`; None when they are more than MAX_BUCKETS."""
    first, last = max(first_start, 0) // BUCKET_SIZE, last_start // BUCKET_SIZE
    if last_start < 0 or last < first:
        return []
    if last - first + 1 > MAX_BUCKETS:
        return None
    return list(range(first, last + 1))


def _bucket_clause(buckets: list[int] | None) -> dict[str, Any]:
    return {} if buckets is None else {"bucket": {"$in": buckets}}


_INT64 = range(-(2**63), 2**63)


def require_int(value: Any, name: str) -> int:
    """`value` if it is an integer (not a bool) BSON can hold; TypeError or ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value not in _INT64:  # BSON would raise OverflowError while encoding the command
        raise ValueError(f"{name} {value} is beyond what a 64-bit integer holds")
    return value
