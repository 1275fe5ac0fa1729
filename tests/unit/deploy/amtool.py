"""Finding and running amtool (Debian's `prometheus-alertmanager` package ships it).

The `amtool` fixture (conftest.py) never skips: without amtool it installs the package the way
`make setup` does (`stack.py install-extras`), and fails with the way to get it when it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FALLBACK_PATHS = ("/usr/bin/amtool", "/usr/local/bin/amtool")
MISSING = (
    "amtool not found on PATH or in /usr/bin: install Debian's prometheus-alertmanager package "
    "(`apt-get install --no-install-recommends prometheus-alertmanager`, which `make setup` does "
    "as root) or put the amtool of an Alertmanager release on PATH"
)


def find_amtool() -> str | None:
    found = shutil.which("amtool")
    if found:
        return found
    return next((p for p in FALLBACK_PATHS if os.access(p, os.X_OK)), None)


def run(amtool: str, *args: str | Path, stdout_only: bool = False) -> str:
    """amtool's output (with its warnings on stderr unless `stdout_only`); fails the test,
    showing all of it, unless it exits 0."""
    done = subprocess.run(
        [amtool, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"amtool {' '.join(map(str, args))} failed:\n{output}"
    return done.stdout if stdout_only else output
