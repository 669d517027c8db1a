"""The server when its SQLite file goes wrong: real gunicorn (production configuration, two workers
replaced every few requests), a real store file deleted, moved, replaced by garbage, damaged in place,
and put back, with a worker killed meanwhile.

Whatever happens, the master keeps running, workers boot, `/health/live` answers 200, data endpoints
answer 503 in the Beacon error envelope and `/health/ready` 503, the server recovers by itself when
the file is back, and the file put back is byte for byte what it was: the server never writes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from beacon.demo import DEMO_DIR
from tests.api.test_deployment import ROOT, closed_port, server_environment
from tests.conftest import response_errors
from tests.faults.server import (
    DATA_PATHS,
    Server,
    all_workers_ready,
    kill_a_worker,
    sha256,
    start_server,
    wait_for,
)

pytestmark = pytest.mark.slow
BEACON = str(Path(sys.executable).with_name("beacon"))


@pytest.fixture
def store(tmp_path: Path, demo_store_file: Path) -> Path:
    """A private copy of the demo store in a directory of its own."""
    path = tmp_path / "data" / "beacon.sqlite"
    path.parent.mkdir()
    shutil.copy(demo_store_file, path)
    return path


def answers(get) -> dict[str, dict]:
    """The JSON answer of every data path, each of which must be a 200."""
    documents = {}
    for path in DATA_PATHS:
        response = get(path)
        assert response.status_code == 200, (path, response.text[:300])
        documents[path] = response.json()
    return documents


def assert_unavailable(server: Server, validator, rounds: int) -> None:
    """Every data path answers the 503 envelope on new connections; not ready; alive."""
    for _ in range(rounds):
        for path in DATA_PATHS:
            response = server.get(path)
            assert response.status_code == 503, (path, response.text[:300])
            document = response.json()
            assert document["error"]["errorCode"] == 503
            assert response_errors(validator, document) == []
        assert server.get("/health/ready").status_code == 503
        assert server.get("/health/live").status_code == 200
    assert server.alive()


def assert_no_unhandled_errors(server: Server) -> None:
    messages = [entry["message"] for entry in server.logs()]
    assert "unhandled error while answering a request" not in messages
    assert not [message for message in messages if "Traceback" in message or "Worker failed to boot" in message]


def recovered(server: Server, baseline: dict[str, dict]) -> None:
    wait_for(lambda: all_workers_ready(server), "readiness on both workers after the file came back", server)
    for _ in range(3):  # new connections: both workers
        assert answers(server.get) == baseline


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_a_missing_store_gets_503s_is_never_created_and_is_served_again_untouched(how, store, tmp_path, validator):
    original = sha256(store)
    aside = tmp_path / "aside.sqlite"
    server = start_server(tmp_path, store)
    try:
        baseline = answers(server.get)
        booted = server.booted()
        if how == "moved":
            store.rename(aside)
        else:
            shutil.copy(store, aside)  # the operator's backup
            store.unlink()
        assert_unavailable(server, validator, rounds=3)
        kill_a_worker(server)
        assert_unavailable(server, validator, rounds=3)
        # Recycled and killed workers are replaced without a store (a recycled worker first ends its connections).
        # Each poll asks once more: on a busy machine one worker may have taken most requests so far, and the
        # other is recycled only when it too reaches its --max-requests.
        wait_for(lambda: asked(server) and server.booted() >= booted + 3, "replacement workers booting", server)
        assert_unavailable(server, validator, rounds=1)
        assert not store.exists()  # no empty store was created in its place
        if how == "moved":
            aside.rename(store)
        else:
            shutil.copy(aside, store)
        recovered(server, baseline)
    finally:
        server.stop()
    assert sha256(store) == original
    assert_no_unhandled_errors(server)


def asked(server) -> bool:
    """One more request to either worker (True even when a recycling worker dropped it)."""
    # A connection that met a worker on its way out fails; the next poll asks again.
    with contextlib.suppress(AssertionError):
        server.get("/health/live")
    return True


@pytest.mark.parametrize("how", ["replaced", "overwritten"])
def test_a_store_replaced_by_garbage_gets_503s_while_workers_keep_booting(how, store, tmp_path, validator):
    original = sha256(store)
    backup = tmp_path / "backup.sqlite"
    shutil.copy(store, backup)
    garbage = os.urandom(store.stat().st_size)
    server = start_server(tmp_path, store)
    try:
        baseline = answers(server.get)
        booted = server.booted()
        if how == "replaced":  # a new file renamed over the store
            (tmp_path / "garbage").write_bytes(garbage)
            os.replace(tmp_path / "garbage", store)
        else:  # the same file written over
            store.write_bytes(garbage)
        assert_unavailable(server, validator, rounds=4)
        kill_a_worker(server)
        assert_unavailable(server, validator, rounds=2)
        assert server.booted() >= booted + 3
        assert store.read_bytes() == garbage  # the server did not touch it either
        if how == "replaced":
            shutil.copy(backup, tmp_path / "restored")
            os.replace(tmp_path / "restored", store)
        else:
            store.write_bytes(backup.read_bytes())
        recovered(server, baseline)
    finally:
        server.stop()
    assert sha256(store) == original
    assert_no_unhandled_errors(server)


def damage_the_middle(path: Path) -> None:
    """Overwrite the middle half of the file's pages in place (same file, same size)."""
    page = 4096
    pages = path.stat().st_size // page
    with path.open("r+b") as handle:
        for number in range(pages // 4, 3 * pages // 4):
            handle.seek(number * page)
            handle.write(os.urandom(page))


def test_a_store_damaged_in_place_gets_503s_until_restored_in_place(store, tmp_path, validator):
    original = store.read_bytes()
    # No recycling here: the keep-alive client below must stay on one worker.
    server = start_server(tmp_path, store, max_requests=10_000)
    try:
        client = server.client()  # one long-lived connection, so one worker whose SQLite connections live on
        baseline = answers(client.get)
        damage_the_middle(store)
        # Listing the filtering terms reads every page of the record values, spread over the whole file.
        response = client.get("/api/filtering_terms")
        assert response.status_code == 503, response.text[:300]
        assert response_errors(validator, response.json()) == []
        assert client.get("/health/ready").status_code == 503  # this worker met the damage: not ready
        for path in DATA_PATHS:  # and no longer answers from a damaged file, even where a page is intact
            assert client.get(path).status_code == 503, path
        statuses = {server.get(path).status_code for path in DATA_PATHS for _ in range(3)}
        assert statuses <= {200, 503}  # never a 500
        assert server.get("/health/live").status_code == 200
        store.write_bytes(original)  # restored in place, as `cp backup store` does
        recovered(server, baseline)
        for _ in range(5):  # the long-lived connection (its worker's cached pages are gone)
            assert answers(client.get) == baseline
    finally:
        server.stop()
    assert store.read_bytes() == original
    assert_no_unhandled_errors(server)


def test_a_server_started_before_its_store_exists_is_ready_once_a_load_creates_it(tmp_path, validator):
    store = tmp_path / "data" / "beacon.sqlite"
    server = start_server(tmp_path, store)
    try:
        assert_unavailable(server, validator, rounds=1)
        assert not store.exists() and not store.parent.exists()
        load = [BEACON, "load", "metadata"]
        files = [str(DEMO_DIR / "datasets.json"), str(DEMO_DIR / "individuals.json")]
        env = server_environment(f"sqlite:///{store}")
        result = subprocess.run([*load, *files], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        wait_for(lambda: all_workers_ready(server), "readiness after the first load", server)
        response = server.get("/api/individuals?requestedGranularity=count")
        assert response.status_code == 200
        assert response.json()["responseSummary"]["numTotalResults"] == 2504  # individuals.json holds 2504
    finally:
        server.stop()
    assert_no_unhandled_errors(server)


# -- beacon serve refuses a store it cannot read ----------------------------------------------------
def older_schema(path: Path) -> None:
    from beacon.store.sqlite import SqliteStore

    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:  # as schema version 6 left it (see the frequency source migration)
        conn.executescript("ALTER TABLE variant_sets DROP COLUMN frequency_source; PRAGMA user_version = 6;")


STORE_STATES = {
    "missing": (lambda path: None, "does not exist"),
    "empty": (lambda path: path.write_bytes(b""), "not a beacon store"),
    "garbage": (lambda path: path.write_bytes(os.urandom(65536)), "damaged or not an SQLite database"),
    "foreign": (
        lambda path: sqlite3.connect(path).executescript("CREATE TABLE notes (text); INSERT INTO notes VALUES ('x');"),
        "not a beacon store",
    ),
    "older": (older_schema, "upgrade it with 'beacon init'"),
}


@pytest.mark.parametrize("state", sorted(STORE_STATES))
def test_beacon_serve_refuses_a_store_it_cannot_read_with_one_line(state, tmp_path):
    make, reason = STORE_STATES[state]
    store = tmp_path / "beacon.sqlite"
    make(store)
    before = sha256(store) if store.exists() else None
    command = [BEACON, "serve", "--port", str(closed_port())]
    env = server_environment(f"sqlite:///{store}")
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and str(store) in line and reason in line, line
    assert (sha256(store) if store.exists() else None) == before
    if state == "older":  # `beacon init` upgrades it, and then it serves
        init = subprocess.run([BEACON, "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert init.returncode == 0, init.stderr
        assert init.stdout == f"{store}: the store is ready\n"
