"""The pure parts of running a service as several workers (services/runtime/workers.py): how
many, what the parent does when one exits or when it is told to stop, the workers' shared
readiness, and `/metrics` adding up the workers' values (services/runtime/metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.topics import TELEMETRY_READINGS
from services.runtime.metrics import Metrics
from services.runtime.workers import (
    READY_FRESH_S,
    GaveUp,
    Peers,
    RestartPolicy,
    Slot,
    Supervisor,
    parse_workers,
    worker_count,
)
from services.telemetry.__main__ import main as telemetry_main

# --- how many ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("2", 2), (" 16 ", 16)])
def test_a_number_of_workers_is_taken_as_given(value: str, expected: int) -> None:
    assert parse_workers(value, "--workers", cores=4) == expected


@pytest.mark.parametrize("value", ["0", "auto", "AUTO", " auto "])
def test_zero_or_auto_is_one_worker_per_core(value: str) -> None:
    assert parse_workers(value, "--workers", cores=4) == 4
    assert parse_workers(value, "--workers") == os.cpu_count()


@pytest.mark.parametrize(
    ("value", "reason"),
    [("-3", "cannot be negative"), ("two", "not a number"), ("1.5", "not a number"), ("", "not")],
)
def test_a_bad_count_names_the_field_and_the_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        parse_workers(value, "TELEMETRY_WORKERS")
    assert str(raised.value).startswith(f"TELEMETRY_WORKERS={value!r}")


def test_the_command_line_wins_over_the_environment_which_wins_over_one() -> None:
    env = {"TELEMETRY_WORKERS": "3"}
    assert worker_count("2", env, "TELEMETRY_WORKERS") == 2
    assert worker_count(None, env, "TELEMETRY_WORKERS") == 3
    assert worker_count(None, {}, "TELEMETRY_WORKERS") == 1
    with pytest.raises(ValueError, match=r"^TELEMETRY_WORKERS='x'"):
        worker_count(None, {"TELEMETRY_WORKERS": "x"}, "TELEMETRY_WORKERS")


def test_telemetry_refuses_a_negative_count_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        telemetry_main(["--workers", "-3"])
    assert exited.value.code == 2
    assert "--workers='-3': a number of processes cannot be negative" in capsys.readouterr().err


def test_auto_stops_at_the_partitions_the_workers_share() -> None:
    assert parse_workers("auto", "--workers", cores=16, partitions=6) == 6
    assert parse_workers("0", "--workers", cores=4, partitions=6) == 4
    assert parse_workers("6", "--workers", cores=16, partitions=6) == 6


def test_more_workers_than_partitions_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="more workers than the 6 partitions") as raised:
        worker_count(None, {"TELEMETRY_WORKERS": "7"}, "TELEMETRY_WORKERS", partitions=6)
    assert str(raised.value).startswith("TELEMETRY_WORKERS='7'")


def test_telemetry_refuses_more_workers_than_its_readings_have_partitions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        telemetry_main(["--workers", str(TELEMETRY_READINGS.partitions + 1)])
    assert exited.value.code == 2
    assert f"more workers than the {TELEMETRY_READINGS.partitions} partitions" in (
        capsys.readouterr().err
    )


# --- supervision ---------------------------------------------------------------------------


def test_a_worker_that_ran_a_while_is_started_again_at_once() -> None:
    assert RestartPolicy(quick_s=30).after_exit(uptime_s=3600, quick_deaths=3) == (0, 0.0)


def test_quick_deaths_back_off_then_the_parent_gives_up() -> None:
    policy = RestartPolicy(quick_s=30, give_up_after=5, backoff_s=1, backoff_max_s=5)
    deaths, delays = 0, []
    while True:
        deaths, delay = policy.after_exit(uptime_s=2, quick_deaths=deaths)
        if delay is None:
            break
        delays.append(delay)
    assert delays == [1, 2, 4, 5]
    assert deaths == 5


@dataclass
class FakeChild:
    index: int
    pid: int
    exitcode: int | None = None
    started: bool = False
    stops_when_asked: bool = True
    terminated: bool = False
    killed: bool = False

    @property
    def sentinel(self) -> int:
        return self.pid

    def start(self) -> None:
        self.started = True

    def terminate(self) -> None:
        self.terminated = True
        if self.stops_when_asked:
            self.exitcode = 0

    def kill(self) -> None:
        self.killed = True
        self.exitcode = -9

    def join(self, timeout: float | None = None) -> None:
        pass


class Harness:
    def __init__(self, count: int, policy: RestartPolicy | None = None) -> None:
        self.now = 0.0
        self.spawned: list[FakeChild] = []
        self.ended: list[tuple[int, int]] = []  # (pid, slot)
        self.supervisor = Supervisor(
            count,
            self.spawn,
            policy or RestartPolicy(quick_s=30, give_up_after=3, backoff_s=1),
            clock=lambda: self.now,
            on_exit=lambda child, slot: self.ended.append((child.pid or 0, slot.index)),
        )

    def spawn(self, index: int) -> FakeChild:
        child = FakeChild(index, pid=100 + len(self.spawned))
        self.spawned.append(child)
        return child

    def slot(self, index: int) -> Slot:
        return self.supervisor.slots[index]


def test_the_parent_starts_every_worker() -> None:
    h = Harness(3)
    h.supervisor.start()
    assert [(c.index, c.started) for c in h.spawned] == [(0, True), (1, True), (2, True)]
    assert len(h.supervisor.running()) == 3


def test_a_dead_worker_is_replaced_in_its_slot_and_its_leftovers_cleared() -> None:
    h = Harness(2)
    h.supervisor.start()
    h.now = 100.0
    h.spawned[1].exitcode = -9  # killed after running a while
    h.supervisor.check()
    assert h.ended == [(101, 1)]
    assert h.slot(1).child is h.spawned[2] and h.spawned[2].index == 1
    assert h.slot(0).child is h.spawned[0]  # the other one untouched
    assert h.supervisor.restarts == 1


def test_a_worker_dying_at_start_waits_for_its_backoff() -> None:
    h = Harness(1)
    h.supervisor.start()
    h.now = 5.0
    h.spawned[0].exitcode = 1
    h.supervisor.check()
    assert h.slot(0).child is None and len(h.spawned) == 1
    h.now = 5.5
    h.supervisor.check()
    assert len(h.spawned) == 1  # not yet: 1 s of backoff
    h.now = 6.0
    h.supervisor.check()
    assert len(h.spawned) == 2 and h.slot(0).child is h.spawned[1]


def test_a_worker_that_keeps_dying_at_start_makes_the_parent_give_up() -> None:
    h = Harness(2)
    h.supervisor.start()
    with pytest.raises(GaveUp, match="worker 0 died 3 times in a row"):
        for _ in range(10):
            h.now += 0.5
            h.slot(0).child.exitcode = 1  # type: ignore[union-attr]
            h.supervisor.check()
            h.now += 10  # past any backoff
            h.supervisor.check()


def test_stop_asks_every_worker_and_kills_only_those_that_do_not_stop() -> None:
    h = Harness(2)
    h.supervisor.start()
    h.spawned[1].stops_when_asked = False
    h.supervisor.stop(grace_s=0)
    assert all(c.terminated for c in h.spawned)
    assert [c.killed for c in h.spawned] == [False, True]
    assert sorted(h.ended) == [(100, 0), (101, 1)]
    assert h.supervisor.running() == []
    h.now = 1000
    h.supervisor.check()
    assert len(h.spawned) == 2  # a stopped supervisor starts nothing again


# --- readiness across the workers ----------------------------------------------------------


def test_the_host_is_ready_when_every_worker_recently_said_so(tmp_path: Path) -> None:
    first, second = Peers(tmp_path, 2, 0), Peers(tmp_path, 2, 1)
    first.write(True)
    assert not first.all_ready()  # the second has not reported
    second.write(False)
    assert not first.all_ready()
    second.write(True)
    assert first.all_ready() and second.all_ready()
    stale = time.time() - READY_FRESH_S - 1
    os.utime(second.path(1), (stale, stale))  # a worker that stopped reporting (hung, gone)
    assert not first.all_ready()


async def test_a_worker_reports_its_own_checks_not_the_workers_one(tmp_path: Path) -> None:
    peers = Peers(tmp_path, 1, 0, every_s=0.01)
    calls = 0

    async def readiness() -> dict[str, bool]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("stop the loop here")
        return {"database": True, "kafka": True, "workers": False}

    with pytest.raises(RuntimeError):
        await peers.report(readiness)
    assert calls == 3
    assert not peers.path(0).exists()  # a worker that stops reporting takes its word back


# --- metrics across the workers ------------------------------------------------------------

WORKER = """
import sys
from services.runtime.metrics import Metrics
m = Metrics("svc")
m.consumed.labels("t", "handled").inc(int(sys.argv[1]))
m.consumer_lag.labels("t", sys.argv[2]).set(int(sys.argv[1]))
m.outbox_pending.set(7)
"""


def _summed(directory: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, float]]:
    """/metrics as a worker renders it from every worker's files in `directory`, and its
    samples by series."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    text = Metrics("svc").render().decode()
    samples = [line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#")]
    return text, {name: float(value) for name, value in samples}


def test_metrics_of_several_workers_add_up_under_the_single_process_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for handled, partition in ((3, "0"), (4, "1"), (5, "1")):
        subprocess.run([sys.executable, "-c", WORKER, str(handled), partition], env=env, check=True)
    text, lines = _summed(tmp_path, monkeypatch)
    assert lines['sentinel_svc_events_consumed_total{outcome="handled",topic="t"}'] == 12
    # The processes above exited, but were never marked dead: their live gauges still count.
    assert lines['sentinel_svc_consumer_lag_messages{partition="0",topic="t"}'] == 3
    assert lines['sentinel_svc_consumer_lag_messages{partition="1",topic="t"}'] == 9  # summed
    assert lines["sentinel_svc_outbox_pending_events"] == 7  # the same count: the maximum
    assert "pid=" not in text


LOSES_A_PARTITION = """
from services.runtime.metrics import Metrics
m = Metrics("svc")
m.report_lag({("t", 0): 5, ("t", 1): 3})
m.report_lag({("t", 1): 2})  # partition 0 went to another worker in a rebalance
"""


def test_a_partition_lost_in_a_rebalance_leaves_the_lag_of_one_replica() -> None:
    metrics = Metrics("svc")
    metrics.report_lag({("t", 0): 5, ("t", 1): 3})
    metrics.report_lag({("t", 1): 2})
    lag = "sentinel_svc_consumer_lag_messages"
    assert metrics.registry.get_sample_value(lag, {"topic": "t", "partition": "0"}) is None
    assert metrics.registry.get_sample_value(lag, {"topic": "t", "partition": "1"}) == 2


def test_a_worker_that_lost_a_partition_adds_nothing_for_it_to_the_sum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", LOSES_A_PARTITION], env=env, check=True)
    # The worker that took partition 0 over reports its lag there.
    subprocess.run([sys.executable, "-c", WORKER, "4", "0"], env=env, check=True)
    _, lines = _summed(tmp_path, monkeypatch)
    assert lines['sentinel_svc_consumer_lag_messages{partition="0",topic="t"}'] == 4
    assert lines['sentinel_svc_consumer_lag_messages{partition="1",topic="t"}'] == 2
