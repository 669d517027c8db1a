"""The members file of a network (`MEMBERS.yaml`): one entry per member beacon's API root.

```yaml
- url: https://node.example/api     # required: the member's API root (its /info, /map... live under it)
  name: Example node                # optional: a label for logs, metrics and the hub's /info
  timeout: 3.5                      # optional: seconds this member may take (capped by the network budget)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

_FIELDS = ("url", "name", "timeout")


class MembersError(ValueError):
    """The members file cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Member:
    """One member beacon: its API root, a label and its own time limit (None: the network budget)."""

    url: str
    name: str
    timeout: float | None = None

    def endpoint(self, relative: str) -> str:
        """The URL of a metadata endpoint of this member, e.g. `endpoint("map")`."""
        return f"{self.url}/{relative}"


def load_members(path: Path) -> tuple[Member, ...]:
    """The members listed in a YAML file; MembersError naming file/line/field for anything wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MembersError(f"{path}: cannot read the members file: {error.strerror}") from None
    try:
        nodes = yaml.compose(text)
    except yaml.YAMLError as error:
        raise MembersError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(nodes, yaml.SequenceNode) or not nodes.value:
        raise MembersError(f"{path}: line 1: expected a list of members (`- url: https://node/api`)")
    members = [_member(path, node) for node in nodes.value]
    urls = [member.url for member in members]
    duplicate = next((url for url in urls if urls.count(url) > 1), None)
    if duplicate:
        raise MembersError(f"{path}: url: {duplicate} is listed twice")
    return tuple(members)


def _member(path: Path, node: yaml.Node) -> Member:
    line = node.start_mark.line + 1
    where = f"{path}: line {line}"
    entry: Any = yaml.safe_load(yaml.serialize(node))
    if not isinstance(entry, dict):
        raise MembersError(f"{where}: expected a mapping with `url`")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise MembersError(f"{where}: {unknown[0]}: unknown field (allowed: {', '.join(_FIELDS)})")
    url = entry.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise MembersError(f"{where}: url: expected an absolute http(s) URL, got {url!r}")
    name = entry.get("name", urlparse(url).netloc)
    if not isinstance(name, str) or not name:
        raise MembersError(f"{where}: name: expected a non-empty string, got {name!r}")
    timeout = entry.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise MembersError(f"{where}: timeout: expected a number of seconds above 0, got {timeout!r}")
    return Member(url=url.rstrip("/"), name=name, timeout=None if timeout is None else float(timeout))
