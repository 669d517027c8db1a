"""The wheel, built once per test session from the files the Docker image builds from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def docker_build_context() -> list[str]:
    """The paths the Dockerfile's build stage copies from the repository (`COPY src... dest`)."""
    sources = []
    for line in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE):
        sources += line.split()
    return sources


def copy_build_context(destination: Path) -> Path:
    """A copy of what `docker build` sees: building from it cannot pick up stray files of the checkout."""
    for source in docker_build_context():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, destination / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / source, destination / source)
    return destination


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The beacon-node wheel, built with this environment's setuptools (no network)."""
    source = copy_build_context(tmp_path_factory.mktemp("build-context"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out)]
    built = subprocess.run([*command, str(source)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("beacon_node-*.whl")
    return path
