"""The deployment files: compose and Dockerfile checked as text (Docker cannot run here), and the
production gunicorn configuration (`beacon.gunicorn_conf`) run for real, by the gunicorn command as
in the image and by `beacon serve`: two workers, JSON logs, multiprocess metrics, no secrets in the
logs, and a store that is down at start-up.
"""

from __future__ import annotations

import configparser
import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import yaml
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker
from prometheus_client.multiprocess import MultiProcessCollector

from beacon import gunicorn_conf as production_conf
from beacon.demo import DEMO_DIR, DEMO_METADATA, DEMO_PANEL, DEMO_VCF
from beacon.serve import gunicorn_settings, metrics_directory, production_app
from beacon.settings import MAX_URL_LENGTH, Settings, SettingsError
from beacon.store.mongo.budget import READ_BUDGET, remaining_budget
from tests.conftest import DEMO_ACCESS_POLICY
from tests.schema_client import SCHEMA_CHECKING_HOOKS

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
CONFIG = "python:beacon.gunicorn_conf"
PRODUCTION_APP = "beacon.serve:production_app()"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


@pytest.fixture(scope="module")
def gunicorn_conf() -> ModuleType:
    return production_conf


def test_compose_starts_mongodb_and_the_beacon_and_offers_a_one_shot_loader(compose):
    services = compose["services"]
    assert set(services) == {"mongo", "beacon", "loader"}
    assert services["beacon"]["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert services["loader"]["restart"] == "no" and services["loader"]["profiles"] == ["load"]
    assert services["loader"]["command"] == ["beacon", "load", "demo"]  # metadata and variants, into MongoDB
    assert "ports" not in services["mongo"]  # MongoDB stays on the internal network
    assert compose["networks"]["backend"]["internal"] is True
    assert services["beacon"]["read_only"] is True and "/tmp" in services["beacon"]["tmpfs"]


def test_compose_takes_secrets_from_the_environment_and_gives_each_service_its_own_user(compose):
    services = compose["services"]
    for service, user, password in (("beacon", "beacon_api", "API"), ("loader", "beacon_loader", "LOADER")):
        environment = services[service]["environment"]
        assert services[service]["entrypoint"] == ["python", "/etc/beacon/store_uri.py"]  # encodes the password
        assert environment["BEACON_MONGO_USER"] == user
        assert environment["BEACON_MONGO_PASSWORD"] == "${BEACON_" + password + "_PASSWORD}"
        assert environment["BEACON_MONGO_LOCATION"].startswith("mongo:27017/beacon")
        assert "BEACON_STORE_URI" not in environment
    assert services["beacon"]["command"][0] == "gunicorn"  # the image's CMD, which an entrypoint clears
    for value in services["mongo"]["environment"].values():
        assert value == "root" or value.startswith("${")
    init = (DOCKER / "mongo-init.js").read_text()
    assert '"beacon_api"' in init and 'role: "read"' in init
    # The API user may write the limits collections only: exactly the ones the limits store uses.
    from beacon.store.mongo import limits

    written = re.search(r"const limits = \[([^\]]*)\]", init).group(1)
    assert sorted(re.findall(r'"([a-z_]+)"', written)) == sorted((limits.EVENTS, limits.BUCKETS, limits.ANSWERS))
    assert 'role: "beacon_limits"' in init
    assert '"beacon_loader"' in init and 'role: "readWrite"' in init


@pytest.mark.parametrize("password", ["p@ss:w/rd?#%41", "plain", "ünïcode space"])
def test_the_entrypoint_percent_encodes_the_password_into_the_store_uri(password):
    import subprocess
    import sys

    from pymongo.uri_parser import parse_uri

    environment = {
        "PATH": os.environ.get("PATH", ""),
        "BEACON_MONGO_USER": "beacon_api",
        "BEACON_MONGO_PASSWORD": password,
        "BEACON_MONGO_LOCATION": "mongo:27017/beacon?authSource=beacon",
    }
    printer = "import os; print(os.environ['BEACON_STORE_URI']); print('BEACON_MONGO_PASSWORD' in os.environ)"
    shown = subprocess.run(
        [sys.executable, str(DOCKER / "store_uri.py"), sys.executable, "-c", printer],
        env=environment, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    parsed = parse_uri(shown[0])
    assert (parsed["username"], parsed["password"]) == ("beacon_api", password)
    assert parsed["nodelist"] == [("mongo", 27017)] and parsed["database"] == "beacon"
    assert shown[1] == "False"  # the plain password is not left in the command's environment


def test_every_file_compose_mounts_exists(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).resolve().exists(), source


def test_the_image_holds_every_file_the_demo_loader_reads():
    # `beacon load demo` reads the demo files from the installed package: they must be package data.
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    patterns = [pattern.strip() for pattern in setup["options.package_data"]["beacon.demo"].split(",")]
    files = [DEMO_DIR / name for name in DEMO_METADATA] + [DEMO_VCF, Path(f"{DEMO_VCF}.tbi"), DEMO_PANEL]
    for path in files:
        assert path.is_file(), path
        assert any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns), path.name


def test_the_dockerfile_runs_gunicorn_as_a_non_root_user_with_a_health_check():
    text = (DOCKER / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*?/health/ready", text, re.MULTILINE)
    assert f'CMD ["gunicorn", "--config", "{CONFIG}", "{PRODUCTION_APP}"]' in text
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path


def test_gunicorn_settings_stay_within_the_network_budget(gunicorn_conf):
    assert gunicorn_conf.timeout < 5 and gunicorn_conf.graceful_timeout < 5 and gunicorn_conf.keepalive < 5
    assert gunicorn_conf.worker_class == "beacon.worker.BeaconWorker" and gunicorn_conf.preload_app is False
    assert gunicorn_conf.workers == gunicorn_conf.configured_workers()
    config = Config()
    for name in ("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout", "keepalive",
                 "logger_class", "logconfig_dict", "raw_env", "accesslog", "errorlog", "worker_connections",
                 "limit_request_line"):  # fmt: skip
        config.set(name, getattr(gunicorn_conf, name))  # gunicorn's own validation
    assert issubclass(config.logger_class, Logger)
    assert issubclass(config.worker_class, ThreadWorker)  # the beacon's worker is gunicorn's gthread, buffered
    assert config.limit_request_line == 8190 > MAX_URL_LENGTH + len("OPTIONS  HTTP/1.1")


@pytest.mark.parametrize(("cpus", "workers"), [(0.5, 2), (1, 3), (2, 5), (4, 9), (64, 12)])
def test_workers_follow_the_cpu_count(gunicorn_conf, cpus, workers):
    assert gunicorn_conf.worker_count(cpus) == workers
    assert gunicorn_conf.configured_workers({}, cpus) == workers
    assert gunicorn_conf.configured_workers({"BEACON_WORKERS": " "}, cpus) == workers


@pytest.mark.parametrize("cpus", [0.5, 2, 64])
@pytest.mark.parametrize("setting", ["1", "3", "40"])
def test_beacon_workers_sets_the_worker_count_whatever_the_cpus(gunicorn_conf, cpus, setting):
    assert gunicorn_conf.configured_workers({"BEACON_WORKERS": setting}, cpus) == int(setting)


@pytest.mark.parametrize("setting", ["0", "-2", "many", "2.5"])
def test_an_invalid_beacon_workers_stops_the_server_naming_it(gunicorn_conf, setting):
    # gunicorn's configuration leaves the message to the settings check that stops the server.
    assert gunicorn_conf.configured_workers({"BEACON_WORKERS": setting}, 2) == 5
    with pytest.raises(SettingsError, match="BEACON_WORKERS"):
        Settings.from_env({"BEACON_WORKERS": setting})


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
    connect: Callable[[], httpx.Client]
    metrics: Path

    def __post_init__(self) -> None:
        self.client = self.connect()

    def stop(self) -> list[dict]:
        """Stop it; its log lines (stdout and stderr), each parsed as JSON."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=15)
        return [json.loads(line) for line in (out + err).splitlines() if line.strip()]


def server_environment(store_uri: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    env.update(BEACON_STORE_URI=store_uri, BEACON_ACCESS_FILE=str(DEMO_ACCESS_POLICY))
    return env


def start_gunicorn(tmp_path: Path, store_uri: str) -> Gunicorn:
    """gunicorn as the image runs it (production config and app), two workers (BEACON_WORKERS), on a Unix socket."""
    sock, metrics = tmp_path / "beacon.sock", tmp_path / "metrics"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--config", CONFIG, "--bind", f"unix:{sock}"),
        *("--env", f"PROMETHEUS_MULTIPROC_DIR={metrics}", PRODUCTION_APP),
    ]
    env = {**server_environment(store_uri), "BEACON_WORKERS": "2"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return wait_until_live(Gunicorn(process, lambda: unix_client(sock), metrics))


def wait_until_live(server: Gunicorn) -> Gunicorn:
    """The server once /health/live answers; fails the test with gunicorn's stderr if it never does."""
    process = server.process
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
    transport = httpx.HTTPTransport(uds=str(sock))
    return httpx.Client(transport=transport, base_url="http://beacon", timeout=5, event_hooks=SCHEMA_CHECKING_HOOKS)


def tcp_client(port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, event_hooks=SCHEMA_CHECKING_HOOKS)


def start_beacon_serve(store_uri: str, port: int) -> Gunicorn:
    """`BEACON_WORKERS=2 beacon serve --port PORT`, as a user runs it."""
    command = [str(Path(sys.executable).with_name("beacon")), "serve", "--port", str(port)]
    env = {**server_environment(store_uri), "BEACON_WORKERS": "2"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return wait_until_live(Gunicorn(process, lambda: tcp_client(port), metrics_directory(port)))


def requests_counted(server: Gunicorn, path: str) -> list[float]:
    """The request counter of a path in three scrapes (any worker may answer each)."""
    pattern = rf'beacon_http_requests_total\{{endpoint="{path}",method="GET",status="200"\}} (\S+)'
    return [float(re.search(pattern, server.client.get("/metrics").text).group(1)) for _ in range(3)]


def worker_pids(server: Gunicorn, store_file: Path, count: int = 2) -> list[int]:
    """The pids of the server's `count` workers, once each has answered a request that reads the store.

    A worker opens the store file on its first such request (not while it boots) and holds it open.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.connect() as fresh:  # a new connection: either worker may accept it
            assert fresh.get("/api/datasets").status_code == 200
        ready = [pid for pid in child_pids(server.process.pid) if holds_open(pid, store_file)]
        if len(ready) == count:
            return sorted(ready)
        time.sleep(0.1)
    pytest.fail(f"{count} workers did not start: {child_pids(server.process.pid)}")


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def holds_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process or one of its descriptors went away meanwhile
        return False


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """Stop a worker (SIGSTOP) so that it accepts no connection; the other workers answer meanwhile.

    gunicorn kills a worker silent for `timeout` (4 s): keep the pause to a few quick requests.
    """
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def answer_with_each_worker(server: Gunicorn, store_file: Path, path: str, per_worker: int) -> list[int]:
    """GET `path` `per_worker` times while every worker but one is paused, for each worker; their pids."""
    pids = worker_pids(server, store_file)
    for serving in pids:
        with contextlib.ExitStack() as pauses:
            for other in pids:
                if other != serving:
                    pauses.enter_context(paused(other))
            for _ in range(per_worker):
                with server.connect() as fresh:  # a new connection: only the running worker can accept it
                    assert fresh.get(path).status_code == 200
    # The kept-alive connection of `server.client` may have outlived its keepalive in a paused worker.
    server.client.close()
    server.client = server.connect()
    return pids


def counted_by_worker(server: Gunicorn, pid: int, path: str) -> float:
    """The request counter of a path in one worker's own metrics file (prometheus_client reads it)."""
    (metric,) = [m for m in MultiProcessCollector.merge([str(server.metrics / f"counter_{pid}.db")])
                 if m.name == "beacon_http_requests"]  # fmt: skip
    return sum(
        sample.value for sample in metric.samples
        if sample.name == "beacon_http_requests_total" and sample.labels["endpoint"] == path
        and sample.labels["status"] == "200"
    )  # fmt: skip


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
    assert len([entry for entry in logs if entry["message"].startswith("Booting worker")]) == 2  # BEACON_WORKERS


def test_metrics_add_up_over_the_workers(demo_server, demo_store_file):
    # Each worker answers 6 requests while the other is paused, so both have counted some.
    pids = answer_with_each_worker(demo_server, demo_store_file, "/api/service-info", per_worker=6)
    assert len(pids) == 2
    assert [counted_by_worker(demo_server, pid, "/api/service-info") for pid in pids] == [6.0, 6.0]
    assert requests_counted(demo_server, "/api/service-info") == [12.0] * 3  # any worker's scrape sums both


def test_gunicorn_as_in_the_image_stops_on_an_invalid_beacon_workers_naming_it(tmp_path):
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--config", CONFIG, "--bind", f"unix:{tmp_path / 'beacon.sock'}"),
        *("--env", f"PROMETHEUS_MULTIPROC_DIR={tmp_path / 'metrics'}", PRODUCTION_APP),
    ]
    env = {**server_environment(f"sqlite:///{tmp_path / 'beacon.sqlite'}"), "BEACON_WORKERS": "0"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "BEACON_WORKERS: expected at least 1 worker, got 0" in result.stderr


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


# -- beacon serve: the same settings ----------------------------------------------------------------
def test_beacon_serve_takes_the_production_settings_and_overrides_address_and_workers(gunicorn_conf):
    settings = gunicorn_settings("127.0.0.1", 5999)
    assert settings["bind"] == "127.0.0.1:5999"
    assert settings["workers"] == gunicorn_conf.configured_workers()
    for name in ("worker_class", "threads", "timeout", "graceful_timeout", "keepalive", "logger_class",
                 "logconfig_dict", "accesslog", "preload_app", "on_starting", "when_ready", "child_exit"):  # fmt: skip
        assert settings[name] == getattr(gunicorn_conf, name), name
    assert settings["raw_env"] == [f"PROMETHEUS_MULTIPROC_DIR={metrics_directory(5999)}"]
    assert gunicorn_settings("0.0.0.0", 5999, workers=3)["workers"] == 3


def test_the_production_app_gives_each_request_a_budget_of_store_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("BEACON_STORE_URI", f"sqlite:///{tmp_path / 'beacon.sqlite'}")
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(DEMO_ACCESS_POLICY))
    app = production_app()
    app.add_url_rule("/probe", "probe", lambda: {"budget": remaining_budget()})
    assert app.test_client().get("/probe").get_json() == {"budget": READ_BUDGET}
    assert remaining_budget() is None  # outside a request


def test_beacon_serve_runs_gunicorn_with_json_logs_multiprocess_metrics_and_no_secrets(demo_store_file):
    port = closed_port()
    server = start_beacon_serve(f"sqlite:///{demo_store_file}", port)
    try:
        pids = answer_with_each_worker(server, demo_store_file, "/api/service-info", per_worker=3)
        assert [counted_by_worker(server, pid, "/api/service-info") for pid in pids] == [3.0, 3.0]
        server.client.get("/api/info?access_token=SECRET-1", headers={"Authorization": "Bearer SECRET-2"})
        assert requests_counted(server, "/api/service-info") == [6.0] * 3
    finally:
        logs = server.stop()
        shutil.rmtree(server.metrics, ignore_errors=True)
    assert "SECRET-1" not in json.dumps(logs) and "SECRET-2" not in json.dumps(logs)
    (access,) = [
        entry for entry in logs if entry["logger"] == "gunicorn.access" and entry["http"]["path"] == "/api/info"
    ]
    assert access["http"]["query"] == "access_token=[redacted]"
    assert len([entry for entry in logs if entry["message"].startswith("Booting worker")]) == 2


def test_beacon_serve_stops_with_a_message_before_starting_gunicorn_when_the_policy_is_bad(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from beacon import serve as serve_module
    from beacon.cli import main

    policy = tmp_path / "policy.yaml"
    policy.write_text("default_level: NOT_A_LEVEL\n")
    monkeypatch.setenv("BEACON_STORE_URI", f"sqlite:///{tmp_path / 'beacon.sqlite'}")
    monkeypatch.setenv("BEACON_ACCESS_FILE", str(policy))
    started = []
    monkeypatch.setattr(serve_module, "serve", lambda **options: started.append(options))
    result = CliRunner().invoke(main, ["serve", "--port", "5999"])
    assert result.exit_code == 1 and started == []
    assert "policy.yaml" in result.stderr and "Traceback" not in result.output
