"""Where g_variants records say their frequencies come from: the populations map's source, else the dataset.

`beacon load vcf --populations MAP.json` loads the trio VCF into a private copy of the demo store (its
dataset is PUBLIC under the demo access policy); the expected values are the map's and the demo
dataset record's (`beacon/demo/datasets.json`), never the code's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from beacon import create_app
from beacon.cli import main
from beacon.demo import DEMO_DIR
from beacon.store.sqlite import SqliteStore
from tests.conftest import DATA_DIR, DEMO_DATASET, assert_valid, make_settings

TRIO = DATA_DIR / "vcf" / "test_trio.vcf.gz"
POPULATIONS = [
    {"population": "Total", "alleleCount": "AC", "alleleNumber": "AN"},
    {"population": "SE", "alleleFrequency": "SWEREFAF"},
]
GOE = {"source": "Genome of Europe", "sourceReference": "https://genomeofeurope.eu/", "version": "2025-01"}
# 1:156131050 A>T in the trio VCF: AC=2;AF=0.333;AN=6;...;SWEREFAF=0.226
QUERY = {
    "assemblyId": "GRCh37",
    "referenceName": "1",
    "start": 156131049,
    "referenceBases": "A",
    "alternateBases": "T",
    "requestedGranularity": "record",
}


def load_trio(runner: Any, tmp_path: Path, **texts: str) -> None:
    """Load the trio VCF into the demo dataset with a populations map carrying `texts` (replacing its variants)."""
    path = tmp_path / "populations.json"
    path.write_text(json.dumps({**texts, "populations": POPULATIONS}))
    arguments = ["load", "vcf", str(TRIO), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace"]
    result = runner.invoke(main, [*arguments, "--populations", str(path)])
    assert result.exit_code == 0, result.output


def frequency_block(store: SqliteStore, validator: Any) -> dict[str, Any]:
    """The one `frequencyInPopulations` item of the variant's record, from a fresh app over the store."""
    client = create_app(make_settings(store.path), store=store).test_client()
    response = client.get("/api/g_variants", query_string=QUERY)
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["meta"]["returnedGranularity"] == "record"
    assert_valid(validator, document)
    (result_set,) = document["response"]["resultSets"]
    (record,) = result_set["results"]
    (block,) = record["frequencyInPopulations"]
    return block


def test_records_name_the_source_of_the_populations_map(runner, demo_store, validator, tmp_path):
    load_trio(runner, tmp_path, **GOE)
    block = frequency_block(demo_store, validator)
    assert {key: value for key, value in block.items() if key != "frequencies"} == GOE
    by_population = {item["population"]: item for item in block["frequencies"]}
    assert by_population["SE"]["alleleFrequency"] == pytest.approx(0.226)
    assert (by_population["Total"]["alleleCount"], by_population["Total"]["alleleNumber"]) == (2, 6)


def test_a_map_without_a_version_names_none(runner, demo_store, validator, tmp_path):
    load_trio(runner, tmp_path, source=GOE["source"], sourceReference=GOE["sourceReference"])
    block = frequency_block(demo_store, validator)
    assert (block["source"], block["sourceReference"]) == (GOE["source"], GOE["sourceReference"])
    assert "version" not in block  # not the dataset's version: it is not this source's


def test_a_reload_with_a_map_naming_no_source_names_the_dataset_again(runner, demo_store, validator, tmp_path):
    load_trio(runner, tmp_path, **GOE)
    load_trio(runner, tmp_path)  # --replace, and no source this time
    (dataset,) = json.loads((DEMO_DIR / "datasets.json").read_text(encoding="utf-8"))
    block = frequency_block(demo_store, validator)
    assert block["source"] == dataset["name"]
    assert block["sourceReference"] == f"http://beacon.test/api/datasets/{dataset['id']}"  # make_settings' base URL
    assert block["version"] == dataset["version"]
