"""What followed from an inspection's finding found wrong is undone with it (信用异议 corrected):
the rule on its own, then the service on the fakes — the same ledger whether the correction
comes after what followed (live) or before it (a rebuild's interleaving)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from contracts.registry import MerchantUpserted
from services.credit import handlers
from services.credit.domain.assessment import Period
from services.credit.domain.follow_ons import (
    FOLLOW_ON_KIND,
    CorrectedFinding,
    follows,
    reversal,
    reversals,
    reversed_keys,
)
from services.credit.domain.ledger import Adjustment
from services.runtime.auth import Principal
from services.runtime.failures import Conflict
from services.runtime.outbox import outgoing
from tests.support import credit_events as samples
from tests.unit.credit.test_service import World, world_with

D = timedelta(days=1)
FOUND = samples.T0 + D  # the inspection's completed_at
CHAIN = "risk_1"
OVERDUE = Adjustment(
    merchant_id="mer_1", market_id="mkt_1", district="zhifu", kind="rectification.overdue",
    delta=-10, reason="rectification overdue", event_id="ev_late",
    event_type="inspection.rectification.overdue",
    topic="inspection.events.v1", partition=0, offset=9, correlation_id=CHAIN,
    policy_version="2026-01", occurred_at=samples.T0 + 3 * D, fades_at=samples.T0 + 368 * D,
)  # fmt: skip
CORRECTED = CorrectedFinding("mer_1", CHAIN, FOUND, samples.T0 + 10 * D, "obj_1")


# -- the rule ------------------------------------------------------------------------------------


def test_a_missed_deadline_of_the_findings_order_is_reversed_from_the_decision() -> None:
    fact = reversal(CORRECTED, OVERDUE)
    assert fact is not None
    assert (fact.kind, fact.delta, fact.fades_at) == (FOLLOW_ON_KIND, 10, OVERDUE.fades_at)
    assert (fact.event_id, fact.occurred_at) == ("ev_late", CORRECTED.decided_at)
    assert "obj_1" in (fact.detail or "") and "rectification.overdue" in (fact.detail or "")


def test_one_that_came_after_the_decision_is_reversed_when_it_came() -> None:
    later = replace(OVERDUE, occurred_at=CORRECTED.decided_at + D)
    fact = reversal(CORRECTED, later)
    assert fact is not None and fact.occurred_at == later.occurred_at


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "inspection.finding.minor"},  # not what an order makes happen
        {"kind": "complaint.substantiated"},
        {"correlation_id": "cmp_9"},  # another story
        {"merchant_id": "mer_2"},
        {"occurred_at": FOUND - timedelta(seconds=1)},  # before the inspection
    ],
    ids=["finding", "complaint", "other-chain", "other-merchant", "before"],
)
def test_what_did_not_follow_from_the_finding_stays(change: dict[str, Any]) -> None:
    entry = replace(OVERDUE, **change)
    assert not follows(CORRECTED, entry) and reversal(CORRECTED, entry) is None


def test_an_entry_faded_by_the_decision_has_nothing_left_to_reverse() -> None:
    faded = replace(OVERDUE, fades_at=CORRECTED.decided_at)
    assert follows(CORRECTED, faded) and reversal(CORRECTED, faded) is None


def test_two_corrections_of_a_chain_reverse_an_entry_once() -> None:
    again = replace(CORRECTED, found_at=FOUND - D, objection_id="obj_0")
    assert [f.event_id for f in reversals([CORRECTED, again], [OVERDUE])] == ["ev_late"]


def test_what_was_undone_before_a_moment_did_not_happen_for_the_lists() -> None:
    [fact] = reversals([CORRECTED], [OVERDUE])
    undone = replace(OVERDUE, kind=FOLLOW_ON_KIND, delta=10, occurred_at=fact.occurred_at)
    assert reversed_keys([OVERDUE, undone], fact.occurred_at) == frozenset()
    assert reversed_keys([OVERDUE, undone], fact.occurred_at + D) == {OVERDUE.key}
    assert reversed_keys([OVERDUE, undone]) == {OVERDUE.key}


# -- the service, on the fakes -------------------------------------------------------------------

CLERK = Principal(subject="c-zhang", role="clerk", district="zhifu", name="张登记")
DECIDER = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周登记")


def finding() -> Any:
    data = samples.task_completed("critical", triggers=[])
    return outgoing("inspection", "inspection.task.completed", "tsk_1", data, correlation_id=CHAIN)


def overdue() -> Any:
    data = samples.overdue()
    return outgoing(
        "inspection", "inspection.rectification.overdue", "rec_1", data, correlation_id=CHAIN
    )


def suspended() -> Any:
    """The registry's snapshot the order's suspension made, in the order's chain."""
    data = samples.merchant("suspended", updated_at=FOUND + timedelta(minutes=1))
    data = data.model_copy(update={"version": 3})
    assert isinstance(data, MerchantUpserted)
    return outgoing("registry", "registry.merchant.upserted", "mer_1", data, correlation_id=CHAIN)


def registered() -> Any:
    data = samples.merchant("active", updated_at=samples.T0)
    return outgoing("registry", "registry.merchant.upserted", "mer_1", data)


def ledger_of(world: World) -> set[tuple[Any, ...]]:
    return {
        (a.key, a.delta, a.occurred_at, a.fades_at)
        for a in world.stores.ledger.adjustments.values()
    }


async def entry_of(world: World, kind: str) -> dict[str, Any]:
    """The merchant's one entry of `kind`, as the explanation shows it."""
    [entry] = [
        e for e in (await world.credit.explain(CLERK, "mer_1"))["ledger"] if e["kind"] == kind
    ]
    return entry


async def decided(world: World, decision: str) -> Any:
    """The critical finding disputed and decided through the API; the decision as it travels."""
    entry = await entry_of(world, "inspection.finding.critical")
    filed = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "当天所见并非本摊位"
    )
    await world.credit.decide_objection(DECIDER, filed["objection_id"], decision, "核实")
    return world.uow.published[-1]


async def test_the_same_ledger_whether_the_correction_comes_after_or_before_what_followed() -> None:
    came = {"registered": registered(), "finding": finding(), "suspended": suspended()}
    came["overdue"] = overdue()
    live = world_with()
    live.clock.at = samples.T0 + 10 * D
    inspections, merchants = handlers.inspection_router(live.credit), live.merchants()
    await live.send(merchants, came["registered"])
    start = (await live.stores.ledger.scores())["mer_1"]
    await live.send(inspections, came["finding"])
    await live.send(merchants, came["suspended"])
    await live.send(inspections, came["overdue"])
    decision = await decided(live, "corrected")
    await live.send(handlers.objections_router(live.credit), decision)

    undone = {
        a.event_id: a.delta
        for a in live.stores.ledger.adjustments.values()
        if a.kind == FOLLOW_ON_KIND
    }
    kinds = {
        a.event_id: a.kind
        for a in live.stores.ledger.adjustments.values()
        if a.kind != FOLLOW_ON_KIND
    }
    assert {kinds[e] for e in undone} == {"rectification.overdue", "merchant.suspended"}
    assert set(undone.values()) == {10}
    assert (await live.stores.ledger.scores())["mer_1"] == start
    assert live.types()[-1] == "credit.score.changed"

    # A rebuild reads the decision before what followed: the same entries, the same score.
    rebuilt = world_with(publish=False)
    rebuilt.clock.at = live.clock.at
    inspections, merchants = handlers.inspection_router(rebuilt.credit), rebuilt.merchants()
    for router, item in [
        (merchants, came["registered"]),
        (inspections, came["finding"]),
        (handlers.objections_router(rebuilt.credit), decision),
        (merchants, came["suspended"]),
        (inspections, came["overdue"]),
    ]:
        await rebuilt.send(router, item)
    assert ledger_of(rebuilt) == ledger_of(live)
    assert await rebuilt.stores.ledger.scores() == await live.stores.ledger.scores()


async def missed_then_decided(decision: str) -> World:
    """A critical finding, a missed deadline of its order, then the finding's objection decided
    `decision` and read back."""
    world = world_with()
    world.clock.at = samples.T0 + 10 * D
    inspections = handlers.inspection_router(world.credit)
    await world.send(inspections, finding())
    await world.send(inspections, overdue())
    await world.send(handlers.objections_router(world.credit), await decided(world, decision))
    return world


async def test_an_entry_undone_with_its_finding_is_not_disputed_again() -> None:
    world = await missed_then_decided("corrected")
    late = await entry_of(world, "rectification.overdue")
    assert not late["disputable"] and not late["repairable"]
    assert late["undone_with_finding"] and late["repair_opens_at"] is None
    finding = await entry_of(world, "inspection.finding.critical")
    assert not finding["undone_with_finding"]
    with pytest.raises(Conflict, match="reversed with the finding") as refused:
        await world.credit.file_objection(
            CLERK, "mer_1", late["event_id"], late["kind"], "逾期有误"
        )
    assert [e["field"] for e in refused.value.errors] == ["event_id"]


async def test_the_markets_rectification_rate_leaves_out_the_deadline_it_missed() -> None:
    """The order had nothing to rectify: its missed deadline is no rectification late; the
    inspection counts as passed (it found nothing after all)."""
    period = Period(samples.T0, samples.T0 + 20 * D)

    async def market(world: World) -> Any:
        [assessed] = [a for a in (await world.credit.assess(period))[0] if a.market_id == "mkt_1"]
        return assessed

    upheld = await missed_then_decided("upheld")
    upheld.clock.at = period.end
    stands = await market(upheld)
    assert (stands.rectification_on_time_rate, stands.inspection_pass_rate) == (0.0, 0.0)
    corrected = await missed_then_decided("corrected")
    corrected.clock.at = period.end
    undone = await market(corrected)
    assert (undone.rectification_on_time_rate, undone.inspection_pass_rate) == (None, 1.0)


async def test_an_upheld_finding_leaves_what_followed_standing() -> None:
    world = await missed_then_decided("upheld")
    await world.send(handlers.inspection_router(world.credit), overdue())  # a new miss stands
    kinds = sorted(a.kind for a in world.stores.ledger.adjustments.values())
    assert FOLLOW_ON_KIND not in kinds and "rectification.overdue" in kinds
    assert world.stores.ledger.corrected == {}
