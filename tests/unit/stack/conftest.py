"""What the local stack's process tests share."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from deploy.local import stack


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line holds its pid file's name (`sleep`), as a service's does.

    Popen returns once the exec has closed the child's close-on-exec pipe, which the kernel does
    before it lays out the new program's arguments: for a moment /proc/<pid>/cmdline is still
    empty (CI failed on it once). The launcher checks its services long after they started."""
    proc = subprocess.Popen(["sleep", "300"])
    deadline = time.monotonic() + 10
    while "sleep" not in stack.cmdline(proc.pid):
        assert time.monotonic() < deadline, f"sleep's command line: {stack.cmdline(proc.pid)}"
        time.sleep(0.001)
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def fake_simulator() -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line says `simulator`, as the demo's simulator's does."""
    proc = subprocess.Popen(["bash", "-c", "exec -a simulator sleep 300"])
    deadline = time.monotonic() + 10
    while "simulator" not in stack.cmdline(proc.pid):
        assert time.monotonic() < deadline, f"its command line: {stack.cmdline(proc.pid)}"
        time.sleep(0.001)
    yield proc
    proc.kill()
    proc.wait()
