"""The SQLite store's file: how connections open it, notice that it changed, report its failures, give space back.

Access modes (`Access`):
- `create` (`beacon init`, `beacon load ...`): the file and its directory are created when missing; a new
  file gets incremental auto-vacuum, so removing or replacing data can give its space back.
- `write` (`beacon datasets remove`, `beacon store compact`): the file must exist; it is opened with
  `mode=rw`, so a file deleted meanwhile is never created again.
- `read` (the server, `beacon datasets list`): `mode=ro`. Such a connection reads a WAL database while
  a loader writes it (through the `-shm` index, like any reader). It may create an empty `-wal` and the
  `-shm` beside the file, but it never writes a frame into the WAL and never checkpoints (that takes a
  write lock a read-only file cannot give), so nothing it did while the file was missing or replaced can
  be replayed into the file put back later. Not `immutable=1`: that tells SQLite the file never changes,
  so it takes no locks and ignores the WAL, and readers would miss loads or misread a file being written.

Changes: every call of a reading store stats the file (`FileKey`: device, inode, size, modification
time). A thread's connection opened on another key is closed and opened again: the file was replaced,
restored, written in place, or checkpointed into by a loader, and the connection's page cache may
hold pages of what was there before. A file found damaged (SQLITE_CORRUPT, SQLITE_NOTADB) stays
unavailable, for every call of that process, until it changes.

Writers keep the WAL bounded: `journal_size_limit`, and a TRUNCATE checkpoint after loads, removals
and on close; `reclaim` gives free pages back after a dataset version is dropped.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, ParamSpec, TypeVar

from beacon.store.base import Access, StoreError, StoreUnavailable
from beacon.store.sqlite.schema import SCHEMA_VERSION

WAL_LIMIT_BYTES = 64 << 20  # the WAL is truncated to this after a checkpoint resets it
INCREMENTAL = 2  # PRAGMA auto_vacuum
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}

P = ParamSpec("P")
R = TypeVar("R")


class FileKey(NamedTuple):
    """What identifies one state of the store file: a different key means a different file or content."""

    device: int
    inode: int
    size: int
    modified_ns: int


def file_key(path: Path) -> FileKey:
    """The key of the file now; StoreUnavailable when there is none."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise StoreUnavailable(
            f"SQLite store {path} does not exist (create it with 'beacon init' or 'beacon load')"
        ) from None
    except OSError as error:
        raise StoreUnavailable(f"SQLite store {path} cannot be read: {error.strerror}") from None
    return FileKey(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def connect(path: Path, access: Access) -> sqlite3.Connection:
    """A configured connection in the given access mode (see the module docstring)."""
    if access == "create":
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    else:
        mode = "ro" if access == "read" else "rw"
        # An absolute path, symlinks not resolved: re-pointing a link is one way to restore a store.
        uri = f"{Path(os.path.abspath(path)).as_uri()}?mode={mode}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        if access != "read":
            _refuse_foreign(conn, path)  # before any pragma that writes, such as journal_mode
        _configure(conn, access)
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """StoreError for an SQLite database of something else: schema version 0, yet tables."""
    if (
        conn.execute("PRAGMA user_version").fetchone()[0] == 0
        and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
    ):
        raise StoreError(f"SQLite store {path} is an SQLite database but not a beacon store; it was left unchanged")


def _configure(conn: sqlite3.Connection, access: Access) -> None:
    if access != "read":
        # Only takes effect on a file without tables yet (or at the next VACUUM, see `compact`).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")


class Connections:
    """One connection per thread to the store file; in read access, reopened whenever the file changes."""

    def __init__(self, path: Path, access: Access) -> None:
        self.path = path
        self.access = access
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._damaged: tuple[FileKey, str] | None = None  # the file state found damaged, and why

    def get(self) -> sqlite3.Connection:
        """This thread's connection (see the module docstring); StoreUnavailable when the file cannot serve."""
        conn = getattr(self._local, "conn", None)
        if self.access != "read":
            return conn if conn is not None else self._open(None)
        try:
            key = file_key(self.path)
        except StoreUnavailable:
            if conn is not None:  # let the file it still holds go (it may be a deleted 300 MB one)
                self._close(conn)
            raise
        damaged = self._damaged
        if damaged is not None and damaged[0] == key:
            raise StoreUnavailable(damaged[1])
        if conn is not None and self._local.key != key:
            self._close(conn)
            conn = None
        return conn if conn is not None else self._open(key)

    def existing(self) -> sqlite3.Connection | None:
        """This thread's connection if it has one."""
        return getattr(self._local, "conn", None)

    def current_key(self) -> FileKey | None:
        """The file state this thread's reading connection was opened on (None for writers)."""
        return getattr(self._local, "key", None)

    def _open(self, key: FileKey | None) -> sqlite3.Connection:
        self._local.key = key  # before connecting: a damaged file is recorded under it
        conn = connect(self.path, self.access)
        if self.access == "read":
            try:
                check_schema_version(conn, self.path)
            except BaseException:
                conn.close()
                raise
        self._local.conn = conn
        with self._lock:
            self._opened.append(conn)
        return conn

    def _close(self, conn: sqlite3.Connection) -> None:
        self._local.conn = None
        with self._lock:
            self._opened.remove(conn)
        conn.close()

    def error(self, error: sqlite3.Error) -> Exception:
        """What to raise for an SQLite error; a damaged file is remembered until it changes."""
        reported = store_error(error, self.path)
        key = self.current_key()
        if self.access == "read" and key is not None and is_damage(error):
            self._damaged = (key, str(reported))
        return reported

    def close_all(self) -> None:
        """Close every connection (of every thread)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()


def check_schema_version(conn: sqlite3.Connection, path: Path) -> None:
    """StoreUnavailable unless the file holds a beacon store of this beacon's schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        raise StoreUnavailable(f"{path} is not a beacon store (create one with 'beacon init' or 'beacon load')")
    if version > SCHEMA_VERSION:
        raise StoreUnavailable(f"SQLite store {path} has schema version {version}, newer than this beacon's")
    raise StoreUnavailable(
        f"SQLite store {path} has schema version {version}, older than this beacon's {SCHEMA_VERSION}: "
        "upgrade it with 'beacon init'"
    )


def store_error(error: sqlite3.Error, path: Path) -> Exception:
    """The StoreError to report for an SQLite error on the store file, or the error itself (a bug)."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _DAMAGED:
        return StoreUnavailable(f"SQLite store {path} is damaged or not an SQLite database ({error}); restore it")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"SQLite store {path} is read-only ({error}); check its permissions and its directory's")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreUnavailable(f"SQLite store {path} cannot be opened ({error}); check it and its directory")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreUnavailable(f"SQLite store {path} is locked by another process ({error}); try again")
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"SQLite store {path}: the disk is full ({error}); nothing of this step was kept")
    if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return StoreUnavailable(f"SQLite store {path} cannot be read or written ({error})")
    return error


def is_damage(error: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file is corrupt or not a database at all."""
    return ((getattr(error, "sqlite_errorcode", None) or 0) & 0xFF) in _DAMAGED


def translated(method: Callable[P, R]) -> Callable[P, R]:
    """Raise StoreError/StoreUnavailable instead of an sqlite3 error (via the instance's `_store_error`)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as error:
            reported = args[0]._store_error(error)  # type: ignore[attr-defined]
            if reported is error:
                raise
            raise reported from error

    return wrapper


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and empty it (waits for readers of older snapshots, within the timeout)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def reclaim(conn: sqlite3.Connection) -> None:
    """Give the file's free pages back to the file system (incremental auto-vacuum), then checkpoint.

    Stores created before auto-vacuum keep their free pages for later writes; `compact` converts them.
    """
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL:
        # executescript steps the pragma to its end: it moves one page per step.
        conn.executescript("PRAGMA incremental_vacuum")
    checkpoint(conn)


def compact(conn: sqlite3.Connection) -> None:
    """Rewrite the file without free pages, switching it to incremental auto-vacuum (VACUUM), then checkpoint."""
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("VACUUM")
    checkpoint(conn)


def free_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of free pages inside the file."""
    pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return pages * conn.execute("PRAGMA page_size").fetchone()[0]
