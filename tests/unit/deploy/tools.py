"""Finding and running the command-line checkers of Debian's monitoring packages: promtool
(`prometheus`) and amtool (`prometheus-alertmanager`).

Their fixtures (conftest.py) never skip: without the tool they install the package the way
`make setup` does (`stack.py install-extras`), and fail with the way to get it when they cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def missing(tool: str, package: str, release: str) -> str:
    return (
        f"{tool} not found on PATH or in /usr/bin: install Debian's {package} package "
        f"(`apt-get install --no-install-recommends {package}`, which `make setup` does as root) "
        f"or put the {tool} of {release} on PATH"
    )


def find(tool: str) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    fallbacks = (f"/usr/bin/{tool}", f"/usr/local/bin/{tool}")
    return next((p for p in fallbacks if os.access(p, os.X_OK)), None)


def run_tool(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, *map(str, args)], capture_output=True, text=True, check=False, timeout=120, cwd=ROOT
    )


def run(tool: str, *args: str | Path, stdout_only: bool = False) -> str:
    """The tool's output (with its warnings on stderr unless `stdout_only`); fails the test,
    showing all of it, unless it exits 0."""
    done = run_tool(tool, *args)
    output = done.stdout + done.stderr
    name = Path(tool).name
    assert done.returncode == 0, f"{name} {' '.join(map(str, args))} failed:\n{output}"
    return done.stdout if stdout_only else output
