"""The house's arrows run one way: `store/` and `query/` never import `loaders/`; `query/` has no Flask, no database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports (top level or inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offending_imports(room: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """Files of a room that import any of the forbidden top-level packages."""
    offences: dict[str, list[str]] = {}
    for path in sorted((ROOT / room).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in forbidden)
        if bad:
            offences[str(path.relative_to(ROOT))] = bad
    return offences


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("beacon/store", ("loaders", "flask")),
        ("beacon/query", ("loaders", "flask", "sqlite3", "pymongo")),
    ],
)
def test_room_does_not_import_upwards(room, forbidden):
    assert offending_imports(room, forbidden) == {}


def test_the_checker_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    room = tmp_path / "room"
    room.mkdir()
    (room / "bad.py").write_text("def f():\n    from loaders.vcf import VcfError\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert offending_imports("room", ("loaders",)) == {"room/bad.py": ["loaders.vcf"]}
