"""Run a service as its own process, the way `make demo` does, for end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.poll import until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Below the kernel's ephemeral range (32768+), where outgoing connections can take a port between
# choosing it and binding it, and above the stacks' ports (all below 30000: docs/local-stack.md,
# "Port slots").
LOW_PORTS = range(30000, 32768)


def low_free_port() -> int:
    """A free loopback port below the ephemeral range: for a process whose address is
    registered elsewhere before it starts (the console's redirect URI at the provider)."""
    for port in random.sample(LOW_PORTS, 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LOW_PORTS}")


@dataclass
class ServiceProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    async def ready(self, within: float = 120, path: str = "/readyz") -> None:
        # As closed_loop.Proc and city_processes: a start on a loaded 2-core machine (the suite
        # beside the fault tests' brokers) can take longer than a minute; a process that died
        # still fails at once (below), so the deadline only bounds a hang.
        async def check() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}{path}", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await until(check, within=within, every=0.2, what=f"{self.name} ready")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@contextmanager
def service_process(
    name: str, env: dict[str, str], log_dir: Path, port: int | None = None
) -> Iterator[ServiceProcess]:
    port = port or free_port()
    log = log_dir / f"{name}.log"
    full_env = {**os.environ, **env, f"{name.upper()}_HTTP_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield ServiceProcess(name, f"http://127.0.0.1:{port}", proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
