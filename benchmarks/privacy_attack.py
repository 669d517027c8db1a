"""The likelihood-ratio membership attack of Shringarpure & Bustamante (AJHG 2015) on a yes/no beacon (pure).

The attacker holds a target's genome and a reference panel's allele frequencies, knows the beacon holds
`n` individuals, and asks the beacon about the target's alternate alleles, rarest (in the panel) first.
For an allele of frequency f, the chance that none of the other `n - 1` individuals' 2(n - 1)
chromosomes carries it is D = (1 - f)^(2n - 2); a beacon without the target has it with probability
1 - (1 - f)^(2n), one with the target (which carries it) says yes unless it errs (probability `delta`).
The statistic is the log-likelihood ratio of "in the beacon" over "not in it", summed over the answers:
a high score suggests membership. Answers the beacon refused (429) carry no information and are skipped.
Power at a false-positive rate is the share of members scoring above the score that only that share of
non-members exceeds.

A beacon with rare-allele protection shows an allele only when it has at least `threshold` copies, and says
so in its datasets' info. The paper's likelihoods then misjudge every "no" (a member's rare allele is hidden,
not absent), so the attack is also scored as an attacker who read the threshold would: the target's own
`copies` plus the other people's must reach it (`threshold_answer_score`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

DELTA = 1e-6
"""The beacon's chance of a wrong "no" for an allele a member carries (sequencing error in the paper)."""
MIN_FREQUENCY = 1e-4
"""Panel frequencies are floored here: an allele unseen in the panel is still possible."""


def answer_score(answer: bool | None, frequency: float, beacon_size: int, delta: float = DELTA) -> float:
    """log P(answer | target in beacon) - log P(answer | target not in beacon) for one allele."""
    if answer is None:
        return 0.0
    f = min(max(frequency, MIN_FREQUENCY), 1 - MIN_FREQUENCY)
    # In logs: (1 - f)^(2n) underflows to 0 for common alleles in large beacons.
    log_absent_without = 2 * beacon_size * math.log1p(-f)
    log_absent_with = math.log(delta) + (2 * beacon_size - 2) * math.log1p(-f)
    if answer:
        return math.log1p(-math.exp(log_absent_with)) - math.log1p(-math.exp(log_absent_without))
    return log_absent_with - log_absent_without


def at_least(trials: int, frequency: float, copies: int) -> float:
    """P(Binomial(trials, frequency) >= copies), summed on the side that is small (no cancellation to 0)."""
    if copies <= 0:
        return 1.0
    f = min(max(frequency, MIN_FREQUENCY), 1 - MIN_FREQUENCY)

    def term(j: int) -> float:
        log_choose = math.lgamma(trials + 1) - math.lgamma(j + 1) - math.lgamma(trials - j + 1)
        return math.exp(log_choose + j * math.log(f) + (trials - j) * math.log1p(-f))

    if copies > trials * f:  # the upper tail is the small side: its terms fall fast past the mean
        return math.fsum(term(j) for j in range(copies, min(trials, copies + 400) + 1))
    return max(0.0, 1.0 - math.fsum(term(j) for j in range(copies)))


def threshold_answer_score(
    answer: bool | None, frequency: float, beacon_size: int, threshold: int, copies: int, delta: float = DELTA
) -> float:
    """The log-likelihood ratio of one answer of a beacon that shows alleles with at least `threshold` copies:
    with the target (who has `copies`) in it, the other 2n - 2 chromosomes must hold threshold - copies more,
    and it still errs with probability `delta`; without the target, its 2n chromosomes must hold `threshold`."""
    if answer is None:
        return 0.0
    shown_with = (1 - delta) * at_least(2 * beacon_size - 2, frequency, threshold - copies)
    shown_without = at_least(2 * beacon_size, frequency, threshold)
    tiny = 1e-300  # probabilities the floats round to 0 or 1 stay finite in logs
    if answer:
        return math.log(max(shown_with, tiny)) - math.log(max(shown_without, tiny))
    return math.log(max(1 - shown_with, tiny)) - math.log(max(1 - shown_without, tiny))


def scores_after(
    answers: Sequence[bool | None],
    frequencies: Sequence[float],
    beacon_size: int,
    checkpoints: Sequence[int],
    threshold: tuple[int, Sequence[int]] | None = None,
) -> dict[int, float]:
    """The running score after each checkpoint's number of queries (all answers when fewer were asked); with
    `threshold` (the beacon's threshold, the target's copies of each allele) scored by `threshold_answer_score`."""
    found, total = {}, 0.0
    for index, (answer, frequency) in enumerate(zip(answers, frequencies, strict=True), start=1):
        if threshold is None:
            total += answer_score(answer, frequency, beacon_size)
        else:
            total += threshold_answer_score(answer, frequency, beacon_size, threshold[0], threshold[1][index - 1])
        if index in checkpoints:
            found[index] = total
    return {checkpoint: found.get(checkpoint, total) for checkpoint in checkpoints}


def power_at(members: Sequence[float], outsiders: Sequence[float], false_positive_rate: float = 0.05) -> float:
    """Share of members scoring above the threshold that at most `false_positive_rate` of outsiders exceed."""
    ranked = sorted(outsiders, reverse=True)
    allowed = math.floor(false_positive_rate * len(ranked))  # outsiders allowed above the threshold
    threshold = ranked[allowed] if allowed < len(ranked) else -math.inf
    return sum(score > threshold for score in members) / len(members)


def power_interval(
    members: Sequence[float], outsiders: Sequence[float], seed: int, resamples: int = 1000, level: float = 0.95
) -> tuple[float, float]:
    """A bootstrap interval of `power_at`: members and outsiders drawn again with replacement `resamples` times
    (the targets are a sample, and so is the threshold read from the outsiders); the middle `level` share."""
    rng = random.Random(seed)
    powers = sorted(
        power_at(rng.choices(members, k=len(members)), rng.choices(outsiders, k=len(outsiders)))
        for _ in range(resamples)
    )
    cut = round((1 - level) / 2 * resamples)
    return powers[cut], powers[resamples - 1 - cut]
