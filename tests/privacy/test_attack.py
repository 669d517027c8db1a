"""The membership attack of benchmarks/privacy_attack.py on a tiny constructed beacon whose member is known."""

from __future__ import annotations

import math

import pytest

from benchmarks.privacy_attack import DELTA, answer_score, power_at, scores_after


def test_one_answer_scores_as_the_paper_s_likelihoods_say():
    # f = 0.5, a beacon of 1: without the target P(no) = 0.5^2; with it P(no) = delta * 0.5^0.
    assert answer_score(True, 0.5, 1) == pytest.approx(math.log(1 - DELTA) - math.log(0.75))
    assert answer_score(False, 0.5, 1) == pytest.approx(math.log(DELTA) - math.log(0.25))
    assert answer_score(None, 0.5, 1) == 0.0  # a refused query says nothing


def test_the_known_member_is_found_and_the_outsiders_are_not():
    # A beacon of 3 people; genomes are sets of (rare) alleles, panel frequency 1 % each.
    genomes = {
        "ann": {"a1", "a2", "a3", "a4"},
        "bob": {"b1", "b2", "b3"},
        "cat": {"c1", "c2", "c3", "a1"},
        "dan": {"d1", "d2", "d3", "d4"},  # not in the beacon
        "eve": {"e1", "e2", "a2", "e3"},  # not in the beacon, shares one allele with ann
    }
    beacon = genomes["ann"] | genomes["bob"] | genomes["cat"]

    def score(person: str) -> float:
        alleles = sorted(genomes[person])
        answers = [allele in beacon for allele in alleles]
        return scores_after(answers, [0.01] * len(alleles), 3, [len(alleles)])[len(alleles)]

    members = [score(p) for p in ("ann", "bob", "cat")]
    outsiders = [score(p) for p in ("dan", "eve")]
    assert min(members) > 0 > max(outsiders)
    assert power_at(members, outsiders, 0.05) == 1.0
    # Refusals hide everything: no score moves away from 0, so no member stands out.
    assert scores_after([None] * 4, [0.01] * 4, 3, [4]) == {4: 0.0}
    assert power_at([0.0, 0.0], [0.0, 0.0], 0.05) == 0.0


def test_scores_at_checkpoints_and_power_thresholds():
    answers, frequencies = [True, False, True], [0.01, 0.01, 0.01]
    running = scores_after(answers, frequencies, 10, [1, 2, 3, 100])
    assert running[1] == pytest.approx(answer_score(True, 0.01, 10))
    assert running[3] == running[100]  # fewer queries than the checkpoint: all of them
    # 20 outsiders at 0..19: at 5 % one may exceed the threshold, which is then 18.
    outsiders = [float(x) for x in range(20)]
    assert power_at([18.5, 17.0, 30.0, 18.0], outsiders) == 0.5
