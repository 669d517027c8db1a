"""`make benchmark-privacy`: the Shringarpure & Bustamante membership attack against our own node, over HTTP.

Genomes are simulated from the allele frequencies of the 1000 Genomes genotypes shipped with the project
(beacon/demo: 2504 samples, chr22): each site takes the frequency of a random demo allele, and every
simulated person carries 0, 1 or 2 copies of it (Hardy-Weinberg). Three disjoint groups are drawn: the
beacon's members (their genotypes and INFO AC/AN are loaded into a fresh store with --case-level), a reference panel
(the attacker's frequencies) and outsiders. Targets are members and outsiders; the attacker asks a real
`beacon serve` (two workers) about each target's alternate alleles, rarest in the panel first, one GET per
allele, each target from its own address (X-Forwarded-For through a trusted proxy), and scores the answers
(benchmarks/privacy_attack.py). Answers are cached per (protection, caller): asking twice tells nothing new.

For each protection it prints the attack's power at 5 % false-positive rate after each number of queries,
scored as the paper does (power@) and as an attacker who read the dataset's rare-allele threshold in its
info (aware@; with --true-frequencies the attacker knows every allele's true frequency instead of a
panel's), with a 95 % bootstrap interval of both at the last checkpoint (the targets are a sample), and the
utility: the share of lookups of alleles with an allele count of at least 5 in the beacon that a
fresh caller still gets answered correctly, among its first 100, 500 and 2,000 lookups (`--utility-lookups`),
and the same share for a caller who asks about any allele of the beacon, most of them rare, among its first
500, 2,000 and 6,000 lookups (`--mixed-lookups`).

The live attack of 100 members and 100 outsiders takes an hour per protection and its power is known only to
within about ±0.07. For protections with one threshold and a member budget per caller, the same attack is then
run in process on `--in-process-targets` of each (benchmarks/privacy_in_process.py: the server's own screening
function, counts in memory), after checking that it gives every live target exactly the server's answers.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from benchmarks.privacy_attack import power_at, power_interval, scores_after
from benchmarks.privacy_in_process import InProcessBeacon
from benchmarks.privacy_population import (
    DATASET,
    FIRST_POSITION,
    GROUPS,
    Population,
    build_store,
    simulate,
    site_query,
)
from benchmarks.privacy_utility import mixed_utility, utility

BUDGET = "query_budget: {anonymous: {queries: 1000, window: 86400}}\n"
ROOMY_BUDGET = "query_budget: {anonymous: {queries: 10000, window: 86400}}\n"
RARE = "rare_alleles: {min_allele_count: 5, tiers: [anonymous, registered]}\n"
RARE_LOW = "rare_alleles: {min_allele_count: THRESHOLD, tiers: [anonymous, registered]}\n"
JITTERED = "rare_alleles: {min_allele_count: FLOOR, threshold_jitter: JITTER, tiers: [anonymous, registered]}\n"
MEMBERS = (
    "rare_alleles: {min_allele_count: THRESHOLD, tiers: [anonymous, registered], member_budget: {answers: ANSWERS}}\n"
)
OFF = "rare_alleles: {enabled: false}\n"
PROTECTIONS: dict[str, str] = {
    "none": OFF,
    "default": "",
    "budget": BUDGET + OFF,
    "rare-allele": RARE,
    "rare-low": RARE_LOW,
    "rare-jittered": JITTERED,
    "both": BUDGET + RARE,
    "noise": OFF,  # the dataset entry opts in to noise (see policy_text)
    "member-budget": MEMBERS,
    "recommended": ROOMY_BUDGET + MEMBERS,
    "member-everyone": ROOMY_BUDGET + MEMBERS.replace("ANSWERS}", "ANSWERS, scope: everyone}"),
}
"""Policy lines of each protection; `default` sets none (what the beacon does unless told), `none` turns the
default rare-allele protection off; `recommended` is the setting the README recommends (Re-identification).
FLOOR and JITTER (rare-jittered) are --floor and --jitter: thresholds from FLOOR to FLOOR + JITTER, per allele;
THRESHOLD and ANSWERS are --member-threshold and --member-answers."""


@dataclass(frozen=True)
class Thresholds:
    """The policy's numbers: --floor, --jitter, --member-threshold and --member-answers."""

    floor: int = 5
    jitter: int = 20
    member_threshold: int = 3
    member_answers: int = 1


def policy_text(protection: str, thresholds: Thresholds) -> str:
    """The access policy of one protection: the dataset is PUBLIC, anonymous callers ask it."""
    dataset = f"  {DATASET}: {{level: PUBLIC}}\n"
    if protection == "noise":
        dataset = (
            f"  {DATASET}: {{level: PUBLIC, granularity: {{anonymous: boolean}}, noisy_counts: {{epsilon: 1.0}}}}\n"
        )
    lines = PROTECTIONS[protection]
    for name, value in (("JITTER", thresholds.jitter), ("FLOOR", thresholds.floor)):
        lines = lines.replace(name, str(value))
    for name, value in (("THRESHOLD", thresholds.member_threshold), ("ANSWERS", thresholds.member_answers)):
        lines = lines.replace(name, str(value))
    return f"default_level: CONTROLLED\n{lines}datasets:\n{dataset}"


class Server:
    """`beacon serve` with two workers on a free port, for one policy; stopped by `stop`."""

    def __init__(self, directory: Path, store: Path, protection: str, port: int, thresholds: Thresholds) -> None:
        policy = directory / f"policy-{protection}.yaml"
        policy.write_text(policy_text(protection, thresholds), encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
        env |= {
            "BEACON_STORE_URI": f"sqlite:///{store}",
            "BEACON_ACCESS_FILE": str(policy),
            "BEACON_LIMITS_URI": f"sqlite:///{directory / f'limits-{protection}.sqlite'}",
            "BEACON_TRUSTED_PROXIES": "127.0.0.1",
            "BEACON_NOISE_SECRET": "benchmark",
            "BEACON_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(directory / f"metrics-{protection}"),
        }
        command = [str(Path(sys.executable).with_name("beacon")), "serve", "--port", str(port)]
        self.log = (directory / f"serve-{protection}.log").open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.client.get("/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"beacon serve did not start (see {self.log.name})")

    def ask(self, site: int, seed: int, caller: str) -> bool | None:
        """Whether the beacon has the site's allele, as `caller` is told; None when refused (429)."""
        query, ref, alt = site_query(site, seed)
        parameters = {**query, "referenceBases": ref, "alternateBases": alt}
        response = self.client.get("/api/g_variants", params=parameters, headers={"X-Forwarded-For": caller})
        if response.status_code == 429:
            return None
        response.raise_for_status()
        return bool(response.json()["responseSummary"]["exists"])

    def ask_all(self, sites: list[int], seed: int, caller: str, threads: int) -> list[bool | None]:
        """The answers to one caller's questions, in order; after the first refusal the caller gives up (a
        budget spent for a day is spent), so the rest are None."""
        answers: list[bool | None] = []
        batch = max(threads * 8, 1)
        with ThreadPoolExecutor(threads) as pool:
            for start in range(0, len(sites), batch):
                chunk = sites[start : start + batch]
                got = list(pool.map(lambda site: self.ask(site, seed, caller), chunk))
                answers.extend(got)
                if any(answer is None for answer in got):
                    return answers + [None] * (len(sites) - len(answers))
        return answers

    def rare_allele_protection(self) -> dict | None:
        """The dataset's rare-allele protection as its info says it (`/datasets`, not charged)."""
        response = self.client.get("/api/datasets", params={"requestedGranularity": "record"})
        response.raise_for_status()
        dataset = next(d for d in response.json()["response"]["collections"] if d["id"] == DATASET)
        return dataset.get("info", {}).get("privacy", {}).get("rareAlleleProtection")

    def stop(self) -> None:
        """Stop the server and close its log."""
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@dataclass
class Options:
    """How one protection is attacked: live GETs per allele (budgets, noise), or the beacon's visible alleles
    read once through range queries (`visible`), which give the same answers when they depend on neither the
    caller nor the question (checked against live GETs of a sample)."""

    threads: int
    threshold: int = 1  # what the attacker reads in the dataset's info (threshold_answer_score)
    true_frequencies: bool = False  # the attacker knows every allele's frequency (a panel of everyone)
    live_limit: int | None = None
    visible: set[int] | None = None
    in_process: InProcessBeacon | None = None  # answers from the beacon's screening in process


def interleaved(population: Population) -> list[tuple[int, str, np.ndarray]]:
    """The targets, a member and an outsider in turn: (index within its group, group, genome)."""
    pairs = zip(population.members, population.outsiders, strict=True)
    return [(i, group, genome) for i, pair in enumerate(pairs) for group, genome in zip(GROUPS, pair, strict=True)]


def attack(server: Server, population: Population, seed: int, checkpoints: list[int], options: Options) -> dict:
    """Power at 5 % FPR per checkpoint, of the paper's score (`power`) and of the score that knows the threshold
    (`aware`): every target's alleles asked rarest first, from its own address."""
    known = population.frequencies if options.true_frequencies else population.panel_frequencies
    order = np.argsort(known, kind="stable")
    most = max(checkpoints) if options.live_limit is None else min(max(checkpoints), options.live_limit)
    scores: dict[str, dict[str, list[dict[int, float]]]] = {
        kind: {g: [] for g in GROUPS} for kind in ("power", "aware")
    }
    asked = []
    found_answers: dict[tuple[str, int], list[bool | None]] = {}
    # Members and outsiders take turns: with budgets shared by every caller (scope everyone), each target
    # is asked while the beacon has been asked about as many of the other kind.
    for index, group, genome in interleaved(population):
        sites = [int(site) for site in order if genome[site] > 0][:most]
        caller = f"10.{1 if group == 'members' else 2}.{index // 250}.{index % 250 + 1}"
        if options.in_process is not None:
            answers: list[bool | None] = list(options.in_process.ask_all(sites))
        elif options.visible is None:
            answers = server.ask_all(sites, seed, caller, options.threads)
        else:
            answers = [site in options.visible for site in sites]
        found_answers[group, index] = answers
        frequencies = [float(known[site]) for site in sites]
        copies = [int(genome[site]) for site in sites]
        scores["power"][group].append(scores_after(answers, frequencies, population.size, checkpoints))
        aware = scores_after(answers, frequencies, population.size, checkpoints, (options.threshold, copies))
        scores["aware"][group].append(aware)
        asked.append(len(sites))
    found: dict = {"mean_alleles": sum(asked) / len(asked), "answers": found_answers}
    for kind, groups in scores.items():
        found[kind] = {
            n: power_at([s[n] for s in groups["members"]], [s[n] for s in groups["outsiders"]])
            for n in checkpoints
            if n <= most
        }
        last = max(n for n in checkpoints if n <= most)
        found[f"{kind}_interval"] = power_interval(
            [s[last] for s in groups["members"]], [s[last] for s in groups["outsiders"]], seed
        )
    return found


def visible_sites(server: Server, sites: int, window: int = 10_000) -> set[int]:
    """The sites whose allele the beacon shows an anonymous caller, read with range queries at record level."""
    found: set[int] = set()
    for first in range(0, sites, window):
        start, end = FIRST_POSITION + 3 * first - 1, FIRST_POSITION + 3 * (first + window)
        page = 0
        while True:
            parameters = {"referenceName": "22", "assemblyId": "GRCh37", "start": start, "end": end}
            parameters |= {"requestedGranularity": "record", "limit": 1000, "skip": page}
            headers = {"X-Forwarded-For": "10.4.0.1"}
            response = server.client.get("/api/g_variants", params=parameters, headers=headers)
            response.raise_for_status()
            sets = response.json()["response"]["resultSets"]
            records = sets[0]["results"] if sets else []
            for record in records:
                position = int(record["variantInternalId"].split("-")[2])
                found.add((position - FIRST_POSITION) // 3)
            if len(records) < 1000:
                break
            page += 1
    return found


def check_visible(server: Server, visible: set[int], total: int, seed: int, threads: int) -> None:
    """Raise unless live GETs of a sample of sites agree with the range queries' answers."""
    rng = random.Random(seed)
    sample = rng.sample(sorted(visible), min(100, len(visible))) + rng.sample(range(total), 100)
    live = server.ask_all(sample, seed, "10.5.0.1", threads)
    wrong = [site for site, answer in zip(sample, live, strict=True) if answer != (site in visible)]
    if wrong:
        raise RuntimeError(f"range queries and lookups disagree on sites {wrong[:5]}")


def numbers(text: str) -> list[int]:
    """A comma-separated list of checkpoints."""
    return [int(n) for n in text.split(",")]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=150_000, help="simulated sites")
    parser.add_argument("--members", type=int, default=1000, help="individuals in the beacon")
    parser.add_argument("--panel", type=int, default=1000, help="individuals of the attacker's reference panel")
    parser.add_argument("--targets", type=int, default=30, help="member targets, and as many outsiders")
    parser.add_argument("--queries", type=numbers, default="100,1000,10000", help="checkpoints (queries per target)")
    parser.add_argument("--protections", default=",".join(PROTECTIONS), help="which protections to run")
    parser.add_argument(
        "--utility-lookups", type=numbers, default="100,500,2000", help="checkpoints (lookups of one caller)"
    )
    parser.add_argument(
        "--mixed-lookups", type=numbers, default="500,2000,6000", help="checkpoints (lookups of any allele)"
    )
    parser.add_argument("--threads", type=int, default=4, help="concurrent requests of the attacker")
    parser.add_argument("--noise-queries", type=int, default=1000, help="most live queries per target (noise)")
    parser.add_argument("--floor", type=int, default=5, help="min_allele_count of rare-jittered")
    parser.add_argument("--jitter", type=int, default=20, help="threshold_jitter of rare-jittered")
    parser.add_argument("--member-threshold", type=int, default=3, help="min_allele_count with member budgets")
    parser.add_argument("--member-answers", type=int, default=1, help="member_budget answers (member-budget)")
    parser.add_argument(
        "--true-frequencies", action="store_true", help="the attacker knows every allele's true frequency"
    )
    parser.add_argument(
        "--in-process-targets",
        type=int,
        default=500,
        help="members and outsiders attacked in process as well, where that covers the protection",
    )
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--seed", type=int, default=2015)
    return parser.parse_args(argv)


def run(server: Server, protection: str, population: Population, args: argparse.Namespace) -> str:
    """Attack one protection and measure its utility: the table's row (and the in-process one, if it covers it)."""
    started = time.monotonic()
    rare = server.rare_allele_protection()
    threshold = int(rare["minAlleleCount"]) if rare else 1  # what the attacker reads; with jitter, the lowest
    # With a member budget an answer depends on the caller's earlier questions: ask them one at a time, in
    # the attack's order (concurrent requests would be answered in whatever order they arrive).
    threads = 1 if rare and "memberBudget" in rare else args.threads
    options = Options(threads, threshold, args.true_frequencies)
    if protection in ("none", "rare-allele", "rare-low", "rare-jittered"):
        options.visible = visible_sites(server, args.sites)
        check_visible(server, options.visible, args.sites, args.seed, args.threads)
    elif protection == "noise":
        options.live_limit = args.noise_queries
    result = attack(server, population.first(args.targets), args.seed, args.queries, options)
    kept = utility(server, population, args.seed, args.utility_lookups, threads)
    mixed = mixed_utility(server, population, args.seed, args.mixed_lookups, threads)
    cells = power_cells(result, args.queries)
    cells += [f"{kept[n]:.3f}" for n in args.utility_lookups] + [f"{mixed[n]:.3f}" for n in args.mixed_lookups]
    cells.append(f"{result['mean_alleles']:.0f} ({time.monotonic() - started:.0f} s)")
    row = f"| {protection} | {' | '.join(cells)} |"
    beacon = in_process_beacon(rare, population) if len(population.members) > args.targets else None
    if beacon is None:
        return row
    options = Options(threads, threshold, args.true_frequencies, in_process=beacon)
    return f"{row}\n{in_process_row(server, protection, population, args, options, result['answers'])}"


def in_process_beacon(rare: dict | None, population: Population) -> InProcessBeacon | None:
    """The same answers in process (benchmarks/privacy_in_process.py), for a protection it covers (`rare`, as
    the dataset's info says it): one threshold and a member budget per caller; else None."""
    budget = (rare or {}).get("memberBudget")
    if rare is None or budget is None or budget["scope"] != "caller" or rare["thresholdJitter"]:
        return None
    return InProcessBeacon(population, int(rare["minAlleleCount"]), int(budget["answers"]))


def in_process_row(
    server: Server, protection: str, population: Population, args: argparse.Namespace, options: Options, live: dict
) -> str:
    """The attack in process on every target, after checking it gave the live targets the server's answers."""
    started = time.monotonic()
    many = attack(server, population, args.seed, args.queries, options)
    disagree = [target for target, answers in live.items() if many["answers"][target] != answers]
    if disagree:
        raise RuntimeError(f"{protection}: in-process answers differ from the server's for targets {disagree[:5]}")
    cells = power_cells(many, args.queries) + ["-"] * (len(args.utility_lookups) + len(args.mixed_lookups))
    cells.append(f"{many['mean_alleles']:.0f} ({time.monotonic() - started:.0f} s)")
    return f"| {protection}, in process, {len(population.members)} targets | {' | '.join(cells)} |"


def power_cells(result: dict, checkpoints: list[int]) -> list[str]:
    """The table's power cells of one attack: each checkpoint, then the intervals."""
    cells = [f"{result[kind][n]:.2f}" if n in result[kind] else "-" for kind in ("power", "aware") for n in checkpoints]
    return cells + ["{:.2f}-{:.2f}".format(*result[f"{kind}_interval"]) for kind in ("power", "aware")]


def main(argv: list[str] | None = None) -> None:
    """Simulate, load, serve each protection in turn, attack, print the table."""
    args = arguments(argv)
    population = simulate(args.sites, args.members, args.panel, max(args.targets, args.in_process_targets), args.seed)
    thresholds = Thresholds(args.floor, args.jitter, args.member_threshold, args.member_answers)
    with tempfile.TemporaryDirectory(prefix="privacy-benchmark-") as scratch:
        directory = Path(scratch)
        store = build_store(directory, population, args.seed)
        attacker = "true frequencies" if args.true_frequencies else f"a panel of {args.panel}"
        print(
            f"sites {args.sites}, beacon {args.members} people ({int((population.beacon_counts > 0).sum())} "
            f"alleles), attacker knows {attacker}, {args.targets} members + {args.targets} outsiders attacked"
        )
        header = [f"{kind}@{n}" for kind in ("power", "aware") for n in args.queries]
        header += [f"{kind} 95 % interval (last)" for kind in ("power", "aware")]
        header += [f"utility@{n}" for n in args.utility_lookups] + [f"mixed@{n}" for n in args.mixed_lookups]
        print(f"| protection | {' | '.join(header)} | alleles asked per target |")
        print("|" + "---|" * (len(header) + 2))
        for protection in args.protections.split(","):
            server = Server(directory, store, protection, args.port, thresholds)
            try:
                print(run(server, protection, population, args), flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
