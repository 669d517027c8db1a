"""Individuals and biosamples selected by a variant: g_variants request parameters on /individuals and /biosamples.

The matches are the carriers of the matching variants (case-level data, loaded with `--case-level`):
the biosamples carrying one of them, and the individuals those biosamples come from (`individualId`).
A dataset that cannot tell who carries its variants (none loaded, loaded without case-level data, or a
query too broad to look up) never answers a silent `exists: false`: its result set says why in `info`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beacon.query.privacy import Protections, carriers_of, common_variants
from beacon.query.variants import VariantRequest, missing_annotations
from beacon.store.base import RecordQuery, Store, VariantQuery

MAX_CARRIER_VARIANTS = 200_000
"""Most variants whose carriers one dataset looks up for one query (a wider query is not answered)."""
NOT_ANSWERED = 501
"""`errorCode` of a result set whose dataset cannot evaluate the query (the HTTP "not implemented")."""


@dataclass(frozen=True)
class CannotTell:
    """Why a dataset cannot answer a question: `code` goes to its result set's `info.cannotTell`.

    Codes: `noVariants`, `noCaseLevelData`, `noAnnotations` (genes, protein changes), `noVariantIds`
    (rsIDs), `tooBroad` (more variants than carriers are looked up for).
    """

    code: str
    message: str


@dataclass(frozen=True)
class CarrierQuery:
    """A variant query asked of individuals or biosamples, answered per dataset from the carriers."""

    store: Store
    entity: str  # "individuals" or "biosamples"
    variants: VariantRequest
    _found: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def unanswerable(self, dataset_id: str) -> CannotTell | None:
        """Why the dataset cannot tell which of its records carry a matching variant; None when it can."""
        loaded = self.store.count_variants(VariantQuery(dataset_id, kind="all"))
        if not loaded:
            message = f"dataset {dataset_id}: no genomic variants are loaded, so it cannot tell who carries one"
            return CannotTell("noVariants", message)
        annotations = self.store.variant_annotations(dataset_id)
        if "caseLevelData" not in annotations:
            return no_case_level_data(dataset_id, f"it cannot tell which {self.entity} carry them")
        lacking = missing_annotations_reason(dataset_id, self.variants.template, annotations)
        if lacking is not None:
            return lacking
        matching = self.store.count_variants(self._query(dataset_id))
        if matching > MAX_CARRIER_VARIANTS:
            return CannotTell(
                "tooBroad",
                f"dataset {dataset_id}: the query matches {matching} variants, more than the {MAX_CARRIER_VARIANTS} "
                "whose carriers this beacon looks up; narrow it (a smaller range, a gene, alleles)",
            )
        return None

    def record_ids(
        self, dataset_id: str, within: frozenset[str] | None = None, protections: Protections | None = None
    ) -> frozenset[str]:
        """Ids of the dataset's records (of `entity`, among `within` if given) carrying a matching variant;
        under rare-allele protection (`protections`), a variant it hides matches nothing."""
        if dataset_id not in self._found:  # looked up once, for the count and the page
            self._found[dataset_id] = self._look_up(dataset_id, protections)
        found = self._found[dataset_id]
        return found if within is None else found & within

    def _look_up(self, dataset_id: str, protections: Protections | None) -> frozenset[str]:
        if protections is None or protections.min_allele_count is None:
            biosamples = frozenset(self.store.carriers_of_variants(self._query(dataset_id)))
        else:
            biosamples = frozenset(carriers_of(common_variants(self.store, self._query(dataset_id), protections)))
        return biosamples if self.entity == "biosamples" else individuals_of(self.store, dataset_id, biosamples)

    def _query(self, dataset_id: str) -> VariantQuery:
        return self.variants.for_dataset(dataset_id, skip=0, limit=MAX_CARRIER_VARIANTS)


def individuals_of(store: Store, dataset_id: str, biosamples: frozenset[str]) -> frozenset[str]:
    """Ids of the individuals the biosamples come from (their `individualId`)."""
    if not biosamples:
        return frozenset()
    query = RecordQuery("biosamples", dataset_id, record_ids=biosamples, limit=len(biosamples))
    return frozenset(str(r["individualId"]) for r in store.find_records(query) if r.get("individualId"))


def no_case_level_data(dataset_id: str, consequence: str) -> CannotTell:
    """The dataset's variants were loaded without carriers, so `consequence`."""
    return CannotTell(
        "noCaseLevelData",
        f"dataset {dataset_id}: its variants were loaded without case-level data (load the VCFs with "
        f"--case-level), so {consequence}",
    )


def missing_annotations_reason(dataset_id: str, query: VariantQuery, available: set[str]) -> CannotTell | None:
    """Why the dataset's variants (carrying `available`) cannot answer the query's gene, protein or rsID."""
    missing = missing_annotations(query, available)
    if not missing:
        return None
    if "variantAlternativeId" in missing:
        message = f"dataset {dataset_id}: its variants were loaded without rsIDs (the VCF's ID column)"
        return CannotTell("noVariantIds", message)
    names = " or ".join(missing)
    return CannotTell(
        "noAnnotations", f"dataset {dataset_id}: its variants carry no {names} annotation (VEP CSQ or SnpEff ANN)"
    )


def not_answered_info(reason: CannotTell) -> dict[str, Any]:
    """The result-set `info` of a dataset that cannot evaluate the query: `cannotTell` and the networks'
    error shape."""
    return {"cannotTell": reason.code, "error": {"errorCode": NOT_ANSWERED, "errorMessage": reason.message}}
