"""The GDI User Portal's allele-frequency browser against the demo node (docs/frequencies.md).

The request bodies are the browser's own (shared/docs/NETWORK-CLIENTS.md section 1): `POST /g_variants`
without an Authorization header, `meta.apiVersion` "2.0", `start`/`end` as integer arrays, limit 1 for
an allele and 1000 for a position range. The assertions read exactly the fields the browser reads.
Expected counts are counted in the test from the demo VCF's genotypes (cyvcf2) and the 1000 Genomes
panel (csv), with the test's own copy of the demo's labels; see tests/allele_counts.py.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from beacon.demo import DEMO_PANEL, DEMO_VCF
from tests.allele_counts import Counts, count_groups, read_panel
from tests.conftest import DEMO_DATASET

EUROPE = {"GBR": "GB", "FIN": "FI", "IBS": "ES", "TSI": "IT"}  # the demo's countries, as the issue asks
# The portal filters populations on this pattern (PopulationConstants.POPULATION_PATTERN); Total is kept unfiltered.
GDI_LABEL = re.compile(r"^(?:([A-Z]{2})(?:_([MF]))?|([MF]))$")
RECORDS = 1200  # alleles of the first records of the demo VCF are asked for
BROWSER_FIELDS = (
    "alleleFrequency",
    "population",
    "alleleCount",
    "alleleNumber",
    "alleleCountHomozygous",
    "alleleCountHeterozygous",
    "alleleCountHemizygous",
)


def browser_body(parameters: dict[str, Any], limit: int = 1) -> dict[str, Any]:
    """The body GVariantsRepository posts (BeaconGVariantsRequestMapper defaults)."""
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": [],
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": limit},
            "requestParameters": parameters,
        },
    }


def post(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/g_variants", json=body)  # no Authorization header, like the browser
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def expected() -> dict[tuple[int, str, str], dict[str, Counts]]:
    groups: dict[str, set[str]] = {}
    for sample, (population, sex) in read_panel(DEMO_PANEL).items():
        assert sex in ("F", "M")  # every 1000 Genomes sample has a sex, so M + F must be Total
        labels = ["Total", sex]
        if population in EUROPE:
            labels += [EUROPE[population], f"{EUROPE[population]}_{sex}"]
        for label in labels:
            groups.setdefault(label, set()).add(sample)
    counted = count_groups(DEMO_VCF, groups, limit=RECORDS)
    return {key: counts for key, counts in counted.items() if counts["Total"].allele_count > 0}


def frequencies_read(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the browser reads of a record's frequencies, by population (it drops records without)."""
    items = [item for block in record["frequencyInPopulations"] for item in block["frequencies"]]
    by_population = {item["population"]: {field: item.get(field) for field in BROWSER_FIELDS} for item in items}
    assert len(by_population) == len(items)  # each population once
    return by_population


def as_counts(item: dict[str, Any]) -> Counts:
    return Counts(
        item["alleleCount"], item["alleleNumber"], item["alleleCountHomozygous"], item["alleleCountHeterozygous"]
    )


def test_an_allele_query_answers_what_the_browser_reads(client, expected) -> None:
    beacon_id = client.get("/api/info").get_json()["meta"]["beaconId"]
    for (position, ref, alt), counts in random.Random(9).sample(sorted(expected.items()), 40):
        parameters = {
            "referenceName": "22",
            "start": [position - 1],
            "referenceBases": ref,
            "alternateBases": alt,
            "assemblyId": "GRCh37",
        }
        document = post(client, browser_body(parameters))
        (result_set,) = document["response"]["resultSets"]
        assert (result_set["beaconId"], result_set["id"]) == (beacon_id, DEMO_DATASET)
        (record,) = result_set["results"]
        variation = record["variation"]
        assert (variation["referenceBases"], variation["alternateBases"]) == (ref, alt)
        interval = variation["location"]["interval"]
        assert (interval["start"]["value"], interval["end"]["value"]) == (position - 1, position - 1 + len(ref))
        # A VRS sequence id, not the reference implementation's "HGVSid:22:g..." (see docs/frequencies.md).
        assert variation["location"]["sequence_id"] == "refseq:NC_000022.10"
        found = frequencies_read(record)
        assert set(found) == set(counts)
        assert all(label == "Total" or GDI_LABEL.match(label) for label in found)
        for label, item in found.items():
            assert as_counts(item) == counts[label], (position, label)
            assert item["alleleFrequency"] == pytest.approx(item["alleleCount"] / item["alleleNumber"], rel=1e-6)
            assert item["alleleCountHemizygous"] is None  # chromosome 22: no hemizygous genotypes to count
        read = {label: as_counts(item) for label, item in found.items()}
        assert read["M"] + read["F"] == read["Total"]
        for country in EUROPE.values():
            assert read[f"{country}_M"] + read[f"{country}_F"] == read[country]


def test_a_position_range_query_gives_every_variant_with_its_frequencies(client, expected) -> None:
    first, last = min(expected)[0], sorted(expected)[200][0]
    parameters = {"referenceName": "22", "start": [first - 1], "end": [last], "assemblyId": "GRCh37"}
    document = post(client, browser_body(parameters, limit=1000))
    (result_set,) = document["response"]["resultSets"]
    # The demo's symbolic <CNn> alleles come as VRS CopyNumberChange (no `location`); the oracle counts alleles.
    alleles = [record for record in result_set["results"] if "location" in record["variation"]]
    keys = [
        (
            record["variation"]["location"]["interval"]["start"]["value"] + 1,
            record["variation"]["referenceBases"],
            record["variation"]["alternateBases"],
        )
        for record in alleles
    ]
    in_range = {key for key in expected if first <= key[0] <= last}
    assert set(keys) == in_range and len(keys) == len(in_range)
    copy_numbers = [r for r in result_set["results"] if r["variation"].get("type") == "CopyNumberChange"]
    assert len(keys) + len(copy_numbers) == result_set["resultsCount"]
    for key, record in zip(keys, alleles, strict=True):
        found = frequencies_read(record)
        assert as_counts(found["GB"]) == expected[key]["GB"]
        assert as_counts(found["FI_F"]) == expected[key]["FI_F"]


def test_the_browser_filters_on_country_and_sex_labels(client, expected) -> None:
    """The portal keeps, for a country and/or sex filter, the populations whose label matches both."""
    (position, ref, alt), counts = next((key, c) for key, c in expected.items() if c["IT_F"].allele_count > 0)
    parameters = {"referenceName": "22", "start": [position - 1], "referenceBases": ref, "alternateBases": alt}
    (result_set,) = post(client, browser_body(parameters))["response"]["resultSets"]
    found = frequencies_read(result_set["results"][0])

    def kept(country: str | None, sex: str | None) -> set[str]:
        labels = set()
        for label in found:
            match = GDI_LABEL.match(label)
            if match is None:
                continue
            label_sex = match[2] or match[3]
            if (country is None or match[1] == country) and (sex is None or label_sex == sex):
                labels.add(label)
        return labels

    assert kept("IT", "F") == {"IT_F"}
    assert kept("IT", None) == {"IT", "IT_F", "IT_M"}
    assert kept(None, "F") == {"F", *(f"{country}_F" for country in EUROPE.values())}
    assert as_counts(found["IT_F"]) == counts["IT_F"]
