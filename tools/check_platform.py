"""`make setup`'s first step: the lock's wheels are for CPython 3.11 on Linux x86_64, so say at once, in one line,
when this interpreter is not that, instead of failing later on a missing wheel. Standard library only: it runs
before the virtual environment exists."""

from __future__ import annotations

import platform
import sys

WANTED = ((3, 11), "linux", "x86_64")


def problem(version: tuple[int, int], system: str, machine: str) -> str | None:
    """What stops the lock from installing here, or None."""
    if (version, system, machine) == WANTED:
        return None
    here = f"Python {version[0]}.{version[1]} on {system} {machine}"
    return f"error: make setup needs Python 3.11 on Linux x86_64 (the lock's wheels), not {here}: set PYTHON=python3.11"


if __name__ == "__main__":
    found = problem(sys.version_info[:2], sys.platform, platform.machine())
    if found:
        sys.exit(found)
