"""`beacon datasets show ID`: what a dataset holds, where it came from and who may see how much of it.

`dataset_report` gathers it from the store's public interface (records, variant statistics, the
load history the loaders keep) and the access policy; `report_lines` renders it as text, and the
`--json` form is the report itself.
"""

from __future__ import annotations

from typing import Any

from beacon.auth.policy import TIERS, AccessPolicy
from beacon.store.base import RecordQuery, Store

RECORD_ENTITIES = ("cohorts", "individuals", "biosamples", "runs", "analyses")


def dataset_report(store: Store, dataset_id: str, policy: AccessPolicy) -> dict[str, Any] | None:
    """Everything `datasets show` tells of one dataset; None when the store has no such dataset."""
    record = next((dataset for dataset in store.list_datasets() if dataset.get("id") == dataset_id), None)
    if record is None:
        return None
    statistics = store.variant_statistics(dataset_id)
    history = store.load_history(dataset_id)
    latest_vcf = next((entry for entry in reversed(history) if entry.get("kind") == "vcf"), None)
    source = store.variant_frequency_source(dataset_id)
    return {
        "id": dataset_id,
        "name": record.get("name", ""),
        "records": {entity: store.count_records(RecordQuery(entity, dataset_id)) for entity in RECORD_ENTITIES},
        "variants": None
        if statistics is None
        else {
            "assembly": statistics.assembly,
            "count": statistics.count,
            "byChromosome": dict(statistics.by_chromosome),
            "byType": dict(statistics.by_type),
        },
        "caseLevel": "caseLevelData" in store.variant_annotations(dataset_id),
        "frequencySource": source.to_json() if source is not None else None,
        "populations": latest_vcf.get("populations", {}) if latest_vcf else {},
        "loads": history,
        "access": access_report(policy, dataset_id),
    }


def access_report(policy: AccessPolicy, dataset_id: str) -> dict[str, Any]:
    """The dataset's security level and the most each caller tier may see (`hidden`: not even its existence)."""
    entry = policy.dataset(dataset_id)
    ceilings = zip(TIERS, entry.ceilings, strict=True)
    return {
        "policyFile": str(policy.source) if policy.source is not None else None,
        "namedInPolicy": dataset_id in policy.datasets,
        "securityLevel": entry.level.value,
        "tiers": {tier: ceiling.value if ceiling else "hidden" for tier, ceiling in ceilings},
        "testDataset": entry.test,
        "privacy": policy.privacy_info(dataset_id),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as text for a terminal."""
    lines = [f"dataset {report['id']}: {report['name']}"]
    lines.append("records: " + ", ".join(f"{count} {entity}" for entity, count in report["records"].items()))
    lines += _variant_lines(report)
    access = report["access"]
    policy = access["policyFile"] or "no policy file: the secure default"
    named = "" if access["namedInPolicy"] or access["policyFile"] is None else ", not named: the default level"
    lines.append(f"access ({policy}{named}): {access['securityLevel']}")
    lines += [f"  {tier}: {ceiling}" for tier, ceiling in access["tiers"].items()]
    lines += _privacy_lines(access["privacy"])
    lines.append(f"loads: {len(report['loads'])}")
    for entry in report["loads"]:
        lines += _load_lines(entry)
    return lines


def _privacy_lines(privacy: dict[str, Any]) -> list[str]:
    """The re-identification defences of the dataset (its `info.privacy`), a line each."""
    rare = privacy.get("rareAlleleProtection")
    if rare is None:
        return ["  rare alleles: shown (no rare-allele protection)"]
    lines = [f"  rare alleles: fewer than {rare['minAlleleCount']} copies not found for {', '.join(rare['tiers'])}"]
    budget = rare.get("memberBudget")
    if budget is not None:
        days = budget["windowSeconds"] / 86400
        lines.append(f"  member budget: {budget['answers']} answer(s) per {budget['scope']}, for {days:g} days")
    lines += [
        f"  query budget ({tier}): {spent['queries']} per {spent['windowSeconds']:g} s"
        for tier, spent in privacy.get("queryBudget", {}).items()
    ]
    if "noisyCounts" in privacy:
        lines.append(f"  noisy counts: epsilon {privacy['noisyCounts']['epsilon']}")
    return lines


def _variant_lines(report: dict[str, Any]) -> list[str]:
    variants = report["variants"]
    if variants is None:
        return ["variants: none loaded"]
    lines = [f"variants: {variants['count']:,} ({variants['assembly'] or 'assembly unknown'})"]
    lines.append("  per chromosome: " + ", ".join(f"{name} {n:,}" for name, n in variants["byChromosome"].items()))
    lines.append("  per type: " + ", ".join(f"{name} {n:,}" for name, n in variants["byType"].items()))
    lines.append(f"case-level data: {'yes' if report['caseLevel'] else 'no'}")
    source = report["frequencySource"]
    lines.append(
        f"frequency source: {source['source']} ({source['sourceReference']})"
        if source
        else "frequency source: the dataset itself (no populations map named one)"
    )
    populations = report["populations"]
    if populations:
        shown = (f"{name} ({count} samples)" if count is not None else name for name, count in populations.items())
        lines.append("populations: " + ", ".join(shown))
    return lines


def _load_lines(entry: dict[str, Any]) -> list[str]:
    lines = [
        f"  {entry.get('loadedAt', '?')} {entry.get('kind', '?')} {entry.get('mode', '')}: "
        f"{entry.get('loaded', 0):,} loaded, {entry.get('skipped', 0):,} skipped"
    ]
    for item in entry.get("files", []):
        lines.append(
            f"    {item['path']} ({item['bytes']:,} bytes, sha256 {item['sha256']}): "
            f"{item.get('loaded', 0):,} loaded, {sum(item.get('skipped', {}).values()):,} skipped"
        )
    return lines
