"""Every complaints use case on the in-memory stores and a fake unit of work: what it stores and
announces, and above all what a refusal, a redelivery or a failure half-way leaves behind
(nothing stored, nothing announced)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from contracts.complaints import ComplaintSubmitted, IntakeEnvelope
from contracts.envelope import schema_id
from contracts.inspection import Finding, TaskCompleted, TriggerRef
from contracts.suggestions import SuggestionSubmission
from services.complaints.domain import IllegalTransition, InvalidComplaint
from services.complaints.domain.suggestions import AlreadyAnswered
from services.complaints.handlers import inspection_router, intake_router
from services.complaints.store import StaleWrite
from services.runtime.auth import Principal
from services.runtime.failures import Forbidden, InvalidInput, NotFound
from services.runtime.messaging import Delivery, PoisonMessage
from tests.unit.complaints.conftest import T0, World, count, submission

HANDLER = Principal(subject="h-zhou", role="handler", district="zhifu", name="周处理员")
ELSEWHERE = Principal(subject="h-li", role="handler", district="laishan")
LEADER = Principal(subject="l-wang", role="leader", district="zhifu")
ADMIN = Principal(subject="admin", role="admin", district="*")


# -- intake --------------------------------------------------------------------------------------


async def test_a_complaint_is_stored_and_announced_keyed_by_its_id(world: World) -> None:
    case = await world.complaints.submit(
        submission(external_ref="12345-9"), via="topic", causation_id="evt-1"
    )
    assert await world.complaints_store.get(case.complaint_id) == case
    assert (case.district, case.stall_no, case.received_at) == ("zhifu", "A-01", T0)
    [(topic, event, key)] = world.uow.published
    assert (topic, key, event.type) == (
        "complaints.events.v1",
        case.complaint_id,
        "complaints.complaint.received",
    )
    assert event.subject == event.correlationid == case.complaint_id
    assert event.causationid == "evt-1" and event.data.external_ref == "12345-9"
    assert event.data.complainant.model_dump() == {"name": "张*", "phone": "138****5678"}
    assert count(world.metrics.transitions, "short_weight", "web", "received") == 1


async def test_a_stall_names_its_merchant(world: World) -> None:
    case = await world.complaints.submit(submission(merchant_id=None, stall_no="A-02"), via="http")
    assert case.merchant_id == "mer_2"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"market_id": "mkt_nowhere", "merchant_id": None}, "market_id"),
        ({"merchant_id": "mer_nobody"}, "merchant_id"),
        ({"market_id": "mkt_2"}, "merchant_id"),
        ({"stall_no": "B-99"}, "stall_no"),
        ({"merchant_id": None, "stall_no": "B-99"}, "stall_no"),
        ({"occurred_at": (T0 + timedelta(days=2)).isoformat()}, "occurred_at"),
    ],
)
async def test_a_refused_complaint_stores_and_announces_nothing(
    world: World, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(submission(**changes), via="http")
    assert refused.value.field == field
    assert world.complaints_store.rows == {} and world.uow.published == []
    assert world.uow.commits == 0
    assert count(world.metrics.intake_rejected, "http", field) == 1


async def test_the_same_intake_id_returns_the_first_complaint_once(world: World) -> None:
    sub = submission()
    first = await world.complaints.submit(sub, via="http", intake_id="http:k1")
    world.clock.at = T0 + timedelta(minutes=5)
    again = await world.complaints.submit(sub, via="http", intake_id="http:k1")
    assert again == first
    assert len(world.complaints_store.rows) == 1
    assert world.types() == ["complaints.complaint.received"]


async def test_a_similar_complaint_is_linked_to_the_first(world: World) -> None:
    facts = "三号摊位的电子秤少称了二两猪肉"
    first = await world.complaints.submit(submission(facts=facts), via="http")
    world.clock.at = T0 + timedelta(hours=1)
    second = await world.complaints.submit(submission(facts=facts + "，要求退款"), via="http")
    other = await world.complaints.submit(
        submission(facts="摊主态度恶劣", category="service"), via="http"
    )
    assert second.duplicate_of == first.complaint_id and other.duplicate_of is None
    root = await world.complaints_store.get(first.complaint_id)
    assert root is not None and root.duplicates == (second.complaint_id,)
    assert world.types() == ["complaints.complaint.received"] * 3
    assert count(world.metrics.duplicates, "short_weight") == 1


async def test_intake_takes_a_redelivered_event_once(world: World) -> None:
    sub = ComplaintSubmitted.model_validate(submission().model_dump())
    first = await world.complaints.intake(sub, "evt-1")
    again = await world.complaints.intake(sub, "evt-1")
    assert again == first and len(world.complaints_store.rows) == 1
    assert world.types() == ["complaints.complaint.received"]
    [(_, event, _)] = world.uow.published
    assert event.causationid == "evt-1"


def intake_delivery(body: dict[str, Any], event_id: str) -> Delivery:
    envelope: Any = IntakeEnvelope[ComplaintSubmitted]
    wire = envelope(
        id=event_id,
        source="/integrators/hotline-12345",
        type="complaints.intake.submitted",
        subject=event_id,
        dataschema=schema_id("complaints.intake.submitted", 1),
        correlationid=event_id,
        data=ComplaintSubmitted.model_validate(body),
    ).to_json()
    return Delivery("complaints.intake.v1", 0, 0, None, wire)


async def test_the_intake_route_parks_a_refused_complaint_and_ignores_a_redelivery(
    world: World,
) -> None:
    route = intake_router(world.complaints)
    good = intake_delivery(submission(channel="hotline_12345").model_dump(), "evt-good")
    await route(good)
    await route(good)
    assert world.types() == ["complaints.complaint.received"]
    bad = submission(market_id="mkt_nowhere", merchant_id=None).model_dump()
    with pytest.raises(PoisonMessage, match="market_id"):
        await route(intake_delivery(bad, "evt-bad"))
    assert len(world.complaints_store.rows) == 1 and len(world.uow.published) == 1


# -- what inspection found -----------------------------------------------------------------------


def task(*complaint_ids: str, kind: str = "complaint") -> TaskCompleted:
    finding = Finding.model_construct(code="WGT-01", severity="major", note="秤不准")
    return TaskCompleted.model_construct(
        task_id="tsk_1",
        outcome="fail",
        findings=[finding],
        triggers=[TriggerRef.model_construct(kind=kind, id=c) for c in complaint_ids],
        completed_at=T0 + timedelta(days=1),
    )


async def test_an_inspection_of_a_complaint_is_kept_once(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    assert await world.complaints.inspected(task(case.complaint_id, "cmp_unknown")) == 1
    assert await world.complaints.inspected(task(case.complaint_id)) == 0  # redelivered
    assert await world.complaints.inspected(task("risk_1", kind="risk")) == 0
    [kept] = await world.complaints.inspections(case.complaint_id)
    assert kept["findings"] == [{"code": "WGT-01", "severity": "major", "note": "秤不准"}]
    assert world.types() == ["complaints.complaint.received"]


async def test_the_inspection_route_passes_over_other_events(world: World) -> None:
    route = inspection_router(world.complaints)
    await route(
        Delivery("inspection.events.v1", 0, 0, None, b'{"type": "inspection.task.created"}')
    )
    assert world.uow.commits == 0


# -- reading -------------------------------------------------------------------------------------


async def test_a_case_is_read_by_its_code_and_only_in_its_district(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    assert await world.complaints.by_tracking_code(case.tracking_code.lower()) == case
    with pytest.raises(NotFound):
        await world.complaints.by_tracking_code("ZZZZZZZZZZ")
    with pytest.raises(InvalidInput, match="tracking_code"):
        await world.complaints.by_tracking_code("not a code")
    assert await world.complaints.case(HANDLER, case.complaint_id) == case
    with pytest.raises(Forbidden):
        await world.complaints.case(ELSEWHERE, case.complaint_id)
    with pytest.raises(NotFound):
        await world.complaints.case(HANDLER, "cmp_nobody")


async def test_a_receipt_names_the_case_its_code_its_deadline_and_the_case_it_repeats(
    world: World,
) -> None:
    facts = "三号摊位的电子秤少称了二两猪肉"
    first = await world.complaints.submit(submission(facts=facts), via="http")
    world.clock.at = T0 + timedelta(hours=1)
    second = await world.complaints.submit(submission(facts=facts + "，要求退款"), via="http")
    receipt = world.complaints.receipt(second)
    assert receipt == {
        "id": second.complaint_id,
        "tracking_code": second.tracking_code,
        "state": "received",
        "received_at": (T0 + timedelta(hours=1)).isoformat(),
        "acceptance_deadline": second.acceptance_deadline.isoformat(),
        "duplicate_of": first.complaint_id,
    }
    assert second.acceptance_deadline > T0 + timedelta(hours=1)
    assert world.complaints.receipt(first)["duplicate_of"] is None


async def test_the_public_view_of_a_case_is_its_status_with_nothing_personal(
    world: World,
) -> None:
    sub = submission()
    case = await world.complaints.submit(sub, via="http")
    view = world.complaints.public_view(await world.complaints.by_tracking_code(case.tracking_code))
    assert (view["tracking_code"], view["state"], view["overdue"]) == (
        case.tracking_code,
        "received",
        False,
    )
    shown = repr(view)
    for personal in ("张三", "13812345678", sub.facts, sub.request, "mer_1", case.complaint_id):
        assert personal not in shown
    world.clock.at = case.acceptance_deadline + timedelta(minutes=1)
    assert await world.complaints.check_clock() == 1
    late = await world.complaints.by_tracking_code(case.tracking_code)
    assert world.complaints.public_view(late)["overdue"] is True


async def test_cases_are_scoped_to_the_district_and_nearing_filters(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")

    async def listed(who: Principal, nearing: bool = False) -> list[Any]:
        return await world.complaints.cases(
            who, state=None, market_id=None, nearing=nearing, overdue=False, limit=10
        )

    assert await listed(HANDLER) == await listed(ADMIN) == [case]
    assert await listed(ELSEWHERE) == []
    assert await listed(HANDLER, nearing=True) == []
    world.clock.at = case.acceptance_deadline - timedelta(hours=1)
    assert await listed(HANDLER, nearing=True) == [case]
    assert world.complaints.case_view(case)["nearing"] is True


# -- decisions -----------------------------------------------------------------------------------


async def test_accept_then_close_announce_each_decision_with_the_external_ref(
    world: World,
) -> None:
    case = await world.complaints.submit(submission(external_ref="12345-1"), via="http")
    world.clock.at = T0 + timedelta(hours=2)
    accepted = await world.complaints.accept(HANDLER, case.complaint_id)
    assert accepted.state == "accepted" and accepted.accepted_actor is not None
    closed = await world.complaints.close(
        HANDLER, case.complaint_id, outcome="refunded", substantiated=True, satisfaction=5
    )
    assert closed.state == "closed" and closed.version == 3
    assert world.types() == [
        "complaints.complaint.received",
        "complaints.complaint.accepted",
        "complaints.complaint.closed",
    ]
    for _, event, key in world.uow.published:
        assert key == event.subject == event.correlationid == case.complaint_id
        assert event.data.external_ref == "12345-1"
    assert await world.complaints_store.get(case.complaint_id) == closed
    assert count(world.metrics.closed, "true") == 1


async def test_reject_records_the_reason(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    rejected = await world.complaints.reject(HANDLER, case.complaint_id, reason="不属于本部门管辖")
    assert rejected.state == "rejected" and rejected.rejection_reason == "不属于本部门管辖"
    assert world.types()[-1] == "complaints.complaint.rejected"


async def test_a_refused_decision_changes_nothing_and_announces_nothing(world: World) -> None:
    case = await world.complaints.submit(submission(), via="http")
    before = list(world.uow.published)

    async def close() -> Any:
        return await world.complaints.close(
            HANDLER, case.complaint_id, outcome="refunded", substantiated=True, satisfaction=4
        )

    with pytest.raises(IllegalTransition, match="received"):
        await close()
    with pytest.raises(Forbidden):
        await world.complaints.accept(ELSEWHERE, case.complaint_id)
    with pytest.raises(NotFound):
        await world.complaints.accept(HANDLER, "cmp_nobody")
    with pytest.raises(InvalidComplaint):
        await world.complaints.reject(HANDLER, case.complaint_id, reason="  ")
    assert await world.complaints_store.get(case.complaint_id) == case
    assert world.uow.published == before and world.uow.rollbacks == 4


async def test_a_failure_after_the_change_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await world.complaints.submit(submission(), via="http")

    async def broken(complaint_id: str) -> str | None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(world.complaints_store, "external_ref", broken)
    with pytest.raises(ConnectionError):
        await world.complaints.accept(HANDLER, case.complaint_id)
    assert world.uow.rollbacks == 1
    assert world.types() == ["complaints.complaint.received"]


async def test_a_lost_update_is_refused_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await world.complaints.submit(submission(), via="http")
    stale = case

    async def get_stale(complaint_id: str, *, for_update: bool = False) -> Any:
        return stale

    await world.complaints.accept(HANDLER, case.complaint_id)
    monkeypatch.setattr(world.complaints_store, "get", get_stale)
    with pytest.raises(StaleWrite):
        await world.complaints.reject(HANDLER, case.complaint_id, reason="重复")
    assert world.types() == ["complaints.complaint.received", "complaints.complaint.accepted"]


# -- the clock -----------------------------------------------------------------------------------


async def test_the_clock_marks_each_running_clock_overdue_once(world: World) -> None:
    late = await world.complaints.submit(submission(), via="http")
    world.clock.at = T0 + timedelta(days=5)
    fresh = await world.complaints.submit(submission(category="price"), via="http")
    world.clock.at = late.acceptance_deadline + timedelta(minutes=1)
    assert await world.complaints.check_clock() == 1
    assert await world.complaints.check_clock() == 0
    assert world.types().count("complaints.complaint.overdue") == 1
    [(_, event, key)] = [p for p in world.uow.published if p[1].type.endswith("overdue")]
    assert key == late.complaint_id and event.data.clock == "acceptance"
    assert event.data.deadline == late.acceptance_deadline
    stored = await world.complaints_store.get(fresh.complaint_id)
    assert stored is not None and stored.acceptance_overdue_at is None
    assert world.metrics.cases.labels("received", "price")._value.get() == 1
    assert count(world.metrics.overdue, "acceptance") == 1


async def test_a_clock_pass_that_fails_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await world.complaints.submit(submission(), via="http")
    world.clock.at = case.acceptance_deadline + timedelta(minutes=1)

    async def broken() -> list[tuple[str, str, int]]:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(world.complaints_store, "counts", broken)
    with pytest.raises(ConnectionError):
        await world.complaints.check_clock()
    assert world.uow.rollbacks == 1
    assert world.types() == ["complaints.complaint.received"]


# -- suggestions ---------------------------------------------------------------------------------


def suggestion(**changes: Any) -> SuggestionSubmission:
    body: dict[str, Any] = {
        "about": "market",
        "market_id": "mkt_1",
        "text": "建议增加公平秤",
        "name": "李建国",
        "phone": "13912345678",
        "publish_answer": True,
    }
    return SuggestionSubmission.model_validate(body | changes)


async def test_a_suggestion_is_stored_and_announced_masked(world: World) -> None:
    s = await world.suggestions.submit(suggestion())
    assert s.district == "zhifu" and await world.suggestions_store.get(s.suggestion_id) == s
    [(topic, event, key)] = world.uow.published
    assert (topic, key) == ("complaints.suggestions.v1", s.suggestion_id)
    assert event.type == "complaints.suggestion.received"
    assert event.subject == event.correlationid == s.suggestion_id
    assert event.data.author.model_dump() == {"name": "李**", "phone": "139****5678"}
    assert await world.suggestions.by_tracking_code(s.tracking_code) == s
    with pytest.raises(NotFound):
        await world.suggestions.by_tracking_code("ZZZZZZZZZZ")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"market_id": "mkt_nobody"}, "market_id"),
        ({"market_id": None}, "market_id"),
        ({"about": "campaign"}, "market_id"),
    ],
)
async def test_a_refused_suggestion_stores_and_announces_nothing(
    world: World, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidComplaint) as refused:
        await world.suggestions.submit(suggestion(**changes))
    assert field in {e["field"] for e in refused.value.errors}
    assert world.suggestions_store.rows == {} and world.uow.published == []


async def test_a_suggestion_is_answered_once_by_its_districts_handler(world: World) -> None:
    s = await world.suggestions.submit(suggestion())
    with pytest.raises(NotFound):
        await world.suggestions.answer(ELSEWHERE, s.suggestion_id, "x")
    with pytest.raises(Forbidden):
        await world.suggestions.answer(LEADER, s.suggestion_id, "x")
    world.clock.at = T0 + timedelta(hours=1)
    answered = await world.suggestions.answer(HANDLER, s.suggestion_id, "已设置公平秤")
    assert answered.state == "answered" and answered.answered_at == world.clock.at
    with pytest.raises(AlreadyAnswered):
        await world.suggestions.answer(HANDLER, s.suggestion_id, "再答")
    assert world.types() == ["complaints.suggestion.received", "complaints.suggestion.answered"]
    assert await world.suggestions_store.get(s.suggestion_id) == answered
    assert world.uow.rollbacks == 3


async def test_a_suggestion_is_read_and_answered_by_any_role_the_person_holds(
    world: World,
) -> None:
    # A clerk who is also the district's handler: clerk comes first in the role order, so the
    # token's primary role is clerk, which alone may neither read nor answer suggestions.
    both = Principal(
        subject="h-zhao", role="clerk", district="zhifu", roles=frozenset({"clerk", "handler"})
    )
    clerk_only = Principal(subject="c-zhao", role="clerk", district="zhifu")
    s = await world.suggestions.submit(suggestion())
    listed = await world.suggestions.listed(both, state=None, limit=10)
    assert [x.suggestion_id for x in listed] == [s.suggestion_id]
    assert await world.suggestions.listed(clerk_only, state=None, limit=10) == []
    with pytest.raises(NotFound):
        await world.suggestions.answer(clerk_only, s.suggestion_id, "x")
    answered = await world.suggestions.answer(both, s.suggestion_id, "已设置公平秤")
    assert answered.state == "answered" and answered.answered_by is not None
    assert answered.answered_by.subject == "h-zhao"


async def test_suggestions_are_listed_to_whom_may_read_them(world: World) -> None:
    mine = await world.suggestions.submit(suggestion())
    world.clock.at = T0 + timedelta(hours=1)
    theirs = await world.suggestions.submit(suggestion(market_id="mkt_2"))
    world.clock.at = T0 + timedelta(hours=2)
    city = await world.suggestions.submit(suggestion(about="campaign", market_id=None))
    await world.suggestions.answer(HANDLER, mine.suggestion_id, "好")

    async def ids(who: Principal, state: str | None = None) -> list[str]:
        return [s.suggestion_id for s in await world.suggestions.listed(who, state=state, limit=10)]

    assert await ids(HANDLER) == [city.suggestion_id, mine.suggestion_id]
    assert await ids(ADMIN) == [city.suggestion_id, theirs.suggestion_id, mine.suggestion_id]
    assert await ids(LEADER, "received") == [city.suggestion_id]
    published = await world.suggestions.published(market_id=None, about=None, limit=10)
    assert [s.suggestion_id for s in published] == [mine.suggestion_id]
