"""A start that fails stops what it launched, and only that (deploy/local/stack.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.local import stack


@dataclass
class Component:
    name: str
    running: bool = False
    stops: list[str] = field(default_factory=list)

    def pid(self) -> int | None:
        return 42 if self.running else None

    def stop(self) -> str:
        self.stops.append(self.name)
        self.running = False
        return "stopped"


def test_a_failure_stops_what_this_start_launched_in_order_and_then_releases() -> None:
    order: list[str] = []
    kafka, postgres = Component("kafka", stops=order), Component("postgres", stops=order)
    keycloak = Component("keycloak", stops=order)  # launched, never got to run
    released: list[bool] = []
    with (
        pytest.raises(stack.StackError),
        stack.undo_on_failure([keycloak, kafka, postgres], lambda: released.append(True)),
    ):
        kafka.running = True
        postgres.running = True
        raise stack.StackError("postgres: pg_ctl start failed")
    assert order == ["kafka", "postgres"]
    assert released == [True]


def test_what_ran_before_the_start_is_left_alone() -> None:
    running_before = Component("kafka", running=True)
    launched = Component("postgres")
    with pytest.raises(KeyboardInterrupt), stack.undo_on_failure([launched]):
        launched.running = True
        raise KeyboardInterrupt
    assert running_before.running and not running_before.stops
    assert launched.stops == ["postgres"]


def test_one_failing_stop_does_not_keep_the_others_running() -> None:
    class Stubborn(Component):
        def stop(self) -> str:
            raise OSError("pg_ctl vanished")

    stubborn, kafka = Stubborn("postgres", running=True), Component("kafka", running=True)
    with pytest.raises(stack.StackError), stack.undo_on_failure([stubborn, kafka]):
        raise stack.StackError("boom")
    assert kafka.stops == ["kafka"]


def test_a_start_that_succeeds_stops_nothing() -> None:
    kafka = Component("kafka")
    with stack.undo_on_failure([kafka]):
        kafka.running = True
    assert kafka.running and not kafka.stops


def test_down_all_stops_every_profile_this_checkout_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path
    for folder in (".run/test", ".run/secure"):
        (root / folder).mkdir(parents=True)
    stopped: list[str] = []
    monkeypatch.setattr(stack, "down", lambda profile: stopped.append(profile.name) or 0)
    assert stack.down_all(root) == 0
    assert stopped == ["dev", "test", "secure"]
    assert stack.parse_args(["down", "--all"]).all
    assert stack.parse_args(["status", "--all"]).all
    assert stack.parse_args(["--profile", "test", "status", "--running"]).running


def test_the_postgres_cluster_out_of_reach_gets_a_folder_per_state() -> None:
    base = Path("/var/lib/postgresql")
    a = stack.outside_pg_home(Path("/root/a/.run/test"), base)
    b = stack.outside_pg_home(Path("/root/b/.run/test"), base)
    assert a != b and a.parent == b.parent == base / "market-sentinel"
    assert a.name.startswith("test-")
    assert a == stack.outside_pg_home(Path("/root/a/.run/test"), base)
