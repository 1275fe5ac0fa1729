"""An operator who stopped the demo's simulator (`make simulator-stop`) finds it stopped after the
next `make demo`, which says so; a simulator that died is started again, and `make
simulator-start` resumes it (deploy/local/demo.py, docs/local-stack.md)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from deploy.local import demo, stack


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's state folder, with the simulator's starts recorded instead of made."""
    monkeypatch.setattr(demo, "RUN", tmp_path)
    (tmp_path / "pids").mkdir()
    return tmp_path


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, str], bool]]:
    made: list[tuple[dict[str, str], bool]] = []

    def start_simulator(env: dict[str, str], first_run: bool) -> str:
        made.append((env, first_run))
        return "simulator: started"

    monkeypatch.setattr(demo, "start_simulator", start_simulator)
    return made


def test_a_simulator_stopped_on_purpose_stays_stopped_through_make_demo(
    run: Path, fake_simulator: subprocess.Popen[bytes], starts: list[object]
) -> None:
    stack.write_pid_file(run / "pids" / "simulator.pid", fake_simulator.pid)
    said = demo.stop_simulator()
    assert said == (
        f"simulator: stopped (pid {fake_simulator.pid}); make demo leaves it stopped "
        "(make simulator-start to resume)"
    )
    assert fake_simulator.wait(timeout=10) == -signal.SIGTERM
    assert demo.demo_simulator({}, first_run=False) == (
        "simulator: stopped on purpose (make simulator-start to resume)"
    )
    assert demo.demo_simulator({}, first_run=True).endswith(
        "stopped on purpose (make simulator-start to resume)"
    )
    assert starts == []


def test_a_simulator_that_died_is_started_again_by_make_demo(
    run: Path, fake_simulator: subprocess.Popen[bytes], starts: list[object]
) -> None:
    stack.write_pid_file(run / "pids" / "simulator.pid", fake_simulator.pid)
    fake_simulator.kill()
    fake_simulator.wait(timeout=10)
    assert demo.demo_simulator({"K": "v"}, first_run=False) == "simulator: started"
    assert starts == [({"K": "v"}, False)]


def test_stopping_a_simulator_that_is_not_running_still_keeps_it_stopped(
    run: Path, starts: list[object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["simulator-stop"]) == 0
    assert capsys.readouterr().out == (
        "simulator: not running; make demo leaves it stopped (make simulator-start to resume)\n"
    )
    assert demo.simulator_stopped_on_purpose()
    assert demo.demo_simulator({}, first_run=False).startswith("simulator: stopped on purpose")
    assert starts == []


def test_simulator_start_resumes_it_live_and_make_demo_keeps_it_going_again(
    run: Path, starts: list[tuple[dict[str, str], bool]]
) -> None:
    demo.stop_simulator()
    (run / "env").write_text("export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092\n")
    (run / "demo").mkdir()
    (run / "demo" / "terminals.json").write_text("{}")
    assert demo.resume_simulator() == "simulator: started"
    assert starts == [({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092"}, False)]
    assert not demo.simulator_stopped_on_purpose()
    demo.demo_simulator({}, first_run=False)
    assert len(starts) == 2


def test_simulator_start_without_a_demo_city_says_so_and_changes_nothing(
    run: Path, starts: list[object]
) -> None:
    demo.stop_simulator()
    (run / "env").write_text("")
    with pytest.raises(
        SystemExit, match=r"\.run/demo/terminals\.json is missing: run `make demo` first"
    ):
        demo.resume_simulator()
    assert demo.simulator_stopped_on_purpose()
    assert starts == []
