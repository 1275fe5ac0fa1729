"""The rule every registry view keeps in memory, and the groups the views consume in."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.app import Service
from services.runtime.projection import keep_newer, replica_name
from services.runtime.settings import ServiceSettings


@dataclass(frozen=True)
class Snap:
    version: int
    name: str = ""


def test_a_newer_snapshot_replaces_the_held_one_and_an_older_or_equal_one_does_not() -> None:
    view: dict[str, Snap] = {}
    assert keep_newer(view, "m1", Snap(2, "b"))
    assert not keep_newer(view, "m1", Snap(1, "a"))
    assert not keep_newer(view, "m1", Snap(2, "replayed"))
    assert view["m1"] == Snap(2, "b")
    assert keep_newer(view, "m1", Snap(3, "c"))
    assert view["m1"] == Snap(3, "c")


def test_a_replica_is_named_by_its_setting_or_else_by_host_and_port() -> None:
    assert replica_name("pod-7", 8101) == "pod-7"
    host = replica_name("", 8101)
    assert host.endswith("-8101") and host != replica_name("", 8111)


def _views(**extra: object) -> list[tuple[str, str]]:
    service = Service(ServiceSettings(consumer_group="g", **extra))  # type: ignore[arg-type]

    async def handler(_: object) -> None:
        return None

    service.project("registry.markets.v1", handler, view="markets")
    service.subscribe("complaints.events.v1", handler)
    return [(t, g) for t, g, _ in service.messaging._subscribers]


def test_views_consume_in_the_replicas_own_groups_and_other_topics_in_the_shared_one() -> None:
    first, second = _views(replica_id="a"), _views(replica_id="b")
    assert first == [("registry.markets.v1", "g-markets-a"), ("complaints.events.v1", "g")]
    assert second == [("registry.markets.v1", "g-markets-b"), ("complaints.events.v1", "g")]


def test_a_service_with_views_is_ready_only_once_they_caught_up() -> None:
    service = Service(ServiceSettings(consumer_group="g", replica_id="a"))

    async def handler(_: object) -> None:
        return None

    assert "projections" not in service.ready_checks
    service.project("registry.markets.v1", handler, view="markets")
    assert service.ready_checks["projections"]() is False
    service.projections.ready.set()
    assert service.ready_checks["projections"]() is True
