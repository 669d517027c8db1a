"""The documentation's `curl` examples, run as they are written against `make run`'s demo.

`make run` itself is run (its recipe, with this environment's `beacon` and a free port): `beacon load
demo` into a temporary store, then `beacon serve` with the demo access policy. Every fenced shell
block of README.md and docs/*.md made only of `curl` commands (and `NAME=value` lines) runs through
bash, with the port substituted. Each `curl` must get a 2xx JSON answer, and a query answer must find
something (`responseSummary.exists`): the examples show what the demo holds.
"""

from __future__ import annotations

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

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
DEMO_ADDRESS = "127.0.0.1:5050"  # what `make run` serves by default, and what the examples name
FENCE = re.compile(r"^```(sh|bash|shell)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")
# Each curl of a block writes its status to N.status and its body to N.body (N counts from 0).
RECORDING_CURL = """\
calls=0
curl() {
    command curl --silent --show-error --output "$OUT/$calls.body" --write-out '%{http_code}' "$@" \\
        > "$OUT/$calls.status"
    calls=$((calls + 1))
}
"""

pytestmark = pytest.mark.xdist_group("make-run")  # one server for the module


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a document."""

    document: Path
    line: int
    text: str

    @property
    def commands(self) -> list[str]:
        """Its commands: continuation lines joined, blank lines and comments left out."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        lines = (line.strip() for line in joined.splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    @property
    def curls(self) -> list[str]:
        """Its `curl` commands."""
        return [command for command in self.commands if command.split()[0] == "curl"]

    @property
    def runnable(self) -> bool:
        """True for an example block: only `curl` commands and variable assignments, at least one curl."""
        return bool(self.curls) and all(command in self.curls or ASSIGNMENT.match(command) for command in self.commands)

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def shell_blocks(document: Path) -> list[Block]:
    """The fenced sh/bash/shell blocks of a Markdown file."""
    text = document.read_text()
    return [Block(document, text.count("\n", 0, match.start()) + 1, match.group(2)) for match in FENCE.finditer(text)]


EXAMPLES = [block for document in DOCUMENTS for block in shell_blocks(document) if block.runnable]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run` on a free port with a temporary store; yields its address (host:port)."""
    port, store = free_port(), tmp_path_factory.mktemp("make-run") / "beacon.sqlite"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACON_", "PROMETHEUS_"))}
    env["BEACON_WORKERS"] = "2"  # the machine is shared with the rest of the suite; the rule is tested elsewhere
    bin_dir = Path(sys.executable).parent  # this environment's `beacon`, without reinstalling (-o the stamp)
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"BIN={bin_dir}", f"PORT={port}"]
    command.append(f"STORE=sqlite:///{store}")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        wait_until_ready(process, port)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def wait_until_ready(process: subprocess.Popen, port: int) -> None:
    """Returns once /health/ready answers 200 (the demo is loaded and gunicorn serves it)."""
    deadline = time.monotonic() + 300  # the demo load takes a while on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"make run did not serve: {process.communicate()[0][-3000:]}")


def run_block(block: Block, address: str, out: Path) -> list[tuple[int, str]]:
    """Run a block through bash against `address`; the status and body of each of its curls."""
    script = RECORDING_CURL + block.text.replace(DEMO_ADDRESS, address)
    result = subprocess.run(
        ["bash", "-c", script], env={**os.environ, "OUT": str(out)}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{block}: {result.stderr}"
    calls = sorted(out.glob("*.status"), key=lambda path: int(path.stem))
    return [(int(path.read_text() or 0), path.with_suffix(".body").read_text()) for path in calls]


def test_the_documents_have_examples_to_run():
    assert [block for block in EXAMPLES if block.document == README], "no runnable README example"
    assert sum(len(block.curls) for block in EXAMPLES if block.document == README) >= 5


def test_every_curl_in_the_readme_is_a_runnable_example_against_the_make_run_demo():
    for block in shell_blocks(README):
        for curl in block.curls:
            assert f"http://{DEMO_ADDRESS}/" in curl, f"{block}: {curl}"
        # The only other curls are the Docker Compose deployment's, which the same URL reaches.
        assert block.runnable or not block.curls or "docker compose" in block.text, str(block)


@pytest.mark.parametrize("block", EXAMPLES, ids=str)
def test_each_example_answers_on_the_demo(make_run, block, tmp_path):
    answers = run_block(block, make_run, tmp_path)
    assert len(answers) == len(block.curls), f"{block}: not every curl ran"
    for curl, (status, body) in zip(block.curls, answers, strict=True):
        assert 200 <= status < 300, f"{block}: {curl}: HTTP {status} {body[:300]}"
        document = json.loads(body)
        summary = document.get("responseSummary")
        if summary is not None:
            assert summary["exists"] is True, f"{block}: {curl} finds nothing"
