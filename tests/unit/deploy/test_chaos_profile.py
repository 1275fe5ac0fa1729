"""The `chaos` profile: the broker and PostgreSQL tests/faults/test_chaos.py restarts, apart from
every other profile's on every port slot, so `make test` can run it beside the rest
(docs/local-stack.md, "The chaos test's broker and database")."""

from __future__ import annotations

from pathlib import Path

from deploy.local import stack
from deploy.local.slots import SLOT_COUNT


def test_one_broker_and_a_database_of_its_own_with_no_identity_provider() -> None:
    chaos = stack.profiles(Path("/repo"))["chaos"]
    assert chaos.state == Path("/repo/.run/chaos")
    assert chaos.nodes() == [1]
    assert chaos.bootstrap == "127.0.0.1:24092"
    assert chaos.database_url == "postgresql://postgres@127.0.0.1:24432/postgres"
    assert sorted(chaos.ports()) == [24092, 24093, 24432]
    assert chaos.keycloak_port is None and chaos.prometheus_port is None
    assert chaos.slot == 0 and (chaos.replication_factor, chaos.min_insync_replicas) == (1, 1)
    assert [type(c).__name__ for c in stack.components(chaos)] == [
        "Prometheus",
        "Alertmanager",
        "Kafka",
        "Postgres",
    ]


def test_no_slot_of_it_shares_a_port_with_another_profile_on_any_slot(tmp_path: Path) -> None:
    slotted = [p for p in stack.profiles(tmp_path).values() if p.slot is not None]
    assert "chaos" in {p.name for p in slotted}
    owner: dict[int, str] = {}
    for profile in slotted:
        for slot in range(SLOT_COUNT):
            for port in profile.at_slot(slot).ports():
                assert port not in owner, (port, owner.get(port), profile.name, slot)
                owner[port] = f"{profile.name}-{slot}"
    fixed = stack.profiles(tmp_path)["dev"].ports()
    assert not set(fixed) & set(owner)
    assert max(owner) < 30000  # below tests/support/process.py's free ports


def test_make_down_and_make_status_know_it_once_it_was_started(tmp_path: Path) -> None:
    chaos = stack.profiles(tmp_path)["chaos"]
    assert chaos not in stack.started_profiles(tmp_path)
    chaos.state.mkdir(parents=True)
    assert chaos in stack.started_profiles(tmp_path)
    assert stack.parse_args(["--profile", "chaos", "up"]).profile == "chaos"
