"""How the SQLite store opens its file (`beacon.store.sqlite.files`): a reading store never creates or
writes it, follows it when it is replaced, stays unavailable while it is damaged, and a writer keeps the
WAL empty after its work. In-process; `tests/faults/` does the same through real servers and commands.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from beacon.store.base import MetadataBatch, StoreError, StoreUnavailable
from beacon.store.sqlite import SqliteStore


def dataset_store(path: Path, *dataset_ids: str) -> Path:
    """A store file holding datasets with these ids."""
    store = SqliteStore(path)
    store.put_metadata(MetadataBatch({"datasets": [{"id": dataset_id} for dataset_id in dataset_ids]}))
    store.close()
    return path


def listed(store: SqliteStore) -> list[str]:
    return [dataset["id"] for dataset in store.list_datasets()]


def test_a_reading_store_of_a_missing_file_opens_reports_it_and_creates_nothing(tmp_path):
    path = tmp_path / "missing" / "beacon.sqlite"
    store = SqliteStore(path, access="read")  # no error: a server starts whatever state its store is in
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store.check()
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store.list_datasets()
    assert not path.parent.exists()


def test_a_writing_store_needs_the_file(tmp_path):
    with pytest.raises(StoreUnavailable, match="does not exist"):
        SqliteStore(tmp_path / "beacon.sqlite", access="write")
    assert list(tmp_path.iterdir()) == []


def test_a_reading_store_cannot_write(tmp_path):
    store = SqliteStore(dataset_store(tmp_path / "beacon.sqlite", "A"), access="read")
    with pytest.raises(StoreError, match="opened for reading only"):
        store.put_metadata(MetadataBatch({"datasets": [{"id": "B"}]}))
    assert listed(store) == ["A"]


def test_a_reading_store_sees_a_load_made_while_it_is_open(tmp_path):
    path = dataset_store(tmp_path / "beacon.sqlite", "A")
    reader = SqliteStore(path, access="read")
    assert listed(reader) == ["A"]
    writer = SqliteStore(path)
    writer.put_metadata(MetadataBatch({"datasets": [{"id": "B"}]}))
    assert listed(reader) == ["A", "B"]
    writer.close()
    assert listed(reader) == ["A", "B"]


@pytest.mark.parametrize("how", ["renamed over", "copied over"])
def test_a_reading_store_follows_its_file_when_it_is_replaced(how, tmp_path):
    path = dataset_store(tmp_path / "beacon.sqlite", "A")
    other = dataset_store(tmp_path / "other.sqlite", "B", "C")
    reader = SqliteStore(path, access="read")
    assert listed(reader) == ["A"]
    if how == "renamed over":
        os.replace(other, path)
    else:  # the same file (inode), new content
        shutil.copyfile(other, path)
    assert listed(reader) == ["B", "C"]


def test_a_damaged_file_stays_unavailable_until_it_changes(tmp_path):
    path = dataset_store(tmp_path / "beacon.sqlite", "A")
    good = path.read_bytes()
    reader = SqliteStore(path, access="read")
    reader.check()
    with sqlite3.connect(path) as conn:
        (records_page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetchone()
    with path.open("r+b") as handle:  # the one page of the records table
        handle.seek((records_page - 1) * 4096)
        handle.write(os.urandom(4096))
    with pytest.raises(StoreUnavailable, match="damaged"):
        listed(reader)
    SqliteStore(path, access="read").check()  # what check reads is intact: a fresh store finds nothing wrong
    with pytest.raises(StoreUnavailable, match="damaged"):
        reader.check()  # but this one met the damage, and the file has not changed since
    path.write_bytes(good)
    reader.check()
    assert listed(reader) == ["A"]
    assert path.read_bytes() == good


def test_a_file_of_another_program_is_refused_before_it_is_changed(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is an SQLite database but not a beacon store"):
        SqliteStore(path)
    with pytest.raises(StoreUnavailable, match="is not a beacon store"):
        SqliteStore(path, access="read").check()
    assert path.read_bytes() == before


def test_a_writer_leaves_an_empty_wal_while_a_reader_keeps_the_file_open(tmp_path):
    path = dataset_store(tmp_path / "beacon.sqlite", "A")
    reader = SqliteStore(path, access="read")
    assert listed(reader) == ["A"]  # holds the file open, as a server does
    writer = SqliteStore(path)
    datasets = [{"id": f"D{number}", "name": "x" * 4000} for number in range(500)]
    writer.put_metadata(MetadataBatch({"datasets": datasets}))
    assert Path(f"{path}-wal").stat().st_size > 0
    writer.remove_dataset("A")
    assert Path(f"{path}-wal").stat().st_size == 0
    writer.close()
    assert len(listed(reader)) == 500
