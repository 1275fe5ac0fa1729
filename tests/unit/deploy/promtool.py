"""Finding and running promtool (Debian's `prometheus` package ships it).

The `promtool` fixture (conftest.py) never skips: without promtool it installs the package the way
`make setup` does (`stack.py install-extras`), and fails with the way to get it when it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FALLBACK_PATHS = ("/usr/bin/promtool", "/usr/local/bin/promtool")
MISSING = (
    "promtool not found on PATH or in /usr/bin: install Debian's prometheus package "
    "(`apt-get install --no-install-recommends prometheus`, which `make setup` does as root) "
    "or put the promtool of a Prometheus 2.x release on PATH"
)


def find_promtool() -> str | None:
    found = shutil.which("promtool")
    if found:
        return found
    return next((p for p in FALLBACK_PATHS if os.access(p, os.X_OK)), None)


def promtool_run(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )


def run(promtool: str, *args: str | Path) -> str:
    """promtool's output; fails the test, showing that output, unless it exits 0."""
    done = promtool_run(promtool, *args)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output
