"""The metadata loader and its CLI: validation before writing, atomicity, --replace, datasets remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beacon.cli import main
from beacon.demo import DEMO_DIR, TEST_DATASET
from beacon.store.base import RecordQuery
from loaders.metadata import MetadataError, entity_for, load_metadata, to_document
from tests.conftest import DEMO_DATASET


def write_json(path: Path, records: object) -> Path:
    path.write_text(json.dumps(records, indent=1))
    return path


def demo_records(name: str) -> list[dict]:
    return json.loads((DEMO_DIR / name).read_text())


def count(store, entity: str, dataset_id: str = DEMO_DATASET) -> int:
    return store.count_records(RecordQuery(entity, dataset_id))


def test_entity_comes_from_the_file_name_or_the_option(tmp_path):
    assert entity_for(Path("individuals.json")) == "individuals"
    assert entity_for(Path("biosample.json")) == "biosamples"
    assert entity_for(Path("whatever.json"), "cohort") == "cohorts"
    with pytest.raises(MetadataError, match="--entity"):
        entity_for(Path("people.json"))


def test_to_document_drops_storage_ids_and_checks_the_dataset():
    record = {"_id": "abc", "id": "HG1", "sex": {"id": "NCIT:C20197", "label": "male"}, "datasetId": "D"}
    assert to_document("individuals", record) == {"id": "HG1", "sex": record["sex"], "datasetId": "D"}
    with pytest.raises(ValueError, match="datasetId"):
        to_document("individuals", record, dataset_id="OTHER")
    with pytest.raises(ValueError, match="datasetId"):
        to_document("individuals", {"id": "HG1"})


def test_bad_record_is_rejected_with_file_record_and_field_and_nothing_is_written(store, validator, tmp_path):
    individuals = demo_records("individuals.json")[:5]
    individuals[3]["sex"] = {"id": "not a curie"}
    files = [
        write_json(tmp_path / "datasets.json", demo_records("datasets.json")),
        write_json(tmp_path / "individuals.json", individuals),
    ]
    with pytest.raises(MetadataError) as raised:
        load_metadata(store, files, validator)
    message = str(raised.value)
    assert str(files[1]) in message and "record 4" in message and "sex.id" in message
    assert store.list_datasets() == []  # the valid datasets file was not written either


def test_invalid_json_names_the_line(store, validator, tmp_path):
    path = tmp_path / "cohorts.json"
    path.write_text('[\n {"id": "c1",\n  "name": }\n]')
    with pytest.raises(MetadataError, match=r"cohorts.json: line 3 column"):
        load_metadata(store, [path], validator)


def test_loading_an_existing_id_fails_unless_replace(demo_store, validator, tmp_path):
    individual = demo_records("individuals.json")[0]
    individual["sex"] = {"id": "NCIT:C16576", "label": "female"}
    path = write_json(tmp_path / "individuals.json", [individual])
    with pytest.raises(Exception, match="already exists"):
        load_metadata(demo_store, [path], validator)
    load_metadata(demo_store, [path], validator, replace=True)
    (stored,) = demo_store.find_records(RecordQuery("individuals", DEMO_DATASET, record_id=individual["id"]))
    assert stored["sex"]["label"] == "female"
    assert count(demo_store, "individuals") == 2504


def test_a_failure_midway_leaves_the_previous_data_intact(demo_store, validator, tmp_path, monkeypatch):
    """Simulate a crash after half the records were written: the transaction must roll back."""
    before = demo_store.find_records(RecordQuery("individuals", DEMO_DATASET, limit=3000))
    changed = demo_records("individuals.json")
    for record in changed:
        record["sex"] = {"id": "NCIT:C16576", "label": "female"}
    path = write_json(tmp_path / "individuals.json", changed)
    original = type(demo_store)._put_record
    written = []

    def crash_midway(self, *args, **kwargs):
        if len(written) == len(changed) // 2:
            raise KeyboardInterrupt  # what Ctrl-C does
        written.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(demo_store), "_put_record", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        load_metadata(demo_store, [path], validator, replace=True)
    assert written  # the failure really happened midway
    monkeypatch.undo()
    assert demo_store.find_records(RecordQuery("individuals", DEMO_DATASET, limit=3000)) == before


def test_cli_load_metadata_reports_counts(runner, tmp_path):
    path = write_json(tmp_path / "cohorts.json", [{"id": "c2", "name": "Second", "cohortType": "user-defined"}])
    result = runner.invoke(main, ["load", "metadata", str(path), "--dataset", DEMO_DATASET])
    assert result.exit_code == 0, result.output
    assert "cohorts: 1 record(s) loaded" in result.output


def test_cli_bad_input_exits_1_with_the_reason_on_stderr(runner, tmp_path):
    path = write_json(tmp_path / "cohorts.json", [{"id": "c2", "cohortType": "user-defined"}])
    result = runner.invoke(main, ["load", "metadata", str(path), "--dataset", DEMO_DATASET])
    assert result.exit_code == 1
    assert "cohorts.json: record 1: (root): 'name' is a required property" in result.stderr
    assert "Traceback" not in result.output


def test_cli_datasets_list_and_remove(runner, demo_store):
    listed = runner.invoke(main, ["datasets", "list"])
    assert listed.exit_code == 0 and listed.output.startswith(DEMO_DATASET)
    removed = runner.invoke(main, ["datasets", "remove", DEMO_DATASET, "--yes"])
    assert removed.exit_code == 0, removed.output
    assert [d["id"] for d in demo_store.list_datasets()] == [TEST_DATASET]  # the demo's other dataset stays
    assert count(demo_store, "individuals") == 0
    assert count(demo_store, "biosamples") == 0
    again = runner.invoke(main, ["datasets", "remove", DEMO_DATASET, "--yes"])
    assert again.exit_code == 1 and "no dataset" in again.stderr


def test_cli_load_demo_is_idempotent(runner, demo_store):
    first = runner.invoke(main, ["load", "demo"])
    second = runner.invoke(main, ["load", "demo"])
    assert first.exit_code == second.exit_code == 0, second.output
    assert count(demo_store, "individuals") == 2504
    assert count(demo_store, "biosamples") == 2504
    synthetic = json.loads((DEMO_DIR / "individuals.synthetic-test.json").read_text())
    assert count(demo_store, "individuals", TEST_DATASET) == len(synthetic) == 3
    assert [d["id"] for d in demo_store.list_datasets()] == [DEMO_DATASET, TEST_DATASET]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["load"],
        ["load", "metadata"],
        ["load", "demo"],
        ["datasets"],
        ["datasets", "list"],
        ["datasets", "remove"],
        ["serve"],
    ],
)
def test_every_command_has_help(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_invalid_settings_stop_the_cli_with_the_variable_name(monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("BEACON_STORE_URI", "postgres://nope")
    result = CliRunner().invoke(main, ["datasets", "list"])
    assert result.exit_code == 1
    assert "BEACON_STORE_URI" in result.stderr
