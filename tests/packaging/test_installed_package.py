"""The wheel installed into a fresh venv, driven as a user and the Docker image drive it, outside the source tree.

The venv gets only the wheel (`pip install --no-deps --no-index`); its dependencies are those of the
environment running the tests, reached through a `.pth` line (a path, so the editable install of the
source tree that lives there is not activated: `import beacon` must resolve in the new venv). Every
command runs with its working directory in a temporary folder: `beacon load metadata`, `beacon load
vcf --workers 2`, `beacon serve` with an access policy and an info file, and the Dockerfile's CMD.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.synthetic_vcf import write_vcf
from tests.packaging.conftest import DOCKERFILE, ROOT

pytestmark = pytest.mark.xdist_group("packaging")

DEMO_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
SYNTHETIC = "synthetic"
FEMALE = "NCIT:C16576"
SITES = 50_000  # about 4.7 MB of bgzip: more than one chunk (4 MiB), so `--workers 2` really starts workers
POLICY = {
    "default_level": "CONTROLLED",
    "datasets": {
        DEMO_DATASET: {"level": "PUBLIC"},
        SYNTHETIC: {"level": "PUBLIC", "granularity": {"anonymous": "count"}},
    },
}
INFO = "id: org.example.installed\nname: Installed beacon\norganization: {id: org.example, name: Example org}\n"


@dataclass(frozen=True)
class Installed:
    """A venv holding the installed wheel, and a working folder outside the source tree."""

    venv: Path
    work: Path

    @property
    def site_packages(self) -> Path:
        """The venv's own site-packages."""
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.venv / "lib" / version / "site-packages"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment as an activated venv has it, without the test run's beacon settings."""
        dropped = ("BEACON_", "PROMETHEUS_", "GUNICORN_", "PYTHON", "VIRTUAL_ENV")
        env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
        env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.venv))
        env.update(TMPDIR=str(self.work / "tmp"), **extra)
        return env

    def run(self, *command: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv in the working folder; fails the test, with its output, if it fails."""
        done = subprocess.run(
            command, cwd=self.work, env=self.env(**extra), capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done


def dependency_folders() -> set[str]:
    """Where this environment's packages (the wheel's dependencies) are installed."""
    return {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv with the wheel installed and nothing else of the project."""
    root = tmp_path_factory.mktemp("installed")
    assert not root.resolve().is_relative_to(ROOT)
    venv, work = root / "venv", root / "work"
    (work / "tmp").mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = Installed(venv, work)
    (target.site_packages / "zz_test_dependencies.pth").write_text("\n".join(sorted(dependency_folders())) + "\n")
    target.run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel))
    return target


def test_the_new_venv_imports_the_installed_package_not_the_source_tree(installed):
    script = (
        "import json, sys, beacon, beacon_schemas, loaders, importlib.metadata as m; "
        "print(json.dumps({'modules': [beacon.__file__, beacon_schemas.__file__, loaders.__file__], "
        "'path': sys.path, 'dist': str(m.distribution('beacon-node').locate_file(''))}))"
    )
    found = json.loads(installed.run(str(installed.venv / "bin" / "python"), "-c", script).stdout)
    for module in found["modules"]:
        assert Path(module).is_relative_to(installed.site_packages), module
    assert Path(found["dist"]) == installed.site_packages
    # The source tree is on no import path; only the dependencies' folder is (it may be in the checkout's .venv).
    in_checkout = {entry for entry in found["path"] if entry and Path(entry).resolve().is_relative_to(ROOT)}
    assert in_checkout <= dependency_folders()
    assert [folder for folder in in_checkout if (Path(folder) / "beacon").exists()] == []


# -- loading with the installed CLI ---------------------------------------------------------------
@dataclass(frozen=True)
class Loaded:
    """A store loaded by the installed CLI, and what the input files say it must answer."""

    store_uri: str
    outputs: list[str]
    load_workers: set[int]
    individuals: int
    females: int
    synthetic_alleles: int
    contig_length: int
    snv: tuple[int, str, str]


def vcf_facts(path: Path) -> tuple[int, int, tuple[int, str, str]]:
    """ALT alleles, contig length and the first single-ALT SNV of a VCF, read as plain text."""
    alleles, length, snv = 0, 0, None
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("##contig="):
                length = int(line.split("length=")[1].rstrip(">\n"))
            if line.startswith("#"):
                continue
            _chrom, pos, _id, ref, alt = line.split("\t")[:5]
            alleles += len(alt.split(","))
            if snv is None and len(ref) == 1 and len(alt) == 1:
                snv = (int(pos), ref, alt)
    assert snv is not None and length > 0
    return alleles, length, snv


def child_pids(pid: int) -> set[int]:
    """Processes whose parent is `pid`."""
    children = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.add(int(entry.name))
    return children


def load_watching_workers(installed: Installed, *command: str, **extra: str) -> tuple[str, set[int]]:
    """Run a load; its output and the pids of the child processes seen while it ran."""
    with (installed.work / "load.log").open("w+") as log:
        process = subprocess.Popen(command, cwd=installed.work, env=installed.env(**extra), stdout=log, stderr=log)
        seen: set[int] = set()
        while process.poll() is None:
            seen |= child_pids(process.pid)
            time.sleep(0.02)
        log.seek(0)
        output = log.read()
    assert process.returncode == 0, output[-3000:]
    return output, seen


@pytest.fixture(scope="module")
def loaded(installed: Installed) -> Loaded:
    """Demo metadata (read from the installed package) plus a synthetic dataset loaded with 2 workers."""
    store_uri = f"sqlite:///{installed.work / 'store' / 'beacon.sqlite'}"
    demo = installed.site_packages / "beacon" / "demo"
    extra = installed.work / "extra"
    extra.mkdir()
    (extra / "datasets.json").write_text(json.dumps([{"id": SYNTHETIC, "name": "Synthetic sites"}]))
    metadata = [demo / f"{name}.json" for name in ("datasets", "cohorts", "individuals", "biosamples")]
    beacon = str(installed.venv / "bin" / "beacon")
    loaded = installed.run(beacon, "load", "metadata", *map(str, metadata), str(extra / "datasets.json"),
                           BEACON_STORE_URI=store_uri)  # fmt: skip
    vcf = write_vcf(extra / "synthetic.vcf.gz", SITES)
    alleles, length, snv = vcf_facts(vcf)
    output, workers = load_watching_workers(
        installed, beacon, "load", "vcf", "--dataset", SYNTHETIC, "--assembly", "GRCh38", "--workers", "2",
        str(vcf), BEACON_STORE_URI=store_uri,
    )  # fmt: skip
    individuals = json.loads((demo / "individuals.json").read_text())
    females = sum(1 for record in individuals if record["sex"]["id"] == FEMALE)
    return Loaded(store_uri, [loaded.stdout, output], workers, len(individuals), females, alleles, length, snv)


def test_the_installed_cli_loads_metadata_and_variants_with_two_workers(loaded):
    metadata, variants = loaded.outputs
    assert f"individuals: {loaded.individuals} record(s) loaded" in metadata
    assert "datasets: 2 record(s) loaded" in metadata  # the demo's and the synthetic one
    assert f"{loaded.synthetic_alleles} variant(s) loaded" in variants
    assert len(loaded.load_workers) >= 2  # the parallel path ran: worker processes were seen


# -- serving with the installed package -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop a server and every process of its session (gunicorn's workers)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def server(installed: Installed, command: list[str], port: int, **extra: str) -> Iterator[httpx.Client]:
    """A server started in its own session from the working folder; a client once /health/live answers."""
    log_path = installed.work / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=installed.work, env=installed.env(**extra), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if client.get("/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"{command} did not start: {log_path.read_text()[-3000:]}")
        yield client
    finally:
        client.close()
        stop(process)


def server_settings(installed: Installed, loaded: Loaded, port: int) -> dict[str, str]:
    """The BEACON_* variables of the served beacon: the store, a JSON access policy and a YAML info file."""
    policy, info = installed.work / "policy.json", installed.work / "info.yaml"
    policy.write_text(json.dumps(POLICY))
    info.write_text(INFO)
    return {
        "BEACON_STORE_URI": loaded.store_uri,
        "BEACON_ACCESS_FILE": policy.name,  # relative to the working folder, as an operator writes it
        "BEACON_INFO_FILE": str(info),
        "BEACON_BASE_URL": f"http://127.0.0.1:{port}/api",
    }


def response_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


def check_lookup_page(client: httpx.Client, loaded: Loaded) -> None:
    """The lookup page and its stylesheet come from the installed package (templates and CSS are package data)."""
    position, ref, alt = loaded.snv
    page = client.get("/", params={"q": f"chr1:{position} {ref}>{alt}", "assembly": "GRCh38"})
    assert page.status_code == 200 and "Installed beacon" in page.text
    assert f'data-dataset="{SYNTHETIC}"' in page.text and "verdict-yes" in page.text
    stylesheet = client.get("/static/web/style.css")
    assert stylesheet.status_code == 200 and "verdict-yes" in stylesheet.text


def check_queries(client: httpx.Client, loaded: Loaded) -> None:
    """GET and POST queries, the info file, the policy and readiness, against what the input files say."""
    document = response_of(client.get("/api/info"))
    info, meta = document["response"], {"apiVersion": document["meta"]["apiVersion"]}
    assert (info["id"], info["name"], info["organization"]["name"]) == ("org.example.installed", "Installed beacon",
                                                                       "Example org")  # fmt: skip
    levels = response_of(client.get("/api/configuration"))["response"]["securityAttributes"]["securityLevels"]
    assert "PUBLIC" in levels  # the policy file named it (without one, every dataset is CONTROLLED)
    position, ref, alt = loaded.snv
    snv = {"referenceName": "1", "start": str(position - 1), "referenceBases": ref, "alternateBases": alt,
           "assemblyId": "GRCh38", "requestedGranularity": "record"}  # fmt: skip
    variants = f"/api/datasets/{SYNTHETIC}/g_variants"
    by_get = response_of(client.get(variants, params=snv))
    assert by_get["meta"]["returnedGranularity"] == "count"  # the policy's anonymous ceiling for SYNTHETIC
    assert by_get["responseSummary"] == {"exists": True, "numTotalResults": 1}
    whole = {"referenceName": "1", "start": "0", "end": str(loaded.contig_length), "assemblyId": "GRCh38",
             "requestedGranularity": "count"}  # fmt: skip
    assert response_of(client.get("/api/g_variants", params=whole))["responseSummary"]["numTotalResults"] == (
        loaded.synthetic_alleles
    )
    parameters = {**snv, "start": [position - 1]}
    body = {"requestParameters": parameters, "requestedGranularity": parameters.pop("requestedGranularity")}
    body = {"meta": meta, "query": body}
    by_post = response_of(client.post(variants, json=body))
    assert by_post["responseSummary"] == by_get["responseSummary"]
    query = {"filters": [{"id": FEMALE}], "requestedGranularity": "record", "pagination": {"limit": 3}}
    women = response_of(client.post("/api/individuals", json={"meta": meta, "query": query}))
    assert women["meta"]["returnedGranularity"] == "record"  # PUBLIC in the policy
    assert women["responseSummary"]["numTotalResults"] == loaded.females
    (result_set,) = women["response"]["resultSets"]
    assert [record["sex"]["id"] for record in result_set["results"]] == [FEMALE] * 3
    assert response_of(client.get("/health/ready")) == {"status": "ready"}
    check_lookup_page(client, loaded)
    for path in ("/health/ready", "/api/info", "/api/g_variants"):
        head = client.head(path)
        assert (head.status_code, head.content) == (200, b""), path


def test_beacon_serve_answers_with_the_access_policy_and_the_info_file(installed, loaded):
    port = free_port()
    command = [str(installed.venv / "bin" / "beacon"), "serve", "--port", str(port), "--workers", "2"]
    with server(installed, command, port, **server_settings(installed, loaded, port)) as client:
        check_queries(client, loaded)


def dockerfile_command() -> list[str]:
    """The CMD of the Docker image (its exec form, a JSON array)."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    return json.loads(lines[-1].removeprefix("CMD "))


def test_the_dockerfile_command_serves_the_installed_package(installed, loaded):
    command = dockerfile_command()
    assert command[0] == "gunicorn"
    # The image's venv has a gunicorn script; this one reaches gunicorn as a dependency: the same program.
    command = [str(installed.venv / "bin" / "python"), "-m", "gunicorn", *command[1:]]
    port = free_port()
    overrides = f"--bind 127.0.0.1:{port} --workers 2 --env PROMETHEUS_MULTIPROC_DIR={installed.work / 'metrics'}"
    with server(
        installed, command, port, GUNICORN_CMD_ARGS=overrides, **server_settings(installed, loaded, port)
    ) as client:
        check_queries(client, loaded)
