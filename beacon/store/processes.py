"""Whether the process that started a load is still alive (both stores clean up after dead loaders)."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True when a process with this id exists on this machine (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
