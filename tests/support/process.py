"""Run a service as its own process, the way `make demo` does, for end-to-end tests."""

from __future__ import annotations

import os
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


@dataclass
class ServiceProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    async def ready(self, within: float = 60) -> None:
        async def check() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/readyz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await until(check, within=within, every=0.2, what=f"{self.name} ready")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@contextmanager
def service_process(name: str, env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    port = free_port()
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
