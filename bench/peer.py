"""Drive the Quix Streams peer (`bench/quix_peer.py`) in its own virtualenv on a readings topic.

Quix Streams 3.28.1 (the newest) requires pydantic < 2.14 and pydantic-settings < 2.16; the
services pin pydantic 2.14.3 and pydantic-settings 2.16.3, so it cannot share their environment.
`make bench` installs it into `.cache/bench-quix` from `bench/quix-requirements.txt` (its
own pins, Python 3.11); a peer process with its own interpreter is also how a Quix app runs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from bench.readings import MASTER

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".cache" / "bench-quix" / "bin" / "python"


@dataclass
class Peer:
    readings: int
    seconds: float
    seconds_to_last_reading: float
    cpu: float
    accepted: int

    @property
    def rate(self) -> float:
        return self.readings / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        return 1e6 * self.cpu / self.readings


async def quix(kafka: str, topic: str, n: int) -> Peer:
    if not PYTHON.exists():
        raise FileNotFoundError(f"{PYTHON} is missing: make bench installs it")
    process = await asyncio.create_subprocess_exec(
        str(PYTHON),
        "-W",
        "ignore",
        str(ROOT / "bench" / "quix_peer.py"),
        "--broker",
        kafka,
        "--topic",
        topic,
        "--readings",
        str(n),
        "--master-hex",
        MASTER.hex(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 300)
    if process.returncode != 0:
        raise RuntimeError(f"quix peer exited {process.returncode}: {(out + err).decode()[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Peer(
        result["readings"],
        result["seconds"],
        result["seconds_to_last_reading"],
        result["cpu"],
        result["accepted"],
    )
