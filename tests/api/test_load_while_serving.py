"""The server keeps answering while a loader writes (README, "Running in production"), checked for real.

`beacon serve` (gunicorn, two workers) serves a copy of the demo store while `beacon load vcf --replace`
swaps the demo dataset's chr22 variants for a synthetic chr22 file in another process. The test asks
the server the same range query over and over meanwhile: every answer must be wholly the old variants
or wholly the new ones (count and records agree), never a mix nor an error, old answers never follow
a new one, some answers come while the loader is writing, and the last one is the new data.
"""

from __future__ import annotations

import gzip
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.synthetic_vcf import write_vcf
from tests.api.test_deployment import ROOT, closed_port, server_environment, start_beacon_serve
from tests.conftest import DEMO_DATASET
from tests.unit.test_vcf_cli import DEMO_VARIANTS, FIRST_DEMO_VARIANT

QUERY = "/api/g_variants?referenceName=22&start=0&end=60000000&assemblyId=GRCh37&requestedGranularity=record&limit=5"
DEMO_FIRST_POSITION = 16_050_075  # the demo VCF's first record; the synthetic file ends far below it
NEW_SITES = 30_000
MAX_QUERIES = 5_000


@dataclass(frozen=True)
class Expected:
    """What one version of the dataset answers to QUERY."""

    count: int
    first_id: str
    positions: range  # of every variant


def new_data(path: Path) -> Expected:
    """The synthetic file's answer, read from its text: one variant per ALT allele, first record first."""
    with gzip.open(path, "rt") as handle:
        records = [line.split("\t") for line in handle if not line.startswith("#")]
    chrom, pos, _, ref, alt = records[0][:5]
    assert chrom == "22" and len(ref) == len(alt) == 1  # a plain SNV: its id is not trimmed
    last = int(records[-1][1])
    assert last < DEMO_FIRST_POSITION
    return Expected(sum(len(r[4].split(",")) for r in records), f"GRCh37-22-{pos}-{ref}-{alt}", range(1, last + 1))


OLD = Expected(DEMO_VARIANTS, FIRST_DEMO_VARIANT, range(DEMO_FIRST_POSITION, 60_000_000))


def version_of(answer: dict, old: Expected, new: Expected) -> str:
    """'old' or 'new' if the answer is wholly one version's; anything else fails the test."""
    (result_set,) = answer["response"]["resultSets"]
    ids = [record["variantInternalId"] for record in result_set["results"]]
    positions = [int(variant_id.split("-")[2]) for variant_id in ids]
    seen = (answer["responseSummary"]["numTotalResults"], ids[0] if ids else None)
    for name, expected in (("old", old), ("new", new)):
        if seen == (expected.count, expected.first_id) and all(p in expected.positions for p in positions):
            assert result_set["resultsCount"] == expected.count and len(ids) == 5
            return name
    raise AssertionError(f"an answer that is neither the old nor the new data: {seen}, {ids}")


@dataclass
class Loader:
    """`beacon load vcf` in a process of its own, its progress (shown on a terminal) read by a thread."""

    process: subprocess.Popen
    terminal: int
    written: int = 0
    output: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:  # until the loader closes its terminal
            try:
                chunk = os.read(self.terminal, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk
            counts = re.findall(rb"([\d,]+) alleles", bytes(self.output[-4096:]))
            if counts:
                self.written = int(counts[-1].replace(b",", b""))

    def running(self) -> bool:
        return self.process.poll() is None


def start_loader(store: Path, vcf: Path) -> Loader:
    terminal, child_terminal = pty.openpty()  # the CLI shows its progress on a terminal only
    command = [str(Path(sys.executable).with_name("beacon")), "load", "vcf", str(vcf), "--dataset", DEMO_DATASET,
               "--assembly", "GRCh37", "--replace", "--workers", "1", "--batch-size", "500"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=server_environment(f"sqlite:///{store}"),
        stdin=subprocess.DEVNULL, stdout=child_terminal, stderr=child_terminal,
    )  # fmt: skip
    os.close(child_terminal)
    return Loader(process, terminal)


def test_the_server_answers_old_or_new_data_but_never_a_mix_while_a_loader_replaces_it(tmp_path, demo_store_file):
    store = tmp_path / "beacon.sqlite"
    shutil.copy(demo_store_file, store)
    vcf = write_vcf(tmp_path / "new-chr22.vcf.gz", NEW_SITES, chromosome="22")
    new = new_data(vcf)
    server = start_beacon_serve(f"sqlite:///{store}", closed_port())
    loader = None
    try:
        assert version_of(server.client.get(QUERY).json(), OLD, new) == "old"
        loader = start_loader(store, vcf)
        seen, during_writes = [], 0
        while len(seen) < MAX_QUERIES:
            writing = loader.written > 0 and loader.running()  # the new version is half written now
            with server.connect() as fresh:  # a new connection each time: either worker may answer
                answer = fresh.get(QUERY, timeout=10)
            assert answer.status_code == 200, answer.text
            seen.append(version_of(answer.json(), OLD, new))
            during_writes += writing and loader.running() and seen[-1] == "old"
            if not loader.running():
                break
        assert loader.process.wait(timeout=120) == 0, bytes(loader.output)[-2000:]
        with server.connect() as fresh:  # not the kept-alive client: its connection may have timed out
            final = fresh.get(QUERY, timeout=10)
        assert final.status_code == 200 and version_of(final.json(), OLD, new) == "new"
    finally:
        if loader is not None:
            if loader.running():
                loader.process.kill()
                loader.process.wait(timeout=30)
            loader.reader.join(timeout=10)
            os.close(loader.terminal)
        server.stop()
        shutil.rmtree(server.metrics, ignore_errors=True)
    assert f"{NEW_SITES} record(s), {new.count} ALT allele(s) read, {new.count} variant(s) loaded".encode() in (
        loader.output
    )
    assert during_writes > 0, "no answer came while the loader was writing"
    assert seen == sorted(seen, key=["old", "new"].index), "an old answer came after a new one"
