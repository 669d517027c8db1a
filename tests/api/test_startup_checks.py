"""A real `beacon serve` and the production gunicorn app say at start-up what `beacon check` finds.

The access policy is the demo's with a typo in the dataset id (rewritten in tmp_path): the server
must start (the dataset may be loaded later) but not silently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from beacon.demo import DEMO_ACCESS_POLICY
from tests.api.test_deployment import (
    CONFIG,
    PRODUCTION_APP,
    ROOT,
    Gunicorn,
    closed_port,
    server_environment,
    tcp_client,
    unix_client,
    wait_until_live,
)
from tests.conftest import DEMO_DATASET


def typo_policy(tmp_path: Path) -> tuple[Path, str]:
    typo = DEMO_DATASET[:-1]
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEMO_ACCESS_POLICY.read_text().replace(f"{DEMO_DATASET}:", f"{typo}:"))
    return policy, typo


def configuration_logs(server: Gunicorn) -> list[dict]:
    try:
        server.client.get("/health/live")
    finally:
        logs = server.stop()
        shutil.rmtree(server.metrics, ignore_errors=True)
    return [entry for entry in logs if entry.get("message", "").startswith("configuration: ")]


def test_beacon_serve_logs_a_policy_naming_a_missing_dataset(demo_store_file, tmp_path) -> None:
    policy, typo = typo_policy(tmp_path)
    port = closed_port()
    env = {**server_environment(f"sqlite:///{demo_store_file}"), "BEACON_WORKERS": "1"}
    env["BEACON_ACCESS_FILE"] = str(policy)
    command = [str(Path(sys.executable).with_name("beacon")), "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = wait_until_live(Gunicorn(process, lambda: tcp_client(port), tmp_path / "unused-metrics"))
    entries = configuration_logs(server)
    errors = [entry["message"] for entry in entries if entry["level"] == "ERROR"]
    assert errors == [f"configuration: {policy}: datasets.{typo}: no dataset {typo!r} in the store (a typo?)"]
    assert any(DEMO_DATASET in entry["message"] and entry["level"] == "WARNING" for entry in entries)


def test_the_production_app_under_gunicorn_logs_it_once(demo_store_file, tmp_path) -> None:
    policy, typo = typo_policy(tmp_path)
    sock, metrics = tmp_path / "beacon.sock", tmp_path / "metrics"
    command = [str(Path(sys.executable).with_name("gunicorn")), "--config", CONFIG, "--bind", f"unix:{sock}"]
    command += ["--env", f"PROMETHEUS_MULTIPROC_DIR={metrics}", PRODUCTION_APP]
    env = {**server_environment(f"sqlite:///{demo_store_file}"), "BEACON_WORKERS": "2"}
    env["BEACON_ACCESS_FILE"] = str(policy)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = wait_until_live(Gunicorn(process, lambda: unix_client(sock), metrics))
    entries = configuration_logs(server)
    assert [entry["message"] for entry in entries if entry["level"] == "ERROR"] == [
        f"configuration: {policy}: datasets.{typo}: no dataset {typo!r} in the store (a typo?)"
    ]
