"""Every inspection use case on the fake stores and the fake unit of work: what it stores and
emits, and above all what it does not — a refused input changes nothing and emits nothing, a
redelivered event does nothing, an exception in the middle rolls back and publishes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.registry import MerchantUpserted
from services.inspection.domain import (
    FindingReport,
    IllegalTransition,
    InvalidCompletion,
    InvalidVerification,
    PatrolPlan,
    RectificationOrder,
    Task,
)
from services.inspection.domain.photos import PhotoTooLarge
from services.inspection.store import MerchantInfo
from services.runtime.auth import Principal
from services.runtime.failures import Conflict, NotFound
from tests.support.inspection_builders import POLICY, T0, TASK_FORCE, D, H, complaint, risk
from tests.support.registry import market
from tests.unit.inspection.conftest import World, delivery, open_task

LI = Principal("inspector-li", "inspector", "zhifu", name="李")
WANG = Principal("inspector-wang", "inspector", "zhifu", name="王")
ELSEWHERE = Principal("inspector-zhao", "inspector", "laishan")
ADMIN = Principal("admin", "admin", "*")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class Boom(Exception):
    """A failure in the middle of a unit of work (a store that breaks)."""


async def complete_major(
    world: World, task_id: str, code: str = "CCH-01"
) -> tuple[Task, RectificationOrder | None]:
    """李 completes `task_id` with one major finding of `code`, no note and no department told."""
    return await world.service.complete(
        LI,
        task_id,
        outcome="major",
        findings=[FindingReport(code, "")],
        departments=[],
        note=None,
    )


def breaks(monkeypatch: pytest.MonkeyPatch, store: object, method: str) -> None:
    async def boom(*_: object, **__: object) -> None:
        raise Boom(method)

    monkeypatch.setattr(store, method, boom)


# -- triggers ------------------------------------------------------------------------------------


async def test_a_risk_opens_a_task_and_announces_it(world: World) -> None:
    task_id = await open_task(world)
    task = await world.stores.tasks.get(task_id)
    assert task is not None and (task.state, task.merchant_id) == ("open", "mer_1")
    assert task.task_force == TASK_FORCE  # the market's, from the registry view
    assert world.types() == ["inspection.task.created"]
    [(topic, event, key)] = world.uow.published
    assert (topic, key, event.id) == ("inspection.events.v1", task_id, event.id)
    assert world.uow.claimed == {("inspection-risks", "ev_r1")}


async def test_a_redelivered_risk_does_nothing(world: World) -> None:
    task_id = await open_task(world)
    before = await world.stores.tasks.get(task_id)
    await world.service.trigger(risk(event_id="ev_r1"), delivery(), "inspection-risks", "risk")
    assert await world.stores.tasks.get(task_id) == before
    assert world.types() == ["inspection.task.created"]


async def test_a_second_trigger_joins_the_open_task(world: World) -> None:
    task_id = await open_task(world)
    await world.service.trigger(
        risk(event_id="ev_r2", severity="critical", risk_id="risk_2"),
        delivery(2),
        "inspection-risks",
        "risk",
    )
    task = await world.stores.tasks.get(task_id)
    assert task is not None and len(task.triggers) == 2
    assert world.types() == ["inspection.task.created", "inspection.task.updated"]


async def test_a_trigger_below_the_threshold_opens_nothing_and_emits_nothing(world: World) -> None:
    await world.service.trigger(
        risk(severity="minor", event_id="ev_m"), delivery(), "inspection-risks", "risk"
    )
    assert world.stores.tasks.rows == {}  # type: ignore[attr-defined]
    assert world.uow.published == []
    # Still claimed: the event was handled (and ignored), once.
    assert world.uow.claimed == {("inspection-risks", "ev_m")}


async def test_a_failure_while_storing_a_trigger_rolls_back_claim_and_events(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    breaks(monkeypatch, world.stores.tasks, "save")
    with pytest.raises(Boom):
        await world.service.trigger(
            complaint(event_id="ev_c1"), delivery(), "inspection-complaints", "complaint"
        )
    assert (world.uow.rollbacks, world.uow.published, world.uow.claimed) == (1, [], set())
    # Redelivered once the store works again, the complaint is handled.
    monkeypatch.undo()
    await world.service.trigger(
        complaint(event_id="ev_c1"), delivery(), "inspection-complaints", "complaint"
    )
    assert world.types() == ["inspection.task.created"]


# -- claim and complete --------------------------------------------------------------------------


async def test_claiming_records_the_inspector_and_announces_it(world: World) -> None:
    task_id = await open_task(world)
    task = await world.service.claim(LI, task_id)
    assert (task.state, task.assignee) == ("claimed", "inspector-li")
    assert await world.stores.tasks.get(task_id) == task
    assert world.types()[-1] == "inspection.task.claimed"
    # Claiming again as its holder changes nothing and emits nothing.
    assert await world.service.claim(LI, task_id) == task
    assert world.types() == ["inspection.task.created", "inspection.task.claimed"]


async def test_a_refused_claim_changes_nothing_and_emits_nothing(world: World) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    before, published = await world.stores.tasks.get(task_id), list(world.uow.published)
    with pytest.raises(IllegalTransition):
        await world.service.claim(WANG, task_id)
    with pytest.raises(NotFound):
        await world.service.claim(ELSEWHERE, task_id)
    with pytest.raises(NotFound):
        await world.service.claim(LI, "tsk_none")
    assert await world.stores.tasks.get(task_id) == before
    assert world.uow.published == published
    assert world.uow.rollbacks == 3


async def test_completing_with_a_finding_orders_rectification_and_reanchors_the_plan(
    world: World,
) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    world.at(T0 + H)
    task, order = await world.service.complete(
        LI,
        task_id,
        outcome="major",
        findings=[FindingReport("CCH-01", "11 °C")],
        departments=["market_regulation"],
        note=None,
    )
    assert task.state == "completed" and order is not None
    assert await world.stores.orders.get(order.rectification_id) == order
    assert world.types()[-2:] == ["inspection.task.completed", "inspection.rectification.ordered"]
    plan = await world.stores.plans.get("mer_1")
    assert plan is not None and plan.anchor == T0 + H  # the inspection counts


async def test_a_task_to_do_names_the_stall_its_merchant_moved_to_a_done_one_where_it_was(
    world: World,
) -> None:
    """换摊位 after the task was made: the inspector is sent to the stall the merchant trades at
    now; the task, stored and published, keeps where it was made, and a completed one where the
    inspection was."""
    task_id = await open_task(world)
    assert (await world.service.task(LI, task_id)).stall_no == "A-12"
    world.directory.merchants["mer_1"] = MerchantInfo(
        "mer_1", "mkt_1", "zhifu", "B-07", "active", 2
    )
    assert (await world.service.task(LI, task_id)).stall_no == "B-07"
    [listed] = await world.service.tasks(LI, state=None, market_id=None, limit=9)
    assert listed.stall_no == "B-07"
    stored = await world.stores.tasks.get(task_id)
    assert stored is not None and stored.stall_no == "A-12"
    await world.service.claim(LI, task_id)
    done, _ = await world.service.complete(
        LI, task_id, outcome="pass", findings=[], departments=["market_regulation"], note=None
    )
    assert done.stall_no == "B-07"
    stored = await world.stores.tasks.get(task_id)
    assert stored is not None and stored.stall_no == "B-07"
    completed = [e for _, e, _ in world.uow.published if e.type == "inspection.task.completed"]
    assert [e.data.stall_no for e in completed] == ["B-07"]
    # Moved again later: the inspection stays where it was.
    world.directory.merchants["mer_1"] = MerchantInfo(
        "mer_1", "mkt_1", "zhifu", "C-01", "active", 3
    )
    assert (await world.service.task(LI, task_id)).stall_no == "B-07"


async def test_a_refused_completion_changes_nothing_and_emits_nothing(world: World) -> None:
    task_id = await open_task(world)
    claimed = await world.service.claim(LI, task_id)
    published = list(world.uow.published)
    with pytest.raises(InvalidCompletion):
        await complete_major(world, task_id, "NOPE-1")
    with pytest.raises(IllegalTransition):
        await world.service.complete(
            WANG, task_id, outcome="pass", findings=[], departments=[], note=None
        )
    assert await world.stores.tasks.get(task_id) == claimed
    assert world.stores.orders.rows == {}  # type: ignore[attr-defined]
    assert world.uow.published == published


async def test_a_failure_while_completing_publishes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    published = list(world.uow.published)
    breaks(monkeypatch, world.stores.orders, "save")
    with pytest.raises(Boom):
        await complete_major(world, task_id)
    assert world.uow.published == published
    assert world.uow.rollbacks == 1


async def test_a_critical_completion_suspends_and_stores_and_announces_its_reinspection(
    world: World,
) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    world.at(T0 + H)
    task, order = await world.service.complete(
        LI,
        task_id,
        outcome="critical",
        findings=[FindingReport("HYG-06", "")],
        departments=[],
        note=None,
    )
    assert task.state == "completed"
    assert order is not None and order.suspension and order.reinspection_task_id is not None
    again = await world.stores.tasks.get(order.reinspection_task_id)
    assert again is not None
    assert (again.reason_kind, again.reinspection_of, again.state) == (
        "reinspection",
        order.rectification_id,
        "open",
    )
    assert world.types()[-3:] == [
        "inspection.task.completed",
        "inspection.rectification.ordered",
        "inspection.task.created",
    ]
    _, created, key = world.uow.published[-1]
    assert key == again.task_id and created.data.reinspection_of == order.rectification_id


async def test_completing_a_market_level_task_reanchors_no_merchants_plan(world: World) -> None:
    await world.service.trigger(
        risk(event_id="ev_m1", merchant_id=None), delivery(), "inspection-risks", "risk"
    )
    [task] = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    assert task.merchant_id is None
    await world.service.claim(LI, task.task_id)
    world.at(T0 + H)
    done, order = await world.service.complete(
        LI, task.task_id, outcome="pass", findings=[], departments=[], note=None
    )
    assert done.state == "completed" and order is None
    assert world.stores.plans.rows == {}  # type: ignore[attr-defined]
    assert world.noted.plans == []
    assert world.types()[-1] == "inspection.task.completed"


# -- rectification -------------------------------------------------------------------------------


async def completed_with_order(world: World) -> str:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    _, order = await complete_major(world, task_id)
    assert order is not None
    return order.rectification_id


async def test_a_passed_verification_closes_the_order(world: World) -> None:
    order_id = await completed_with_order(world)
    world.at(T0 + D)
    order = await world.service.verify(LI, order_id, passed=True)
    assert order.state == "verified"
    assert await world.stores.orders.get(order_id) == order
    assert world.types()[-1] == "inspection.rectification.verified"


async def test_a_verification_out_of_district_or_of_no_order_changes_nothing(
    world: World,
) -> None:
    order_id = await completed_with_order(world)
    before, published = await world.stores.orders.get(order_id), list(world.uow.published)
    with pytest.raises(NotFound):
        await world.service.verify(ELSEWHERE, order_id, passed=True)
    with pytest.raises(NotFound):
        await world.service.verify(LI, "rec_none", passed=True)
    world.at(T0 + D)
    await world.service.verify(LI, order_id, passed=True)
    with pytest.raises(IllegalTransition):
        await world.service.verify(LI, order_id, passed=True)
    assert before is not None
    assert world.uow.published[: len(published)] == published
    assert len(world.uow.published) == len(published) + 1


async def test_one_order_is_read_in_the_caller_s_district_only(world: World) -> None:
    order_id = await completed_with_order(world)
    assert await world.service.order(LI, order_id) == await world.stores.orders.get(order_id)
    with pytest.raises(NotFound):
        await world.service.order(ELSEWHERE, order_id)
    with pytest.raises(NotFound):
        await world.service.order(LI, "rec_none")


async def test_orders_and_tasks_are_listed_in_the_caller_s_district(world: World) -> None:
    order_id = await completed_with_order(world)
    assert [o.rectification_id for o in await world.service.orders(LI, state=None, limit=9)] == [
        order_id
    ]
    assert await world.service.orders(ELSEWHERE, state=None, limit=9) == []
    assert len(await world.service.tasks(ADMIN, state=None, market_id=None, limit=9)) == 1
    assert await world.service.tasks(ELSEWHERE, state=None, market_id=None, limit=9) == []


# -- the clock -----------------------------------------------------------------------------------


async def test_the_clock_marks_a_late_task_overdue_once(world: World) -> None:
    task_id = await open_task(world)
    task = await world.stores.tasks.get(task_id)
    assert task is not None
    world.at(task.due_at + H)
    assert await world.service.check_clock() == 1
    marked = await world.stores.tasks.get(task_id)
    assert marked is not None and marked.overdue_at == task.due_at + H
    assert world.types()[-1] == "inspection.task.overdue"
    assert await world.service.check_clock() == 0
    assert world.types().count("inspection.task.overdue") == 1


async def test_a_merchant_who_leaves_has_its_open_order_lapse_and_its_reinspection_withdrawn(
    world: World,
) -> None:
    """An order still open when its merchant left (退出经营): it lapses, goes overdue no more
    and sends no inspector to the stall; the re-inspection its missed deadline made is
    withdrawn. Another merchant's order is untouched."""
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    _, order = await complete_major(world, task_id)
    assert order is not None and order.deadline is not None
    world.at(order.deadline + H)
    assert await world.service.check_clock() == 1
    escalated = await world.stores.orders.get(order.rectification_id)
    assert escalated is not None and escalated.reinspection_task_id is not None

    world.at(order.deadline + 2 * H)
    await world.service.merchants_seen([_left("mer_1", 2)])

    ended = await world.stores.orders.get(order.rectification_id)
    assert ended is not None
    assert (ended.state, ended.lapsed_at, ended.lapse_reason) == (
        "lapsed",
        order.deadline + 2 * H,
        "merchant_left",
    )
    assert ended.reinspection_task_id is None
    reinspection = await world.stores.tasks.get(escalated.reinspection_task_id)
    assert reinspection is not None and reinspection.state == "withdrawn"
    assert world.types()[-2:] == ["inspection.rectification.lapsed", "inspection.task.withdrawn"]
    world.at(order.deadline + 30 * D)
    assert await world.service.check_clock() == 0
    with pytest.raises(IllegalTransition):
        await world.service.verify(LI, order.rectification_id, passed=True)
    assert await world.stores.orders.listing(state="open", district=None, limit=9) == []


def _left(merchant_id: str, version: int) -> MerchantUpserted:
    """The registry's snapshot of a merchant who left its stall (退出经营)."""
    fields = {"merchant_id": merchant_id, "market_id": "mkt_1", "district": "zhifu"}
    extras = _merchant_extras() | {"left_on": T0.date().isoformat()}
    return MerchantUpserted.model_validate(
        fields | {"stall_no": "A-12", "status": "left", "version": version} | extras
    )


async def test_a_merchant_who_leaves_has_its_tasks_still_to_do_withdrawn_once(
    world: World,
) -> None:
    """Nobody is left at the stall to inspect: its open and claimed tasks are withdrawn, with
    their events; a done task and another merchant's stay as they were, and reading the
    snapshot again withdraws nothing twice."""
    claimed = await open_task(world)
    await world.service.claim(LI, claimed)
    await world.service.trigger(complaint(), delivery(2), "inspection-complaints", "complaint")
    await world.service.trigger(
        risk(risk_id="risk_9", merchant_id="mer_2"), delivery(3), "inspection-risks", "risk"
    )
    tasks = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    mine = {t.task_id for t in tasks if t.merchant_id == "mer_1"}
    assert len(mine) == 2 and claimed in mine
    world.at(T0 + 2 * H)

    await world.service.merchants_seen([_left("mer_1", 2)])

    after = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    states = {t.task_id: (t.merchant_id, t.state) for t in after}
    assert sorted(states.values()) == [
        ("mer_1", "withdrawn"),
        ("mer_1", "withdrawn"),
        ("mer_2", "open"),
    ]
    gone = [t for t in after if t.task_id in mine]
    assert {(t.withdrawn_at, t.withdrawal_reason) for t in gone} == {(T0 + 2 * H, "merchant_left")}
    withdrawn = [e for e in world.uow.published if e[1].type == "inspection.task.withdrawn"]
    assert sorted(e[1].subject for e in withdrawn) == sorted(mine)
    assert {e[1].data.reason for e in withdrawn} == {"merchant_left"}
    assert world.directory.merchants["mer_1"].status == "left"
    with pytest.raises(IllegalTransition):
        await complete_major(world, claimed)

    published = list(world.uow.published)
    await world.service.merchants_seen([_left("mer_1", 2)])
    assert world.uow.published == published


async def test_a_done_task_stays_done_when_its_merchant_leaves(world: World) -> None:
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    done, _ = await complete_major(world, task_id)
    await world.service.merchants_seen([_left("mer_1", 2)])
    assert await world.stores.tasks.get(task_id) == done
    assert "inspection.task.withdrawn" not in world.types()


async def test_a_failure_while_withdrawing_rolls_back_the_view_and_the_tasks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = await open_task(world)
    breaks(monkeypatch, world.stores.tasks, "save")
    with pytest.raises(Boom):
        await world.service.merchants_seen([_left("mer_1", 2)])
    assert world.types() == ["inspection.task.created"]
    assert world.uow.rollbacks == 1
    # The snapshot is read again on redelivery: the view did not take it meanwhile.
    assert world.directory.merchants["mer_1"].status == "active"
    task = await world.stores.tasks.get(task_id)
    assert task is not None and task.state == "open"


async def test_a_trigger_about_a_merchant_who_left_opens_no_task(world: World) -> None:
    """A complaint accepted before the leaving was read, or a late risk of its sensors."""
    await world.service.merchants_seen([_left("mer_1", 2)])
    await world.service.trigger(complaint(), delivery(2), "inspection-complaints", "complaint")
    await world.service.trigger(risk(), delivery(3), "inspection-risks", "risk")
    tasks = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    assert tasks == []
    assert world.types() == []


async def test_a_market_that_closes_has_its_open_orders_lapse_and_tasks_withdrawn_once(
    world: World,
) -> None:
    """停业: the market's own open work ends — an order to its operator, a task still to do
    about the market — and another market's stays."""
    await world.service.trigger(
        complaint(merchant_id=None, complaint_id="cmp_m"),
        delivery(2),
        "inspection-complaints",
        "complaint",
    )
    [task] = await world.stores.tasks.listing(
        state="open", market_id="mkt_1", district=None, limit=9
    )
    await world.service.claim(LI, task.task_id)
    _, order = await complete_major(world, task.task_id)
    assert order is not None and order.merchant_id is None
    await world.service.trigger(
        complaint(merchant_id=None, complaint_id="cmp_n"),
        delivery(3),
        "inspection-complaints",
        "complaint",
    )
    world.directory.markets["mkt_2"] = replace(world.directory.markets["mkt_1"], id="mkt_2")
    elsewhere = replace(complaint(merchant_id=None, complaint_id="cmp_o"), market_id="mkt_2")
    await world.service.trigger(elsewhere, delivery(4), "inspection-complaints", "complaint")
    world.at(T0 + 2 * H)

    closed = market("mkt_1", "zhifu", status="closed", closed_on=T0.date(), version=2)
    await world.service.market_seen(closed)

    ended = await world.stores.orders.get(order.rectification_id)
    assert ended is not None and (ended.state, ended.lapse_reason) == ("lapsed", "market_closed")
    tasks = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    states = sorted((t.market_id, t.state, t.withdrawal_reason) for t in tasks)
    assert states == [
        ("mkt_1", "completed", None),
        ("mkt_1", "withdrawn", "market_closed"),
        ("mkt_2", "open", None),
    ]
    published = list(world.uow.published)
    await world.service.market_seen(closed)
    assert world.uow.published == published
    # A complaint about the market accepted before the closing was read: no task.
    late = complaint(merchant_id=None, complaint_id="cmp_late")
    await world.service.trigger(late, delivery(5), "inspection-complaints", "complaint")
    assert world.uow.published == published
    assert (
        await world.stores.tasks.listing(state="open", market_id="mkt_1", district=None, limit=9)
        == []
    )


async def test_the_clock_before_any_deadline_changes_nothing(world: World) -> None:
    await completed_with_order(world)
    published = list(world.uow.published)
    assert await world.service.check_clock() == 0
    assert world.uow.published == published


async def test_a_failure_while_marking_overdue_publishes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = await open_task(world)
    task = await world.stores.tasks.get(task_id)
    assert task is not None
    world.at(task.due_at + H)
    breaks(monkeypatch, world.stores.orders, "past_deadline")
    with pytest.raises(Boom):
        await world.service.check_clock()
    assert world.types() == ["inspection.task.created"]
    assert world.uow.rollbacks == 1


# -- patrol plans --------------------------------------------------------------------------------


async def test_a_merchant_s_first_snapshot_starts_its_plan_once(world: World) -> None:
    from contracts.registry import MerchantUpserted

    snapshot = MerchantUpserted.model_validate(
        {
            "merchant_id": "mer_2",
            "market_id": "mkt_1",
            "district": "zhifu",
            "stall_no": "B-1",
            "status": "active",
            "version": 1,
        }
        | _merchant_extras()
    )
    await world.directory.on_merchants([snapshot], on_new=world.service.start_plans)
    plan = await world.stores.plans.get("mer_2")
    assert plan is not None and plan.grade is None
    await world.directory.on_merchants([snapshot], on_new=world.service.start_plans)
    assert await world.stores.plans.get("mer_2") == plan
    assert world.directory.merchants["mer_2"].stall_no == "B-1"


async def test_a_batch_of_snapshots_starts_one_plan_per_new_merchant_in_one_unit_of_work(
    world: World,
) -> None:
    from contracts.registry import MerchantUpserted

    def snapshot(merchant_id: str, version: int, stall_no: str) -> MerchantUpserted:
        fields = {"merchant_id": merchant_id, "market_id": "mkt_1", "district": "zhifu"}
        return MerchantUpserted.model_validate(
            fields
            | {"stall_no": stall_no, "status": "active", "version": version}
            | _merchant_extras()
        )

    known = world.directory.merchants["mer_1"]
    await world.stores.registry.put_merchants([known])
    commits = world.uow.commits
    batch = [
        snapshot("mer_2", 1, "B-1"),
        snapshot("mer_2", 2, "B-2"),  # the same new merchant twice: the newer is kept
        snapshot("mer_1", known.version + 1, "A-9"),  # known: no plan of its own here
        snapshot("mer_3", 1, "C-1"),
    ]
    await world.directory.on_merchants(batch, on_new=world.service.start_plans)
    assert world.uow.commits == commits + 1
    assert await world.stores.plans.get("mer_1") is None
    plans = [await world.stores.plans.get(m) for m in ("mer_2", "mer_3")]
    assert all(p is not None and p.task_id is None for p in plans)
    assert {m: world.directory.merchants[m].stall_no for m in ("mer_1", "mer_2", "mer_3")} == {
        "mer_1": "A-9",
        "mer_2": "B-2",
        "mer_3": "C-1",
    }
    assert world.stores.registry.merchant_rows["mer_2"].stall_no == "B-2"
    # Read again (a replay of the topic): nothing new, the plans as they were.
    await world.directory.on_merchants(batch, on_new=world.service.start_plans)
    assert [await world.stores.plans.get(m) for m in ("mer_2", "mer_3")] == plans


def _merchant_extras() -> dict[str, object]:
    from tests.support.event_samples import SAMPLES

    sample = SAMPLES["registry.merchant.upserted"].model_dump(mode="json")
    keep = {"merchant_id", "market_id", "district", "stall_no", "status", "version"}
    return {k: v for k, v in sample.items() if k not in keep}


async def test_the_scheduler_plans_every_merchant_and_makes_a_due_patrol_once(
    world: World,
) -> None:
    await world.stores.registry.put_merchants([world.directory.merchants["mer_1"]])
    assert await world.service.check_patrols() == 0  # the plan starts; not due yet
    plan = await world.stores.plans.get("mer_1")
    assert plan is not None and plan.task_id is None
    world.at(plan.due_at + H)
    assert await world.service.check_patrols() == 1
    assert world.types() == ["inspection.task.created"]
    again = await world.stores.plans.get("mer_1")
    assert again is not None and again.task_id is not None
    assert await world.service.check_patrols() == 0
    assert world.types() == ["inspection.task.created"]


async def test_a_plan_started_again_while_its_patrol_is_open_waits_for_that_task(
    world: World,
) -> None:
    """The merchant's plan was lost (and is started again lazily) while the patrol task it made
    is still open: when the new plan comes due it takes that task, and makes no second one."""
    await world.stores.registry.put_merchants([world.directory.merchants["mer_1"]])
    await world.service.check_patrols()
    first = await world.stores.plans.get("mer_1")
    assert first is not None
    world.at(first.due_at + H)
    assert await world.service.check_patrols() == 1
    [patrol] = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    published = list(world.uow.published)
    del world.stores.plans.rows["mer_1"]  # type: ignore[attr-defined]
    assert await world.service.check_patrols() == 0  # the plan starts again; not due yet
    restarted = await world.stores.plans.get("mer_1")
    assert restarted is not None and restarted.task_id is None
    world.at(restarted.due_at + H)
    assert await world.service.check_patrols() == 0
    taken = await world.stores.plans.get("mer_1")
    assert taken is not None and taken.task_id == patrol.task_id
    listed = await world.stores.tasks.listing(state=None, market_id=None, district=None, limit=9)
    assert listed == [patrol]
    assert world.uow.published == published


async def test_a_newer_grade_replans_and_an_older_one_changes_nothing(world: World) -> None:
    await world.service.regrade("mer_1", "D", 5)
    plan = await world.stores.plans.get("mer_1")
    assert plan is not None and (plan.grade, plan.grade_version) == ("D", 5)
    await world.service.regrade("mer_1", "A", 4)
    assert await world.stores.plans.get("mer_1") == plan
    assert world.uow.published == []  # plans are inspection's own business


async def test_the_warning_list_is_taken_once(world: World) -> None:
    listed = delivery(topic="credit.honours.v1")
    await world.service.warning_list(
        "mer_1", "2026-04", listed=True, event_id="ev_h1", delivery=listed
    )
    plan = await world.stores.plans.get("mer_1")
    assert plan is not None and plan.warning_list == "2026-04"
    assert world.noted.plans == ["started", "warned"]
    await world.service.warning_list(
        "mer_1", "2026-04", listed=True, event_id="ev_h1", delivery=listed
    )
    assert world.noted.plans == ["started", "warned"]  # the inbox: not even judged stale
    # Redelivered after a delisting: the inbox keeps it from listing the merchant again.
    await world.service.warning_list(
        "mer_1", "2026-05", listed=False, event_id="ev_h2", delivery=listed
    )
    delisted = await world.stores.plans.get("mer_1")
    assert delisted is not None and delisted.warning_list is None
    await world.service.warning_list(
        "mer_1", "2026-04", listed=True, event_id="ev_h1", delivery=listed
    )
    assert await world.stores.plans.get("mer_1") == delisted


async def test_a_plan_is_shown_in_its_district_only(world: World) -> None:
    with pytest.raises(NotFound):
        await world.service.patrol_plan(LI, "mer_1")  # no plan yet
    await world.service.regrade("mer_1", "C", 1)
    shown = await world.service.patrol_plan(LI, "mer_1")
    assert (shown["effective_grade"], shown["interval_days"]) == ("C", 120)
    assert (shown["interval_reason"], shown["patrolled"]) == ("grade", True)
    with pytest.raises(NotFound):
        await world.service.patrol_plan(ELSEWHERE, "mer_1")
    with pytest.raises(NotFound):
        await world.service.patrol_plan(LI, "mer_unknown")


# -- photos --------------------------------------------------------------------------------------


async def test_a_photo_is_attached_and_read_back_in_the_district(world: World) -> None:
    task_id = await open_task(world)
    photo = await world.service.add_photo(LI, task_id, PNG)
    assert photo.content_type == "image/png"
    assert await world.service.photos(LI, task_id) == [photo]
    assert await world.service.photo(LI, task_id, photo.photo_id) == (photo, PNG)
    with pytest.raises(NotFound):
        await world.service.photo(ELSEWHERE, task_id, photo.photo_id)
    with pytest.raises(NotFound):
        await world.service.photos(ELSEWHERE, task_id)


async def test_a_refused_photo_stores_nothing(world: World) -> None:
    task_id = await open_task(world)
    world.service.photo_max_bytes = 1024
    with pytest.raises(PhotoTooLarge):
        await world.service.add_photo(LI, task_id, PNG + b"\x00" * 2048)
    with pytest.raises(Exception, match="not a JPEG"):
        await world.service.add_photo(LI, task_id, b"GIF89a")
    for _ in range(5):
        await world.service.add_photo(LI, task_id, PNG)
    with pytest.raises(Conflict):
        await world.service.add_photo(LI, task_id, PNG)
    assert len(await world.service.photos(LI, task_id)) == 5
    assert world.types() == ["inspection.task.created"]


# -- a re-check's photos and note (复查) ---------------------------------------------------------


async def another_order(world: World) -> str:
    """An order about another merchant of the district (its own task)."""
    theirs = risk(merchant_id="mer_2", risk_id="risk_2", event_id="ev_r2")
    await world.service.trigger(theirs, delivery(2), "inspection-risks", "risk")
    [task] = [
        t
        for t in await world.stores.tasks.listing(
            state="open", market_id=None, district=None, limit=9
        )
        if t.merchant_id == "mer_2"
    ]
    await world.service.claim(LI, task.task_id)
    _, order = await world.service.complete(
        LI, task.task_id, outcome="minor", findings=[FindingReport("HYG-01", "")],
        departments=[], note=None,
    )  # fmt: skip
    assert order is not None
    return order.rectification_id


async def test_a_recheck_records_a_note_and_the_photos_uploaded_to_its_order(world: World) -> None:
    order_id = await completed_with_order(world)
    world.at(T0 + D)
    first = await world.service.add_order_photo(LI, order_id, PNG)
    world.at(T0 + D + H)  # listed by upload time (then by id, which is random)
    second = await world.service.add_order_photo(WANG, order_id, PNG)
    assert (first.rectification_id, first.district) == (order_id, "zhifu")
    assert await world.service.order_photos(LI, order_id) == [first, second]
    assert await world.service.order_photo(ADMIN, order_id, first.photo_id) == (first, PNG)
    # They are the order's, not its task's: the inspection's own photos stay as they were.
    order = await world.stores.orders.get(order_id)
    assert order is not None
    assert await world.service.photos(LI, order.task_id) == []
    with pytest.raises(NotFound):
        await world.service.photo(LI, order.task_id, first.photo_id)
    assert world.types()[-1] == "inspection.rectification.ordered"  # an upload announces nothing

    checked = await world.service.verify(
        LI, order_id, passed=True, note="冷柜已修好", photos=[second.photo_id]
    )
    assert (checked.state, checked.verification_note) == ("verified", "冷柜已修好")
    assert checked.verification_photos == (second.photo_id,)
    assert await world.stores.orders.get(order_id) == checked
    [(_, event, _)] = world.uow.published[-1:]
    assert event.type == "inspection.rectification.verified"
    assert (event.data.note, event.data.photos) == ("冷柜已修好", [second.photo_id])
    # A verified order takes no more photos.
    with pytest.raises(IllegalTransition):
        await world.service.add_order_photo(LI, order_id, PNG)


async def test_a_recheck_naming_a_photo_not_of_its_order_changes_nothing(world: World) -> None:
    order_id = await completed_with_order(world)
    other_id = await another_order(world)
    order = await world.stores.orders.get(order_id)
    assert order is not None
    theirs = await world.service.add_order_photo(LI, other_id, PNG)
    ours = await world.service.add_order_photo(LI, order_id, PNG)
    published = list(world.uow.published)
    for named in ([ours.photo_id, theirs.photo_id], [ours.photo_id, "pho_unknown"]):
        with pytest.raises(InvalidVerification) as refused:
            await world.service.verify(LI, order_id, passed=True, note="好", photos=named)
        assert refused.value.errors == [
            {"field": "photos.1", "reason": f"no photo {named[1]!r} of this rectification"}
        ]
    with pytest.raises(InvalidVerification) as long_note:
        await world.service.verify(LI, order_id, passed=False, note="长" * 1001)
    assert [e["field"] for e in long_note.value.errors] == ["note"]
    assert await world.stores.orders.get(order_id) == order
    assert world.uow.published == published


async def test_order_photos_are_in_the_district_only_and_capped_per_check(world: World) -> None:
    order_id = await completed_with_order(world)
    with pytest.raises(NotFound):
        await world.service.add_order_photo(ELSEWHERE, order_id, PNG)
    with pytest.raises(NotFound):
        await world.service.order_photos(ELSEWHERE, order_id)
    with pytest.raises(NotFound):
        await world.service.add_order_photo(LI, "rct_none", PNG)
    photos = [await world.service.add_order_photo(LI, order_id, PNG) for _ in range(5)]
    with pytest.raises(NotFound):
        await world.service.order_photo(ELSEWHERE, order_id, photos[0].photo_id)
    with pytest.raises(Conflict):
        await world.service.add_order_photo(LI, order_id, PNG)
    world.service.photo_max_bytes = 16
    with pytest.raises(PhotoTooLarge):
        await world.service.add_order_photo(LI, order_id, PNG)
    world.service.photo_max_bytes = 1024
    assert len(await world.service.order_photos(LI, order_id)) == 5
    # A failed check took them; the next check may carry five of its own.
    world.at(T0 + D)
    await world.service.verify(LI, order_id, passed=False, photos=[p.photo_id for p in photos])
    world.at(T0 + D + H)
    later = await world.service.add_order_photo(LI, order_id, PNG)
    assert (await world.service.order_photos(LI, order_id))[-1] == later
    # An earlier check's photo is that check's evidence: the next one cannot name it again.
    before = await world.stores.orders.get(order_id)
    with pytest.raises(InvalidVerification) as refused:
        await world.service.verify(LI, order_id, passed=True, photos=[photos[0].photo_id])
    assert [e["field"] for e in refused.value.errors] == ["photos.0"]
    assert await world.stores.orders.get(order_id) == before


# -- reading one task ----------------------------------------------------------------------------


async def test_one_task_is_read_in_its_district_only(world: World) -> None:
    task_id = await open_task(world)
    assert (await world.service.task(LI, task_id)).task_id == task_id
    assert (await world.service.task(ADMIN, task_id)).task_id == task_id
    with pytest.raises(NotFound):
        await world.service.task(ELSEWHERE, task_id)
    with pytest.raises(NotFound):
        await world.service.task(LI, "tsk_none")


# -- an order past its deadline ------------------------------------------------------------------


async def test_an_order_past_its_deadline_escalates_once_and_its_check_closes_the_reinspection(
    world: World,
) -> None:
    order_id = await completed_with_order(world)
    order = await world.stores.orders.get(order_id)
    assert order is not None
    world.at(order.deadline + H)
    assert await world.service.check_clock() == 1
    overdue = await world.stores.orders.get(order_id)
    assert overdue is not None and overdue.overdue_at == order.deadline + H
    assert overdue.reinspection_task_id is not None
    reinspection = await world.stores.tasks.get(overdue.reinspection_task_id)
    assert reinspection is not None and reinspection.state == "open"
    assert world.types()[-2:] == ["inspection.rectification.overdue", "inspection.task.created"]
    assert await world.service.check_clock() == 0
    assert world.types().count("inspection.rectification.overdue") == 1

    world.at(order.deadline + 2 * H)
    checked = await world.service.verify(LI, order_id, passed=True)
    assert checked.state == "verified"
    closed = await world.stores.tasks.get(overdue.reinspection_task_id)
    assert closed is not None and closed.state == "completed"
    assert "inspection.task.completed" in world.types()[-3:]


async def test_a_warned_merchant_s_plan_says_why_it_is_patrolled_sooner(world: World) -> None:
    await world.service.regrade("mer_1", "B", 1)
    listed = delivery(topic="credit.honours.v1")
    await world.service.warning_list(
        "mer_1", "2026-04", listed=True, event_id="ev_h1", delivery=listed
    )
    shown = await world.service.patrol_plan(LI, "mer_1")
    assert (shown["interval_reason"], shown["interval_days"]) == ("warning_list", 90)


async def test_a_plan_another_transaction_started_meanwhile_is_the_one_reanchored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merchant's first score (or snapshot) started its plan between the completion's read
    and its insert: the insert finds it there, and the completion re-anchors that plan."""
    task_id = await open_task(world)
    await world.service.claim(LI, task_id)
    theirs = PatrolPlan.start("mer_1", "B", None, T0, POLICY)
    plans = world.stores.plans
    real_get, reads = plans.get, []

    async def missed_then_there(merchant_id: str, **kw: object) -> object:
        reads.append(merchant_id)
        if len(reads) == 1:
            assert await plans.insert([theirs])  # the other transaction commits meanwhile
            return None
        return await real_get(merchant_id, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(plans, "get", missed_then_there)
    world.at(T0 + H)
    await world.service.complete(
        LI, task_id, outcome="pass", findings=[], departments=["market_regulation"], note=None
    )
    monkeypatch.undo()
    plan = await plans.get("mer_1")
    assert plan is not None and plan.grade == "B"  # theirs, not a second one started here
    assert plan.anchor == T0 + H
    assert "started" not in world.noted.plans
