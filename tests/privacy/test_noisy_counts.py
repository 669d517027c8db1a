"""Noisy counts (opt-in per dataset): Laplace noise of scale 1/epsilon, the same answer to the same question,
reported as imprecise; callers who may see the records get exact counts."""

from __future__ import annotations

import statistics
from pathlib import Path

from flask.testing import FlaskClient

from beacon import create_app
from beacon.query.privacy import noisy_count
from tests.conftest import DEMO_DATASET, make_settings

INDIVIDUALS = 2504  # the demo's 1000 Genomes individuals (beacon/demo/individuals.json)


def make_client(tmp_path: Path, demo_store_file: Path, secret: str = "s1") -> FlaskClient:
    access = tmp_path / "policy.yaml"
    access.write_text(
        "default_level: CONTROLLED\ndatasets:\n"
        f"  {DEMO_DATASET}: {{level: PUBLIC, granularity: {{anonymous: count}}, noisy_counts: {{epsilon: 0.5}}}}\n",
        encoding="utf-8",
    )
    return create_app(make_settings(demo_store_file, access_file=access, noise_secret=secret)).test_client()


def count_set(client: FlaskClient, path: str) -> dict:
    separator = "&" if "?" in path else "?"
    document = client.get(f"{path}{separator}requestedGranularity=count").get_json()
    return document["response"]["resultSets"][0]


def test_counts_are_noisy_imprecise_and_repeatable(tmp_path, demo_store_file):
    client = make_client(tmp_path, demo_store_file)
    first = count_set(client, "/api/individuals")
    assert first["countPrecision"] == "imprecise" and first["countAdjustedTo"] == ["Laplace noise"]
    assert [count_set(client, "/api/individuals")["resultsCount"] for _ in range(3)] == [first["resultsCount"]] * 3
    # Different questions with the same true count (2504 individuals, 2504 biosamples) get different noise.
    counts = [first["resultsCount"], count_set(client, "/api/biosamples")["resultsCount"]]
    counts.append(count_set(client, f"/api/datasets/{DEMO_DATASET}/individuals")["resultsCount"])
    assert all(abs(count - INDIVIDUALS) < 60 for count in counts)  # P(|noise| >= 60) = e^-30 for epsilon 0.5
    assert len(set(counts)) > 1 or counts[0] != INDIVIDUALS


def test_the_secret_keys_the_noise(tmp_path, demo_store_file):
    answers = {
        count_set(make_client(tmp_path, demo_store_file, secret), "/api/individuals")["resultsCount"]
        for secret in ("a", "b", "c", "d", "e")
    }
    assert len(answers) > 1


def test_the_noise_is_laplace_with_scale_one_over_epsilon():
    epsilon = 0.5
    noise = [noisy_count(1000, epsilon, b"k", "d", f"q{n}") - 1000 for n in range(4000)]
    assert abs(statistics.mean(noise)) < 0.2  # centred (sd of the mean about 0.045)
    assert abs(statistics.mean(abs(x) for x in noise) - 1 / epsilon) < 0.15  # E|X| = 1/epsilon (rounding adds ~0)
    assert noisy_count(0, epsilon, b"k", "d", "q") >= 0 and noisy_count(1, 100.0, b"k", "d", "q") == 1


def test_a_jittered_threshold_is_fixed_per_variant_and_within_its_range():
    from beacon.query.privacy import Protections, is_rare, variant_threshold
    from beacon.store.base import PopulationFrequency, VariantDocument

    def variant(number: int, copies: int) -> VariantDocument:
        frequency = PopulationFrequency("Total", copies / 1000, copies, 1000)
        coordinates = ("GRCh37", "22", number - 1, number, "A", "G", number - 1, "A", "G", "SNP", 1)
        return VariantDocument(f"GRCh37-22-{number}-A-G", *coordinates, frequencies=(frequency,))

    rule = Protections(min_allele_count=5, threshold_jitter=20, secret=b"k")
    thresholds = [variant_threshold(variant(n, 1), rule) for n in range(1, 400)]
    assert min(thresholds) == 5 and max(thresholds) == 25 and len(set(thresholds)) == 21
    assert thresholds == [variant_threshold(variant(n, 1), rule) for n in range(1, 400)]  # keyed, not random
    other_key = [variant_threshold(variant(n, 1), Protections(5, 20, b"other")) for n in range(1, 400)]
    assert other_key != thresholds
    assert all(is_rare(variant(n, 4), rule) and not is_rare(variant(n, 25), rule) for n in range(1, 50))
    assert not is_rare(variant(1, 5), Protections(min_allele_count=5))  # no jitter: exactly the minimum
