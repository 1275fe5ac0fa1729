"""The profiles `make test` runs tests on beside the rest: `chaos`, the broker and PostgreSQL
tests/faults/test_chaos.py restarts, and `beside`, the simulator's, robustness' and telemetry's
integration tests' own broker and PostgreSQL; each apart from every other profile's on every port
slot (docs/local-stack.md, "The chaos test's broker and database", "A broker apart for the tests
beside the rest")."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import stack
from deploy.local.slots import SLOT_COUNT


@pytest.mark.parametrize(
    ("name", "kafka", "postgres"), [("chaos", 24092, 24432), ("beside", 22092, 22432)]
)
def test_one_broker_and_a_database_of_its_own_with_no_identity_provider(
    name: str, kafka: int, postgres: int
) -> None:
    profile = stack.profiles(Path("/repo"))[name]
    assert profile.state == Path(f"/repo/.run/{name}")
    assert profile.nodes() == [1]
    assert profile.bootstrap == f"127.0.0.1:{kafka}"
    assert profile.database_url == f"postgresql://postgres@127.0.0.1:{postgres}/postgres"
    assert sorted(profile.ports()) == [kafka, kafka + 1, postgres]
    assert profile.keycloak_port is None and profile.prometheus_port is None
    assert profile.slot == 0 and (profile.replication_factor, profile.min_insync_replicas) == (1, 1)
    assert [type(c).__name__ for c in stack.components(profile)] == [
        "Prometheus",
        "Alertmanager",
        "Kafka",
        "Postgres",
    ]


def test_no_slot_of_it_shares_a_port_with_another_profile_on_any_slot(tmp_path: Path) -> None:
    slotted = [p for p in stack.profiles(tmp_path).values() if p.slot is not None]
    assert {"chaos", "beside"} <= {p.name for p in slotted}
    owner: dict[int, str] = {}
    for profile in slotted:
        for slot in range(SLOT_COUNT):
            for port in profile.at_slot(slot).ports():
                assert port not in owner, (port, owner.get(port), profile.name, slot)
                owner[port] = f"{profile.name}-{slot}"
    fixed = stack.profiles(tmp_path)["dev"].ports()
    assert not set(fixed) & set(owner)
    assert max(owner) < 30000  # below tests/support/process.py's free ports


@pytest.mark.parametrize("name", ["chaos", "beside"])
def test_make_down_and_make_status_know_it_once_it_was_started(tmp_path: Path, name: str) -> None:
    profile = stack.profiles(tmp_path)[name]
    assert profile not in stack.started_profiles(tmp_path)
    profile.state.mkdir(parents=True)
    assert profile in stack.started_profiles(tmp_path)
    assert stack.parse_args(["--profile", name, "up"]).profile == name
