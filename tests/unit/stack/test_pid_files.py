"""Pid files record the start ticks (field 22 of /proc/<pid>/stat) of what they name, so a step
of the wall clock never makes `make status` call a running service stopped (issue 18)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from deploy.local import stack


def with_its_ticks(pid: int) -> stack.PidRecord:
    """What a pid file written for the running `pid` holds: the pid and its start ticks."""
    return stack.PidRecord(pid, stack.start_ticks(pid))


def date_back_an_hour(pid_file: Path) -> None:
    """`pid_file` as it looks once the wall clock stepped an hour forward since it was written."""
    an_hour_ago = time.time() - 3600
    os.utime(pid_file, (an_hour_ago, an_hour_ago))


def test_a_pid_file_carries_the_pid_first_and_the_start_ticks() -> None:
    text = stack.render_pid_file(1234, 98765)
    assert text.splitlines()[0] == "1234"
    assert stack.parse_pid_file(text) == stack.PidRecord(1234, 98765)
    assert stack.parse_pid_file("1234") == stack.PidRecord(1234, None)  # written before
    assert stack.parse_pid_file("1234\n/var/lib/postgresql\n") == stack.PidRecord(1234, None)
    assert stack.parse_pid_file("garbage\n") is None


def test_identity_is_the_ticks_when_recorded_else_the_old_wall_clock_check() -> None:
    record = stack.PidRecord(10, 500)
    # A wall-clock start an hour after the file was written (the clock stepped): same ticks.
    assert stack.same_process(record, 500, started=10_000.0, written=6_400.0)
    assert not stack.same_process(record, 501, started=1.0, written=6_400.0)
    legacy = stack.PidRecord(10, None)
    assert stack.same_process(legacy, 500, started=6_404.0, written=6_400.0)
    assert not stack.same_process(legacy, 500, started=10_000.0, written=6_400.0)


def test_start_ticks_do_not_change_and_differ_between_processes(
    sleeper: subprocess.Popen[bytes],
) -> None:
    mine = stack.start_ticks(os.getpid())
    assert mine is not None and mine == stack.start_ticks(os.getpid())
    ticks = stack.start_ticks(sleeper.pid)
    assert ticks is not None and ticks >= mine
    assert stack.start_ticks(2**22 + 1) is None


def test_a_clock_step_leaves_a_running_service_running(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "sleep.pid"
    stack.write_pid_file(pid_file, sleeper.pid)
    assert stack.read_pid_record(pid_file) == with_its_ticks(sleeper.pid)
    # The wall clock stepped forward an hour after the launch: the process now seems to have
    # started an hour after its pid file was written, which the old check took for a reused pid.
    date_back_an_hour(pid_file)
    service = stack.ServiceProcess(pid_file)
    assert service.status().running and service.pid() == sleeper.pid
    # ...and `down` stops it.
    assert service.stop() == "stopped"
    assert sleeper.wait(5) is not None


def test_other_ticks_are_a_reused_pid(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    ticks = stack.start_ticks(sleeper.pid)
    assert ticks is not None
    pid_file = tmp_path / "sleep.pid"
    pid_file.write_text(stack.render_pid_file(sleeper.pid, ticks - 1))
    service = stack.ServiceProcess(pid_file)
    assert not service.status().running
    assert service.stop() == "not running"
    assert sleeper.poll() is None  # never signalled
    assert stack.recorded_process(pid_file, ("sleep",)) is None
    pid_file.write_text(stack.render_pid_file(sleeper.pid, ticks))
    assert stack.recorded_process(pid_file, ("sleep",)) == sleeper.pid
    assert stack.recorded_process(pid_file, ("kafka.Kafka",)) is None


def test_a_process_still_inside_execve_is_the_one_recorded_when_its_ticks_match(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after Popen returns, the kernel may not have published the new program's command
    line yet: /proc/<pid>/cmdline reads empty. Its start ticks still name it."""
    ticks = stack.start_ticks(sleeper.pid)
    assert ticks is not None
    pid_file = tmp_path / "sleep.pid"
    monkeypatch.setattr(stack, "cmdline", lambda pid: [])
    pid_file.write_text(stack.render_pid_file(sleeper.pid, ticks))
    assert stack.recorded_process(pid_file, ("sleep",)) == sleeper.pid
    pid_file.write_text(stack.render_pid_file(sleeper.pid, ticks - 1))  # a reused pid
    assert stack.recorded_process(pid_file, ("sleep",)) is None
    pid_file.write_text(str(sleeper.pid))  # no ticks recorded: the command line must say
    assert stack.recorded_process(pid_file, ("sleep",)) is None


def test_an_older_pid_file_is_checked_the_old_way_once_then_gets_its_ticks(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "sleep.pid"
    pid_file.write_text(str(sleeper.pid))  # as make demo wrote them before
    assert stack.ServiceProcess(pid_file).pid() == sleeper.pid
    assert stack.read_pid_record(pid_file) == with_its_ticks(sleeper.pid)
    # From now on a clock step no longer matters.
    date_back_an_hour(pid_file)
    assert stack.ServiceProcess(pid_file).pid() == sleeper.pid


def test_an_older_pid_file_written_before_its_process_began_is_a_reused_pid(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "sleep.pid"
    pid_file.write_text(str(sleeper.pid))
    date_back_an_hour(pid_file)
    assert stack.ServiceProcess(pid_file).pid() is None
    assert pid_file.read_text() == str(sleeper.pid)  # left as it was


def test_the_demo_records_its_services_with_their_ticks(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    from deploy.local import demo

    pid_file = tmp_path / "sleep.pid"
    demo.record_pid(pid_file, sleeper.pid)
    assert stack.read_pid_record(pid_file) == with_its_ticks(sleeper.pid)
    assert demo.running_pid(pid_file) == sleeper.pid
    assert demo.running_pid(tmp_path / "missing.pid") is None
