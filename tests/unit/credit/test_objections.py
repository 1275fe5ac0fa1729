"""信用异议: a merchant disputes one entry of its ledger, a clerk records it, another clerk of the
district decides it. The rules (services/credit/domain/objections.py), the correction they give
(facts_from_objection, adjust) and the use cases on the fakes, reached as api.py and the Kafka
router reach them: a correction moves the score only once read back from the topic, once; a
refusal stores and announces nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.objections import (
    OBJECTION_DECIDED,
    OBJECTION_FILED,
    OBJECTION_WITHDRAWN,
    ObjectionDecided,
)
from contracts.people import Actor
from services.credit import events, handlers
from services.credit.domain import EventMeta, adjust, facts_from_objection, score
from services.credit.domain.ledger import Adjustment
from services.credit.domain.objections import (
    DecisionDeadline,
    Objection,
    decide,
    file,
    refusal,
    withdraw,
)
from services.credit.policy_files import default_book
from services.runtime.auth import Principal
from services.runtime.data_files import default_calendar
from services.runtime.failures import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidInputs,
    NotFound,
)
from services.runtime.outbox import outgoing
from tests.support import credit_events as samples
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

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = DecisionDeadline(10, default_calendar(), "Asia/Shanghai")

# A major finding on mer_1 (-15 under the base policy), fading a year after it.
ENTRY = entry("inspection.finding.major", T0, event_id="ev_1")


def filed(entry: Adjustment = ENTRY, at: datetime = T0 + timedelta(days=2)) -> Objection:
    return file(entry, (), "  当天电子秤已检定，有检定证书  ", ZHANG, at, "obj_1", DEADLINE)


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
        file(ENTRY, [filed()], "再次申诉", ZHANG, T0 + timedelta(days=3), "obj_2", DEADLINE)
    with pytest.raises(InvalidInput) as blank:
        file(ENTRY, (), "   ", ZHANG, T0, "obj_2", DEADLINE)
    assert blank.value.errors == [{"field": "statement", "reason": "must not be blank"}]


# -- the deadline (异议处理期限) ----------------------------------------------------------------
def city(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_the_decision_is_due_at_the_end_of_the_tenth_working_day_holidays_skipped() -> None:
    # Received on Monday 28 September 2026 in the city (02:00 UTC): 29 and 30 September, then
    # National Day (1-7 October) off, 8 and 9 October, Saturday 10 October a make-up working
    # day, 12 to 16 October.
    objection = filed(entry=replace(ENTRY, fades_at=T0 + 2 * YEAR), at=city(date(2026, 9, 28)))
    assert objection.due_at == datetime(2026, 10, 16, 23, 59, 59, 999999, SHANGHAI)
    assert objection.due_at.tzinfo == UTC  # kept in UTC, as every moment
    assert objection.working_days == 10
    # Five days end on Saturday 10 October, a make-up working day; the objection keeps the rule.
    five = DecisionDeadline(5, default_calendar(), "Asia/Shanghai")
    assert five.due(city(date(2026, 9, 28))).astimezone(SHANGHAI).date() == date(2026, 10, 10)
    entry = replace(ENTRY, fades_at=T0 + 2 * YEAR)
    sooner = file(entry, (), "不服", ZHANG, city(date(2026, 9, 28)), "obj_5", five)
    assert (sooner.working_days, sooner.due_at) == (5, five.due(city(date(2026, 9, 28))))


def test_the_clock_counts_down_marks_nearing_then_overdue_and_stops_at_the_decision() -> None:
    objection = filed(entry=replace(ENTRY, fades_at=T0 + 2 * YEAR), at=city(date(2026, 9, 28)))

    def standing(day: date, hour: int = 10) -> dict[str, Any]:
        return DEADLINE.clock(objection, city(day, hour))

    assert standing(date(2026, 9, 28)) == {
        "working_days_left": 10, "nearing": False, "overdue": False, "decided_late": False
    }  # fmt: skip
    assert standing(date(2026, 10, 5))["working_days_left"] == 8  # a holiday counts nothing
    assert standing(date(2026, 10, 13)) == {
        "working_days_left": 3, "nearing": False, "overdue": False, "decided_late": False
    }  # fmt: skip
    assert standing(date(2026, 10, 14))["nearing"]
    assert standing(date(2026, 10, 16), 23)["working_days_left"] == 0
    assert standing(date(2026, 10, 16), 23)["nearing"]
    late = standing(date(2026, 10, 17), 0)  # a Saturday: no working day past it yet
    assert late["overdue"] and not late["nearing"] and late["working_days_left"] == 0
    assert standing(date(2026, 10, 19))["working_days_left"] == -1
    decided = decide(objection, "upheld", "复核无误", ZHOU, city(date(2026, 10, 19)))
    assert DEADLINE.clock(decided, city(date(2026, 10, 20))) == {
        "working_days_left": None, "nearing": False, "overdue": False, "decided_late": True
    }  # fmt: skip
    on_time = decide(objection, "upheld", "复核无误", ZHOU, city(date(2026, 10, 16), 18))
    assert not DEADLINE.clock(on_time, city(date(2026, 10, 20)))["decided_late"]


@pytest.mark.parametrize("days", [0, 61, True])
def test_a_deadline_of_no_days_or_of_months_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="objection working days must be"):
        DecisionDeadline(days, default_calendar(), "Asia/Shanghai")


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


def test_a_withdrawal_closes_it_without_a_decision_and_frees_the_entry() -> None:
    at = T0 + timedelta(days=3)
    # The clerk who recorded it may withdraw it: no four eyes for the merchant's withdrawal.
    closed = withdraw(filed(), " 商户撤回异议 ", ZHANG, at)
    assert (closed.state, closed.reasoning, closed.decided_by, closed.decided_at) == (
        "withdrawn",
        "商户撤回异议",
        ZHANG,
        at,
    )
    assert refusal(ENTRY, [closed], at) is None  # the entry may be disputed again
    assert not closed.decided_late and not closed.is_overdue(at + 30 * timedelta(days=1))
    with pytest.raises(Conflict, match="was withdrawn on"):
        withdraw(closed, "再撤回", ZHANG, at)
    with pytest.raises(Conflict, match="was withdrawn on"):
        decide(closed, "corrected", "属实", ZHOU, at)
    with pytest.raises(Conflict, match="was decided upheld on"):
        withdraw(decide(filed(), "upheld", "无误", ZHOU, at), "撤回", ZHANG, at)
    with pytest.raises(InvalidInput) as blank:
        withdraw(filed(), "  ", ZHANG, at)
    assert blank.value.errors == [{"field": "reason", "reason": "must not be blank"}]


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


async def test_the_list_says_each_deadline_and_finds_the_overdue_and_the_gauge_counts_them() -> (
    None
):
    world, entry = await graded_major()
    told: list[None] = []
    world.credit.objections_changed = lambda: told.append(None)
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "不服"
    )
    due = datetime.fromisoformat(objection["due_at"])
    assert due == DEADLINE.due(world.clock())
    assert objection["working_days_left"] == 10 and not objection["overdue"]

    def gauge(overdue: str) -> float | None:
        [family] = world.metrics.objections_open.gauge.collect()
        found = [
            s.value for s in family.samples if s.labels == {"district": "zhifu", "overdue": overdue}
        ]
        return found[0] if found else None

    assert len(told) == 1  # the wiring recounts the gauge, in the background
    await world.credit.refresh_objection_counts()
    assert (gauge("false"), gauge("true")) == (1, 0)
    assert await world.credit.objections(DECIDER, overdue=True) == []
    world.clock.at = due + timedelta(seconds=1)
    [late] = await world.credit.objections(DECIDER, overdue=True)
    assert late["objection_id"] == objection["objection_id"] and late["overdue"]
    [shown] = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert shown["objection"]["overdue"] and shown["objection"]["working_days_left"] < 0
    await world.credit.refresh_objection_counts()
    assert (gauge("false"), gauge("true")) == (0, 1)
    decided = await world.credit.decide_objection(
        DECIDER, objection["objection_id"], "upheld", "复核无误"
    )
    assert decided["decided_late"] and not decided["overdue"]
    assert await world.credit.objections(DECIDER, overdue=True) == []
    assert len(told) == 2
    await world.credit.refresh_objection_counts()
    assert (gauge("false"), gauge("true")) == (0, 0)


async def test_the_public_page_counts_what_is_disputed_until_it_is_decided() -> None:
    world, entry = await graded_major()
    assert (await world.credit.public("mer_1"))["objections_open"] == 0
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    page = await world.credit.public("mer_1")
    # A count, nothing of what the merchant said or who recorded it.
    assert page["objections_open"] == 1
    assert "电子秤有检定证书" not in str(page) and "c-zhang" not in str(page)
    await world.credit.decide_objection(DECIDER, objection["objection_id"], "upheld", "复核无误")
    assert (await world.credit.public("mer_1"))["objections_open"] == 0


async def test_a_withdrawn_objection_changes_no_score_and_the_entry_may_be_disputed_again() -> None:
    world, entry = await graded_major()
    router = handlers.objections_router(world.credit)
    first = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "登记错了条目"
    )
    closed = await world.credit.withdraw_objection(CLERK, first["objection_id"], "登记有误")
    assert closed["state"] == "withdrawn" and closed["reasoning"] == "登记有误"
    assert world.types()[-2:] == [OBJECTION_FILED, OBJECTION_WITHDRAWN]
    withdrawn = world.uow.published[-1][1]
    assert withdrawn.data.reason == "登记有误" and withdrawn.data.actor.subject == "c-zhang"
    await world.send(router, world.uow.published[-1])  # read back: nothing to adjust
    assert (await world.stores.ledger.scores())["mer_1"] == (85, "B")
    [shown] = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert shown["objection"]["state"] == "withdrawn" and shown["disputable"]
    with pytest.raises(Conflict):
        await world.credit.withdraw_objection(DECIDER, first["objection_id"], "再撤回")
    with pytest.raises(Forbidden):  # another district's clerk
        await world.credit.withdraw_objection(ELSEWHERE, first["objection_id"], "撤回")
    # Filed again at the same instant (the fake clock stands still): the open one is shown,
    # whichever id sorts first.
    again = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    [shown] = (await world.credit.explain(DECIDER, "mer_1"))["ledger"]
    assert shown["objection"]["objection_id"] == again["objection_id"]
    assert not shown["disputable"]
    states = {o["state"] for o in await world.credit.objections(DECIDER, merchant_id="mer_1")}
    assert states == {"withdrawn", "open"}


async def test_the_public_page_says_when_the_latest_inspections_finding_was_found_wrong() -> None:
    world, entry = await graded_major()
    page = await world.credit.public("mer_1")
    assert page["last_inspection_outcome"] == "major" and not page["last_inspection_corrected"]
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    assert not (await world.credit.public("mer_1"))["last_inspection_corrected"]
    await world.credit.decide_objection(DECIDER, objection["objection_id"], "corrected", "属实")
    page = await world.credit.public("mer_1")
    # The outcome as inspection recorded it, and that it no longer stands.
    assert page["last_inspection_outcome"] == "major" and page["last_inspection_corrected"]
    later = samples.task_completed("pass", triggers=[]).model_copy(
        update={"task_id": "tsk_later", "completed_at": world.clock.at}
    )
    completed = outgoing("inspection", "inspection.task.completed", "tsk_later", later)
    await world.send(handlers.inspection_router(world.credit), completed)
    page = await world.credit.public("mer_1")
    assert page["last_inspection_outcome"] == "pass" and not page["last_inspection_corrected"]


async def test_an_inspection_whose_finding_was_found_wrong_counts_as_passed_for_the_market() -> (
    None
):
    world, entry = await graded_major()

    async def pass_rate() -> float | None:
        period = world.credit.period(30, world.clock.at + timedelta(minutes=1))
        body = await world.credit.market_assessment(CLERK, "mkt_1", period)
        [rate] = [p["value"] for p in body["parts"] if p["part"] == "inspection_pass_rate"]
        return rate  # type: ignore[no-any-return]

    assert await pass_rate() == 0.0
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    await world.credit.decide_objection(DECIDER, objection["objection_id"], "upheld", "属实")
    assert await pass_rate() == 0.0  # the record stands
    world, entry = await graded_major()
    objection = await world.credit.file_objection(
        CLERK, "mer_1", entry["event_id"], entry["kind"], "电子秤有检定证书"
    )
    await world.credit.decide_objection(DECIDER, objection["objection_id"], "corrected", "有误")
    assert await pass_rate() == 1.0
