"""`pip install .` (not only editable) must carry every package, the schemas and the demo data."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The file names inside a wheel built from the source tree."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def source_packages() -> set[str]:
    packages = set()
    for top in ("beacon", "loaders"):
        for init in (ROOT / top).rglob("__init__.py"):
            packages.add(".".join(init.parent.relative_to(ROOT).parts))
    return packages


def test_every_source_package_is_declared():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = set(config["options"]["packages"].split())
    assert source_packages() | {"beacon_schemas"} == declared


def test_wheel_carries_schemas_and_demo_data(wheel_names):
    expected = [
        "beacon_schemas/beacon-v2/framework/json/responses/beaconResultsetsResponse.json",
        "beacon_schemas/beacon-v2/models/json/beacon-v2-default-model/individuals/defaultSchema.json",
        "beacon_schemas/beacon-v2/external/ga4gh-vrs-1.3/schema/vrs.json",
        "beacon_schemas/beacon-v2/SOURCE.txt",
        "beacon/demo/individuals.json",
        "beacon/demo/access-policy.yaml",
        "beacon/demo/populations.json",
        "beacon/demo/SOURCE.md",
        "beacon/cli.py",
        "loaders/metadata.py",
    ]
    missing = [name for name in expected if name not in wheel_names]
    assert missing == []
