"""People in the registry: who registered a market, merchant or terminal and who changed it last
by hand, on the record and in the snapshot; the clock's and inspection's changes name nobody."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from contracts import generate, registry
from contracts.envelope import Envelope
from contracts.events import spec
from contracts.people import Actor
from services.registry import events
from services.registry.api import market_out, merchant_out, terminal_out
from services.registry.domain.model import Market, Merchant, TaskForce, Terminal
from services.runtime.outbox import outgoing
from tests.support.schema_subset import validate
from tests.unit.registry.conftest import market, merchant, terminal

NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
CLERK = Actor(subject="1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d", name="赵登记员")
OTHER = Actor(subject="6f5e4d3c-2b1a-4c0d-9e8f-7a6b5c4d3e2f", name="钱登记员")

PEOPLE = {"updated_at": NOW, "registered_actor": CLERK, "updated_actor": CLERK}
MARKET = market(**PEOPLE)
MERCHANT = merchant(name="老王鲜肉", licence_valid_until=date(2026, 12, 31), **PEOPLE)
TERMINAL = terminal(
    kind="cold_chain", merchant_id="mer_1", stall_no="A-01", profile="chilled", **PEOPLE
)


def snapshot(entity: Market | Merchant | Terminal, actor: Actor | None = None) -> Envelope[Any]:
    """The event the registry publishes for the entity's new state."""
    found: tuple[str, Any]
    if isinstance(entity, Market):
        found = (registry.MARKET_UPSERTED, events.market_upserted(entity, actor))
    elif isinstance(entity, Merchant):
        found = (registry.MERCHANT_UPSERTED, events.merchant_upserted(entity, actor))
    else:
        found = (registry.TERMINAL_UPSERTED, events.terminal_upserted(entity, actor))
    _, event, _ = outgoing(events.SERVICE, found[0], entity.id, found[1])
    return event


def wire(event: Envelope[Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.to_json())
    return parsed


def valid(event: Envelope[Any]) -> bool:
    return validate(wire(event), generate.envelope_schema(spec(event.type))) == []


def test_a_change_by_hand_names_its_person_and_keeps_the_registrant() -> None:
    staffed = MARKET.with_task_force(TaskForce("王队长", ("李",)), NOW, by=OTHER)
    renewed = MERCHANT.renew_licence(
        "JY13706020054321", date(2028, 1, 1), date(2026, 5, 1), NOW, by=OTHER
    )
    rotated = TERMINAL.rotate_key(NOW, by=OTHER)
    retired = TERMINAL.retire(NOW, by=OTHER)
    for changed in (staffed, renewed, rotated, retired):
        assert (changed.registered_actor, changed.updated_actor) == (CLERK, OTHER)


def test_the_clock_and_suspensions_leave_the_last_person_as_it_was() -> None:
    changed = MERCHANT.renew_licence(
        "JY13706020054321", date(2028, 1, 1), date(2026, 5, 1), NOW, by=OTHER
    )
    for later in (
        changed.expire_licence(NOW),
        changed.suspend(NOW),
        changed.suspend(NOW).lift_suspension(date(2026, 5, 2), NOW),
    ):
        assert (later.registered_actor, later.updated_actor) == (CLERK, OTHER)
    assert MARKET.with_renovation_status("planned", NOW).updated_actor == CLERK


def test_a_snapshot_carries_the_person_of_its_change_or_nobody() -> None:
    for event in (
        snapshot(MARKET, CLERK),
        snapshot(MERCHANT, CLERK),
        snapshot(TERMINAL, CLERK),
    ):
        assert wire(event)["data"]["actor"] == {"subject": CLERK.subject, "name": "赵登记员"}
        assert valid(event)
    suspended = snapshot(MERCHANT.suspend(NOW))
    assert wire(suspended)["data"]["actor"] is None and valid(suspended)


def test_a_snapshot_of_an_older_producer_without_an_actor_still_validates() -> None:
    old = wire(snapshot(MERCHANT, CLERK))
    del old["data"]["actor"]
    assert validate(old, generate.envelope_schema(spec("registry.merchant.upserted"))) == []


def test_the_api_shows_the_actors_as_objects() -> None:
    expected = {"subject": CLERK.subject, "name": "赵登记员"}
    for out in (market_out(MARKET), merchant_out(MERCHANT), terminal_out(TERMINAL, b"\x01")):
        assert out["registered_actor"] == out["updated_actor"] == expected
        json.dumps(out, default=str)  # plain JSON values, nothing left as a model
    unknown = merchant_out(Merchant(**{**MERCHANT.__dict__, "registered_actor": None}))
    assert unknown["registered_actor"] is None
