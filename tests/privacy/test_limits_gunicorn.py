"""Query budgets and the rate limit are shared by every worker: a real gunicorn (the production configuration)
with two workers that are replaced every few requests, so no process ever sees more than three requests.

Were the counters kept in a worker's memory, no budget of 3 and no burst of 8 could ever be spent there;
here they are, at exactly the numbers the policy and the settings give.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_deployment import CONFIG, PRODUCTION_APP, ROOT, server_environment
from tests.auth.oidc_provider import free_port
from tests.conftest import DEMO_DATASET
from tests.faults.server import wait_for
from tests.schema_client import SCHEMA_CHECKING_HOOKS

VARIANT = "/api/g_variants?referenceName=22&start=16050074&referenceBases=A&alternateBases=G&assemblyId=GRCh37"
POLICY = f"""\
default_level: CONTROLLED
query_budget: {{anonymous: {{queries: 3, window: 3600}}}}
datasets:
  {DEMO_DATASET}: {{level: PUBLIC}}
"""


class Server:
    """A gunicorn on a TCP port; requests go on fresh connections, so either worker may take each."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def get(self, path: str) -> httpx.Response:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, event_hooks=SCHEMA_CHECKING_HOOKS) as c:
            return c.get(path)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:]

    def live(self) -> bool:
        try:
            return self.get("/health/live").status_code == 200
        except httpx.TransportError:
            return False


@contextlib.contextmanager
def gunicorn_server(tmp_path: Path, demo_store_file: Path, policy_text: str, **env: str) -> Iterator[Server]:
    """A copy of the demo store served by gunicorn (two workers, each replaced after 3 requests) under a policy."""
    store = tmp_path / "beacon.sqlite"
    shutil.copy(demo_store_file, store)
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text, encoding="utf-8")
    port, log = free_port(), tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--config", CONFIG, "--bind", f"127.0.0.1:{port}", "--workers", "2"),
        *("--max-requests", "3", "--max-requests-jitter", "0"),
        *("--env", f"PROMETHEUS_MULTIPROC_DIR={tmp_path / 'metrics'}", PRODUCTION_APP),
    ]
    environment = server_environment(f"sqlite:///{store}") | {"BEACON_ACCESS_FILE": str(policy)} | env
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    running = Server(process, port, log)
    try:
        wait_for(running.live, "gunicorn answering /health/live", running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def server(tmp_path: Path, demo_store_file: Path) -> Iterator[Server]:
    # One request per 1000 s: no refill during the test, however slow.
    with gunicorn_server(tmp_path, demo_store_file, POLICY, BEACON_RATE_LIMIT="0.001", BEACON_RATE_BURST="8") as s:
        yield s


def test_budget_and_rate_limit_are_shared_by_all_workers(server, tmp_path):
    statuses = [server.get(VARIANT).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429], server.log_tail()
    refused = server.get(VARIANT)  # the 7th request of the burst of 8
    assert refused.json()["error"]["errorCode"] == 429 and int(refused.headers["Retry-After"]) > 3000
    # 7 of the burst's 8 requests are spent (429s count too): one more, then the rate limit.
    assert server.get("/api/info").status_code == 200
    limited = server.get("/api/info")
    assert limited.status_code == 429 and "too many requests" in limited.json()["error"]["errorMessage"]
    assert int(limited.headers["Retry-After"]) >= 900
    assert server.get("/health/live").status_code == 200  # operations endpoints are never limited
    assert (tmp_path / "beacon.sqlite.limits.sqlite").is_file()  # the default place, beside the store
