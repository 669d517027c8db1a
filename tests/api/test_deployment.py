"""The deployment files: compose and Dockerfile checked as text (Docker cannot run here), and the
gunicorn configuration run for real: two workers on a Unix socket, JSON logs, multiprocess metrics,
and a store that is down at start-up.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import yaml
from gunicorn.config import Config
from gunicorn.glogging import Logger

from tests.conftest import DEMO_ACCESS_POLICY

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


@pytest.fixture(scope="module")
def gunicorn_conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("beacon_gunicorn_conf", DOCKER / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compose_starts_mongodb_and_the_beacon_and_offers_a_one_shot_loader(compose):
    services = compose["services"]
    assert set(services) == {"mongo", "beacon", "loader"}
    assert services["beacon"]["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert services["loader"]["restart"] == "no" and services["loader"]["profiles"] == ["load"]
    assert services["loader"]["command"][:3] == ["beacon", "load", "metadata"]
    assert "ports" not in services["mongo"]  # MongoDB stays on the internal network
    assert compose["networks"]["backend"]["internal"] is True
    assert services["beacon"]["read_only"] is True and "/tmp" in services["beacon"]["tmpfs"]


def test_compose_takes_secrets_from_the_environment_and_gives_each_service_its_own_user(compose):
    services = compose["services"]
    api_uri = services["beacon"]["environment"]["BEACON_STORE_URI"]
    loader_uri = services["loader"]["environment"]["BEACON_STORE_URI"]
    assert api_uri.startswith("mongodb://beacon_api:${BEACON_API_PASSWORD}@mongo:27017/beacon")
    assert loader_uri.startswith("mongodb://beacon_loader:${BEACON_LOADER_PASSWORD}@mongo:27017/beacon")
    for value in services["mongo"]["environment"].values():
        assert value == "root" or value.startswith("${")
    init = (DOCKER / "mongo-init.js").read_text()
    assert '"beacon_api"' in init and 'role: "read"' in init
    assert '"beacon_loader"' in init and 'role: "readWrite"' in init


def test_every_file_compose_mounts_exists(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).resolve().exists(), source
    loader = compose["services"]["loader"]
    data = next(volume.split(":")[0] for volume in loader["volumes"] if volume.split(":")[1] == "/data")
    for path in loader["command"]:
        if path.startswith("/data/"):
            assert (DOCKER / data / path.removeprefix("/data/")).is_file(), path


def test_the_dockerfile_runs_gunicorn_as_a_non_root_user_with_a_health_check():
    text = (DOCKER / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*?/health/ready", text, re.MULTILINE)
    assert 'CMD ["gunicorn", "--config", "/etc/beacon/gunicorn.conf.py", "beacon:create_app()"]' in text
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path


def test_gunicorn_settings_stay_within_the_network_budget(gunicorn_conf):
    assert gunicorn_conf.timeout < 5 and gunicorn_conf.graceful_timeout < 5 and gunicorn_conf.keepalive < 5
    assert gunicorn_conf.worker_class == "gthread" and gunicorn_conf.preload_app is False
    assert gunicorn_conf.workers == gunicorn_conf.worker_count(gunicorn_conf.available_cpus())
    config = Config()
    for name in ("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout", "keepalive",
                 "logger_class", "logconfig_dict", "raw_env", "accesslog", "errorlog"):  # fmt: skip
        config.set(name, getattr(gunicorn_conf, name))  # gunicorn's own validation
    assert issubclass(config.logger_class, Logger)


@pytest.mark.parametrize(("cpus", "workers"), [(0.5, 2), (1, 3), (2, 5), (4, 9), (64, 12)])
def test_workers_follow_the_cpu_count(gunicorn_conf, cpus, workers):
    assert gunicorn_conf.worker_count(cpus) == workers


def test_a_cgroup_cpu_quota_limits_the_cpus(gunicorn_conf, tmp_path):
    affinity = float(len(os.sched_getaffinity(0)))
    quota = tmp_path / "cpu.max"
    quota.write_text("50000 100000\n")
    assert gunicorn_conf.available_cpus(quota) == min(affinity, 0.5)
    quota.write_text("max 100000\n")
    assert gunicorn_conf.available_cpus(quota) == affinity
    assert gunicorn_conf.available_cpus(tmp_path / "missing") == affinity


# -- gunicorn for real ----------------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Gunicorn:
    """A running gunicorn with the production configuration, and a client on its socket."""

    process: subprocess.Popen
    client: httpx.Client
    socket: Path
    metrics: Path

    def stop(self) -> list[dict]:
        """Stop it; its log lines (stdout and stderr), each parsed as JSON."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=15)
        return [json.loads(line) for line in (out + err).splitlines() if line.strip()]


def start_gunicorn(tmp_path: Path, store_uri: str) -> Gunicorn:
    """gunicorn with docker/gunicorn.conf.py, two workers, on a Unix socket in tmp_path."""
    sock, metrics = tmp_path / "beacon.sock", tmp_path / "metrics"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    env.update(BEACON_STORE_URI=store_uri, BEACON_ACCESS_FILE=str(DEMO_ACCESS_POLICY))
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--config", str(DOCKER / "gunicorn.conf.py"), "--bind", f"unix:{sock}", "--workers", "2"),
        *("--env", f"PROMETHEUS_MULTIPROC_DIR={metrics}", "beacon:create_app()"),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = Gunicorn(process, unix_client(sock), sock, metrics)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            server.client.get("/health/live")
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"gunicorn did not start: {process.communicate()[1][-2000:]}")


def unix_client(sock: Path) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://beacon", timeout=5)


@pytest.fixture
def demo_server(tmp_path: Path, demo_store_file: Path) -> Iterator[Gunicorn]:
    server = start_gunicorn(tmp_path, f"sqlite:///{demo_store_file}")
    yield server
    if server.process.poll() is None:
        server.stop()


def test_gunicorn_serves_the_beacon_with_json_logs_and_no_secrets(demo_server):
    client = demo_server.client
    secret = {"Authorization": "Bearer SECRET-TOKEN-2"}
    answers = [client.get("/api/info?access_token=SECRET-1&limit=1", headers=secret) for _ in range(4)]
    assert client.get("/health/ready").status_code == 200
    logs = demo_server.stop()
    text = json.dumps(logs)
    assert "SECRET-1" not in text and "SECRET-TOKEN-2" not in text
    info = [entry for entry in logs if entry["logger"] == "gunicorn.access" and entry["http"]["path"] == "/api/info"]
    assert [entry["request_id"] for entry in info] == [answer.headers["X-Request-ID"] for answer in answers]
    assert {entry["http"]["query"] for entry in info} == {"access_token=[redacted]&limit=1"}
    assert any(entry["message"] == "the store is ready" for entry in logs)


def test_metrics_add_up_over_the_workers(demo_server):
    for _ in range(12):
        with unix_client(demo_server.socket) as fresh:  # a new connection each time: any worker may answer
            assert fresh.get("/api/service-info").status_code == 200
    scraped = [demo_server.client.get("/metrics").text for _ in range(3)]
    pattern = r'beacon_http_requests_total\{endpoint="/api/service-info",method="GET",status="200"\} (\S+)'
    assert [float(re.search(pattern, text).group(1)) for text in scraped] == [12.0] * 3
    assert list(demo_server.metrics.glob("counter_*.db"))


def test_a_store_down_at_start_up_leaves_gunicorn_running_and_not_ready(tmp_path):
    uri = f"mongodb://beacon:hunter2@127.0.0.1:{closed_port()}/beacon?serverSelectionTimeoutMS=200"
    server = start_gunicorn(tmp_path, uri)
    assert server.client.get("/health/live").status_code == 200
    assert server.client.get("/health/ready").status_code == 503
    assert server.process.poll() is None  # still serving: no crash, no restart loop
    logs = server.stop()
    assert any("not ready at start-up" in entry["message"] for entry in logs)
    assert not [entry for entry in logs if "exception" in entry or "Traceback" in entry["message"]]
    assert "hunter2" not in json.dumps(logs)
