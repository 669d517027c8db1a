"""The privacy benchmark's in-process beacon: a hand-worked case, and its answers against a real `beacon serve`."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.privacy_benchmark import main
from benchmarks.privacy_in_process import InProcessBeacon
from benchmarks.privacy_population import Population
from tests.auth.oidc_provider import free_port


def population(genotypes: list[list[int]]) -> Population:
    """Members x sites copies; the other fields do not matter to the in-process beacon."""
    copies = np.array(genotypes, dtype=np.int8)
    empty = np.zeros((0, copies.shape[1]), dtype=np.int8)
    return Population(np.zeros(copies.shape[1]), copies, np.zeros(copies.shape[1]), empty, empty)


def test_a_member_who_decided_one_answer_is_absent_from_the_next_for_that_caller():
    people = population(
        [
            [1, 1, 1, 0],  # M00000
            [1, 1, 2, 0],  # M00001
            [1, 0, 2, 1],  # M00002
            [0, 1, 0, 1],  # M00003
        ]
    )
    beacon = InProcessBeacon(people, threshold=3, answers=1)
    # Site 0 (3 copies) is shown and each of its carriers decided it: M00000-M00002 are spent. Site 1 then
    # keeps M00003's copy (1, hidden); site 2 keeps nothing of its 5; site 3 (2 copies) is below 3 anyway.
    assert beacon.ask_all([0, 1, 2, 3]) == [True, False, False, False]
    # A fresh caller asking site 2 first sees its 5 copies (nobody decides it: each carrier leaves 3 or more).
    assert beacon.ask_all([2, 1, 0]) == [True, True, False]  # site 1 spends M00000, M00001 and M00003
    # With 2 answers each: sites 0 and 1 are shown, and M00000 and M00001 decided both, so site 2 keeps only
    # M00002's 2 copies.
    assert InProcessBeacon(people, threshold=3, answers=2).ask_all([0, 1, 2]) == [True, True, False]


def test_the_benchmark_checks_in_process_answers_against_the_server(capsys: pytest.CaptureFixture[str]):
    # 5 members and 5 outsiders asked over HTTP, 20 of each in process; main() raises if any of the 5 got
    # other answers from the server than in process.
    sizes = ["--sites", "4000", "--members", "100", "--panel", "100", "--targets", "5", "--in-process-targets", "20"]
    lookups = ["--queries", "10,100", "--utility-lookups", "10", "--mixed-lookups", "50"]
    main([*sizes, *lookups, "--protections", "default,member-everyone", "--port", str(free_port())])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]]
    assert names == ["default", "default, in process, 20 targets", "member-everyone"]
