"""Whether the process that started a load is still alive (the stores and the loaders clean up after dead loads)."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """True when a process with this id exists on this machine (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def process_token(pid: int | None = None) -> str:
    """`PID.START` (its start time in clock ticks, from /proc) or just `PID` where there is no /proc.

    Unlike the pid alone, a token is never shared by a later process that happens to get the same pid.
    """
    pid = os.getpid() if pid is None else pid
    start = _start_time(pid)
    return str(pid) if start is None else f"{pid}.{start}"


def token_alive(token: str) -> bool:
    """Whether the process a `process_token` names is still running."""
    pid_text, _, start = token.partition(".")
    if not pid_text.isdigit() or not process_alive(int(pid_text)):
        return False
    return not start or _start_time(int(pid_text)) in (start, None)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name, in parentheses, may hold spaces
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5), counted from field 3
