"""Where the files the beacon reads at run time live: package data, found with importlib.resources.

Nothing at run time may look next to the source tree: `pip install .` puts `beacon`, `loaders` and
the schemas (`schemas/` installed as `beacon_schemas`, see setup.cfg) into site-packages, and the
tests in tests/packaging run the installed package to keep it that way.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def package_dir(package: str) -> Path:
    """The directory of an installed (or editable) package, for reading its data files."""
    resource = importlib.resources.files(package)
    # Wheels install unzipped, so this is a real directory; a zipped install would need as_file().
    if not isinstance(resource, Path) or not resource.is_dir():
        raise RuntimeError(f"package {package!r} is not installed as plain files ({resource}); reinstall it with pip")
    return resource
