"""信用修复: a merchant whose record is right, and who has put it right, asks that one entry stop
counting before it fades (services/credit/domain/objections.py, docs/objections.md). The rules
on their own, then the use cases on fakes: filed, decided by another clerk, read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.objections import OBJECTION_DECIDED, OBJECTION_FILED, ObjectionDecided
from services.credit import events, handlers
from services.credit.domain import adjust, facts_from_objection, score
from services.credit.domain.ledger import Adjustment
from services.credit.domain.objections import (
    REPAIR_RETRY_WAIT,
    REPAIR_WAITS,
    Objection,
    decide,
    file,
    refusal,
    repair_opens_at,
    repair_refusal,
    repair_retry_from,
    repairable_from,
    reversed_keys,
)
from services.credit.policy_files import default_book
from services.credit.store import OrderSeen
from services.runtime.failures import Conflict, InvalidInputs
from services.runtime.outbox import outgoing
from tests.support import credit_events as samples
from tests.support.credit_ledger import entry
from tests.unit.credit.test_objections import (
    CLERK,
    DEADLINE,
    DECIDER,
    META,
    ZHANG,
    ZHOU,
    filed,
)
from tests.unit.credit.test_service import T0, World, inspection, world_with

DAY = timedelta(days=1)
MINOR = entry("inspection.finding.minor", T0, event_id="ev_minor")  # -5
MAJOR = entry("inspection.finding.major", T0, event_id="ev_major")  # -15
CRITICAL = entry("inspection.finding.critical", T0, event_id="ev_critical")  # -30


def asked(
    at: datetime,
    target: Adjustment = MAJOR,
    *,
    ledger: tuple[Adjustment, ...] = (),
    earlier: tuple[Objection, ...] = (),
    orders: int = 0,
) -> Objection:
    refused = repair_refusal(target, (target, *ledger), reversed_keys(earlier), orders, at)
    return file(
        target,
        earlier,
        " 已更换冷柜并培训员工，附整改照片 ",
        ZHANG,
        at,
        "obj_r",
        DEADLINE,
        ground="repaired",
        commitment=True,
        repair_refused=refused,
    )


def field_of(refused: pytest.ExceptionInfo[Any]) -> str:
    return str(refused.value.errors[0]["field"])


# -- the rules -----------------------------------------------------------------------------------
def test_the_wait_grows_with_what_the_entry_cost_and_a_serious_one_is_never_repaired_early() -> (
    None
):
    assert [most for most, _ in REPAIR_WAITS] == [5, 15]
    assert repairable_from(MINOR) == T0 + 90 * DAY
    assert repairable_from(MAJOR) == T0 + 180 * DAY
    assert repairable_from(CRITICAL) is None
    assert repairable_from(entry("inspection.pass", T0)) is None  # nothing to repair
    with pytest.raises(Conflict, match="may be repaired from") as early:
        asked(T0 + 179 * DAY)
    assert field_of(early) == "event_id"
    repair = asked(T0 + 180 * DAY)
    assert (repair.ground, repair.commitment, repair.state) == ("repaired", True, "open")
    assert repair.statement == "已更换冷柜并培训员工，附整改照片"
    with pytest.raises(Conflict, match="more than 15") as serious:
        asked(T0 + 300 * DAY, CRITICAL)
    assert field_of(serious) == "kind"


def test_a_later_entry_that_cost_credit_or_an_open_order_stops_a_repair() -> None:
    at = T0 + 200 * DAY
    again = entry("complaint.substantiated", T0 + 30 * DAY, event_id="ev_again")
    with pytest.raises(Conflict, match=r"ev_again .* offended again"):
        asked(at, ledger=(again,))
    # What cost nothing, what came before, and what a correction reversed, do not.
    before = entry("inspection.finding.minor", T0 - DAY, event_id="ev_before")
    passed = entry("inspection.pass", T0 + 40 * DAY, event_id="ev_pass")
    assert asked(at, ledger=(before, passed)).state == "open"
    corrected = replace(
        filed(again, T0 + 31 * DAY), objection_id="obj_c", state="corrected", decided_by=ZHOU
    )
    assert reversed_keys([corrected]) == {again.key}
    refused = repair_refusal(MAJOR, (MAJOR, again), reversed_keys([corrected]), 0, at)
    assert refused is None
    with pytest.raises(Conflict, match="2 rectification order"):
        asked(at, orders=2)


def test_a_repair_opens_at_the_end_of_its_wait_only_when_the_wait_is_all_that_refuses_it() -> None:
    early = T0 + DAY

    def opens(target: Adjustment = MAJOR, *, at: datetime = early, **kw: Any) -> Any:
        ledger = (target, *kw.pop("ledger", ()))
        return repair_opens_at(target, (), ledger, set(), at)

    assert opens() == T0 + 180 * DAY
    assert opens(at=T0 + 180 * DAY) is None  # open now: nothing to wait for
    assert opens(CRITICAL) is None  # never
    again = entry("complaint.substantiated", T0 + 30 * DAY, event_id="ev_again")
    assert opens(ledger=(again,), at=T0 + 40 * DAY) is None  # offended again: waiting is no use
    repair = asked(T0 + 180 * DAY)
    assert repair_opens_at(MAJOR, [repair], (MAJOR,), set(), early) is None  # asked already


def test_a_repair_needs_the_commitment_and_names_every_problem_at_once() -> None:
    with pytest.raises(InvalidInputs) as missing:
        file(MAJOR, (), " ", ZHANG, T0 + 200 * DAY, "obj_r", DEADLINE, ground="repaired")
    assert [e["field"] for e in missing.value.errors] == ["statement", "commitment"]
    with pytest.raises(InvalidInputs) as unknown:
        file(MAJOR, (), "x", ZHANG, T0 + 200 * DAY, "obj_r", DEADLINE, ground="appeal")
    assert unknown.value.errors == [{"field": "ground", "reason": "must be one of error, repaired"}]


def test_an_error_upheld_may_be_repaired_an_error_goes_once_and_a_reversal_ends_both() -> None:
    at = T0 + 200 * DAY
    error = filed(MAJOR, T0 + DAY)
    assert refusal(MAJOR, [error], at, "repaired") is not None  # one open at a time
    upheld = decide(error, "upheld", "记录属实", ZHOU, T0 + 5 * DAY)
    assert refusal(MAJOR, [upheld], at, "error") is not None  # an error is disputed once
    repair = asked(at, earlier=(upheld,))
    assert refusal(MAJOR, [upheld, repair], at, "repaired") is not None
    granted = decide(repair, "repaired", "整改到位", ZHOU, at)
    later = at + 60 * DAY
    assert refusal(MAJOR, [upheld, granted], later, "repaired") is not None  # repaired already
    assert refusal(MAJOR, [upheld, granted], later, "error") is not None
    corrected = decide(filed(MAJOR, T0 + DAY), "corrected", "记录有误", ZHOU, T0 + 5 * DAY)
    assert refusal(MAJOR, [corrected], at, "repaired") is not None  # nothing left to repair


def test_a_repair_refused_may_be_asked_for_again_once_its_wait_has_passed() -> None:
    at = T0 + 200 * DAY
    refused = decide(asked(at), "upheld", "整改不到位", ZHOU, at + DAY)
    assert repair_retry_from([refused]) == at + DAY + REPAIR_RETRY_WAIT
    with pytest.raises(Conflict, match=r"refused a repair on .*: it may be asked again") as soon:
        asked(at + 30 * DAY, earlier=(refused,))
    assert field_of(soon) == "event_id"
    assert "30 days after" in str(soon.value)
    # Every condition is checked anew: a later offence still refuses it.
    again = entry("complaint.substantiated", at + 10 * DAY, event_id="ev_again")
    with pytest.raises(Conflict, match="offended again"):
        asked(at + 31 * DAY, ledger=(again,), earlier=(refused,))
    second = asked(at + 31 * DAY, earlier=(refused,))
    assert second.state == "open"
    # An error may still be disputed after a repair refused; an error upheld stays the answer.
    assert refusal(MAJOR, [refused], at + 2 * DAY, "error") is None
    # The latest refusal counts: refused twice, the wait runs from the second.
    twice = decide(second, "upheld", "承诺书不符合要求", ZHOU, at + 40 * DAY)
    assert repair_retry_from([refused, twice]) == at + 70 * DAY
    assert refusal(MAJOR, [refused, twice], at + 69 * DAY, "repaired") is not None
    assert refusal(MAJOR, [refused, twice], at + 70 * DAY, "repaired") is None
    # A withdrawn request is no refusal.
    withdrawn = replace(refused, state="withdrawn")
    assert repair_retry_from([withdrawn]) is None


def test_a_repair_refused_says_when_it_may_be_asked_for_again() -> None:
    at = T0 + 200 * DAY
    refused = decide(asked(at), "upheld", "整改不到位", ZHOU, at)
    assert repair_opens_at(MAJOR, [refused], (MAJOR,), set(), at + DAY) == at + 30 * DAY
    assert repair_opens_at(MAJOR, [refused], (MAJOR,), set(), at + 30 * DAY) is None  # open now
    # A later offence: waiting is no use.
    again = entry("complaint.substantiated", at + 10 * DAY, event_id="ev_again")
    assert repair_opens_at(MAJOR, [refused], (MAJOR, again), set(), at + 11 * DAY) is None


def test_a_repair_is_decided_repaired_or_upheld_and_not_granted_once_the_merchant_offended() -> (
    None
):
    repair = asked(T0 + 200 * DAY)
    with pytest.raises(InvalidInputs) as wrong:
        decide(repair, "corrected", "整改到位", ZHOU, T0 + 201 * DAY)
    assert wrong.value.errors == [
        {"field": "decision", "reason": "must be one of repaired, upheld"}
    ]
    offended = Conflict("entry ev_again cost credit since", field="event_id")
    with pytest.raises(Conflict, match="ev_again"):
        decide(repair, "repaired", "整改到位", ZHOU, T0 + 201 * DAY, offended)
    # Refusing it is still open to the clerk, whatever happened since.
    assert decide(repair, "upheld", "再次违规", ZHOU, T0 + 201 * DAY, offended).state == "upheld"
    granted = decide(repair, "repaired", "整改到位", ZHOU, T0 + 201 * DAY)
    assert granted.state == "repaired"


def test_a_repair_granted_reverses_the_entry_until_it_would_have_faded() -> None:
    granted = decide(asked(T0 + 200 * DAY), "repaired", "整改到位", ZHOU, T0 + 201 * DAY)
    _, event, key = events.objection_decided(granted)
    data: ObjectionDecided = event.data
    assert (key, data.decision, data.ground) == ("mer_1", "repaired", "repaired")
    [fact] = facts_from_objection(OBJECTION_DECIDED, data, META)
    assert (fact.kind, fact.delta, fact.fades_at) == ("objection.repaired", 15, MAJOR.fades_at)
    repaired = adjust(fact, default_book())
    assert repaired is not None and "repairs inspection.finding.major" in repaired.reason
    policy = default_book().in_force(T0)
    assert score([MAJOR], T0 + 202 * DAY, policy) == 85
    assert score([MAJOR, repaired], T0 + 202 * DAY, policy) == 100


# -- the use cases -------------------------------------------------------------------------------
async def graded_major() -> tuple[World, dict[str, Any]]:
    world = world_with()
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    return world, line


async def ask(world: World, line: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return await world.credit.file_objection(
        CLERK,
        "mer_1",
        line["event_id"],
        line["kind"],
        "已整改并提交信用承诺书",
        ground="repaired",
        **({"commitment": True} | kw),
    )


async def test_a_repair_granted_gives_the_credit_back_and_the_public_is_told_of_no_dispute() -> (
    None
):
    world, line = await graded_major()
    occurred = datetime.fromisoformat(line["occurred_at"])
    assert line["disputable"] and not line["repairable"]
    assert datetime.fromisoformat(line["repairable_from"]) == occurred + 180 * DAY
    assert line["repair_opens_at"] == line["repairable_from"]
    with pytest.raises(Conflict):
        await ask(world, line)
    world.clock.at = occurred + 180 * DAY
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    assert line["repairable"] and line["repair_opens_at"] is None
    repair = await ask(world, line)
    assert (repair["ground"], repair["commitment"]) == ("repaired", True)
    filed_event = world.uow.published[-1][1]
    assert filed_event.type == OBJECTION_FILED and filed_event.data.commitment
    # A repair asked for says nothing is wrong with the record: no dispute on the public page.
    assert (await world.credit.public("mer_1"))["objections_open"] == 0
    [line] = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert not line["repairable"] and not line["disputable"]

    await world.credit.decide_objection(DECIDER, repair["objection_id"], "repaired", "整改到位")
    assert (await world.stores.ledger.scores())["mer_1"] == (85, "B")  # from the topic only
    await world.send(handlers.objections_router(world.credit), world.uow.published[-1])
    assert (await world.stores.ledger.scores())["mer_1"] == (100, "A")
    assert world.uow.published[-1][1].data.adjustment.kind == "objection.repaired"
    lines = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert [x["kind"] for x in lines] == ["inspection.finding.major", "objection.repaired"]
    assert not any(x["repairable"] or x["disputable"] for x in lines)


async def test_an_open_order_refuses_the_filing_and_a_new_offence_the_grant() -> None:
    world, line = await graded_major()
    occurred = datetime.fromisoformat(line["occurred_at"])
    world.clock.at = occurred + 200 * DAY
    order = OrderSeen("rec_1", "mer_1", "mkt_1", "open", occurred + 210 * DAY, 1)
    await world.stores.context.rectification(order)
    before = world.types()
    with pytest.raises(Conflict, match="1 rectification order"):
        await ask(world, line)
    with pytest.raises(InvalidInputs) as uncommitted:
        await ask(world, line, commitment=False)
    assert uncommitted.value.errors[0]["field"] == "commitment"
    assert world.types() == before and await world.credit.objections(CLERK) == []

    await world.stores.context.rectification(replace(order, state="verified", version=2))
    repair = await ask(world, line)
    again = samples.task_completed("minor", triggers=[]).model_copy(
        update={"task_id": "tsk_again", "completed_at": world.clock.at - DAY}
    )
    completed = outgoing("inspection", "inspection.task.completed", "tsk_again", again)
    await world.send(handlers.inspection_router(world.credit), completed)
    before = world.types()
    with pytest.raises(Conflict, match="offended again"):
        await world.credit.decide_objection(DECIDER, repair["objection_id"], "repaired", "同意")
    assert world.types() == before
    [held] = await world.credit.objections(CLERK)
    assert held["state"] == "open"
    refused = await world.credit.decide_objection(
        DECIDER, repair["objection_id"], "upheld", "修复申请期间再次违规"
    )
    assert refused["state"] == "upheld" and world.types()[-1] == OBJECTION_DECIDED


async def test_a_fresh_finding_with_its_order_open_still_says_when_a_repair_opens() -> None:
    """An order is the merchant's to put right before the wait ends: the page still gives the
    date. A later offence is not, and takes the date away."""
    world, line = await graded_major()
    occurred = datetime.fromisoformat(line["occurred_at"])
    order = OrderSeen("rec_1", "mer_1", "mkt_1", "open", occurred + 10 * DAY, 1)
    await world.stores.context.rectification(order)
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    assert datetime.fromisoformat(line["repair_opens_at"]) == occurred + 180 * DAY
    world.clock.at = occurred + 20 * DAY
    again = samples.task_completed("minor", triggers=[]).model_copy(
        update={"task_id": "tsk_again", "completed_at": world.clock.at - DAY}
    )
    completed = outgoing("inspection", "inspection.task.completed", "tsk_again", again)
    await world.send(handlers.inspection_router(world.credit), completed)
    lines = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    [major] = [x for x in lines if x["kind"] == "inspection.finding.major"]
    assert major["repair_opens_at"] is None


async def test_a_repair_refused_is_asked_for_again_a_month_later_and_granted() -> None:
    world, line = await graded_major()
    occurred = datetime.fromisoformat(line["occurred_at"])
    world.clock.at = occurred + 180 * DAY
    first = await ask(world, line)
    world.clock.at += DAY
    await world.credit.decide_objection(DECIDER, first["objection_id"], "upheld", "整改不到位")
    refused_at = world.clock.at
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    assert not line["repairable"] and line["objection"]["state"] == "upheld"
    assert datetime.fromisoformat(line["repair_opens_at"]) == refused_at + 30 * DAY
    world.clock.at = refused_at + 29 * DAY
    before = world.types()
    with pytest.raises(Conflict, match="may be asked again 30 days after") as soon:
        await ask(world, line)
    assert field_of(soon) == "event_id" and world.types() == before

    world.clock.at = refused_at + 30 * DAY
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    assert line["repairable"] and line["repair_opens_at"] is None
    second = await ask(world, line)
    assert second["objection_id"] != first["objection_id"]
    [line] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    assert line["objection"]["objection_id"] == second["objection_id"]  # the newest shows
    assert not line["repairable"]  # one open at a time
    await world.credit.decide_objection(DECIDER, second["objection_id"], "repaired", "整改到位")
    await world.send(handlers.objections_router(world.credit), world.uow.published[-1])
    assert (await world.stores.ledger.scores())["mer_1"] == (100, "A")
    states = [o["state"] for o in await world.credit.objections(CLERK)]
    assert states == ["upheld", "repaired"]
