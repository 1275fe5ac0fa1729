"""The transfer use case (移送) on the in-memory stores: what it stores and announces, whose queue
the case lands in, and what a refusal leaves behind (nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.complaints import ComplaintTransferred
from services.complaints.domain import IllegalTransition, InvalidComplaint, LinkedDuplicate
from services.runtime.failures import Forbidden, NotFound
from tests.support.registry import market
from tests.unit.complaints.conftest import T0, World, count, submission
from tests.unit.complaints.test_service import ELSEWHERE, HANDLER

REASON = "投诉对象在莱山区的市场"


async def test_a_case_moves_to_the_other_district_with_its_event(world: World) -> None:
    case = await world.complaints.submit(submission(external_ref="12345-7"), via="http")
    world.clock.at = T0 + timedelta(days=1)
    moved = await world.complaints.transfer(
        HANDLER, case.complaint_id, market_id=" mkt_2 ", stall_no="B-01", reason=REASON
    )
    assert (moved.market_id, moved.district) == ("mkt_2", "laishan")
    assert (moved.merchant_id, moved.stall_no) == ("mer_3", "B-01")
    assert moved.acceptance_deadline > case.acceptance_deadline
    assert await world.complaints_store.get(case.complaint_id) == moved

    assert world.types() == ["complaints.complaint.received", "complaints.complaint.transferred"]
    _, event, key = world.uow.published[-1]
    assert key == event.subject == case.complaint_id
    data = event.data
    assert isinstance(data, ComplaintTransferred)
    assert (data.market_id, data.district, data.from_market_id, data.from_district) == (
        "mkt_2",
        "laishan",
        "mkt_1",
        "zhifu",
    )
    assert (data.reason, data.external_ref, data.transferred_at) == (
        REASON,
        "12345-7",
        T0 + timedelta(days=1),
    )
    assert data.actor is not None and data.actor.name == "周处理员"
    assert count(world.metrics.transferred, "short_weight", "true") == 1
    # Entering no state, a transfer is no transition: `received` is counted once.
    assert count(world.metrics.transitions, "short_weight", "web", "received") == 1


async def test_the_case_leaves_one_queue_for_the_other(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    await world.complaints.transfer(HANDLER, case.complaint_id, market_id="mkt_2", reason=REASON)
    listed = await world.complaints.cases(
        ELSEWHERE, state=None, market_id=None, nearing=False, overdue=False, limit=10
    )
    assert [c.complaint_id for c in listed] == [case.complaint_id]
    assert (
        await world.complaints.cases(
            HANDLER, state=None, market_id=None, nearing=False, overdue=False, limit=10
        )
        == []
    )
    with pytest.raises(Forbidden):
        await world.complaints.case(HANDLER, case.complaint_id)
    # The receiving district decides on it.
    accepted = await world.complaints.accept(ELSEWHERE, case.complaint_id)
    assert accepted.state == "accepted"


async def test_the_receiving_district_may_move_it_on(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    # Moved on by the receiving district's handler too: each move is recorded.
    await world.complaints.transfer(HANDLER, case.complaint_id, market_id="mkt_2", reason=REASON)
    back = await world.complaints.transfer(
        ELSEWHERE, case.complaint_id, market_id="mkt_1", reason="市场选错了"
    )
    assert (back.market_id, back.district, len(back.transfers)) == ("mkt_1", "zhifu", 2)
    assert count(world.metrics.transferred, "short_weight", "true") == 2


async def test_every_problem_is_named_and_nothing_is_stored_or_announced(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    before = list(world.uow.published)
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.transfer(
            HANDLER, case.complaint_id, market_id="mkt_nowhere", reason=" "
        )
    assert [e["field"] for e in refused.value.errors] == ["market_id", "reason"]
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.transfer(
            HANDLER, case.complaint_id, market_id="mkt_2", stall_no="Z-9", reason=REASON
        )
    assert refused.value.errors == [
        {"field": "stall_no", "reason": "no merchant is registered at stall 'Z-9'"}
    ]
    with pytest.raises(Forbidden):
        await world.complaints.transfer(
            ELSEWHERE, case.complaint_id, market_id="mkt_2", reason=REASON
        )
    with pytest.raises(NotFound):
        await world.complaints.transfer(HANDLER, "cmp_nobody", market_id="mkt_2", reason=REASON)
    await world.complaints.accept(HANDLER, case.complaint_id)
    accepted = await world.complaints_store.get(case.complaint_id)
    with pytest.raises(IllegalTransition, match="accepted"):
        await world.complaints.transfer(
            HANDLER, case.complaint_id, market_id="mkt_2", reason=REASON
        )
    assert await world.complaints_store.get(case.complaint_id) == accepted
    assert world.types() == [*(e.type for _, e, _ in before), "complaints.complaint.accepted"]
    assert count(world.metrics.transferred, "short_weight", "true") == 0


async def test_a_duplicate_stays_with_its_original(world: World) -> None:
    facts = "三号摊位的电子秤少称了二两猪肉"
    first = await world.complaints.submit(submission(facts=facts), via="http")
    world.clock.at = T0 + timedelta(hours=1)
    second = await world.complaints.submit(submission(facts=facts + "，要求退款"), via="http")
    assert second.duplicate_of == first.complaint_id
    for linked in (first, second):
        with pytest.raises(LinkedDuplicate):
            await world.complaints.transfer(
                HANDLER, linked.complaint_id, market_id="mkt_2", reason=REASON
            )
    assert world.types() == ["complaints.complaint.received"] * 2


async def test_check_transfer_names_the_registry_s_problems_and_stores_nothing(
    world: World,
) -> None:
    await world.complaints.check_transfer({"market_id": "mkt_2", "stall_no": "B-01"})
    await world.complaints.check_transfer({"reason": "x"})
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.check_transfer({"market_id": "mkt_2", "stall_no": "Z-9"})
    assert refused.value.field == "stall_no"
    assert world.uow.commits == 0 and world.uow.published == []


async def test_a_move_within_the_district_stays_in_its_queue(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    moved = await world.complaints.transfer(
        HANDLER, case.complaint_id, market_id="mkt_3", reason="是同区另一家市场"
    )
    assert (moved.market_id, moved.district) == ("mkt_3", "zhifu")
    assert (await world.complaints.case(HANDLER, case.complaint_id)) == moved
    assert count(world.metrics.transferred, "short_weight", "false") == 1


async def test_moved_to_a_merchant_with_the_same_complaint_it_is_linked_and_counted_once(
    world: World,
) -> None:
    """At the right market an earlier, similar complaint against the same merchant waits: the
    moved one is linked to it, as if it had been filed there (credit counts the first only)."""
    facts = "B-01摊位的电子秤少称了二两猪肉"
    there = await world.complaints.submit(
        submission(market_id="mkt_2", merchant_id="mer_3", facts=facts), via="http"
    )
    world.clock.at = T0 + timedelta(hours=1)
    here = await world.complaints.submit(
        submission(merchant_id=None, facts=facts + "，要求退款"), via="http"
    )
    assert here.duplicate_of is None
    moved = await world.complaints.transfer(
        HANDLER, here.complaint_id, market_id="mkt_2", stall_no="B-01", reason=REASON
    )
    assert (moved.duplicate_of, moved.merchant_id, moved.version) == (
        there.complaint_id,
        "mer_3",
        3,
    )
    root = await world.complaints_store.get(there.complaint_id)
    assert root is not None and root.duplicates == (here.complaint_id,)
    _, event, _ = world.uow.published[-1]
    assert event.type == "complaints.complaint.transferred"
    assert (event.data.duplicate_of, event.data.version) == (there.complaint_id, 3)
    assert count(world.metrics.duplicates, "short_weight") == 1


async def test_a_closed_market_takes_no_complaint_nor_a_transfer_and_nothing_is_stored(
    world: World,
) -> None:
    """停业: nobody is there to mediate with or to inspect."""
    world.complaints.directory.markets["mkt_3"] = market(
        "mkt_3", "zhifu", status="closed", closed_on=T0.date()
    )
    reason = f"market 'mkt_3' closed on {T0.date().isoformat()}"
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(submission(market_id="mkt_3", merchant_id=None), via="http")
    assert (refused.value.field, refused.value.reason) == ("market_id", reason)
    case = await world.complaints.submit(submission(), via="http")
    published = list(world.uow.published)
    with pytest.raises(InvalidComplaint) as moved:
        await world.complaints.transfer(
            HANDLER, case.complaint_id, market_id="mkt_3", reason=REASON
        )
    assert (moved.value.field, moved.value.reason) == ("market_id", reason)
    assert world.uow.published == published
    assert (await world.complaints.case(HANDLER, case.complaint_id)).market_id == "mkt_1"
