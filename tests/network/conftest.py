"""A real network on loopback: three of our nodes (`beacon serve`, stores loaded by the real CLI), four faulty
members (stub processes and a closed port) and hubs (`beacon network serve`), one of them a member of another.

- node-public: the EGA synthetic individuals (metadata only), every dataset PUBLIC;
- node-registered: the demo (`beacon load demo`), its CINECA dataset REGISTERED, trusting the local OpenID provider;
- node-case: the cgbeacon2 trio VCF loaded with --case-level (individuals and biosamples written here), PUBLIC;
- slow (answers entry queries after 30 s), invalid-json, invalid-map (stubs), down (nothing listens).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cyvcf2
import httpx
import pytest

from tests.auth.oidc_provider import AUDIENCE, OpenIdProvider, free_port
from tests.conftest import DATA_DIR, write_bff_files
from tests.network.stub_member import free_ports
from tests.schema_client import SCHEMA_CHECKING_HOOKS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUDGET = 2.0  # the hub's budget in these tests (the default, 5 s, would only make them slower)
OUTER_BUDGET = 4.0  # the hub of hubs waits longer than the hub it asks
TRIO_VCF = DATA_DIR / "vcf" / "test_trio.vcf.gz"
EGA_BFF = DATA_DIR / "ega_synthetic_testset" / "bff"
PUBLIC_DATASET, TRIO_DATASET = "ega-public", "trio-case-level"
REGISTERED_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
NODES = ("node-public", "node-registered", "node-case")
FAULTY = ("slow", "invalid-json", "invalid-map", "down")


@dataclass
class Server:
    """A process answering HTTP on a loopback port; its output goes to a file."""

    name: str
    process: subprocess.Popen
    port: int
    output: Path

    @property
    def api(self) -> str:
        """Its API root."""
        return f"http://127.0.0.1:{self.port}/api"

    def client(self) -> httpx.Client:
        """A client whose every response must be valid Beacon v2.2 (tests/schema_client.py)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, event_hooks=SCHEMA_CHECKING_HOOKS)

    def log_lines(self) -> list[dict]:
        """The JSON lines it wrote so far."""
        lines = self.output.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> None:
        """Stop it (gunicorn stops its workers first)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def environment(**variables: str) -> dict[str, str]:
    """The test's environment without any BEACON_* or PROMETHEUS_* variable, plus `variables`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    return env | variables


def run_cli(*arguments: str, env: dict[str, str] | None = None) -> None:
    """Run the real `beacon` command; fail the test with its output if it fails."""
    done = subprocess.run([str(BIN / "beacon"), *arguments], cwd=ROOT, env=env or environment(),
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"beacon {' '.join(arguments)}: {done.stderr[-2000:]}"


def start(name: str, command: list[str], port: int, env: dict[str, str], directory: Path, ready: str) -> Server:
    """Start a server process and wait until `ready` (a path) answers 200."""
    output = directory / f"{name}.log"
    with output.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, port, output)
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=5) as probe:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if probe.get(f"http://127.0.0.1:{port}{ready}").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    server.stop()
    pytest.fail(f"{name} did not become ready: {output.read_text()[-3000:]}")


def info_file(directory: Path, beacon_id: str) -> str:
    """A BEACON_INFO_FILE naming a beacon."""
    path = directory / f"{beacon_id}.json"
    path.write_text(json.dumps({"id": beacon_id, "name": beacon_id}))
    return str(path)


def start_node(name: str, directory: Path, store: Path, policy: str, **variables: str) -> Server:
    """`beacon serve` with one worker on a free port, its own store, policy and identity."""
    port = free_port()
    access = directory / f"{name}-policy.yaml"
    access.write_text(policy)
    env = environment(
        BEACON_STORE_URI=f"sqlite:///{store}",
        BEACON_ACCESS_FILE=str(access),
        BEACON_BASE_URL=f"http://127.0.0.1:{port}/api",
        BEACON_INFO_FILE=info_file(directory, f"org.test.{name}"),
        **variables,
    )
    command = [str(BIN / "beacon"), "serve", "--port", str(port), "--workers", "1"]
    return start(name, command, port, env, directory, "/health/ready")


def start_hub(name: str, directory: Path, members: list[dict], budget: float) -> Server:
    """`beacon network serve` with one worker, ready once a member answered its metadata."""
    port = free_port()
    members_file = directory / f"{name}-members.yaml"
    members_file.write_text(json.dumps(members))  # JSON is YAML
    env = environment(
        BEACON_BASE_URL=f"http://127.0.0.1:{port}/api",
        BEACON_INFO_FILE=info_file(directory, f"org.test.{name}"),
        BEACON_NETWORK_BUDGET=str(budget),
    )
    command = [str(BIN / "beacon"), "network", "serve", "--members", str(members_file), "--port", str(port),
               "--workers", "1"]  # fmt: skip
    return start(name, command, port, env, directory, "/health/ready")


def public_store(directory: Path) -> Path:
    """The EGA synthetic individuals in one PUBLIC dataset (metadata only)."""
    individuals = json.loads((EGA_BFF / "individuals.json").read_text())
    # The EGA records' bare-timestamp `measures` are refused by the model: left out (as tests/api does).
    records = [{k: v for k, v in r.items() if k != "measures"} | {"datasetId": PUBLIC_DATASET} for r in individuals]
    files = write_bff_files(directory, {"datasets": [{"id": PUBLIC_DATASET, "name": "EGA synthetic"}],
                                        "individuals": records})  # fmt: skip
    store = directory / "public.sqlite"
    run_cli("load", "metadata", *map(str, files), "--store", f"sqlite:///{store}")
    return store


def case_level_store(directory: Path) -> Path:
    """The trio VCF with case-level data, its samples as individuals and biosamples."""
    samples = cyvcf2.VCF(str(TRIO_VCF)).samples
    unknown_sex = {"id": "NCIT:C17998", "label": "Unknown"}
    sample = {"biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
              "sampleOriginType": {"id": "UBERON:0000178", "label": "blood"}}  # fmt: skip
    files = write_bff_files(directory, {
        "datasets": [{"id": TRIO_DATASET, "name": "trio"}],
        "individuals": [{"id": s, "sex": unknown_sex, "datasetId": TRIO_DATASET} for s in samples],
        "biosamples": [{"id": s, "individualId": s, "datasetId": TRIO_DATASET, **sample} for s in samples],
    })  # fmt: skip
    store = directory / "case.sqlite"
    uri = f"sqlite:///{store}"
    run_cli("load", "metadata", *map(str, files), "--store", uri)
    run_cli("load", "vcf", str(TRIO_VCF), "--dataset", TRIO_DATASET, "--assembly", "GRCh37", "--case-level",
            "--store", uri)  # fmt: skip
    return store


@dataclass
class Network:
    """Everything the network tests talk to."""

    nodes: dict[str, Server]
    hub: Server
    outer: Server
    stubs: dict[str, int]
    op: OpenIdProvider


@pytest.fixture(scope="package")
def network(tmp_path_factory: pytest.TempPathFactory, op: OpenIdProvider) -> Iterator[Network]:
    """The three nodes, the faulty members, the hub and a hub of hubs, all started once."""
    directory = tmp_path_factory.mktemp("network")
    registered_store = directory / "registered.sqlite"
    run_cli("load", "demo", "--store", f"sqlite:///{registered_store}")
    servers: list[Server] = []
    try:
        stubs = dict(zip(FAULTY, free_ports(len(FAULTY)), strict=True))
        stub_command = [sys.executable, "-m", "tests.network.stub_member",
                        *(f"{mode}:{stubs[mode]}" for mode in ("slow", "invalid-json", "invalid-map"))]  # fmt: skip
        servers.append(start("stubs", stub_command, stubs["invalid-json"], environment(), directory, "/api/info"))
        nodes = _start_nodes(directory, registered_store, op, servers)
        members = [{"url": node.api, "name": name} for name, node in nodes.items()]
        members += [{"url": f"http://127.0.0.1:{port}/api", "name": name} for name, port in stubs.items()]
        hub = start_hub("hub", directory, members, BUDGET)
        servers.append(hub)
        outer_members = [{"url": hub.api, "name": "hub"}, {"url": nodes["node-public"].api, "name": "node-public"}]
        outer = start_hub("outer-hub", directory, outer_members, OUTER_BUDGET)
        servers.append(outer)
        yield Network(nodes, hub, outer, stubs, op)
    finally:
        for server in reversed(servers):
            server.stop()


OPEN = "default_level: PUBLIC\nrare_alleles: {enabled: false}\n"
"""A public node's policy; these tests are about the hub, so the default rare-allele protection is off."""


def _start_nodes(directory: Path, registered_store: Path, op: OpenIdProvider, servers: list[Server]) -> dict:
    public = start_node("node-public", directory, public_store(directory), OPEN)
    servers.append(public)
    registered_policy = (f"default_level: CONTROLLED\nrare_alleles: {{enabled: false}}\n"
                         f"datasets:\n  {REGISTERED_DATASET}: {{level: REGISTERED}}\n"
                         "  synthetic-test: {level: PUBLIC, test_dataset: true}\n")  # fmt: skip
    registered = start_node(
        "node-registered", directory, registered_store, registered_policy,
        BEACON_OIDC_ISSUERS=op.issuer, BEACON_OIDC_AUDIENCES=AUDIENCE,
        BEACON_TRUSTED_JKUS=op.visa_jku, BEACON_VISA_ISSUERS=op.issuer,
    )  # fmt: skip
    servers.append(registered)
    case = start_node("node-case", directory, case_level_store(directory), OPEN)
    servers.append(case)
    return {"node-public": public, "node-registered": registered, "node-case": case}
