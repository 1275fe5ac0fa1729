"""信用异议: a merchant disputes one entry of its ledger, a clerk records it, another clerk of the
district decides it. The rules (services/credit/domain/objections.py), the correction they give
(facts_from_objection, adjust) and the use cases on the fakes, reached as api.py and the Kafka
router reach them: a correction moves the score only once read back from the topic, once; a
refusal stores and announces nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from contracts.objections import OBJECTION_DECIDED, OBJECTION_FILED, ObjectionDecided
from contracts.people import Actor
from services.credit import events, handlers
from services.credit.domain import EventMeta, adjust, facts_from_objection, score
from services.credit.domain.ledger import Adjustment
from services.credit.domain.objections import Objection, decide, file
from services.credit.policy_files import default_book
from services.runtime.auth import Principal
from services.runtime.failures import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidInputs,
    NotFound,
)
from tests.support.credit_ledger import entry
from tests.unit.credit.test_service import T0, World, inspection, world_with

CLERK = Principal(subject="c-zhang", role="clerk", district="zhifu", name="张登记")
DECIDER = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周登记")
RECORDING = Principal(subject="c-wang", role="clerk", district="zhifu")
ELSEWHERE = Principal(subject="c-wu", role="clerk", district="laishan")
ZHANG = Actor.of("c-zhang", "张登记")
ZHOU = Actor.of("c-zhou", "周登记")
META = EventMeta("ev_obj", "credit.objections.v1", 1, 7, "risk_1")
YEAR = timedelta(days=365)

# A major finding on mer_1 (-15 under the base policy), fading a year after it.
ENTRY = entry("inspection.finding.major", T0, event_id="ev_1")


def filed(entry: Adjustment = ENTRY) -> Objection:
    return file(
        entry, None, "  当天电子秤已检定，有检定证书  ", ZHANG, T0 + timedelta(days=2), "obj_1"
    )


# -- the rules -----------------------------------------------------------------------------------
def test_an_objection_names_the_entry_it_disputes_and_keeps_the_statement_trimmed() -> None:
    objection = filed()
    assert objection.key == ("ev_1", "inspection.finding.major") and objection.state == "open"
    assert (objection.delta, objection.fades_at) == (-15, T0 + YEAR)
    assert objection.statement == "当天电子秤已检定，有检定证书"
    assert (objection.filed_by, objection.correlation_id) == (ZHANG, "risk_1")


@pytest.mark.parametrize(
    ("entry", "error", "field"),
    [
        (replace(ENTRY, kind="inspection.pass", delta=2), Conflict, "kind"),
        (replace(ENTRY, kind="merchant.registered", delta=0), Conflict, "kind"),
        (replace(ENTRY, kind="objection.corrected", delta=15), Conflict, "kind"),
        (replace(ENTRY, fades_at=T0 + timedelta(days=1)), Conflict, "event_id"),
    ],
)
def test_only_an_entry_that_costs_credit_and_still_counts_is_disputed(
    entry: Adjustment, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        filed(entry)
    assert refused.value.errors[0]["field"] == field  # type: ignore[attr-defined]


def test_an_entry_is_disputed_once_and_a_blank_statement_is_named() -> None:
    with pytest.raises(Conflict, match="already disputed by objection obj_1 \\(open\\)"):
        file(ENTRY, filed(), "再次申诉", ZHANG, T0 + timedelta(days=3), "obj_2")
    with pytest.raises(InvalidInput) as blank:
        file(ENTRY, None, "   ", ZHANG, T0, "obj_2")
    assert blank.value.errors == [{"field": "statement", "reason": "must not be blank"}]


def test_a_clerk_who_did_not_record_it_decides_it_once() -> None:
    at = T0 + timedelta(days=5)
    decided = decide(filed(), "corrected", " 检定证书属实 ", ZHOU, at)
    assert (decided.state, decided.reasoning, decided.decided_by) == (
        "corrected",
        "检定证书属实",
        ZHOU,
    )
    assert decided.decided_at == at
    with pytest.raises(Conflict, match="was decided corrected"):
        decide(decided, "upheld", "改判", ZHOU, at)
    with pytest.raises(Forbidden, match="another clerk"):
        decide(filed(), "upheld", "维持", ZHANG, at)


def test_a_bad_decision_and_a_blank_reasoning_are_named_together() -> None:
    with pytest.raises(InvalidInputs) as refused:
        decide(filed(), "maybe", "", ZHOU, T0)
    assert [e["field"] for e in refused.value.errors] == ["decision", "reasoning"]


# -- the correction ------------------------------------------------------------------------------
def decided_event(decision: str, at_days: float = 5, entry: Adjustment = ENTRY) -> ObjectionDecided:
    objection = decide(filed(entry), decision, "核实", ZHOU, T0 + timedelta(days=at_days))
    _, event, key = events.objection_decided(objection)
    assert key == "mer_1" and event.type == OBJECTION_DECIDED
    data: ObjectionDecided = event.data
    return data


def test_a_correction_reverses_the_entry_until_it_would_have_faded() -> None:
    [fact] = facts_from_objection(OBJECTION_DECIDED, decided_event("corrected"), META)
    assert (fact.kind, fact.delta, fact.fades_at) == ("objection.corrected", 15, T0 + YEAR)
    correction = adjust(fact, default_book())
    assert correction is not None
    assert (correction.delta, correction.fades_at, correction.event_id) == (15, T0 + YEAR, "ev_obj")
    assert "objection obj_1 corrects inspection.finding.major of event ev_1" in correction.reason
    policy = default_book().in_force(T0)
    # The disputed entry and its correction cancel while both count, and fade together.
    assert score([ENTRY], T0 + timedelta(days=6), policy) == 85
    assert score([ENTRY, correction], T0 + timedelta(days=6), policy) == 100
    assert score([ENTRY, correction], T0 + YEAR, policy) == 100


def test_an_upheld_objection_or_one_decided_after_the_fade_corrects_nothing() -> None:
    assert facts_from_objection(OBJECTION_DECIDED, decided_event("upheld"), META) == []
    short = replace(ENTRY, fades_at=T0 + timedelta(days=3))
    late = decided_event("corrected", at_days=4, entry=replace(short, fades_at=T0 + YEAR))
    late = late.model_copy(
        update={"disputed": late.disputed.model_copy(update={"fades_at": short.fades_at})}
    )
    assert facts_from_objection(OBJECTION_DECIDED, late, META) == []
    assert facts_from_objection(OBJECTION_FILED, decided_event("corrected"), META) == []


# -- the use cases -------------------------------------------------------------------------------
async def graded_major() -> tuple[World, dict[str, Any]]:
    world = world_with()
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    [entry] = (await world.credit.explain(CLERK, "mer_1"))["ledger"]
    return world, entry


async def test_a_corrected_objection_gives_the_merchant_its_credit_back_once() -> None:
    world, entry = await graded_major()
    assert (await world.stores.ledger.scores())["mer_1"] == (85, "B")
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    assert objection["state"] == "open" and world.types()[-1] == OBJECTION_FILED
    assert entry["disputable"]
    [shown] = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert shown["objection"]["objection_id"] == objection["objection_id"]
    assert not shown["disputable"]  # once

    decided = await world.credit.decide_objection(
        DECIDER, objection["objection_id"], "corrected", "检定证书属实，记录有误"
    )
    assert decided["state"] == "corrected" and decided["decided_by"]["subject"] == "c-zhou"
    # The decision alone moves nothing: the ledger reads it back from the topic.
    assert (await world.stores.ledger.scores())["mer_1"] == (85, "B")
    router = handlers.objections_router(world.credit)
    delivery = await world.send(router, world.uow.published[-1])
    assert (await world.stores.ledger.scores())["mer_1"] == (100, "A")
    changed = world.uow.published[-1][1]
    assert changed.type == "credit.score.changed" and changed.data.grade == "A"
    assert changed.data.adjustment.kind == "objection.corrected"
    await world.redeliver(router, delivery)
    assert len(await world.stores.ledger.ledger("mer_1")) == 2
    assert (await world.stores.ledger.scores())["mer_1"] == (100, "A")


async def test_an_upheld_objection_leaves_the_score_and_the_filing_moves_nothing() -> None:
    world, entry = await graded_major()
    router = handlers.objections_router(world.credit)
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "不服"
    )
    await world.send(router, world.uow.published[-1])  # the filing, read back
    await world.credit.decide_objection(DECIDER, objection["objection_id"], "upheld", "复核无误")
    await world.send(router, world.uow.published[-1])
    assert (await world.stores.ledger.scores())["mer_1"] == (85, "B")
    assert [a.kind for a in await world.stores.ledger.ledger("mer_1")] == [entry["kind"]]
    listed = await world.credit.objections(DECIDER, state="upheld")
    assert [o["objection_id"] for o in listed] == [objection["objection_id"]]
    assert await world.credit.objections(DECIDER, state="open") == []


async def test_refusals_store_and_announce_nothing() -> None:
    world, entry = await graded_major()
    before = world.types()
    with pytest.raises(NotFound) as unknown:
        await world.credit.file_objection(CLERK, "mer_1", "ev_none", entry["kind"], "不服")
    assert unknown.value.errors[0]["field"] == "event_id"
    with pytest.raises(Forbidden):
        await world.credit.file_objection(ELSEWHERE, "mer_1", entry["event_id"], entry["kind"], "x")
    objection = await world.credit.file_objection(
        RECORDING, "mer_1", entry["event_id"], entry["kind"], "不服"
    )
    with pytest.raises(Conflict):
        await world.credit.file_objection(CLERK, "mer_1", entry["event_id"], entry["kind"], "再诉")
    filed_types = world.types()
    assert filed_types == [*before, OBJECTION_FILED]
    with pytest.raises(Forbidden):  # the leader who recorded it
        await world.credit.decide_objection(RECORDING, objection["objection_id"], "corrected", "x")
    with pytest.raises(Forbidden):  # another district's
        await world.credit.decide_objection(ELSEWHERE, objection["objection_id"], "corrected", "x")
    with pytest.raises(NotFound):
        await world.credit.decide_objection(DECIDER, "obj_none", "corrected", "x")
    with pytest.raises(InvalidInput):
        await world.credit.objections(DECIDER, state="pending")
    assert world.types() == filed_types
    [still] = await world.credit.objections(DECIDER, state="open")
    assert still["objection_id"] == objection["objection_id"]
