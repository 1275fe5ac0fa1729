"""A profile of the local stack a test session needs beside the test stack (`secure`, `chaos`,
`cluster`): started with `stack.py --profile NAME up --json` and, if it was not running before,
stopped at the end (`.ci/run` stops every profile too)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from deploy.local import stack
from tests.support.process import ROOT


@dataclass(frozen=True)
class ProfileStack:
    """A running profile, by its environment (what `profile_stack` yields)."""

    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


def _stack(name: str) -> list[str]:
    return [sys.executable, str(ROOT / "deploy/local/stack.py"), "--profile", name]


@contextmanager
def profile_stack(name: str) -> Iterator[dict[str, str]]:
    """The running profile's environment (`.run/env`'s names); fails naming what `up` said."""
    was_running = stack.running(stack.profiles()[name])
    run = subprocess.run(
        [*_stack(name), "up", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        raise RuntimeError(f"the {name} stack did not start:\n{run.stderr[-4000:]}")
    try:
        yield json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        if not was_running:
            subprocess.run([*_stack(name), "down"], cwd=ROOT, capture_output=True, timeout=300)
