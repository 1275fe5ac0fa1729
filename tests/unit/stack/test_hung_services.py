"""A live pid is no service: one stopped by a signal, or past its start and not answering its
/healthz, is hung; `make status` says so and `make demo` replaces it (docs/operations.md,
SentinelServiceDown). Stopping a stopped one continues it, so it drains on SIGTERM like any
other instead of waiting out the SIGKILL deadline."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import stack


def recorded(tmp_path: Path, proc: subprocess.Popen[bytes]) -> stack.ServiceProcess:
    pid_file = tmp_path / "sleep.pid"  # named as its command line is, like a service's
    stack.write_pid_file(pid_file, proc.pid)
    return stack.ServiceProcess(pid_file)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers: a wedged event loop's."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def healthy_port() -> Iterator[int]:
    class Alive(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"status":"ok"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Alive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def served_at(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    address = property(lambda self: f"http://127.0.0.1:{port}")
    monkeypatch.setattr(stack.ServiceProcess, "address", address)
    monkeypatch.setattr(stack, "HEALTHZ_TIMEOUT_S", 0.5)


def test_a_service_stopped_by_a_signal_is_hung_and_stopping_it_drains_it(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    service = recorded(tmp_path, sleeper)
    assert service.hung(sleeper.pid) == ""
    os.kill(sleeper.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10  # the kernel stops it on its next way out of the kernel
    while stack.proc_state(sleeper.pid) not in ("T", "t"):
        assert time.monotonic() < deadline, stack.proc_state(sleeper.pid)
        time.sleep(0.001)
    assert service.hung(sleeper.pid) == "stopped by a signal"
    assert service.status().note == "stopped by a signal"
    # SIGTERM and a SIGCONT: ended by the SIGTERM, not the SIGKILL after STOP_DEADLINE_S.
    assert service.stop() == "stopped"
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


def test_a_service_past_its_start_that_does_not_answer_healthz_is_hung(
    tmp_path: Path,
    sleeper: subprocess.Popen[bytes],
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = recorded(tmp_path, sleeper)
    served_at(monkeypatch, silent_port)
    assert service.hung(sleeper.pid) == ""  # still within a start's time
    monkeypatch.setattr(stack, "HUNG_AFTER_S", 0.0)
    assert service.hung(sleeper.pid) == f"not answering http://127.0.0.1:{silent_port}/healthz"


def test_a_service_that_answers_healthz_is_not_hung(
    tmp_path: Path,
    sleeper: subprocess.Popen[bytes],
    healthy_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = recorded(tmp_path, sleeper)
    served_at(monkeypatch, healthy_port)
    monkeypatch.setattr(stack, "HUNG_AFTER_S", 0.0)
    assert service.hung(sleeper.pid) == ""
    assert service.status().running and service.status().note == ""


def stop_and_wait(pid: int) -> None:
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10  # the kernel stops it on its next way out of the kernel
    while not stack.stopped_by_signal(pid):
        assert time.monotonic() < deadline, stack.proc_state(pid)
        time.sleep(0.001)


def test_a_broker_stopped_by_a_signal_is_not_listed_as_plainly_running(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make status` listed a SIGSTOPped Kafka as running, with nothing said (the alert
    rehearsal's frozen broker); every process it lists says so now, as the services did."""
    profile = stack.Profile("frozen", tmp_path, 29992, 29993, 0, None)
    kafka = stack.Kafka(profile)
    monkeypatch.setattr(stack.Kafka, "pid", lambda self: sleeper.pid)
    assert kafka.status().note == ""
    stop_and_wait(sleeper.pid)
    status = kafka.status()
    assert status.running and status.note == "stopped by a signal"
    assert "(stopped by a signal)" in status.line()
    noted = stack.Status("keycloak", True, sleeper.pid, "http://x", "realm sentinel")
    assert noted.note == "stopped by a signal; realm sentinel"
    os.kill(sleeper.pid, signal.SIGCONT)
