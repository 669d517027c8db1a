"""The membership attack of benchmarks/privacy_attack.py on a tiny constructed beacon whose member is known."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from benchmarks.privacy_attack import (
    DELTA,
    answer_score,
    at_least,
    power_at,
    power_interval,
    scores_after,
    threshold_answer_score,
)


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


def test_the_power_interval_is_a_point_when_every_resample_agrees_and_widens_with_overlap():
    # Every member above every outsider: each resample has power 1, so the interval is (1, 1).
    assert power_interval([10.0, 11.0, 12.0], [0.0, 1.0, 2.0], seed=1) == (1.0, 1.0)
    # Half the members above all outsiders, half below: resamples of 4 members give 0, 1/4, ..., 1 with
    # binomial(4, 1/2) chances, so the middle 95 % runs from 0 to 1 (P(0) = P(4) = 1/16 > 2.5 %).
    low, high = power_interval([10.0, 11.0, -5.0, -6.0], [0.0] * 20, seed=2, resamples=4000)
    assert (low, high) == (0.0, 1.0)
    # 100 members, 10 above: the interval holds the estimate 0.1 and is narrower than (0, 0.3).
    members = [10.0] * 10 + [-10.0] * 90
    low, high = power_interval(members, [0.0] * 100, seed=3)
    assert 0.0 < low < power_at(members, [0.0] * 100) == 0.1 < high < 0.3


def _tail(trials: int, frequency: float, copies: int) -> float:
    """P(Binomial >= copies) by enumerating every outcome in exact fractions (the test's own arithmetic)."""
    f = Fraction(str(frequency))
    return float(sum(math.comb(trials, j) * f**j * (1 - f) ** (trials - j) for j in range(copies, trials + 1)))


@pytest.mark.parametrize(("trials", "frequency", "copies"), [(4, 0.5, 2), (10, 0.01, 3), (2000, 0.002, 5), (6, 0.3, 0)])
def test_binomial_tails_on_either_side_match_enumeration(trials, frequency, copies):
    assert at_least(trials, frequency, copies) == pytest.approx(_tail(trials, frequency, copies), rel=1e-9)


def test_a_threshold_answer_scores_as_the_binomials_say():
    # A beacon of 2 showing alleles with 2 copies; the target has 1 copy of an allele of frequency 0.5:
    # with it, the other person's 2 chromosomes need 1 more (P 0.75); without, 4 chromosomes need 2 (11/16).
    shown_with, shown_without = (1 - DELTA) * 0.75, 11 / 16
    assert threshold_answer_score(True, 0.5, 2, 2, 1) == pytest.approx(math.log(shown_with / shown_without))
    no = math.log((1 - shown_with) / (1 - shown_without))
    assert threshold_answer_score(False, 0.5, 2, 2, 1) == pytest.approx(no)
    assert threshold_answer_score(None, 0.5, 2, 2, 1) == 0.0


def test_a_hidden_private_allele_costs_a_member_little_under_a_known_threshold():
    # Beacon of 3 showing alleles with at least 2 copies: ann's a1, a2 are shared with cat (shown), her s1, s2
    # are hers alone (hidden). Dan is not in the beacon: all four of his alleles are "no".
    counts = {"a1": 2, "a2": 2, "s1": 1, "s2": 1, "d1": 0, "d2": 0, "d3": 0, "d4": 0}

    def score(alleles: list[str], threshold: tuple[int, list[int]] | None) -> float:
        answers = [counts[allele] >= 2 for allele in alleles]
        return scores_after(answers, [0.01] * 4, 3, [4], threshold)[4]

    ann, dan = ["a1", "a2", "s1", "s2"], ["d1", "d2", "d3", "d4"]
    aware = score(ann, (2, [1, 1, 1, 1])), score(dan, (2, [1, 1, 1, 1]))
    # Each hidden allele of ann's: P(no | in) = 0.99^4 (nobody else has it), P(no | out) = 1 - P(>= 2 of 6).
    hidden = math.log((1 - (1 - DELTA) * _tail(4, 0.01, 1)) / (1 - _tail(6, 0.01, 2)))
    assert -1 < hidden < 0  # a "no" is weak evidence now, not log(delta) as in the paper's likelihoods
    assert aware[0] > 0 > aware[1]
    assert score(ann, None) < -20  # the paper's likelihoods read ann's hidden alleles as proof she is out
