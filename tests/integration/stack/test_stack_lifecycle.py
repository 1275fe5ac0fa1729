"""The local stack starts anywhere and cleans up after itself (issue 18, point 5).

Each test runs a stack of its own: a profile on free ports in a folder of its own, Kafka and
PostgreSQL for real (no identity provider: these tests are about the processes), never the
session's test stack.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import stack
from tests.support.process import low_free_port


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def distinct_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(low_free_port())
    return sorted(ports)


def processes_of(folder: Path) -> list[str]:
    """Command lines of live processes that name the folder: what this stack launched."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and stack.alive(int(entry.name)):
            line = " ".join(stack.cmdline(int(entry.name)))
            if str(folder) in line:
                found.append(f"{entry.name}: {line[:200]}")
    return found


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A checkout's folder inside a mode-0700 one, like a clone in root's home."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o700)
    yield home / "clone"
    # Whatever the test left: no process, and no cluster out of the checkout.
    for state in (home / "clone" / ".run").glob("*"):
        link = state / "postgres"
        if link.is_symlink():
            shutil.rmtree(os.readlink(link), ignore_errors=True)


def private_profile(checkout: Path) -> stack.Profile:
    kafka, controller, postgres = distinct_ports(3)
    return stack.Profile(
        "lifecycle", checkout / ".run" / "lifecycle", kafka, controller, postgres, None
    )


def assert_nothing_left(profile: stack.Profile) -> None:
    for port in (profile.kafka_port, profile.controller_port, profile.postgres_port):
        assert not listening(port), f"127.0.0.1:{port} still answers"
    assert stack.Kafka(profile).pid() is None and stack.Postgres(profile).pid() is None
    assert processes_of(profile.state) == []


def test_postgres_starts_in_a_checkout_its_account_cannot_reach(checkout: Path) -> None:
    """As root PostgreSQL runs as the postgres account, which cannot get into a mode-0700
    home: the cluster lives in that account's home, linked from the state folder."""
    profile = private_profile(checkout)
    postgres = stack.Postgres(profile)
    assert stat.S_IMODE(checkout.parent.stat().st_mode) == 0o700
    try:
        assert postgres.start()
        assert asyncio.run(stack.postgres_answers(profile.database_url))
        if os.geteuid() == 0:
            assert postgres.outside and postgres.link.is_symlink()
            assert not str(postgres.data).startswith(str(checkout))
            assert (profile.logs / "postgres.log").read_text()  # linked beside the others
        else:
            assert not postgres.outside  # its own account runs it: nothing to move
        assert postgres.status().running
    finally:
        postgres.stop()
    assert not listening(profile.postgres_port)
    if postgres.outside:
        # A new clone at the same path (or `.run/` deleted): the state folder starts over, as
        # it would in the checkout, instead of meeting the old cluster.
        old = postgres.home
        (old / "left-behind").touch()
        postgres.link.unlink()
        try:
            assert postgres.start()
            assert postgres.home == old and not (old / "left-behind").exists()
            assert asyncio.run(stack.postgres_answers(profile.database_url))
        finally:
            postgres.stop()


def test_a_failed_postgres_start_stops_the_kafka_it_started(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: Kafka came up, then PostgreSQL failed; Kafka must not be left holding
    its ports. The `initdb` here waits until the broker answers, then fails."""
    profile = private_profile(checkout)
    fake = tmp_path / "pg-bin"
    fake.mkdir()
    initdb = fake / "initdb"
    initdb.write_text(
        f"#!{sys.executable}\n"
        "import socket, sys, time\n"
        "end = time.monotonic() + 90\n"
        "while time.monotonic() < end:\n"
        "    with socket.socket() as s:\n"
        f"        if s.connect_ex(('127.0.0.1', {profile.kafka_port})) == 0:\n"
        "            break\n"
        "    time.sleep(0.2)\n"
        "print('initdb: could not access directory: Permission denied (injected)')\n"
        "sys.exit(1)\n"
    )
    initdb.chmod(0o755)
    monkeypatch.setattr(stack, "PG_BIN", fake)
    with pytest.raises(stack.StackError, match="initdb failed"):
        stack.up(profile, as_json=False)
    assert "Kafka" in (profile.logs / "kafka.log").read_text()  # it did run
    assert_nothing_left(profile)


def test_a_start_failing_late_stops_kafka_and_postgres(
    checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both came up and answered; the next step failed: neither is left running."""
    profile = private_profile(checkout)
    seen: list[bool] = []

    async def provisioning_fails(bootstrap: str, *_args: object) -> stack.TopicPlan:
        seen.append(listening(profile.kafka_port) and listening(profile.postgres_port))
        raise stack.StackError("topics: provisioning failed (injected)")

    monkeypatch.setattr(stack, "provision_topics", provisioning_fails)
    with pytest.raises(stack.StackError, match="injected"):
        stack.up(profile, as_json=False)
    assert seen == [True]
    assert_nothing_left(profile)
