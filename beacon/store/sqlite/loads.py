"""Variant loads into SQLite: a new version table filled in batches or from parts, then switched in.

A load writes `variants_<version>` (see `sqlite_variants`) while the dataset's current version keeps
answering; `commit` builds the indexes, then flips `variant_sets` in one transaction (recording the
load's frequency source, if any) and drops the old table. A killed load leaves a `loading` row
and its table behind, which the next load removes.

Parts: a load split across worker processes gives each worker a part file of its own,
`<store>.load-<version>.part-<n>`, with the tables of a version (journal off: it is scratch until
merged). The loading process merges parts in file order with one INSERT ... SELECT each, shifting
rowids so the side tables keep pointing at their variants, and deletes each part once merged. Part
files of a failed, aborted or killed load go with its version.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from beacon.store.base import FrequencySource, LoadMode, UnknownDatasetError, VariantDocument
from beacon.store.processes import process_alive
from beacon.store.sqlite import contigs as sqlite_contigs
from beacon.store.sqlite.files import reclaim, store_error, translated
from beacon.store.sqlite.structural import merge_mates, structural_index_statements
from beacon.store.sqlite.variants import (
    INSERT_COLUMNS,
    LONG_SPAN,
    VariantLoadError,
    bins_select,
    build_bins,
    create_bins_table,
    create_side_tables,
    create_version_table,
    drop_version,
    index_statements,
    insert_batch,
    prepare_batch,
    table_name,
)

WriteTransaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
Connection = Callable[[], sqlite3.Connection]
_PART_VERSION = 0  # the version number of the tables inside a part file


class SqliteVariantLoad:
    """A variant load into a new, invisible version of one dataset (see the module docstring).

    Batches are written in the loading thread: a background writer thread was measured slower, because
    sqlite3 releases and retakes the GIL for every row and so fights the converting thread for it.
    """

    def __init__(
        self,
        connection: Connection,
        write: WriteTransaction,
        store_error: Callable[[sqlite3.Error], Exception],
        store_path: Path,
        dataset_id: str,
        *,
        mode: LoadMode,
        frequency_source: FrequencySource | None = None,
    ) -> None:
        self._connection = connection
        self._write = write
        self._store_error = store_error
        self._store_path = store_path
        self.dataset_id = dataset_id
        self.mode = mode
        self._frequency_source = None if frequency_source is None else json.dumps(frequency_source.to_json())
        self._next_rowid = 1
        self._assembly: str | None = None
        self._max_short_span = 0
        self._batches_added = False  # bins are then counted at commit
        self._parts_added = False  # indexes and bins are then kept up to date merge by merge
        with write() as conn:
            _check_can_load(conn, dataset_id, mode, self._frequency_source)
            _drop_abandoned_loads(conn, dataset_id, store_path)
            self.version = conn.execute(
                "INSERT INTO variant_sets (dataset_id, state, loader_pid) VALUES (?, 'loading', ?)",
                (dataset_id, os.getpid()),
            ).lastrowid
            create_version_table(conn, self.version)
            create_side_tables(conn, self.version)
        self.open = True

    @translated
    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write one batch in its own transaction; returns how many were written."""
        batch = list(documents)
        self._assembly = batch_assembly(self._assembly, batch)
        prepared = prepare_batch(batch, self._next_rowid)
        with self._write() as conn:
            insert_batch(conn, self.version, prepared)
        self._batches_added = True
        self._max_short_span = max(self._max_short_span, prepared.max_short_span)
        self._next_rowid += len(batch)
        return len(batch)

    def part(self, index: int) -> SqlitePart:
        """The part file a worker writes part `index` of this load into."""
        return SqlitePart(str(part_path(self._store_path, self.version, index)))

    @translated
    def add_part(self, part: SqlitePart) -> int:
        """Merge a written part after those merged before; returns how many variants it held.

        The first merge creates the version's indexes: parts arrive in file order, so their rows
        extend the indexes near their ends, and each merge overlaps with workers still converting,
        where building the indexes at commit would be a wait at the end.
        """
        conn = self._connection()
        conn.execute("ATTACH DATABASE ? AS part", (part.path,))
        try:
            with self._write() as conn:
                if not self._parts_added:
                    _index_version(conn, self.version)
                assembly, count, max_short_span = conn.execute(
                    "SELECT assembly, variants, max_short_span FROM part.part_info"
                ).fetchone()
                self._assembly = _same_assembly(self._assembly, assembly)
                _merge_part(conn, self.version, self._next_rowid - 1)
        finally:
            conn.execute("DETACH DATABASE part")
        Path(part.path).unlink()
        self._parts_added = True
        self._max_short_span = max(self._max_short_span, max_short_span)
        self._next_rowid += count
        return count

    @translated
    def duplicates(self, chromosomes: Iterable[str]) -> None:
        """DuplicateVariantsError when the load holds one variant id twice on these chromosomes."""
        with self._write() as conn:  # a write transaction: the automatic index it may build is scratch
            sqlite_contigs.find_duplicates(conn, self.version, chromosomes)

    @translated
    def commit(self) -> None:
        """Build the indexes, then make this version current (`sqlite_contigs.switch`) in one transaction.

        A failure (duplicates in mode `add`, another assembly) rolls the switch back and aborts the load.
        """
        try:
            with self._write() as conn:
                self._switch(conn)
        except BaseException:
            self.abort()
            raise
        self.open = False
        remove_parts(self._store_path, self.version)
        reclaim(self._connection())  # the previous version's space

    def _switch(self, conn: sqlite3.Connection) -> None:
        _index_version(conn, self.version)
        if self._batches_added:  # merged parts counted their own bins
            build_bins(conn, self.version)
        # Statistics let the planner pick the allele index over the position index; sampled, so cheap.
        conn.execute("PRAGMA analysis_limit = 2000")
        conn.execute(f"ANALYZE {table_name(self.version)}")
        previous = conn.execute(
            "SELECT version, assembly FROM variant_sets WHERE dataset_id = ? AND state = 'current'", (self.dataset_id,)
        ).fetchone()
        if previous is not None and self.mode in ("add", "replace-contigs"):
            _same_as_current(self.dataset_id, previous[1], self._assembly)
            self._assembly = self._assembly or previous[1]
        contigs = sqlite_contigs.switch(
            conn, self.dataset_id, self.version, self.mode, None if previous is None else previous[0]
        )
        if previous is not None:
            sqlite_contigs.forget_version(conn, previous[0])
            conn.execute("DELETE FROM variant_sets WHERE version = ?", (previous[0],))
        conn.execute(
            "UPDATE variant_sets SET state = 'current', assembly = ?, variant_count = ?, max_short_span = ?,"
            " annotations = ?, frequency_source = ?, loader_pid = NULL WHERE version = ?",
            (
                self._assembly, sum(c.variant_count for c in contigs.values()),
                max((c.max_short_span for c in contigs.values()), default=0),
                ",".join(sqlite_contigs.annotation_kinds(conn, (c.table_version for c in contigs.values()))),
                self._frequency_source, self.version,
            ),
        )  # fmt: skip

    @translated
    def abort(self) -> None:
        """Drop the new version and its parts; the previous one keeps answering (nothing to do once committed)."""
        if not self.open:
            return
        self.open = False
        with self._write() as conn:
            sqlite_contigs.forget_version(conn, self.version)
            drop_version(conn, self.version)
            conn.execute("DELETE FROM variant_sets WHERE version = ? AND state = 'loading'", (self.version,))
        remove_parts(self._store_path, self.version)
        reclaim(self._connection())


@dataclass(frozen=True)
class SqlitePart:
    """A part file of a load (a path, so it pickles to a worker process)."""

    path: str

    def open(self) -> SqlitePartWriter:
        """A writer creating the part file afresh."""
        return SqlitePartWriter(Path(self.path))


class SqlitePartWriter:
    """Writes one part file: the tables of a version, filled in batches, and what the merge checks."""

    @translated
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        # Scratch until merged, and deleted with the load if anything fails: no journal, no syncs.
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        create_version_table(self._conn, _PART_VERSION)
        create_side_tables(self._conn, _PART_VERSION)
        self._next_rowid = 1
        self._assembly: str | None = None
        self._max_short_span = 0

    @translated
    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write one batch; returns how many were written."""
        batch = list(documents)
        self._assembly = batch_assembly(self._assembly, batch)
        prepared = prepare_batch(batch, self._next_rowid)
        self._conn.execute("BEGIN")
        insert_batch(self._conn, _PART_VERSION, prepared)
        self._conn.execute("COMMIT")
        self._max_short_span = max(self._max_short_span, prepared.max_short_span)
        self._next_rowid += len(batch)
        return len(batch)

    def _store_error(self, error: sqlite3.Error) -> Exception:
        return store_error(error, self._path)

    @translated
    def close(self) -> None:
        """Count the part's bins and record its assembly, size and longest short span; close the file."""
        create_bins_table(self._conn, _PART_VERSION)
        self._conn.execute(
            f"INSERT INTO {table_name(_PART_VERSION)}_bins (chromosome, bin, n) {bins_select(_PART_VERSION)}"
        )
        self._conn.execute("CREATE TABLE part_info (assembly TEXT, variants INTEGER, max_short_span INTEGER)")
        self._conn.execute(
            "INSERT INTO part_info VALUES (?, ?, ?)", (self._assembly, self._next_rowid - 1, self._max_short_span)
        )
        self._conn.close()

    def discard(self) -> None:
        """Close and delete the part file."""
        self._conn.close()
        self._path.unlink(missing_ok=True)


def batch_assembly(assembly: str | None, batch: Iterable[VariantDocument]) -> str | None:
    """The one assembly of a load so far and `batch`; VariantLoadError when they differ."""
    for document in batch:
        assembly = _same_assembly(assembly, document.assembly)
    return assembly


def _same_assembly(assembly: str | None, other: str | None) -> str | None:
    if assembly is None or other is None or other == assembly:
        return assembly if assembly is not None else other
    raise VariantLoadError(f"one load holds one assembly: got {other} after {assembly}")


def part_path(store_path: Path, version: int, index: int) -> Path:
    """The part file of part `index` of a load, beside the store."""
    return store_path.with_name(f"{store_path.name}.load-{int(version)}.part-{int(index)}")


def remove_parts(store_path: Path, version: int) -> None:
    """Delete every part file of a load."""
    for path in store_path.parent.glob(f"{store_path.name}.load-{int(version)}.part-*"):
        path.unlink(missing_ok=True)


def _merge_part(conn: sqlite3.Connection, version: int, offset: int) -> None:
    """Copy the attached part's rows into a version's tables, rowids shifted by `offset`."""
    table, part = table_name(version), f"part.{table_name(_PART_VERSION)}"
    columns = ", ".join(INSERT_COLUMNS)
    conn.execute(f"INSERT INTO {table} (rowid, {columns}) SELECT rowid + ?, {columns} FROM {part}", (offset,))
    conn.execute(
        f"INSERT INTO {table}_annotations (kind, value, rowid_ref) "
        f"SELECT kind, value, rowid_ref + ? FROM {part}_annotations",
        (offset,),
    )
    conn.execute(
        f"INSERT INTO {table}_carriers (rowid_ref, biosample_id, zygosity) "
        f"SELECT rowid_ref + ?, biosample_id, zygosity FROM {part}_carriers",
        (offset,),
    )
    merge_mates(conn, table, part, offset)
    # Neighbouring parts can share a bin (a chunk ends mid-bin): counts add up.
    conn.execute(
        f"INSERT INTO {table}_bins (chromosome, bin, n) SELECT chromosome, bin, n FROM {part}_bins WHERE true "
        "ON CONFLICT (chromosome, bin) DO UPDATE SET n = n + excluded.n"
    )


def _index_version(conn: sqlite3.Connection, version: int) -> None:
    for statement in index_statements(version):
        conn.execute(statement)
    for statement in structural_index_statements(table_name(version), LONG_SPAN):
        conn.execute(statement)
    create_bins_table(conn, version)


def _same_as_current(dataset_id: str, current: str | None, assembly: str | None) -> None:
    if current is not None and assembly is not None and current != assembly:
        raise VariantLoadError(
            f"dataset {dataset_id!r} holds {current} variants and this load is {assembly}; "
            "one dataset version holds one assembly (use --replace to swap them)"
        )


def _check_can_load(conn: sqlite3.Connection, dataset_id: str, mode: LoadMode, frequency_source: str | None) -> None:
    if not conn.execute("SELECT 1 FROM records WHERE entity = 'datasets' AND id = ?", (dataset_id,)).fetchone():
        raise UnknownDatasetError(dataset_id)
    current = conn.execute(
        "SELECT variant_count, frequency_source FROM variant_sets WHERE dataset_id = ? AND state = 'current'",
        (dataset_id,),
    ).fetchone()
    if current and mode == "new":
        raise VariantLoadError(already_loaded(dataset_id, current[0]))
    if current and mode in ("add", "replace-contigs") and current[1] != frequency_source:
        raise VariantLoadError(other_source(dataset_id, current[1], frequency_source))


def already_loaded(dataset_id: str, count: int) -> str:
    """The message refusing a load in mode `new` into a dataset with variants."""
    return (
        f"dataset {dataset_id!r} already has {count} variants; use --replace to swap them, --add to add to them "
        "or --replace-contigs to replace only the chromosomes of the input"
    )


def other_source(dataset_id: str, current: str | None, new: str | None) -> str:
    """The message refusing to mix frequency sources (stored `FrequencySource.to_json` texts) in one version."""

    def named(stored: str | None) -> str:
        return "no frequency source" if stored is None else json.loads(stored)["source"]

    return (
        f"dataset {dataset_id!r} holds variants whose frequencies come from {named(current)} and this load's "
        f"come from {named(new)}; one dataset version keeps one frequency source: load with the same "
        "--populations map, or use --replace"
    )


def _drop_abandoned_loads(conn: sqlite3.Connection, dataset_id: str, store_path: Path) -> None:
    rows = conn.execute(
        "SELECT version, loader_pid FROM variant_sets WHERE dataset_id = ? AND state = 'loading'", (dataset_id,)
    ).fetchall()
    for version, pid in rows:
        if pid is not None and pid != os.getpid() and process_alive(pid):
            raise VariantLoadError(f"another load of dataset {dataset_id!r} is running (process {pid})")
        drop_version(conn, version)
        sqlite_contigs.forget_version(conn, version)
        conn.execute("DELETE FROM variant_sets WHERE version = ?", (version,))
        remove_parts(store_path, version)
