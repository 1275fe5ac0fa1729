"""Every credit use case on the in-memory stores and a fake unit of work, reached the way Kafka
and HTTP reach them (the routers of handlers.py, the methods api.py calls): what it stores and
announces, and above all what a refusal, a redelivery or a failure half-way leaves behind
(nothing stored, nothing announced)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.complaints import ComplaintOverdue, ComplaintTransferred
from contracts.duties import DutiesUpdated
from contracts.inspection import TASK_COMPLETED, RectificationOrdered
from contracts.registry import MerchantUpserted
from contracts.telemetry import RiskCleared
from services.credit import handlers
from services.credit.domain import Month, Period, PolicyBook
from services.credit.fakes import FakeStores, fake_stores
from services.credit.metrics import CreditMetrics
from services.credit.policy_files import default_book
from services.credit.service import Credit
from services.credit.store import GradeQuery, StatusSeen, Stores
from services.runtime.auth import Principal
from services.runtime.directory import RegistryMemory
from services.runtime.failures import Conflict, Forbidden, InvalidInput, NotFound
from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.outbox import outgoing
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support import credit_events as samples
from tests.support import registry
from tests.support.cli_records import risk_raised
from tests.support.clock import Clock
from tests.support.credit_events import decided

T0 = samples.T0 + 2 * samples.D  # after the samples' events
D = timedelta(days=1)
INSPECTOR = Principal(subject="i-li", role="inspector", district="zhifu")
ELSEWHERE = Principal(subject="i-wu", role="inspector", district="laishan")
ADMIN = Principal(subject="admin", role="admin", district="*")


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    stores: FakeStores
    clock: Clock
    credit: Credit
    metrics: CreditMetrics
    offsets: int = 0

    def types(self) -> list[str]:
        return list(self.uow.event_types())

    async def send(self, router: Any, item: Any) -> Delivery:
        """The event of an outbox item delivered to `router`, as Kafka would."""
        topic, event, key = item
        self.offsets += 1
        delivery = Delivery(topic, 0, self.offsets, key.encode(), event.to_json())
        await router(delivery)
        return delivery

    async def redeliver(self, router: Any, delivery: Delivery) -> None:
        await router(delivery)

    def delivered(self, *items: Any) -> list[Delivery]:
        """The events of outbox items as Kafka would deliver them, one after the other."""
        found = []
        for topic, event, key in items:
            self.offsets += 1
            found.append(Delivery(topic, 0, self.offsets, key.encode(), event.to_json()))
        return found

    def merchants(self) -> Any:
        """The merchants' batch handler taking a delivery at a time (as the dispatcher hands it
        the records of a batch that failed)."""
        handle = handlers.merchants_batches(self.credit)

        async def one(delivery: Delivery) -> None:
            await handle([delivery])

        return one


def world_with(book: PolicyBook | None = None, *, publish: bool = True) -> World:
    stores = fake_stores()
    uow = FakeUnitOfWork[Stores](stores, snapshot=snapshot(stores))
    directory = RegistryMemory(
        registry.market("mkt_1", "zhifu", name="芝罘农贸"),
        registry.merchant("mer_1", "mkt_1", "A-12", name="老王海鲜"),
    )
    clock = Clock(T0)
    metrics = CreditMetrics(Metrics("credit"))
    credit = Credit(
        uow.factory(), directory, book or default_book(), clock, metrics, publish=publish
    )
    return World(uow, stores, clock, credit, metrics)


@pytest.fixture
def world() -> World:
    return world_with()


def count(metric: Any, *labels: str) -> float:
    value: float = metric.labels(*labels)._value.get()
    return value


def inspection(outcome: str = "major", **kw: Any) -> Any:
    data = samples.task_completed(outcome, **({"triggers": []} | kw))
    return outgoing(
        "inspection", "inspection.task.completed", data.task_id, data, correlation_id="risk_1"
    )


def code_of(merchant_id: str) -> str:
    """Each merchant a business of its own (统一社会信用代码), unless a test says otherwise."""
    return f"91370602MA3C{merchant_id.upper().replace('_', '0'):0>6}"[-18:]


def registered(
    version: int = 2,
    status: str = "active",
    merchant_id: str = "mer_1",
    credit_code: str | None = None,
    market_id: str = "mkt_1",
) -> Any:
    data = samples.merchant(status).model_copy(
        update={
            "version": version,
            "merchant_id": merchant_id,
            "credit_code": credit_code or code_of(merchant_id),
            "market_id": market_id,
        }
    )
    assert isinstance(data, MerchantUpserted)
    return outgoing("registry", "registry.merchant.upserted", data.merchant_id, data)


# -- the ledger ----------------------------------------------------------------------------------
async def test_an_inspection_adjusts_its_merchant_and_announces_the_score(world: World) -> None:
    router = handlers.inspection_router(world.credit)
    delivery = await world.send(router, inspection("major"))
    assert world.types() == ["credit.score.changed"]
    _, event, key = world.uow.published[0]
    assert key == "mer_1" and event.correlationid == "risk_1"
    cause = event.data.adjustment.cause
    assert (cause.topic, cause.offset) == (delivery.topic, delivery.offset)
    [adjustment] = await world.stores.ledger.ledger("mer_1")
    assert adjustment.kind == "inspection.finding.major"
    assert await world.stores.context.last_inspection_of("mer_1") == (
        samples.T0 + samples.D,
        "major",
    )
    assert count(world.metrics.events, delivery.topic, "applied") == 1


async def test_a_redelivered_event_does_nothing(world: World) -> None:
    router = handlers.inspection_router(world.credit)
    delivery = await world.send(router, inspection("major"))
    before = await world.stores.ledger.scores()
    await world.redeliver(router, delivery)
    assert world.types() == ["credit.score.changed"]
    assert len(await world.stores.ledger.ledger("mer_1")) == 1
    assert await world.stores.ledger.scores() == before
    assert count(world.metrics.events, delivery.topic, "duplicate") == 1


async def test_an_event_credit_does_not_read_is_counted_and_changes_nothing(world: World) -> None:
    router = handlers.inspection_router(world.credit)
    await router(
        Delivery("inspection.events.v1", 0, 0, None, b'{"type": "inspection.task.created"}')
    )
    assert world.types() == [] and world.uow.commits == 0
    assert count(world.metrics.events, "inspection.events.v1", "ignored") == 1


async def test_a_failure_half_way_rolls_back_and_announces_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    router = handlers.inspection_router(world.credit)
    topic, event, key = inspection("major")
    delivery = Delivery(topic, 0, 1, key.encode(), event.to_json())

    async def broken(_: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(world.stores.ledger, "save", broken)
    with pytest.raises(RuntimeError):
        await router(delivery)
    assert world.uow.rollbacks == 1 and world.uow.published == []
    assert await world.stores.ledger.ledger("mer_1") == []
    assert await world.stores.context.last_inspection_of("mer_1") is None
    # The claim went with the rollback: the redelivery is handled.
    monkeypatch.undo()
    await router(delivery)
    assert world.types() == ["credit.score.changed"]


async def test_a_new_merchant_starts_and_an_older_snapshot_changes_nothing(world: World) -> None:
    router = world.merchants()
    await world.send(router, registered(version=3))
    first = world.types()
    assert await world.stores.context.statuses(["mer_1"]) == {
        "mer_1": StatusSeen("active", 3, code_of("mer_1"))
    }
    await world.send(router, registered(version=2, status="suspended"))
    assert world.types() == first
    assert await world.stores.context.statuses(["mer_1"]) == {
        "mer_1": StatusSeen("active", 3, code_of("mer_1"))
    }
    assert count(world.metrics.events, "registry.merchants.v1", "ignored") == 1


async def test_a_batch_with_two_snapshots_of_a_merchant_keeps_the_newer_and_counts_once(
    world: World,
) -> None:
    """The newer first, then an older one and a redelivery of the newer: the newer's status is
    kept and the merchant starts once; the other merchant of the batch starts once too."""
    newer = registered(version=3)
    batch = world.delivered(
        newer,
        registered(version=2, merchant_id="mer_2"),
        registered(version=2, status="suspended"),
    )
    redelivered = batch[0]
    await handlers.merchants_batches(world.credit)([*batch, redelivered])
    assert world.uow.commits == 1
    assert await world.stores.context.statuses(["mer_1", "mer_2"]) == {
        "mer_1": StatusSeen("active", 3, code_of("mer_1")),
        "mer_2": StatusSeen("active", 2, code_of("mer_2")),
    }
    for merchant_id in ("mer_1", "mer_2"):
        kinds = [a.kind for a in await world.stores.ledger.ledger(merchant_id)]
        assert kinds == ["merchant.registered"], merchant_id
    assert [key for _, _, key in world.uow.published] == ["mer_1", "mer_2"]
    topic = "registry.merchants.v1"
    assert [count(world.metrics.events, topic, o) for o in ("applied", "ignored", "duplicate")] == [
        2,
        1,
        1,
    ]
    assert count(world.metrics.adjustments, "merchant.registered") == 2


async def test_a_batch_counts_each_snapshot_as_it_would_alone() -> None:
    """The same deliveries one at a time and in one batch: the same statuses, ledgers,
    announcements and counts (the older snapshot after a newer one changes nothing; a change
    and a change back within the batch still cost, each with its own cause)."""
    items = [
        registered(version=2),
        registered(version=2, merchant_id="mer_2"),
        registered(version=3, status="suspended"),
        registered(version=2, status="licence_expired"),
        registered(version=4),
        registered(version=3, status="licence_expired", merchant_id="mer_2"),
    ]
    alone, batched = world_with(), world_with()
    router = alone.merchants()
    for delivery in alone.delivered(*items):
        await router(delivery)
    await handlers.merchants_batches(batched.credit)(batched.delivered(*items))
    assert (alone.uow.commits, batched.uow.commits) == (len(items), 1)

    async def outcome(w: World) -> Any:
        ids = ["mer_1", "mer_2"]
        ledgers = [await w.stores.ledger.ledger(m) for m in ids]
        announced = [
            (key, e.data.score, e.data.grade, e.data.adjustment.kind, e.data.adjustment.cause)
            for _, e, key in w.uow.published
        ]
        counted = [
            count(w.metrics.events, "registry.merchants.v1", o)
            for o in ("applied", "ignored", "duplicate")
        ]
        return await w.stores.context.statuses(ids), ledgers, announced, counted

    found = await outcome(batched)
    assert found == await outcome(alone)
    kinds = sorted(a.kind for a in await batched.stores.ledger.ledger("mer_1"))
    assert kinds == ["merchant.registered", "merchant.suspended"]
    assert found[3] == [5, 1, 0]


async def test_a_batch_failing_half_way_leaves_nothing_and_comes_again_whole(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = world.delivered(registered(), registered(merchant_id="mer_2"))
    saved: list[Any] = []
    save = world.stores.ledger.save

    async def broken(stored: Any) -> None:
        if saved:
            raise RuntimeError("the disk is full")
        saved.append(stored)
        await save(stored)

    monkeypatch.setattr(world.stores.ledger, "save", broken)
    handle = handlers.merchants_batches(world.credit)
    with pytest.raises(RuntimeError):
        await handle(batch)
    assert world.uow.rollbacks == 1 and world.uow.published == [] and not world.uow.claimed
    assert await world.stores.context.statuses(["mer_1", "mer_2"]) == {}
    assert await world.stores.ledger.ledger("mer_1") == []
    monkeypatch.undo()
    await handle(batch)
    assert [key for _, _, key in world.uow.published] == ["mer_1", "mer_2"]


async def test_the_merchants_batch_handler_builds_its_router_once_for_every_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built at wiring time: each batch after that takes its own snapshots, and only its own."""
    built: list[Any] = []
    router = handlers.EventRouter

    def counted(*args: Any) -> Any:
        built.append(args)
        return router(*args)

    monkeypatch.setattr(handlers, "EventRouter", counted)
    handle = handlers.merchants_batches(world.credit)
    await handle(world.delivered(registered()))
    await handle(world.delivered(registered(merchant_id="mer_2")))
    assert len(built) == 1
    assert [key for _, _, key in world.uow.published] == ["mer_1", "mer_2"]
    assert world.uow.commits == 2


async def test_a_suspension_costs_credit(world: World) -> None:
    router = world.merchants()
    await world.send(router, registered(version=2))
    await world.send(router, registered(version=3, status="suspended"))
    kinds = [a.kind for a in await world.stores.ledger.ledger("mer_1")]
    assert "merchant.suspended" in kinds
    assert world.types()[-1] == "credit.score.changed"


async def test_a_substantiated_complaint_costs_and_counts_for_the_assessment(
    world: World,
) -> None:
    router = handlers.complaints_router(world.credit)
    data = samples.complaint_closed()
    await world.send(
        router, outgoing("complaints", "complaints.complaint.closed", data.complaint_id, data)
    )
    assert world.types() == ["credit.score.changed"]
    [adjustment] = await world.stores.ledger.ledger("mer_1")
    assert adjustment.kind == "complaint.substantiated"
    roots = await world.stores.context.roots([data.complaint_id])
    assert roots[data.complaint_id]["kind"] == "complaint"


async def test_a_risk_is_context_only(world: World) -> None:
    risk = outgoing("telemetry", "telemetry.risk.raised", "rsk_1", _risk())
    await world.send(handlers.risks_router(world.credit), risk)
    assert world.types() == [] and await world.stores.ledger.scores() == {}
    assert "rsk_1" in await world.stores.context.roots(["rsk_1"])


def _risk() -> Any:
    return risk_raised(risk_id="rsk_1")


# -- the campaign --------------------------------------------------------------------------------
async def test_a_decided_case_adjusts_once_and_a_second_decision_nothing(world: World) -> None:
    world.clock.at = datetime(2026, 12, 20, tzinfo=UTC)
    router = handlers.enforcement_router(world.credit)
    case = decided("fine")
    await world.send(
        router, outgoing("campaign", "campaign.enforcement.decided", case.case_id, case)
    )
    assert world.types() == ["credit.score.changed"]
    again = decided("suspension")
    await world.send(
        router, outgoing("campaign", "campaign.enforcement.decided", again.case_id, again)
    )
    assert world.types() == ["credit.score.changed"]
    assert [a.kind for a in await world.stores.ledger.ledger("mer_1")] == ["enforcement.fine"]
    assert count(world.metrics.events, "campaign.enforcement.v1", "ignored") == 1


async def test_an_older_duties_update_of_the_day_changes_nothing(world: World) -> None:
    router = handlers.duties_router(world.credit)
    newer, older = _duties(0.5, T0), _duties(0.25, T0 - D)
    for data in (newer, older):
        await world.send(router, outgoing("campaign", "campaign.duties.updated", "mkt_1", data))
    assert (await world.stores.context.duties(newer.as_of))["mkt_1"][0] == 0.5
    assert count(world.metrics.events, "campaign.duties.v1", "applied") == 1
    assert count(world.metrics.events, "campaign.duties.v1", "ignored") == 1
    assert world.types() == []


def _duties(rate: float, updated: datetime) -> DutiesUpdated:
    return DutiesUpdated(
        market_id="mkt_1", district="zhifu", as_of=T0.date(), window_days=7, opening_days=6,
        self_inspected_days=3, self_inspection_rate=rate, open_follow_ups=0, reports_due=1,
        reports_late=0, report_on_time_rate=1.0, managers=2, managers_certified=1,
        certified_share=0.5, updated_at=updated,
    )  # fmt: skip


# -- the fade clock ------------------------------------------------------------------------------
async def test_the_fade_clock_announces_a_faded_score_once(world: World) -> None:
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    assert await world.credit.check_fades() == 0
    world.clock.at = T0 + 400 * D
    assert await world.credit.check_fades() == 1
    assert world.types() == ["credit.score.changed", "credit.score.changed"]
    assert world.uow.published[-1][1].data.faded
    assert await world.credit.check_fades() == 0


async def test_a_rebuild_stores_and_announces_nothing() -> None:
    world = world_with(publish=False)
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    assert world.types() == [] and len(await world.stores.ledger.ledger("mer_1")) == 1


# -- reading -------------------------------------------------------------------------------------
async def test_explain_shows_the_ledger_within_the_callers_district(world: World) -> None:
    with pytest.raises(NotFound):
        await world.credit.explain(INSPECTOR, "mer_1")
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    body = await world.credit.explain(INSPECTOR, "mer_1")
    assert [e["kind"] for e in body["ledger"]] == ["inspection.finding.major"]
    with pytest.raises(Forbidden):
        await world.credit.explain(ELSEWHERE, "mer_1")


async def test_the_public_page_of_a_merchant(world: World) -> None:
    with pytest.raises(NotFound):
        await world.credit.public("mer_9")
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    page = await world.credit.public("mer_1")
    assert page["grade"] is not None and page["open_rectifications"]["count"] == 0
    assert page["last_inspection"] == (samples.T0 + samples.D).date().isoformat()


async def test_assessments_are_stored_and_announced_per_market_and_district(
    world: World,
) -> None:
    with pytest.raises(NotFound):
        await world.credit.market_assessment(ADMIN, "mkt_9", world.credit.period(7))
    assert await world.credit.publish_assessments(world.credit.period(7)) == 2
    assert world.types() == ["credit.assessment.published"] * 2
    assert not await world.credit.assessment_due(3600)
    grades = await world.credit.market_grades("mkt_1")
    assert grades["rank"] is not None
    # The schedule publishes as nobody; an admin's publishing names them (design §6: every
    # change a person makes records its actor in the event).
    assert [e.data.actor for _, e, _ in world.uow.published] == [None, None]
    await world.credit.publish_assessments(world.credit.period(7), ADMIN)
    by_admin = [e.data.actor for _, e, _ in world.uow.published[2:]]
    assert [(a.subject, a.name) for a in by_admin if a] == [("admin", "admin")] * 2


async def test_a_closed_market_is_assessed_ranked_and_listed_no_more(world: World) -> None:
    """停业: its record stays, but it no longer takes a place in its district's ranking (an
    empty market would rank on its middle score)."""
    world.credit.directory.keep(registry.market("mkt_2", "zhifu", name="旧址市场"))
    period = world.credit.period(7)
    markets, _ = await world.credit.assess(period)
    assert sorted(a.market_id or "" for a in markets) == ["mkt_1", "mkt_2"]
    closed = registry.market(
        "mkt_2", "zhifu", name="旧址市场", status="closed", closed_on=date(2026, 5, 1), version=2
    )
    world.credit.directory.keep(closed)
    markets, _ = await world.credit.assess(period)
    assert [a.market_id for a in markets] == ["mkt_1"]
    assert [(a.rank, a.ranked) for a in markets] == [(1, 1)]
    with pytest.raises(Conflict, match="closed on 2026-05-01"):
        await world.credit.market_assessment(ADMIN, "mkt_2", period)
    assert await world.credit.publish_assessments(period) == 2  # mkt_1 and its district


async def test_each_districts_assessment_says_where_it_stands_in_the_city(world: World) -> None:
    """总览 shows a district's 区县得分 with its standing among the city's districts: the
    published roll-ups and the one a market's assessment comes with carry it."""
    world.credit.directory.keep(registry.market("mkt_2", "laishan", name="莱山农贸"))
    await world.send(handlers.inspection_router(world.credit), inspection("critical"))
    period = world.credit.period(7)
    assert await world.credit.publish_assessments(period) == 4
    published = {
        key: e.data for _, e, key in world.uow.published if e.type == "credit.assessment.published"
    }
    standing = {
        d.district: (d.score, d.city_rank, d.city_ranked)
        for d in published.values()
        if d.scope == "district"
    }
    # zhifu's one merchant failed an inspection (critical); laishan's market has nothing to rate
    # and scores the middle, 50.
    assert standing["laishan"][1:] == (1, 2) and standing["zhifu"][1:] == (2, 2)
    assert standing["laishan"][0] > standing["zhifu"][0]
    assert {(d.city_rank, d.city_ranked) for d in published.values() if d.scope == "market"} == {
        (None, None)
    }
    body = await world.credit.market_assessment(INSPECTOR, "mkt_1", period)
    own = body["district_assessment"]
    assert (own["district"], own["city_rank"], own["city_ranked"]) == ("zhifu", 2, 2)


async def test_a_markets_grade_shares_are_its_merchants_grades_now_its_rank_the_assessments(
    world: World,
) -> None:
    """The public market page lists each merchant's grade now: the shares beside them must not
    be the last assessment's, or a merchant graded down since reads B under 'A 100%'."""
    assert await world.credit.publish_assessments(world.credit.period(7)) == 2
    assessed = await world.credit.market_grades("mkt_1")
    assert assessed["shares"] == dict.fromkeys("ABCD", 0.0)  # not graded when assessed
    await world.send(handlers.inspection_router(world.credit), inspection("critical"))
    graded = (await world.credit.public("mer_1"))["grade"]
    now = await world.credit.market_grades("mkt_1")
    assert now["shares"] == {g: (1.0 if g == graded else 0.0) for g in "ABCD"}
    assert now["merchants"] == 1
    assert now["rank"] == assessed["rank"] is not None


async def test_a_merchant_who_left_keeps_its_page_and_counts_in_no_markets_grades(
    world: World,
) -> None:
    """退出经营: the public page says when it left; the market's shares, the grade listing and
    the assessment's count of merchants leave it out (its stall may have a new merchant)."""
    world.stores.grades.merchants = [  # type: ignore[attr-defined]
        {"market_id": "mkt_1", "market_name": "芝罘农贸", "district": "zhifu"}
        | {"id": "mer_1", "name": "老王海鲜", "stall_no": "A-12"}
    ]
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    assert (await world.credit.market_grades("mkt_1"))["merchants"] == 1
    assert (await world.credit.public("mer_1"))["left_on"] is None

    left = registry.merchant(
        "mer_1", "mkt_1", "A-12", name="老王海鲜", version=90, status="left", left_on=T0.date()
    )
    await world.send(
        world.merchants(), outgoing("registry", "registry.merchant.upserted", "mer_1", left)
    )
    world.credit.directory.keep(left)
    world.stores.grades.merchants[0]["status"] = "left"  # type: ignore[attr-defined]

    page = await world.credit.public("mer_1")
    assert page["left_on"] == T0.date().isoformat() and page["grade"] is not None
    grades = await world.credit.market_grades("mkt_1")
    assert (grades["merchants"], grades["shares"]) == (0, dict.fromkeys("ABCD", 0.0))
    assert await world.credit.merchant_grades(GradeQuery()) == ([], 0)
    assert await world.credit.publish_assessments(world.credit.period(7)) == 2
    [market] = [
        e.data for _, e, _ in world.uow.published if getattr(e.data, "scope", "") == "market"
    ]
    assert market.merchants == 0


# -- the honour and warning list -----------------------------------------------------------------
async def test_a_month_not_ended_is_refused_and_nothing_is_drawn(world: World) -> None:
    with pytest.raises(InvalidInput):
        await world.credit.draw_honours(Month(T0.year, T0.month))
    assert await world.stores.honours.drawing() is None and world.types() == []


async def test_a_month_without_honour_rules_is_refused(world: World) -> None:
    with pytest.raises(Conflict):
        await world.credit.draw_honours(Month(2026, 3))
    assert await world.stores.honours.drawing() is None and world.types() == []


async def test_a_month_is_drawn_once(world: World) -> None:
    world.clock.at = datetime(2027, 1, 5, tzinfo=UTC)
    await world.send(world.merchants(), registered())
    announced = len(world.types())
    view, drawn = await world.credit.draw_honours(Month(2026, 12))
    assert drawn and view["month"] == "2026-12"
    listed = world.types()[announced:]
    assert set(listed) <= {"credit.honour.listed"} and listed
    # Drawn by the schedule (no person): no actor in the events.
    assert {e.data.actor for _, e, _ in world.uow.published[announced:]} == {None}
    again, drawn_again = await world.credit.draw_honours(Month(2026, 12))
    assert not drawn_again and again == view
    assert world.types()[announced:] == listed
    with pytest.raises(NotFound):
        await world.credit.honours("2026-11")


async def test_a_month_drawn_by_an_admin_names_them_in_every_entry(world: World) -> None:
    world.clock.at = datetime(2027, 1, 5, tzinfo=UTC)
    await world.send(world.merchants(), registered())
    announced = len(world.types())
    _, drawn = await world.credit.draw_honours(Month(2026, 12), who=ADMIN)
    entries = world.uow.published[announced:]
    assert drawn and entries
    assert {(e.data.actor.subject, e.data.actor.name) for _, e, _ in entries} == {
        ("admin", "admin")
    }


async def test_a_month_before_the_latest_drawn_is_refused_naming_the_month(world: World) -> None:
    world.clock.at = datetime(2027, 1, 5, tzinfo=UTC)
    await world.credit.draw_honours(Month(2026, 12))
    announced = len(world.types())
    with pytest.raises(Conflict) as refused:
        await world.credit.draw_honours(Month(2026, 11))
    assert refused.value.errors[0]["field"] == "month"
    assert "2026-12 is drawn already" in refused.value.message
    assert world.types()[announced:] == []
    with pytest.raises(NotFound):
        await world.credit.honours("2026-11")


async def test_the_schedule_draws_an_ended_month_once_and_only_once_caught_up() -> None:
    world = world_with()
    world.credit.directory.caught_up = asyncio.Event()  # type: ignore[misc]
    world.clock.at = datetime(2027, 1, 1, 3, tzinfo=UTC)  # the 1st, 11:00 in the city
    assert await world.credit.draw_due_honours() is None  # neither view has caught up
    world.credit.directory.caught_up.set()
    assert await world.credit.draw_due_honours() is None  # the ledger has not
    world.credit.ledger_caught_up.set()
    assert await world.credit.draw_due_honours() == Month(2026, 12)
    assert (await world.stores.honours.drawing())["month"] == "2026-12"
    assert await world.credit.draw_due_honours() is None


async def two_critical_findings(world: World) -> None:
    """mer_1 registered, and found with critical problems twice early in December."""
    world.clock.at = samples.DECEMBER + 2 * D
    await world.send(world.merchants(), registered())
    router = handlers.inspection_router(world.credit)
    for n in (1, 2):
        found = samples.task_completed("critical", triggers=[]).model_copy(
            update={"task_id": f"tsk_c{n}", "completed_at": samples.DECEMBER + n * D / 4}
        )
        await world.send(router, outgoing("inspection", TASK_COMPLETED, found.task_id, found))


async def test_the_months_preview_lists_what_a_drawing_now_would_and_keeps_nothing(
    world: World,
) -> None:
    """本月预览: two critical findings this month put the merchant on the warning list if the
    month ended now; nothing is stored or published, and only its district's staff read it."""
    await two_critical_findings(world)
    announced = len(world.types())
    body = await world.credit.preview_honours(INSPECTOR, None)
    assert (body["month"], body["district"], body["as_of"]) == (
        "2026-12",
        "zhifu",
        world.clock.at.isoformat(),
    )
    [entry] = [e for e in body["warning"] if e["entity_id"] == "mer_1"]
    assert "critical_findings: 2 in 2026-07..2026-12" in entry["reasons"]
    assert entry["market_name"] is not None
    assert world.types()[announced:] == [] and await world.stores.honours.drawing() is None
    assert (await world.credit.preview_honours(ELSEWHERE, None))["warning"] == []
    with pytest.raises(Forbidden):
        await world.credit.preview_honours(ELSEWHERE, "zhifu")


async def test_a_critical_finding_found_wrong_puts_no_merchant_on_the_warning_list(
    world: World,
) -> None:
    """Two critical findings this month, one of them corrected on the merchant's objection
    (信用异议): the record was wrong, so the warning list counts one and does not list it."""
    await two_critical_findings(world)

    async def listed() -> bool:
        body = await world.credit.preview_honours(INSPECTOR, None)
        return any(e["entity_id"] == "mer_1" for e in body["warning"])

    assert await listed()
    clerk = Principal(subject="c-zhang", role="clerk", district="zhifu", name="张登记")
    decider = Principal(subject="c-zhou", role="clerk", district="zhifu", name="周登记")
    first, second = [
        e
        for e in (await world.credit.explain(clerk, "mer_1"))["ledger"]
        if e["kind"] == "inspection.finding.critical"
    ]
    objections = [
        await world.credit.file_objection(clerk, "mer_1", e["event_id"], e["kind"], "当天未营业")
        for e in (first, second)
    ]
    assert await listed()  # disputed is not found wrong
    await world.credit.decide_objection(decider, objections[1]["objection_id"], "upheld", "属实")
    assert await listed()  # nor is upheld
    await world.credit.decide_objection(decider, objections[0]["objection_id"], "corrected", "有误")
    # The correction read back: grade C (100 - 30 - 30 + 30), and one critical finding counted.
    await world.send(handlers.objections_router(world.credit), world.uow.published[-1])
    assert (await world.stores.ledger.scores())["mer_1"] == (70, "C")
    world.clock.at += timedelta(minutes=1)  # the preview reads what was decided before now
    assert not await listed()


async def test_no_preview_where_no_honour_rules_are_in_force(world: World) -> None:
    with pytest.raises(Conflict) as refused:
        await world.credit.preview_honours(INSPECTOR, None)  # May 2026: policy 2026-01
    assert refused.value.errors[0]["field"] == "month"


async def test_staff_read_their_districts_lists_and_a_bad_month_names_the_field(
    world: World,
) -> None:
    world.clock.at = datetime(2027, 1, 5, tzinfo=UTC)
    await world.credit.draw_honours(Month(2026, 12))
    own = await world.credit.staff_honours(INSPECTOR, None, None)
    assert (own["month"], own["district"]) == ("2026-12", "zhifu")
    assert (await world.credit.staff_honours(ADMIN, "2026-12", None))["district"] is None
    with pytest.raises(Forbidden):
        await world.credit.staff_honours(ELSEWHERE, None, "zhifu")
    with pytest.raises(InvalidInput) as bad:
        await world.credit.staff_honours(INSPECTOR, "2026-13", None)
    assert bad.value.field == "month"


async def test_a_markets_assessment_is_read_in_its_district_only(world: World) -> None:
    period = world.credit.period(7)
    with pytest.raises(Forbidden):
        await world.credit.market_assessment(ELSEWHERE, "mkt_1", period)
    body = await world.credit.market_assessment(INSPECTOR, "mkt_1", period)
    assert body["market_id"] == "mkt_1"
    assert body["district_assessment"]["market_id"] is None
    assert body["district_assessment"]["district"] == "zhifu"
    # What the score is made of, under the version it was assessed by: the console explains it.
    assert body["parts"][0] | {"value": None} == {"part": "share_ab", "value": None, "weight": 0.3}
    assert {p["part"] for p in body["parts"]} >= {"open_risks", "inspection_pass_rate"}
    with pytest.raises(NotFound):
        await world.credit.market_grades("mkt_9")


async def test_the_ranking_lists_the_readers_districts_markets_best_first_with_their_parts(
    world: World,
) -> None:
    """考核排名 in one call: the district's markets by rank, each with what its score is made of,
    and the district's roll-up; another district's markets are not in it."""
    world.credit.directory.keep(registry.market("mkt_2", "zhifu", name="东山农贸"))
    world.credit.directory.keep(registry.market("mkt_3", "laishan", name="莱山农贸"))
    # mkt_1's merchant fails an inspection: mkt_2, with nothing to rate, ranks above it.
    await world.send(handlers.inspection_router(world.credit), inspection("critical"))
    period = world.credit.period(7)

    body = await world.credit.ranking(INSPECTOR, period)

    assert body["district"] == "zhifu"
    ranked = [(m["market_id"], m["rank"], m["ranked"]) for m in body["markets"]]
    assert ranked == [("mkt_2", 1, 2), ("mkt_1", 2, 2)]
    assert body["markets"][0]["score"] > body["markets"][1]["score"]
    assert all({p["part"] for p in m["parts"]} >= {"share_ab"} for m in body["markets"])
    assert [(d["district"], d["city_ranked"]) for d in body["districts"]] == [("zhifu", 2)]
    assert "parts" not in body["districts"][0]
    # One market's own assessment agrees with its line in the ranking.
    alone = await world.credit.market_assessment(INSPECTOR, "mkt_1", period)
    assert alone["score"] == body["markets"][1]["score"]

    city = await world.credit.ranking(ADMIN, period)
    assert {m["market_id"] for m in city["markets"]} == {"mkt_1", "mkt_2", "mkt_3"}
    assert [m["district"] for m in city["markets"]] == ["laishan", "zhifu", "zhifu"]
    assert (await world.credit.ranking(ADMIN, period, "laishan"))["district"] == "laishan"
    with pytest.raises(Forbidden):
        await world.credit.ranking(ELSEWHERE, period, "zhifu")


async def test_a_past_periods_ranking_reads_the_grades_as_they_stood_at_its_end(
    world: World,
) -> None:
    """A month's 考核台账 asked for later must not take grades earned after the month: its
    grades are rebuilt as at the period's end; a period running to now reads the grades held
    now."""
    await world.send(handlers.inspection_router(world.credit), inspection("critical"))
    graded = (await world.credit.public("mer_1"))["grade"]
    completed = samples.T0 + samples.D
    before = Period(completed - 7 * D, completed - timedelta(seconds=1))
    after = Period(completed, world.clock.at - timedelta(seconds=1))

    then = await world.credit.ranking(INSPECTOR, before)
    later = await world.credit.ranking(INSPECTOR, after)
    read: list[datetime] = []
    ledger_before = world.stores.ledger.ledger_before

    async def reading(end: datetime) -> Any:
        read.append(end)
        return await ledger_before(end)

    world.stores.ledger.ledger_before = reading  # type: ignore[method-assign]
    now = await world.credit.ranking(INSPECTOR, world.credit.period(7), current=True)

    def graded_in(body: dict[str, Any]) -> dict[str, int]:
        return {g: n for g, n in body["markets"][0]["grades"].items() if n}

    assert graded_in(then) == {}
    assert graded_in(later) == graded_in(now) == {graded: 1}
    # A period running to now reads the grades held now: no ledger to rebuild them from.
    assert read == []
    # Its merchants too: none before the merchant's first line in the ledger, one after.
    assert [b["markets"][0]["merchants"] for b in (then, later, now)] == [0, 1, 1]


async def test_a_merchant_who_left_counts_in_a_past_period_only_until_the_day_it_left(
    world: World,
) -> None:
    await world.send(handlers.inspection_router(world.credit), inspection("critical"))
    world.clock.at = T0 + 10 * D
    left_on = (world.clock.at - D).date()
    world.credit.directory.keep(
        registry.merchant(
            "mer_1", "mkt_1", "A-12", name="老王海鲜", version=90, status="left", left_on=left_on
        )
    )
    completed = samples.T0 + samples.D
    trading = Period(completed, world.clock.at - 2 * D)  # its last day: the day before it left
    gone = Period(completed, world.clock.at - timedelta(seconds=1))

    def counted(body: dict[str, Any]) -> tuple[int, int]:
        market = body["markets"][0]
        return market["merchants"], sum(market["grades"].values())

    assert counted(await world.credit.ranking(INSPECTOR, trading)) == (1, 1)
    assert counted(await world.credit.ranking(INSPECTOR, gone)) == (0, 0)


async def test_an_operator_reads_its_own_markets_assessment_and_no_other(world: World) -> None:
    period = world.credit.period(7)
    own = Principal("op-1", "operator", "zhifu", market_id="mkt_1")
    body = await world.credit.market_assessment(own, "mkt_1", period)
    assert body["market_id"] == "mkt_1" and body["rank"] == 1 and body["ranked"] == 1
    other = Principal("op-2", "operator", "zhifu", market_id="mkt_2")
    with pytest.raises(Forbidden):
        await world.credit.market_assessment(other, "mkt_1", period)


async def test_a_due_fade_is_announced_before_the_new_entry_it_came_with(world: World) -> None:
    router = handlers.inspection_router(world.credit)
    await world.send(router, inspection("major"))
    world.clock.at = T0 + 400 * D
    second = samples.task_completed("minor", triggers=[]).model_copy(
        update={"task_id": "tsk_2", "completed_at": world.clock.at}
    )
    await world.send(router, outgoing("inspection", "inspection.task.completed", "tsk_2", second))
    changed = [event.data for _, event, _ in world.uow.published]
    assert [bool(c.faded) for c in changed] == [False, True, False]
    assert changed[2].adjustment.kind == "inspection.finding.minor"
    assert changed[2].version == changed[1].version + 1


async def test_a_rectification_counts_for_the_markets_assessment_when_on_time_or_overdue(
    world: World,
) -> None:
    inspections = handlers.inspection_router(world.credit)
    sent = [
        ("inspection.rectification.verified", samples.verified()),
        ("inspection.rectification.verified", samples.verified(on_time=False)),
        ("inspection.rectification.overdue", samples.overdue()),
    ]
    for event_type, data in sent:
        await world.send(inspections, outgoing("inspection", event_type, "rct_1", data))
    observed = world.stores.context.observations
    assert sorted((kind, seen.good) for (_, kind), seen in observed.items()) == [
        ("rectification", False),
        ("rectification", True),
    ]


async def test_an_order_that_lapsed_is_open_no_more_on_the_public_page_and_scores_nothing(
    world: World,
) -> None:
    """Its merchant left its stall (退出经营): nothing was rectified nor missed."""
    inspections = handlers.inspection_router(world.credit)
    await world.send(inspections, inspection("major"))
    ordered = RectificationOrdered.model_validate(samples.order())
    await world.send(
        inspections, outgoing("inspection", "inspection.rectification.ordered", "tsk_1", ordered)
    )
    page = await world.credit.public("mer_1")
    assert page["open_rectifications"]["count"] == 1
    ledger = await world.stores.ledger.ledger("mer_1")
    published = list(world.uow.published)
    await world.send(
        inspections,
        outgoing("inspection", "inspection.rectification.lapsed", "tsk_1", samples.lapsed()),
    )
    page = await world.credit.public("mer_1")
    assert page["open_rectifications"]["count"] == 0
    assert await world.stores.ledger.ledger("mer_1") == ledger
    assert world.uow.published == published
    assert [kind for (_, kind) in world.stores.context.observations] == ["inspection"]


# -- paths the tests above do not take -----------------------------------------------------------
async def test_a_complaint_whose_clock_ran_out_counts_against_its_market_once(
    world: World,
) -> None:
    case = samples.complaint_closed().model_dump(exclude={"within_limit", "actor"})
    late = ComplaintOverdue.model_validate(
        case
        | {
            "state": "accepted",
            "closed_at": None,
            "outcome": None,
            "substantiated": None,
            "satisfaction": None,
            "clock": "mediation",
            "deadline": case["mediation_deadline"],
            "overdue_at": case["mediation_deadline"],
        }
    )
    router = handlers.complaints_router(world.credit)
    sent = await world.send(
        router, outgoing("complaints", "complaints.complaint.overdue", "cmp_1", late)
    )
    await world.redeliver(router, sent)
    observed = world.stores.context.observations
    assert [(kind, seen.good) for (_, kind), seen in observed.items()] == [("complaint", False)]
    # Context for the assessment, not a fact about the merchant: no adjustment, no event.
    assert world.types() == [] and await world.stores.ledger.ledger("mer_1") == []


async def test_a_transferred_complaint_counts_where_it_went_when_it_closes(world: World) -> None:
    """移送: the move itself is no fact and counts for no market; the closing that follows
    carries the new market, and the limit kept counts there."""
    closed = samples.complaint_closed()
    case = closed.model_dump(exclude={"within_limit", "actor"})
    moved = ComplaintTransferred.model_validate(
        case
        | {
            "state": "received",
            "version": closed.version - 2,
            "accepted_at": None,
            "mediation_deadline": None,
            "closed_at": None,
            "outcome": None,
            "substantiated": None,
            "satisfaction": None,
            "transferred_at": closed.received_at,
            "from_market_id": "mkt_old",
            "from_district": "laishan",
            "reason": "投诉对象在另一市场",
        }
    )
    router = handlers.complaints_router(world.credit)
    await world.send(
        router, outgoing("complaints", "complaints.complaint.transferred", "cmp_1", moved)
    )
    assert world.stores.context.observations == {}
    assert world.types() == [] and await world.stores.ledger.ledger("mer_1") == []
    roots = await world.stores.context.roots([closed.complaint_id])
    assert roots[closed.complaint_id]["state"] == "received"
    await world.send(router, outgoing("complaints", "complaints.complaint.closed", "cmp_1", closed))
    observed = world.stores.context.observations.values()
    assert [(o.market_id, o.kind, o.good) for o in observed] == [
        (closed.market_id, "complaint", True)
    ]


async def test_a_cleared_risk_no_longer_counts_as_open(world: World) -> None:
    router = handlers.risks_router(world.credit)
    raised = _risk()
    await world.send(router, outgoing("telemetry", "telemetry.risk.raised", "rsk_1", raised))
    after = raised.raised_at + timedelta(hours=1)
    assert await world.stores.context.open_food_safety_risks(after) == {"mkt_1": 1}
    cleared = RiskCleared(**raised.model_dump(exclude={"state"}), state="cleared", cleared_at=after)
    await world.send(router, outgoing("telemetry", "telemetry.risk.cleared", "rsk_1", cleared))
    assert await world.stores.context.open_food_safety_risks(after + D) == {}
    assert world.types() == []


async def test_the_last_inspection_is_the_citys_day(world: World) -> None:
    """An inspection at 07:30 on 2 May in China was at 23:30 on 1 May in UTC: the public page
    says 2 May, the day the merchant saw the inspector."""
    data = samples.task_completed("pass", triggers=[]).model_copy(
        update={"completed_at": datetime(2026, 5, 1, 23, 30, tzinfo=UTC)}
    )
    event = outgoing("inspection", "inspection.task.completed", data.task_id, data)
    await world.send(handlers.inspection_router(world.credit), event)
    assert (await world.credit.public("mer_1"))["last_inspection"] == "2026-05-02"


async def test_a_merchants_batch_of_no_snapshot_opens_no_unit_of_work(world: World) -> None:
    """A batch of the topic's other events only: each passed over, and no transaction opened
    for the nothing that is left."""
    other = Delivery(
        "registry.merchants.v1", 0, 1, b"mer_1", b'{"type": "registry.merchant.deleted"}'
    )
    await handlers.merchants_batches(world.credit)([other])
    await world.credit.merchants_changed([])
    assert (world.uow.commits, world.uow.rollbacks) == (0, 0)
    assert world.uow.claimed == set() and world.types() == []
    assert count(world.metrics.events, "registry.merchants.v1", "applied") == 0


async def test_a_case_decided_before_a_policy_scored_sanctions_costs_nothing(world: World) -> None:
    """The policy in force in November (2026-01) does not score joint enforcement: the decision
    is kept (a second one stays ignored), but no entry and no score change."""
    router = handlers.enforcement_router(world.credit)
    case = decided("fine", decided_at=datetime(2026, 11, 20, 2, tzinfo=UTC))
    await world.send(
        router, outgoing("campaign", "campaign.enforcement.decided", case.case_id, case)
    )
    assert await world.stores.ledger.ledger("mer_1") == []
    assert await world.stores.ledger.credit("mer_1") is None
    assert world.types() == []
    assert count(world.metrics.adjustments, "enforcement.fine") == 0
    again = decided("suspension", decided_at=datetime(2026, 12, 10, 2, tzinfo=UTC))
    await world.send(
        router, outgoing("campaign", "campaign.enforcement.decided", again.case_id, again)
    )
    assert await world.stores.ledger.ledger("mer_1") == [] and world.types() == []
    assert count(world.metrics.events, "campaign.enforcement.v1", "ignored") == 1


async def test_an_event_the_ledger_holds_already_adjusts_nothing_though_the_inbox_forgot_it(
    world: World,
) -> None:
    """The ledger keeps one entry per event and kind on its own: an event let through again
    (its inbox claim gone) neither counts twice nor announces a score."""
    router = handlers.inspection_router(world.credit)
    delivery = await world.send(router, inspection("major"))
    before = await world.stores.ledger.scores()
    world.uow.claimed.clear()
    await world.redeliver(router, delivery)
    assert len(await world.stores.ledger.ledger("mer_1")) == 1
    assert await world.stores.ledger.scores() == before
    assert world.types() == ["credit.score.changed"]
    assert count(world.metrics.adjustments, "inspection.finding.major") == 1


async def test_a_fade_run_on_a_clock_behind_the_score_does_not_take_it_back_a_policy(
    world: World,
) -> None:
    """Scored under 2026-12 on 10 December; a replica whose clock says 25 November lists the
    merchant (its policy is not the one in force by that clock) and leaves the score as it is."""
    world.clock.at = datetime(2026, 12, 10, 2, tzinfo=UTC)
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    stored = await world.stores.ledger.credit("mer_1")
    assert stored is not None and stored.credit.policy_version == "2026-12"
    published = len(world.uow.published)
    world.clock.at = datetime(2026, 11, 25, 2, tzinfo=UTC)
    assert await world.stores.ledger.due_for_refade(world.clock.at, "2026-01", 10) == ["mer_1"]
    assert await world.credit.check_fades() == 0
    assert await world.stores.ledger.credit("mer_1") == stored
    assert len(world.uow.published) == published


async def test_the_grade_listing_gives_each_merchant_its_ledgers_grade_and_filters_on_it(
    world: World,
) -> None:
    row = {"market_id": "mkt_1", "market_name": "芝罘农贸", "district": "zhifu"}
    world.stores.grades.merchants = [  # type: ignore[attr-defined]
        row | {"id": "mer_1", "name": "老王海鲜", "stall_no": "A-12"},
        row | {"id": "mer_2", "name": "李记蔬菜", "stall_no": "A-13"},
    ]
    await world.send(handlers.inspection_router(world.credit), inspection("major"))
    [(_, grade)] = (await world.stores.ledger.scores()).values()
    everyone, total = await world.credit.merchant_grades(GradeQuery())
    assert total == 2
    assert [(m.id, m.grade) for m in everyone] == [("mer_1", grade), ("mer_2", None)]
    graded, total = await world.credit.merchant_grades(GradeQuery(grade=grade))
    assert ([m.id for m in graded], total) == (["mer_1"], 1)
    assert graded[0].graded_at is not None
    assert await world.credit.merchant_grades(GradeQuery(q="李记")) == (everyone[1:], 1)
