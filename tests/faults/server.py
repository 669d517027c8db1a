"""A real gunicorn for the fault tests: the production configuration, two workers recycled often, and
the questions the tests ask it (who are the workers, does every worker answer 503 or 200, logs).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.api.test_deployment import CONFIG, PRODUCTION_APP, ROOT, server_environment

MAX_REQUESTS = 15  # a worker is replaced after this many requests: workers boot while the store is bad
DATA_PATHS = (
    "/api/individuals",
    "/api/biosamples?limit=5",
    "/api/datasets",
    "/api/filtering_terms",
    "/api/g_variants?referenceName=22&start=16050074&referenceBases=A&alternateBases=G&assemblyId=GRCh37",
    "/api/g_variants?referenceName=22&start=16000000&end=17000000&assemblyId=GRCh37&requestedGranularity=count",
)


def unix_client(sock: Path) -> httpx.Client:
    """A client on the server's socket; generous timeouts, since no test here is about speed."""
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://beacon", timeout=30)


def sha256(path: Path) -> str:
    """The file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Server:
    """gunicorn as the image runs it, on a Unix socket; its output is collected in a file."""

    process: subprocess.Popen
    socket: Path
    output: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A keep-alive client: its requests stay on one connection, so on one worker."""
        client = unix_client(self.socket)
        self.clients.append(client)
        return client

    def get(self, path: str) -> httpx.Response:
        """GET on a new connection (either worker may answer); a transport error fails with the log's tail."""
        with unix_client(self.socket) as fresh:
            try:
                return fresh.get(path)
            except httpx.TransportError as error:
                raise AssertionError(f"GET {path}: {error!r}; gunicorn's log ends with:\n{self.log_tail()}") from error

    def log_tail(self) -> str:
        """The last lines gunicorn wrote."""
        return self.output.read_text()[-4000:]

    def alive(self) -> bool:
        """Whether the gunicorn master still runs."""
        return self.process.poll() is None

    def workers(self) -> set[int]:
        """Pids of the master's worker processes."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def logs(self) -> list[dict]:
        """The JSON log lines so far."""
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.startswith("{")]

    def booted(self) -> int:
        """How many workers have booted so far."""
        return sum(entry["message"].startswith("Booting worker") for entry in self.logs())

    def stop(self) -> None:
        """Stop gunicorn (its workers first, by the master)."""
        for client in self.clients:
            client.close()
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


def start_server(tmp_path: Path, store: Path, max_requests: int = MAX_REQUESTS) -> Server:
    """gunicorn --config python:beacon.gunicorn_conf with 2 workers and a small --max-requests."""
    sock, output = tmp_path / "beacon.sock", tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--config", CONFIG, "--bind", f"unix:{sock}", "--workers", "2"),
        *("--max-requests", str(max_requests), "--max-requests-jitter", "0"),
        *("--env", f"PROMETHEUS_MULTIPROC_DIR={tmp_path / 'metrics'}", PRODUCTION_APP),
    ]
    with output.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=server_environment(f"sqlite:///{store}"), stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(process, sock, output)
    wait_for(lambda: _answers(server), "gunicorn answering /health/live", server)
    return server


def _answers(server: Server) -> bool:
    with unix_client(server.socket) as client:
        try:
            return client.get("/health/live").status_code == 200
        except httpx.TransportError:
            return False


def wait_for(condition: Callable[[], bool], what: str, server: Server, timeout: float = 30) -> None:
    """Poll `condition` until it holds; fail with the server's last log lines if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if not server.alive():
            break
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s (gunicorn alive: {server.alive()}):\n{server.log_tail()}")


def all_workers_ready(server: Server) -> bool:
    """Ready on enough fresh connections that both workers have answered (each connection picks one)."""
    return all(server.get("/health/ready").status_code == 200 for _ in range(8))


def kill_a_worker(server: Server) -> int:
    """SIGKILL one worker; returns its pid once the master has started another in its place."""
    before = server.workers()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 2, "replacement worker", server)
    return victim
