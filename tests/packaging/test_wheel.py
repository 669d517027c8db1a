"""`pip install .` (not only editable) must carry every package, the schemas and the demo data."""

from __future__ import annotations

import configparser
import zipfile
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT

pytestmark = pytest.mark.xdist_group("packaging")  # one worker builds the wheel once

# Source folders whose every file the package reads or ships, and where each lands in the wheel.
DATA_FOLDERS = {"schemas": "beacon_schemas", "beacon/demo": "beacon/demo", "beacon/web": "beacon/web"}


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    """The file names inside the wheel built from the source tree."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def source_packages() -> set[str]:
    packages = set()
    for top in ("beacon", "loaders"):
        for init in (ROOT / top).rglob("__init__.py"):
            packages.add(".".join(init.parent.relative_to(ROOT).parts))
    return packages


def source_files(folder: str) -> list[Path]:
    """The files of a source folder, without Python's caches."""
    return [path for path in (ROOT / folder).rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def test_every_source_package_is_declared():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = set(config["options"]["packages"].split())
    assert source_packages() | {"beacon_schemas"} == declared


def test_wheel_carries_schemas_and_demo_data(wheel_names):
    expected = [
        "beacon_schemas/access-policy.schema.json",
        "beacon_schemas/beacon-v2/framework/json/responses/beaconResultsetsResponse.json",
        "beacon_schemas/beacon-v2/models/json/beacon-v2-default-model/individuals/defaultSchema.json",
        "beacon/demo/individuals.json",
        "beacon/demo/access-policy.yaml",
        "beacon/demo/populations.json",
        "beacon/demo/SOURCE.md",
        "beacon/gunicorn_conf.py",
        "beacon/cli.py",
        "loaders/metadata.py",
    ]
    missing = [name for name in expected if name not in wheel_names]
    assert missing == []


@pytest.mark.parametrize(("folder", "installed_as"), DATA_FOLDERS.items())
def test_wheel_carries_every_file_of_the_data_folders(wheel_names, folder, installed_as):
    files = source_files(folder)
    assert len(files) > 5
    names = [f"{installed_as}/{path.relative_to(ROOT / folder).as_posix()}" for path in files]
    assert [name for name in names if name not in wheel_names] == []  # setup.cfg package_data misses them


def test_wheel_carries_every_python_module(wheel_names):
    modules = [path for top in ("beacon", "loaders") for path in source_files(top) if path.suffix == ".py"]
    assert len(modules) > 30
    missing = [path for path in modules if path.relative_to(ROOT).as_posix() not in wheel_names]
    assert missing == []
