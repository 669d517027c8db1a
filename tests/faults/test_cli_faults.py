"""The command line when the store or a load goes wrong: one-line errors naming the file and record,
stores never created by commands that only read or remove, scratch files of killed loads removed by the
next load, and space given back by removals, replaces and `beacon store compact`.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from beacon.cli import main
from beacon.demo import DEMO_DIR
from beacon.store.processes import process_token
from loaders.vcf_parallel import SCRATCH_PREFIX, remove_abandoned_scratch
from tests.conftest import DEMO_DATASET
from tests.faults.server import sha256
from tests.unit.test_vcf_cli import demo_lines, kill_load_after, processes_running, write_lines

ROOT = Path(__file__).resolve().parents[2]
BEACON = str(Path(sys.executable).with_name("beacon"))
DEMO_FILES = [str(DEMO_DIR / "datasets.json"), str(DEMO_DIR / "individuals.json")]


def beacon(store: Path, *arguments: str, **popen: object) -> subprocess.CompletedProcess[str]:
    """Run the `beacon` command on a store, as a user would."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BEACON_")}
    env["BEACON_STORE_URI"] = f"sqlite:///{store}"
    return subprocess.run([BEACON, *arguments], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, **popen)  # type: ignore[call-overload]


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line of a failed command."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.stderr
    return line


@pytest.fixture
def store(tmp_path: Path, demo_store_file: Path) -> Path:
    """A private copy of the demo store."""
    path = tmp_path / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    return path


# -- a read-only store ----------------------------------------------------------------------------
_PR_CAPBSET_DROP = 24  # prctl(2)
_FILE_PERMISSION_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def obey_file_permissions() -> None:
    """In a child about to exec: give up root's power to ignore file permissions (a no-op for other users).

    Dropped from the bounding set, the capabilities are not granted again when the child execs.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _FILE_PERMISSION_OVERRIDES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def read_only_store(store: Path) -> Path:
    """The demo store with its write permissions removed (its directory stays writable)."""
    store.chmod(0o444)
    return store


def test_a_read_only_store_is_read_and_every_write_is_one_line_naming_it(read_only_store):
    path, popen = read_only_store, {"preexec_fn": obey_file_permissions}
    before = sha256(path)
    listed = beacon(path, "datasets", "list", **popen)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{DEMO_DATASET}\t")
    for command in (
        ["load", "metadata", "--replace", *DEMO_FILES],
        ["datasets", "remove", DEMO_DATASET, "--yes"],
        ["init"],
    ):
        line = one_error_line(beacon(path, *command, **popen))
        assert f"SQLite store {path} is read-only" in line, (command, line)
    assert sha256(path) == before


# -- records and datasets named by file and record ------------------------------------------------
def test_a_record_that_exists_is_named_by_file_and_record_number(store):
    line = one_error_line(beacon(store, "load", "metadata", *DEMO_FILES))
    expected = f"error: {DEMO_FILES[0]}: record 1: id: datasets record {DEMO_DATASET!r} already exists"
    assert line.startswith(expected), line


def test_a_record_of_a_dataset_that_does_not_exist_is_named_by_file_and_record_number(store, tmp_path):
    individuals = json.loads((DEMO_DIR / "individuals.json").read_text())[:3]
    individuals[2] = {**individuals[2], "datasetId": "NO_SUCH_DATASET"}
    path = tmp_path / "individuals.json"
    path.write_text(json.dumps(individuals))
    line = one_error_line(beacon(store, "load", "metadata", "--replace", str(path)))
    assert line.startswith(f"error: {path}: record 3: datasetId: dataset 'NO_SUCH_DATASET' does not exist"), line


def test_a_dataset_that_does_not_exist_is_named_with_the_store(store, tmp_path):
    vcf = write_lines(tmp_path / "head.vcf", demo_lines(5))
    load = beacon(store, "load", "vcf", str(vcf), "--dataset", "NO_SUCH_DATASET", "--assembly", "GRCh37")
    assert one_error_line(load).startswith(f"error: {store}: dataset 'NO_SUCH_DATASET' does not exist")
    remove = beacon(store, "datasets", "remove", "NO_SUCH_DATASET", "--yes")
    assert one_error_line(remove) == f"error: {store}: no dataset 'NO_SUCH_DATASET'"


# -- commands that need a store never create one --------------------------------------------------
@pytest.mark.parametrize("command", [["datasets", "list"], ["datasets", "remove", "X", "--yes"], ["store", "compact"]])
def test_commands_that_need_a_store_do_not_create_one(command, tmp_path):
    path = tmp_path / "nowhere" / "beacon.sqlite"
    line = one_error_line(beacon(path, *command))
    assert line == f"error: SQLite store {path} does not exist (create it with 'beacon init' or 'beacon load')"
    assert not path.parent.exists()


def test_init_creates_a_store_and_is_safe_to_repeat(tmp_path):
    path = tmp_path / "new" / "beacon.sqlite"
    for _ in range(2):
        result = beacon(path, "init")
        assert (result.returncode, result.stdout) == (0, f"{path}: the store is ready\n"), result.stderr
    assert beacon(path, "datasets", "list").stdout == ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (os.urandom(8192), "is damaged or not an SQLite database"),
        (None, "is an SQLite database but not a beacon store"),
    ],
)
def test_a_file_that_is_not_a_beacon_store_is_refused_and_left_alone(content, reason, tmp_path):
    path = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE notes (text)")
    else:
        path.write_bytes(content)
    before = sha256(path)
    for command in (["load", "metadata", *DEMO_FILES], ["init"], ["datasets", "list"]):
        line = one_error_line(beacon(path, *command))
        assert line.count(str(path)) == 1 and ("not a beacon store" in line or reason in line), line
    assert sha256(path) == before


# -- scratch files of a killed parallel load --------------------------------------------------------
@pytest.mark.slow
def test_the_next_load_removes_the_scratch_of_a_killed_parallel_load(runner, demo_store, tmp_path, monkeypatch):
    from benchmarks.synthetic_vcf import write_vcf

    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch_root))  # the killed load and the next one use it
    big = write_vcf(tmp_path / "big.vcf.gz", 80_000)  # about 8 MB: several chunks
    kill_load_after(big, 1, "--workers", "2")
    left = sorted(scratch_root.glob(f"{SCRATCH_PREFIX}*"))
    assert len(left) == 1 and any(left[0].iterdir())  # what the kill left: chunk files in a scratch directory
    deadline = time.monotonic() + 30
    while processes_running(str(big)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the workers die with the loading process
    small = write_lines(tmp_path / "head.vcf", demo_lines(5))
    result = beacon(demo_store.path, "load", "vcf", str(small), "--dataset", DEMO_DATASET, "--assembly", "GRCh37",
                    "--replace", "--workers", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(scratch_root.iterdir()) == []


def test_scratch_directories_of_running_loads_are_kept(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"{SCRATCH_PREFIX}{finished.stdout.strip()}-abc"
    reused_pid = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}.1-abc"  # this pid, but another start time
    running = tmp_path / f"{SCRATCH_PREFIX}{process_token()}-abc"
    other = tmp_path / "beacon-load-not-ours"
    for directory in (dead, reused_pid, running, other):
        directory.mkdir()
        (directory / "chunk-0.vcf").write_text("x")
    assert sorted(remove_abandoned_scratch(tmp_path)) == sorted([dead, reused_pid])
    assert sorted(tmp_path.iterdir()) == sorted([running, other])


# -- space given back -------------------------------------------------------------------------------
@pytest.fixture
def server_connection(store: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection held open, as a running server holds one: the loader is not the last
    connection to close, so SQLite does not delete the WAL for it; the loader must empty it itself."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    conn.execute("SELECT count(*) FROM records").fetchone()
    yield conn
    conn.close()


def wal_bytes(path: Path) -> int:
    wal = path.with_name(f"{path.name}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_removing_a_dataset_gives_its_space_back(store, server_connection):
    before = store.stat().st_size
    result = beacon(store, "datasets", "remove", DEMO_DATASET, "--yes")
    assert result.returncode == 0, result.stderr
    assert store.stat().st_size < before / 20  # the demo dataset is nearly everything in the file
    assert wal_bytes(store) == 0


def test_replacing_variants_with_fewer_gives_the_space_back(store, server_connection, tmp_path):
    variant_pages = server_connection.execute("SELECT count(*) FROM dbstat WHERE name LIKE 'variants%'").fetchone()[0]
    page_size = server_connection.execute("PRAGMA page_size").fetchone()[0]
    before = store.stat().st_size
    head = write_lines(tmp_path / "head.vcf", demo_lines(5))
    result = beacon(store, "load", "vcf", str(head), "--dataset", DEMO_DATASET, "--assembly", "GRCh37", "--replace")
    assert result.returncode == 0, result.stderr
    assert store.stat().st_size <= before - 0.9 * variant_pages * page_size
    assert wal_bytes(store) == 0


def test_compact_gives_back_the_space_a_store_without_auto_vacuum_kept(store):
    conn = sqlite3.connect(store, isolation_level=None)  # as stores created before auto-vacuum are
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("VACUUM")
    conn.close()
    before = store.stat().st_size
    assert beacon(store, "datasets", "remove", DEMO_DATASET, "--yes").returncode == 0
    assert store.stat().st_size == before  # its free pages stay in the file
    result = beacon(store, "store", "compact")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{store}: compacted, ")
    assert store.stat().st_size < before / 20 and wal_bytes(store) == 0
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental from now on


def test_an_in_process_runner_reports_a_missing_store_in_one_line(tmp_path):
    path = tmp_path / "missing.sqlite"
    result = CliRunner().invoke(main, ["datasets", "list", "--store", f"sqlite:///{path}"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "does not exist" in result.stderr
