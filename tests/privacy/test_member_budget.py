"""Member budgets: the answers each member alone decided for one caller, and answers as if a member whose
budget is spent were absent, on every way of asking, shared by the workers of a real gunicorn.

Expected answers come from the demo VCF's genotypes read here with cyvcf2 (2504 samples of chr22): an
allele's count with and without one sample, against the threshold of 5 copies.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cyvcf2
import numpy as np
import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.api.protection import LimitsMemberLedger
from beacon.demo import DEMO_VCF
from beacon.query.member_budget import MemberBudget, screen
from beacon.query.privacy import Protections, common_variants
from beacon.store import open_limits
from beacon.store.base import VariantDocument, build_id_query
from beacon.store.sqlite import SqliteStore
from tests.conftest import DEMO_DATASET, make_settings
from tests.privacy.test_limits_gunicorn import gunicorn_server

THRESHOLD = 5
COPIES = np.array([0, 1, 0, 2])  # cyvcf2 gt_types: hom-ref, het, unknown, hom-alt


def snv_alleles() -> list[dict[str, Any]]:
    """Biallelic SNVs of the demo: 0-based start, bases, allele count and copies per carrier sample."""
    vcf = cyvcf2.VCF(str(DEMO_VCF))
    samples = vcf.samples  # a new list at every access
    found = []
    for record in vcf:
        if len(record.ALT) != 1 or len(record.REF) != 1 or record.ALT[0] not in "ACGT":
            continue
        carried = COPIES[record.gt_types]  # biallelic: a het carries one copy, a hom-alt two
        carriers = {samples[i]: int(carried[i]) for i in carried.nonzero()[0]}
        allele = {"start": record.POS - 1, "ref": record.REF, "alt": record.ALT[0], "ac": int(carried.sum())}
        found.append(allele | {"carriers": carriers})
    return found


ALLELES = snv_alleles()


def pivotal_alleles(sample: str) -> list[dict[str, Any]]:
    """Alleles at exactly the threshold that `sample` carries once: without it they fall below."""
    return [a for a in ALLELES if a["ac"] == THRESHOLD and a["carriers"].get(sample) == 1]


# The sample with the most such alleles, and a common allele it carries.
TARGET = max({s for a in ALLELES if a["ac"] == THRESHOLD for s in a["carriers"]}, key=lambda s: len(pivotal_alleles(s)))
COMMON_OF_TARGET = next(a for a in ALLELES if a["ac"] >= 4 * THRESHOLD and TARGET in a["carriers"])


def document(name: str, carriers: dict[str, str]) -> VariantDocument:
    return VariantDocument(
        variant_id=name,
        assembly="GRCh38",
        chromosome="1",
        start=0,
        end=1,
        reference_bases="A",
        alternate_bases="T",
        norm_start=0,
        norm_ref="A",
        norm_alt="T",
        variant_type="SNP",
        length=1,
        carriers=tuple(carriers.items()),
    )


def test_screening_hides_what_spent_members_lift_and_counts_who_decided_the_rest():
    het, hom = "heterozygous", "homozygous"
    lifted = document("lifted", {"a": het, "b": het, "c": hom, "d": het})  # 5 copies: each carrier decides it
    still = document("still", {"a": het, "b": hom, "c": hom, "d": het})  # 6: only the homozygous ones decide it
    rare = document("rare", {"b": het})

    def count(doc: VariantDocument) -> int:
        return sum(2 if zygosity == hom else 1 for _, zygosity in doc.carriers)

    fresh = screen([lifted, still, rare], count, lambda doc: THRESHOLD, {}, budget=10)
    assert [doc.variant_id for doc in fresh.shown] == ["lifted", "still"]
    assert fresh.decided == {"a": 1, "b": 2, "c": 2, "d": 1}
    # With a absent, `lifted` has 4 copies (not shown) and `still` 5, which b, c and d each decide.
    spent = screen([lifted, still, rare], count, lambda doc: THRESHOLD, {"a": 1}, budget=1)
    assert [doc.variant_id for doc in spent.shown] == ["still"]
    assert spent.decided == {"b": 1, "c": 1, "d": 1}
    # One answer cannot spend a budget twice: deciding `lifted` spends everyone's budget of 1.
    once = screen([lifted, still], count, lambda doc: THRESHOLD, {}, budget=1)
    assert [doc.variant_id for doc in once.shown] == ["lifted"]


def policy(answers: int, window: float, scope: str = "caller") -> str:
    budget = f"member_budget: {{answers: {answers}, window: {window}, scope: {scope}}}"
    return (
        "default_level: CONTROLLED\n"
        f"rare_alleles: {{min_allele_count: {THRESHOLD}, tiers: [anonymous], {budget}}}\n"
        f"datasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    )


def make_client(
    store: Path, directory: Path, answers: int = 1, window: float = 86400, scope: str = "caller"
) -> FlaskClient:
    access = directory / "policy.yaml"
    access.write_text(policy(answers, window, scope), encoding="utf-8")
    limits = f"sqlite:///{directory / 'limits.sqlite'}"
    return create_app(make_settings(store, access_file=access, limits_uri=limits)).test_client()


def exists(client: FlaskClient, allele: dict[str, Any], address: str) -> bool:
    query = {"referenceName": "22", "assemblyId": "GRCh37", "start": allele["start"]}
    query |= {"referenceBases": allele["ref"], "alternateBases": allele["alt"]}
    response = client.get("/api/g_variants", query_string=query, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["responseSummary"]["exists"]


def variant_id(allele: dict[str, Any]) -> str:
    return f"GRCh37-22-{allele['start'] + 1}-{allele['ref']}-{allele['alt']}"


@pytest.mark.parametrize("answers", [1, 2])
def test_a_member_who_decided_the_budget_is_answered_as_absent_to_that_caller_only(demo_store_file, tmp_path, answers):
    client = make_client(demo_store_file, tmp_path, answers)
    pivotal = pivotal_alleles(TARGET)
    assert len(pivotal) > answers + 1
    got = [exists(client, allele, "10.0.0.1") for allele in pivotal]
    # Each of these alleles has 5 copies, one of them the target's: the first `answers` are shown (the target
    # decides them); then the target counts as absent, leaving 4 copies, and they are not found.
    assert got == [True] * answers + [False] * (len(pivotal) - answers)
    assert exists(client, pivotal[-1], "10.0.0.2")  # another caller's budgets are whole
    # An allele the target carries that keeps 5 copies without it is still found.
    assert COMMON_OF_TARGET["ac"] - COMMON_OF_TARGET["carriers"][TARGET] >= THRESHOLD
    assert exists(client, COMMON_OF_TARGET, "10.0.0.1")


def spend_target(client: FlaskClient, address: str) -> dict[str, Any]:
    """Ask the target's pivotal alleles until its budget (1) is spent; the last one, now hidden."""
    pivotal = pivotal_alleles(TARGET)
    assert [exists(client, allele, address) for allele in pivotal[:2]] == [True, False]
    return pivotal[1]


def test_every_way_of_asking_hides_an_allele_only_a_spent_member_lifts(demo_store_file, tmp_path):
    client = make_client(demo_store_file, tmp_path)
    hidden = spend_target(client, "10.0.0.1")
    address = {"REMOTE_ADDR": "10.0.0.1"}
    assert client.get(f"/api/g_variants/{variant_id(hidden)}", environ_base=address).status_code == 404
    carriers = client.get(f"/api/g_variants/{variant_id(hidden)}/biosamples", environ_base=address)
    assert carriers.status_code == 200 and carriers.get_json()["responseSummary"]["exists"] is False
    window = {"referenceName": "22", "assemblyId": "GRCh37", "start": hidden["start"], "end": hidden["start"] + 1}
    window["requestedGranularity"] = "record"
    ranged = client.get("/api/g_variants", query_string=window, environ_base=address).get_json()
    assert variant_id(hidden) not in {
        r["variantInternalId"] for s in ranged["response"]["resultSets"] for r in s["results"]
    }
    carrying = client.get(f"/api/biosamples/{TARGET}/g_variants", query_string=window, environ_base=address)
    assert carrying.get_json()["responseSummary"]["exists"] is False
    other = {"REMOTE_ADDR": "10.0.0.3"}
    assert client.get(f"/api/g_variants/{variant_id(hidden)}", environ_base=other).status_code == 200
    # (that answer was decided by the target, so caller 10.0.0.3 has now spent it too: ask as another)
    fresh = {"REMOTE_ADDR": "10.0.0.4"}
    shown = client.get(f"/api/biosamples/{TARGET}/g_variants", query_string=window, environ_base=fresh)
    assert shown.get_json()["responseSummary"]["exists"] is True


def test_a_spent_budget_is_whole_again_after_its_window(demo_store_file, tmp_path):
    client = make_client(demo_store_file, tmp_path, window=1.0)
    hidden = spend_target(client, "10.0.0.1")
    time.sleep(1.2)
    assert exists(client, hidden, "10.0.0.1") is True


def test_the_dataset_info_describes_the_member_budget(demo_store_file, tmp_path):
    client = make_client(demo_store_file, tmp_path, answers=3, window=3600)
    document = client.get("/api/datasets", query_string={"requestedGranularity": "record"}).get_json()
    demo = next(record for record in document["response"]["collections"] if record["id"] == DEMO_DATASET)
    described = demo["info"]["privacy"]["rareAlleleProtection"]["memberBudget"]
    assert (described["answers"], described["windowSeconds"], described["scope"]) == (3, 3600, "caller")


def test_a_budget_for_everyone_is_spent_for_every_caller(demo_store_file, tmp_path):
    # Many addresses get no more than one: the target decided its answer for 10.0.0.1, so the first question
    # of 10.0.0.2 about another of its pivotal alleles already finds the target absent.
    client = make_client(demo_store_file, tmp_path, scope="everyone")
    first, second = pivotal_alleles(TARGET)[:2]
    assert exists(client, first, "10.0.0.1") is True
    assert exists(client, second, "10.0.0.2") is False
    assert exists(client, first, "10.0.0.3") is False  # shown once, to one caller, and no more
    assert exists(client, COMMON_OF_TARGET, "10.0.0.4") is True  # what stays over the threshold without it
    document = client.get("/api/datasets", query_string={"requestedGranularity": "record"}).get_json()
    demo = next(record for record in document["response"]["collections"] if record["id"] == DEMO_DATASET)
    assert demo["info"]["privacy"]["rareAlleleProtection"]["memberBudget"]["scope"] == "everyone"


def test_member_budgets_are_shared_by_all_workers(demo_store_file, tmp_path):
    # Workers are replaced every 3 requests: a count kept in one worker's memory would be lost.
    with gunicorn_server(tmp_path, demo_store_file, policy(1, 3600)) as server:
        got = []
        for allele in pivotal_alleles(TARGET)[:4]:
            response = server.get(f"/api/g_variants/{variant_id(allele)}")
            got.append(response.status_code)
        assert got == [200, 404, 404, 404], server.log_tail()


def test_concurrent_requests_of_one_caller_cannot_spend_a_budget_twice(demo_store_file, tmp_path):
    alleles = pivotal_alleles(TARGET)
    server_running = gunicorn_server(tmp_path, demo_store_file, policy(1, 3600))
    with server_running as server, ThreadPoolExecutor(len(alleles)) as pool:
        statuses = list(pool.map(lambda a: server.get(f"/api/g_variants/{variant_id(a)}").status_code, alleles))
    # Every one of them is decided by the target: with a budget of 1, one is shown, whichever came first.
    assert sorted(statuses) == [200] + [404] * (len(alleles) - 1), statuses


class RacingLedger(LimitsMemberLedger):
    """The real ledger, with another request of the same caller charging the target between this request's
    reading of the counts and its charge (the race two workers can run into)."""

    def counts(self, biosamples):
        found = super().counts(biosamples)
        if not hasattr(self, "raced"):
            self.raced = self.limits.add_member_answers(self.key, {TARGET: 1}, {}, 3600, time.time())
        return found


def test_a_request_that_lost_a_race_for_a_budget_screens_again(demo_store_file, tmp_path):
    store = SqliteStore(demo_store_file, access="read")
    limits = open_limits(f"sqlite:///{tmp_path / 'limits.sqlite'}")
    ledger = RacingLedger(limits, "ip:1 demo", MemberBudget(1, 3600))
    protections = Protections(THRESHOLD, member_budget=ledger.member_budget, ledger=ledger)
    allele = pivotal_alleles(TARGET)[0]
    query = build_id_query(DEMO_DATASET, variant_id(allele))
    try:
        assert common_variants(store, query, protections) == []  # the target was spent by the other request
        assert limits.member_counts("ip:1 demo", [TARGET], time.time()) == {TARGET: 1}  # counted once
    finally:
        store.close()
        limits.close()
