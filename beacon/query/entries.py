"""Answer entry-type queries: one pass over the datasets the caller may see (no Flask here).

For each dataset the granted granularity is min(requested, the policy's ceiling for this caller,
the entry type's ceiling); boolean and count answers never materialise records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from beacon.errors import NotFound
from beacon.query.carriers import CannotTell, CarrierQuery, not_answered_info
from beacon.query.entry_types import EntryType
from beacon.query.granularity import Granularity, narrowest
from beacon.query.member_budget import MemberBudget, MemberLedger
from beacon.query.privacy import NO_PROTECTIONS, Protections, noisy_count, question_key
from beacon.query.requests import BeaconRequest
from beacon.query.responses import EXACT_COUNTS, CountProtection, DatasetResult
from beacon.store.base import Condition, RecordQuery, Store


class Policy(Protocol):
    """The part of the access policy queries need (see beacon.auth.policy)."""

    def ceiling(self, principal: Any, dataset_id: str) -> Granularity | None:
        """The most this caller may see of a dataset; None when it may not see it at all."""

    def count_protection(self, dataset_id: str) -> CountProtection:
        """How the dataset's counts are shown to callers who may not see its records."""

    def is_test_dataset(self, dataset_id: str) -> bool:
        """Whether the policy marks the dataset as a test dataset (answered in `testMode` only)."""

    def protections(self, principal: Any, dataset_id: str) -> Protections:
        """The rare-allele protection and noisy counts of this caller's answers from a dataset."""


class VisibleDataset(NamedTuple):
    """A dataset this caller may see, the most it may see of it, its small-count protection and defences."""

    dataset_id: str
    ceiling: Granularity
    counts: CountProtection = EXACT_COUNTS
    protections: Protections = NO_PROTECTIONS


@dataclass(frozen=True)
class Scope:
    """What a query is narrowed to: by the URL (some datasets, one record, a set of record ids) and by
    the request (its dataset selection and test mode)."""

    dataset_ids: tuple[str, ...] | None = None
    record_id: str | None = None
    record_ids: frozenset[str] | None = None
    explicit: bool = False  # the URL names these datasets: one the caller cannot see is a 404
    selected: tuple[str, ...] | None = None  # the request's `datasets`: ones the caller cannot see are left out
    test_mode: bool = False  # answer from test datasets only (else they are left out)

    @classmethod
    def of(cls, request: BeaconRequest, **narrowing: Any) -> Scope:
        """The scope of a request (its dataset selection and test mode), narrowed further by the URL."""
        return cls(selected=request.dataset_ids, test_mode=request.test_mode, **narrowing)


TEST_DATASET_FLAG = "testDataset"
"""A dataset record whose `info` has `"testDataset": true` is a test dataset (as is one the policy marks)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking and under which policy."""

    principal: Any
    policy: Policy
    warnings: tuple[str, ...] = ()
    """What the response `info` tells the caller about its credentials (e.g. an ignored token)."""
    charge: Callable[[Sequence[str]], None] = lambda dataset_ids: None
    """Counts a query of these datasets against the caller's query budgets (raises when one is spent)."""
    question: str = ""
    """What was asked (the URL path): with the request's parameters, it seeds noisy counts."""
    noise_secret: bytes = b""
    member_ledger: Callable[[str, MemberBudget], MemberLedger | None] = lambda dataset_id, member_budget: None
    """Where the answers a dataset's members decided for this caller are counted (member budgets)."""


def visible_datasets(store: Store, caller: Caller, scope: Scope) -> list[VisibleDataset]:
    """Each dataset in scope this caller may see, with its ceiling, ordered by id.

    Unknown datasets, hidden ones and those of the other mode (test or not) are all simply not there:
    a dataset the URL names is then a 404 with the same message, so callers cannot tell them apart.
    """
    visible = []
    for dataset in store.list_datasets():
        dataset_id = dataset["id"]
        if not _in_scope(dataset_id, scope) or is_test_dataset(dataset, caller.policy) != scope.test_mode:
            continue
        ceiling = caller.policy.ceiling(caller.principal, dataset_id)
        if ceiling is not None:
            counts = caller.policy.count_protection(dataset_id)
            protections = caller.policy.protections(caller.principal, dataset_id)
            if protections != NO_PROTECTIONS:
                protections = replace(protections, secret=caller.noise_secret)
            if protections.member_budget is not None:
                protections = replace(protections, ledger=caller.member_ledger(dataset_id, protections.member_budget))
            visible.append(VisibleDataset(dataset_id, ceiling, counts, protections))
    if scope.explicit and scope.dataset_ids is not None:
        seen = {dataset.dataset_id for dataset in visible}
        for dataset_id in scope.dataset_ids:
            if dataset_id not in seen:
                raise NotFound(no_dataset_message(dataset_id))
    return visible


def _in_scope(dataset_id: str, scope: Scope) -> bool:
    return all(chosen is None or dataset_id in chosen for chosen in (scope.dataset_ids, scope.selected))


def is_test_dataset(dataset: Mapping[str, Any], policy: Policy) -> bool:
    """Whether a dataset record is a test dataset: marked in its `info` or by the access policy."""
    info = dataset.get("info")
    marked = isinstance(info, Mapping) and info.get(TEST_DATASET_FLAG) is True
    return marked or policy.is_test_dataset(str(dataset["id"]))


def no_dataset_message(dataset_id: str) -> str:
    """The one message for a dataset that is unknown, hidden from the caller or outside the test mode."""
    return f"no dataset with id {dataset_id!r}"


def unavailable_selected(scope: Scope, results: Sequence[DatasetResult]) -> list[str]:
    """Warnings for the selected datasets that did not answer (unknown, hidden or of the other mode alike)."""
    answered = {result.dataset_id for result in results}
    missing = [dataset_id for dataset_id in scope.selected or () if dataset_id not in answered]
    return [f"{no_dataset_message(dataset_id)}: it was left out" for dataset_id in missing]


def answer_per_dataset(
    datasets: Sequence[VisibleDataset],
    request: BeaconRequest,
    entry_type: EntryType,
    count: Callable[[str], int],
    find: Callable[[str], Sequence[Mapping[str, Any]]],
    caller: Caller | None = None,
) -> list[DatasetResult]:
    """Count (and for record level, fetch) matches in each dataset at its granted granularity.

    The query is charged to the caller's budgets first. Counts are exact for callers who may see the
    dataset's records, else noisy (datasets that opt in) and small-count protected.
    """
    if caller is not None:
        caller.charge([dataset.dataset_id for dataset in datasets])
    results = []
    for dataset_id, ceiling, counts, protections in datasets:
        granted = narrowest(request.requested_granularity, ceiling, entry_type.max_granularity)
        total = count(dataset_id)
        records = tuple(find(dataset_id)) if granted == Granularity.RECORD and total > request.offset else ()
        result = DatasetResult(dataset_id, granted, total, records)
        if ceiling < Granularity.RECORD and protections.noise_epsilon is not None and caller is not None:
            result = _with_noise(result, protections.noise_epsilon, caller, request, entry_type)
        protected = granted == Granularity.COUNT and ceiling < Granularity.RECORD
        results.append(counts.apply(result) if protected else result)
    return results


def _with_noise(
    result: DatasetResult, epsilon: float, caller: Caller, request: BeaconRequest, entry_type: EntryType
) -> DatasetResult:
    question = question_key(caller.question, entry_type.path, dict(request.request_parameters), request.filters)
    count = noisy_count(result.count, epsilon, caller.noise_secret, result.dataset_id, question)
    noted = ("Laplace noise",) if result.granularity == Granularity.COUNT else ()
    return replace(result, count=count, count_adjusted_to=noted, count_precision="imprecise" if noted else None)


def query_records(
    store: Store,
    caller: Caller,
    entry_type: EntryType,
    request: BeaconRequest,
    scope: Scope,
    conditions: tuple[Condition, ...] = (),
    *,
    require_match: bool = True,
    carriers: CarrierQuery | None = None,
) -> list[DatasetResult]:
    """Per-dataset results for a metadata entry type (individuals, biosamples, ...).

    With `scope.record_id`, no match is a 404 unless `require_match` is false (a filtered lookup of a
    record known to exist). With `carriers` (a variant query), only records carrying a matching variant
    match, and a dataset that cannot tell which do says so in its result set's `info`.
    """

    datasets = visible_datasets(store, caller, scope)
    rare = {dataset.dataset_id: dataset.protections for dataset in datasets}

    def record_query(dataset_id: str) -> RecordQuery:
        record_ids = scope.record_ids
        if carriers is not None:
            record_ids = carriers.record_ids(dataset_id, scope.record_ids, rare[dataset_id])
        narrowing = {"record_id": scope.record_id, "conditions": conditions, "record_ids": record_ids}
        return RecordQuery(entry_type.path, dataset_id, **narrowing, skip=request.offset, limit=request.limit)

    reasons = {} if carriers is None else {d.dataset_id: carriers.unanswerable(d.dataset_id) for d in datasets}
    answered = answer_per_dataset(
        [dataset for dataset in datasets if reasons.get(dataset.dataset_id) is None],
        request,
        entry_type,
        count=lambda dataset_id: store.count_records(record_query(dataset_id)),
        find=lambda dataset_id: store.find_records(record_query(dataset_id)),
        caller=caller,
    )
    results = sorted([*answered, *not_answered(datasets, reasons, request, entry_type)], key=lambda r: r.dataset_id)
    if require_match and scope.record_id is not None and not any(result.exists for result in results):
        raise NotFound(f"no {entry_type.name.lower()} with id {scope.record_id!r}")
    return results


def not_answered(
    datasets: Sequence[VisibleDataset],
    reasons: Mapping[str, CannotTell | None],
    request: BeaconRequest,
    entry_type: EntryType,
) -> list[DatasetResult]:
    """The result sets of the datasets that cannot tell (`reasons`), at their granted granularity."""
    results = []
    for dataset_id, ceiling, *_ in datasets:
        reason = reasons.get(dataset_id)
        if reason is not None:
            granted = narrowest(request.requested_granularity, ceiling, entry_type.max_granularity)
            results.append(DatasetResult(dataset_id, granted, 0, info=not_answered_info(reason), answered=False))
    return results


def find_record(
    store: Store, caller: Caller, entry_type: EntryType, record_id: str, scope: Scope = Scope()
) -> dict[str, Any]:
    """One record by id, if the caller may see its dataset in this scope, else 404 (one message)."""
    for dataset_id, *_ in visible_datasets(store, caller, scope):
        query = RecordQuery(entity=entry_type.path, dataset_id=dataset_id, record_id=record_id, limit=1)
        found = store.find_records(query)
        if found:
            return found[0]
    if entry_type.path == "datasets":
        raise NotFound(no_dataset_message(record_id))
    raise NotFound(f"no {entry_type.name.lower()} with id {record_id!r}")


def list_collection(
    store: Store, caller: Caller, entry_type: EntryType, request: BeaconRequest, scope: Scope
) -> tuple[int, list[dict[str, Any]]]:
    """All datasets or cohorts the caller may see in this scope: (total, one page of records)."""
    records: list[dict[str, Any]] = []
    for dataset_id, *_ in visible_datasets(store, caller, scope):
        query = RecordQuery(entity=entry_type.path, dataset_id=dataset_id, limit=1_000_000)
        records.extend(store.find_records(query))
    records.sort(key=lambda record: record["id"])
    return len(records), records[request.offset : request.offset + request.limit]
