"""One suite for the credit stores, run against Postgres (a fresh schema, migrated) and the
in-memory fakes the use-case tests rely on: both must give the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.duties import DutiesUpdated
from contracts.people import Actor
from services.credit.app import MIGRATIONS
from services.credit.domain import Entry, MerchantCredit
from services.credit.domain.follow_ons import CorrectedFinding
from services.credit.domain.objections import Objection
from services.credit.fakes import FakeGradeListing, fake_stores
from services.credit.store import (
    CaseDecided,
    ComplaintSeen,
    Drawing,
    FiledQuery,
    GradeQuery,
    ObjectionQuery,
    Observation,
    OrderSeen,
    RiskSeen,
    StatusSeen,
    StoredCredit,
    Stores,
    postgres_stores,
)
from services.runtime.directory import MIGRATIONS as DIRECTORY_MIGRATIONS
from services.runtime.paging import ANY_TIME, Position, Window
from tests.support.credit_ledger import entry
from tests.support.store_suite import migrated

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
D = timedelta(days=1)


@dataclass
class Suite:
    stores: Stores
    # Puts a merchant into the registry view (the grade listing reads it).
    register: Callable[[dict[str, Any]], Awaitable[None]]


@pytest.fixture
async def suite(database: str | None) -> AsyncIterator[Suite]:
    if database is None:
        stores = fake_stores()
        listing = stores.grades
        assert isinstance(listing, FakeGradeListing)

        async def remember(m: dict[str, Any]) -> None:
            listing.merchants.append(m)

        yield Suite(stores, remember)
        return
    async with migrated(
        database, "credit", {"directory": DIRECTORY_MIGRATIONS, "credit": MIGRATIONS}
    ) as conn:

        async def insert(m: dict[str, Any]) -> None:
            await conn.execute(
                """INSERT INTO directory_markets (id, district, version, snapshot)
                   VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING""",
                m["market_id"], m["district"], {"name": m["market_name"]},
            )  # fmt: skip
            await conn.execute(
                """INSERT INTO directory_merchants
                       (id, market_id, district, stall_no, status, version, snapshot)
                   VALUES ($1, $2, $3, $4, $5, 1, $6)""",
                m["id"], m["market_id"], m["district"], m["stall_no"],
                m.get("status", "active"), {"name": m["name"]},
            )  # fmt: skip

        yield Suite(postgres_stores(conn), insert)


def credit(
    merchant_id: str, score: int, grade: str, at: datetime = T0, **kw: Any
) -> MerchantCredit:
    return MerchantCredit(
        merchant_id=merchant_id, score=score, grade=grade,  # type: ignore[arg-type]
        policy_version="2026-01", as_of=at, **kw,
    )  # fmt: skip


def stored(merchant_id: str, score: int, grade: str, *, market: str = "mkt_1", **kw: Any) -> Any:
    return StoredCredit(credit(merchant_id, score, grade, **kw), market, "zhifu", 1)


# -- the ledger ----------------------------------------------------------------------------------
async def test_the_registrations_of_one_credit_code_share_one_ledger(suite: Suite) -> None:
    ledger, context = suite.stores.ledger, suite.stores.context
    mine = entry("inspection.finding.major", T0, merchant_id="mer_1", event_id="ev_1")
    again = entry("merchant.registered", T0 + D, merchant_id="mer_2", event_id="ev_2")
    other = entry("inspection.pass", T0, merchant_id="mer_3", event_id="ev_3")
    for a in (mine, again, other):
        assert await ledger.add(a)
    # Before the codes are known, each is a subject of its own.
    assert await ledger.subject("mer_1") == ["mer_1"]
    assert await ledger.ledger("mer_2") == [again]
    await context.set_statuses(
        {
            "mer_1": StatusSeen("left", 3, "91370602MA3C000001"),
            "mer_2": StatusSeen("active", 2, "91370602MA3C000001"),
            "mer_3": StatusSeen("active", 2, "91370602MA3C000003"),
        }
    )
    await ledger.lock("mer_1")  # by the subject, once its code is known
    await ledger.lock_codes(["91370602MA3C000001"])
    assert await ledger.subject("mer_2") == ["mer_1", "mer_2"]
    assert await ledger.subject("mer_4") == ["mer_4"]  # never seen
    assert await ledger.ledger("mer_2") == [mine, again] == await ledger.ledger("mer_1")
    assert await ledger.ledger("mer_3") == [other]
    assert await ledger.subjects() == {
        "mer_1": "91370602MA3C000001",
        "mer_2": "91370602MA3C000001",
        "mer_3": "91370602MA3C000003",
    }
    # A status without its code keeps the code known; a corrected one moves the merchant.
    await context.set_statuses({"mer_2": StatusSeen("suspended", 4)})
    assert (await context.statuses(["mer_2"]))["mer_2"] == StatusSeen(
        "suspended", 4, "91370602MA3C000001"
    )
    await context.set_statuses({"mer_2": StatusSeen("active", 5, "91370602MA3C000003")})
    assert await ledger.subject("mer_2") == ["mer_2", "mer_3"]
    assert await ledger.ledger("mer_1") == [mine]


async def test_an_adjustment_is_added_once_and_read_back_in_time_order(suite: Suite) -> None:
    ledger = suite.stores.ledger
    late, early = entry("inspection.finding.major", T0 + D), entry("inspection.pass", T0)
    assert await ledger.add(late) and await ledger.add(early)
    assert not await ledger.add(late)
    assert await ledger.ledger("mer_1") == [early, late]
    assert await ledger.ledger("mer_2") == []
    assert await ledger.ledger_before(T0 + D) == [early]
    keys = await ledger.adjustment_keys()
    assert (late.event_id, late.kind, late.delta, late.policy_version) in keys and len(keys) == 2
    facts = await ledger.ledger_facts(["inspection.finding.major"], T0, T0 + 2 * D)
    assert facts == {"mer_1": [("inspection.finding.major", T0 + D)]}
    assert await ledger.ledger_facts(["inspection.finding.major"], T0, T0 + D) == {}
    kinds = ["inspection.finding.major", "inspection.pass"]
    # An entry found wrong is left out by its key; another kind of the same event is not.
    left = await ledger.ledger_facts(
        kinds, T0, T0 + 2 * D, excluding=[late.key, (late.event_id, "x")]
    )
    assert left == {"mer_1": [("inspection.pass", T0)]}


async def test_a_finding_found_wrong_is_kept_once_and_read_by_merchant_and_chain(
    suite: Suite,
) -> None:
    ledger = suite.stores.ledger
    later = CorrectedFinding("mer_1", "risk_1", T0 + 2 * D, T0 + 9 * D, "obj_2")
    first = CorrectedFinding("mer_1", "risk_1", T0, T0 + 5 * D, "obj_1")
    for found in (later, first, replace(first, objection_id="obj_again")):
        await ledger.corrected_finding(found)
    await ledger.corrected_finding(replace(first, chain="cmp_1"))
    await ledger.corrected_finding(replace(first, merchant_id="mer_2"))
    assert await ledger.corrected_findings("mer_1", "risk_1") == [first, later]
    assert await ledger.corrected_findings("mer_1", "cmp_9") == []
    # The events of the entries undone with a finding found wrong, by when they were undone.
    late = entry("rectification.overdue", T0 + D)
    undone = replace(late, kind="objection.follow_on", delta=10, occurred_at=T0 + 3 * D)
    assert await ledger.add(late) and await ledger.add(undone)
    assert await ledger.undone_events(T0 + 3 * D) == set()
    assert await ledger.undone_events(T0 + 4 * D) == {late.event_id}


async def test_a_credit_is_saved_replaced_and_counted(suite: Suite) -> None:
    ledger = suite.stores.ledger
    assert await ledger.credit("mer_1") is None and await ledger.graded("mer_1") is None
    await ledger.lock("mer_1")
    await ledger.save(stored("mer_1", 90, "A"))
    await ledger.save(stored("mer_2", 70, "B", market="mkt_2"))
    await ledger.save(stored("mer_3", 91, "A", market="mkt_2"))
    assert await ledger.credit("mer_1") == stored("mer_1", 90, "A")
    assert await ledger.scores() == {"mer_1": (90, "A"), "mer_2": (70, "B"), "mer_3": (91, "A")}
    assert await ledger.grade_counts() == {"A": 2, "B": 1}
    assert await ledger.grades_by_market() == {"mkt_1": {"A": 1}, "mkt_2": {"B": 1, "A": 1}}
    assert await ledger.market_grade_counts("mkt_2") == {"B": 1, "A": 1}
    assert await ledger.market_grade_counts("mkt_9") == {}
    # 退出经营: a merchant who left keeps its credit and counts in no market's grades.
    await suite.stores.context.set_statuses({"mer_3": StatusSeen("left", 4)})
    assert await ledger.credit("mer_3") == stored("mer_3", 91, "A", market="mkt_2")
    assert await ledger.grades_by_market() == {"mkt_1": {"A": 1}, "mkt_2": {"B": 1}}
    assert await ledger.market_grade_counts("mkt_2") == {"B": 1}


async def test_a_grade_keeps_the_moment_it_was_given_while_it_holds(suite: Suite) -> None:
    ledger = suite.stores.ledger
    await ledger.save(stored("mer_1", 90, "A", at=T0))
    await ledger.save(stored("mer_1", 92, "A", at=T0 + D))
    assert await ledger.graded("mer_1") == ("A", T0)
    await ledger.save(stored("mer_1", 70, "B", at=T0 + 2 * D))
    assert await ledger.graded("mer_1") == ("B", T0 + 2 * D)


async def test_due_for_refade_is_a_fade_due_or_another_policy_by_merchant(suite: Suite) -> None:
    ledger = suite.stores.ledger
    await ledger.save(stored("mer_3", 80, "B", next_fade_at=T0))
    await ledger.save(stored("mer_2", 80, "B", next_fade_at=T0 + D))
    await ledger.save(stored("mer_1", 80, "B", next_fade_at=T0 - D))
    await ledger.save(stored("mer_4", 80, "B"))
    assert await ledger.due_for_refade(T0, "2026-01", 10) == ["mer_1", "mer_3"]
    assert await ledger.due_for_refade(T0, "2026-01", 1) == ["mer_1"]
    assert await ledger.due_for_refade(T0, "2026-12", 10) == ["mer_1", "mer_2", "mer_3", "mer_4"]


# -- what other services told credit -------------------------------------------------------------
async def test_a_status_is_set_and_replaced(suite: Suite) -> None:
    context = suite.stores.context
    assert await context.statuses(["mer_1"]) == {}
    await context.set_statuses({"mer_1": StatusSeen("active", 1)})
    await context.set_statuses({"mer_1": StatusSeen("suspended", 2)})
    assert await context.statuses(["mer_1"]) == {"mer_1": StatusSeen("suspended", 2)}


async def test_statuses_are_read_and_set_a_batch_at_once(suite: Suite) -> None:
    context = suite.stores.context
    await context.set_statuses({})
    await context.set_statuses({"mer_1": StatusSeen("active", 1), "mer_2": StatusSeen("active", 4)})
    await context.set_statuses(
        {"mer_2": StatusSeen("licence_expired", 5), "mer_3": StatusSeen("suspended", 1)}
    )
    assert await context.statuses(["mer_3", "mer_2", "mer_1", "mer_9"]) == {
        "mer_1": StatusSeen("active", 1),
        "mer_2": StatusSeen("licence_expired", 5),
        "mer_3": StatusSeen("suspended", 1),
    }
    assert await context.statuses(["mer_2"]) == {"mer_2": StatusSeen("licence_expired", 5)}
    assert await context.statuses([]) == {}


async def test_observations_count_once_per_event_within_the_period(suite: Suite) -> None:
    context = suite.stores.context

    async def see(event: str, kind: str, at: datetime, good: bool, market: str = "mkt_1") -> None:
        await context.observe(Observation(event, kind, market, "zhifu", "mer_1", at, good))

    await see("ev_1", "inspection", T0, True)
    await see("ev_1", "inspection", T0, False)  # the same event again
    await see("ev_2", "inspection", T0 + D, False)
    await see("ev_3", "complaint", T0, True, market="mkt_2")
    await see("ev_4", "inspection", T0 + 3 * D, True)
    assert await context.observed(T0, T0 + 2 * D) == {
        ("mkt_1", "inspection"): (2, 1),
        ("mkt_2", "complaint"): (1, 1),
    }
    assert await context.last_inspection("mer_1") == T0 + 3 * D
    assert await context.last_inspection_of("mer_1") == (T0 + 3 * D, None)
    # An inspection whose finding was found wrong counts as passed; a complaint is not moved.
    await see("ev_5", "complaint", T0 + 4 * D, False, market="mkt_2")
    assert await context.observed(T0, T0 + 5 * D, passed=["ev_2", "ev_5", "ev_9"]) == {
        ("mkt_1", "inspection"): (3, 3),
        ("mkt_2", "complaint"): (2, 1),
    }
    # A deadline missed by the order of a finding found wrong is not counted at all; nothing
    # but a rectification is left out so.
    await see("ev_6", "rectification", T0 + D, False)
    await see("ev_7", "rectification", T0 + D, True)
    voided = ["ev_6", "ev_2", "ev_5"]
    assert await context.observed(T0, T0 + 5 * D, voided=voided) == {
        ("mkt_1", "inspection"): (3, 2),
        ("mkt_1", "rectification"): (1, 1),
        ("mkt_2", "complaint"): (2, 1),
    }


async def test_food_safety_risks_are_open_between_raised_and_cleared(suite: Suite) -> None:
    context = suite.stores.context

    async def raise_(risk_id: str, category: str, severity: str = "warning") -> None:
        await context.risk_open(
            RiskSeen(risk_id, "weight", category, severity, "mkt_1", "mer_1", raised_at=T0)
        )

    await raise_("rsk_1", "food_safety")
    await raise_("rsk_1", "food_safety", "critical")  # escalated
    await raise_("rsk_2", "food_safety")
    await raise_("rsk_3", "metrology")
    await context.risk_cleared("rsk_2", T0 + D)
    await context.risk_cleared("rsk_2", T0 + 2 * D)  # cleared once
    assert await context.open_food_safety_risks(T0) == {}
    assert await context.open_food_safety_risks(T0 + D / 2) == {"mkt_1": 2}
    assert await context.open_food_safety_risks(T0 + D) == {"mkt_1": 2}  # cleared at `at`
    assert await context.open_food_safety_risks(T0 + 2 * D) == {"mkt_1": 1}
    roots = await context.roots(["rsk_1", "nothing"])
    assert roots == {
        "rsk_1": {
            "kind": "risk", "id": "rsk_1", "rule": "weight", "category": "food_safety",
            "severity": "critical", "at": T0.isoformat(),
        }
    }  # fmt: skip


async def test_a_complaint_is_kept_at_its_newest_version(suite: Suite) -> None:
    context = suite.stores.context
    for state, version in (("received", 1), ("closed", 3), ("accepted", 2)):
        await context.complaint_seen(
            ComplaintSeen("cmp_1", "short_weight", state, "mer_1", T0, version)
        )
    assert await context.roots(["cmp_1"]) == {
        "cmp_1": {
            "kind": "complaint", "id": "cmp_1", "category": "short_weight", "state": "closed",
            "at": T0.isoformat(),
        }
    }  # fmt: skip


async def test_the_public_page_keeps_the_latest_inspection_and_open_orders(suite: Suite) -> None:
    context = suite.stores.context
    assert await context.last_inspection_of("mer_1") is None
    await context.inspected("mer_1", "tsk_2", "minor", T0 + D)
    await context.inspected("mer_1", "tsk_1", "pass", T0)  # older: kept out
    assert await context.last_inspection_of("mer_1") == (T0 + D, "minor")
    assert await context.open_rectifications("mer_1") == (0, None)

    async def order(rid: str, state: str, deadline: datetime | None, version: int) -> None:
        await context.rectification(OrderSeen(rid, "mer_1", "mkt_1", state, deadline, version))

    await order("rec_1", "open", T0 + 5 * D, 1)
    await order("rec_2", "open", T0 + 3 * D, 1)
    await order("rec_3", "open", T0 + D, 2)
    await order("rec_3", "verified", T0 + D, 3)
    await order("rec_3", "open", T0 + D, 2)  # an older version: kept out
    assert await context.open_rectifications("mer_1") == (2, T0 + 3 * D)


async def test_a_case_is_decided_once(suite: Suite) -> None:
    context = suite.stores.context

    async def decide(sanction: str) -> bool:
        return await context.case_decided(
            CaseDecided("case_1", "mer_1", "mkt_1", sanction, T0, f"ev_{sanction}")
        )

    assert await decide("fine")
    assert not await decide("suspension")


def duties(market: str, as_of: date, rate: float, updated: datetime) -> DutiesUpdated:
    return DutiesUpdated(
        market_id=market, district="zhifu", as_of=as_of, window_days=7, opening_days=6,
        self_inspected_days=3, self_inspection_rate=rate, open_follow_ups=0, reports_due=1,
        reports_late=0, report_on_time_rate=1.0, managers=2, managers_certified=1,
        certified_share=0.5, updated_at=updated,
    )  # fmt: skip


async def test_the_latest_duties_of_a_day_not_after_the_one_asked(suite: Suite) -> None:
    context = suite.stores.context
    day = date(2026, 2, 1)
    assert await context.keep_duties(duties("mkt_1", day, 0.5, T0))
    assert await context.keep_duties(duties("mkt_1", day, 0.75, T0 + D))
    assert not await context.keep_duties(duties("mkt_1", day, 0.25, T0))  # older update
    assert await context.keep_duties(duties("mkt_1", day + 2 * D, 0.1, T0 + 2 * D))
    assert await context.keep_duties(duties("mkt_2", day + D, 0.2, T0))
    assert await context.duties(day - D) == {}
    assert await context.duties(day + D) == {
        "mkt_1": (0.75, 1.0, 0.5),
        "mkt_2": (0.2, 1.0, 0.5),
    }
    assert (await context.duties(day + 5 * D))["mkt_1"] == (0.1, 1.0, 0.5)


# -- assessments ---------------------------------------------------------------------------------
def assessment(market: str | None, district: str = "zhifu") -> dict[str, Any]:
    return {
        "scope": "market" if market else "district",
        "market_id": market,
        "district": district,
        "period_from": T0.isoformat(),
        "period_to": (T0 + D).isoformat(),
        "score": 80,
    }


async def test_the_latest_assessment_of_a_market(suite: Suite) -> None:
    store = suite.stores.assessments
    assert await store.last_published() is None
    assert await store.latest_assessment("mkt_1") is None
    await store.save_assessment("as_1", assessment("mkt_1") | {"score": 70}, T0)
    await store.save_assessment("as_2", assessment("mkt_1") | {"score": 75}, T0 + D)
    await store.save_assessment("as_2", assessment("mkt_1") | {"score": 1}, T0 + D)  # kept once
    await store.save_assessment("as_3", assessment(None), T0 + 2 * D)
    latest = await store.latest_assessment("mkt_1")
    assert latest is not None and latest["score"] == 75
    assert await store.last_published() == T0 + 2 * D


# -- the honour and warning list -----------------------------------------------------------------
def listed(kind: str, entity_id: str, district: str = "zhifu") -> Entry:
    return Entry(
        kind=kind, entity="merchant", entity_id=entity_id, name=entity_id,  # type: ignore[arg-type]
        market_id="mkt_1", district=district, reasons=("grade_a_held",),
    )  # fmt: skip


async def test_a_drawing_and_its_entries(suite: Suite) -> None:
    honours = suite.stores.honours
    await honours.lock_honours()
    assert await honours.drawing() is None
    for month in ("2026-02", "2026-01"):
        await honours.save_drawing(
            Drawing(month, f"drw_{month}", "2026-01", (T0, T0 + D), T0 + D, None)
        )
    latest = await honours.drawing()
    assert latest is not None and latest["month"] == "2026-02"
    january = await honours.drawing("2026-01")
    assert january == {
        "month": "2026-01", "drawing_id": "drw_2026-01", "policy_version": "2026-01",
        "period_from": T0, "period_to": T0 + D, "drawn_at": T0 + D, "drawn_by": None,
    }  # fmt: skip
    assert await honours.drawing("2025-12") is None
    entries = [listed("warning", "mer_2"), listed("honour", "mer_3", "laishan")]
    entries.append(listed("honour", "mer_1"))
    await honours.save_honour_entries("2026-02", "listed", entries)
    await honours.save_honour_entries("2026-02", "delisted", [listed("honour", "mer_9")])
    assert [e.entity_id for e in await honours.honour_entries("2026-02", "listed")] == [
        "mer_3",
        "mer_1",
        "mer_2",
    ]
    in_zhifu = await honours.honour_entries("2026-02", "listed", "zhifu")
    assert [e.entity_id for e in in_zhifu] == ["mer_1", "mer_2"]
    assert await honours.honour_entries("2026-02", "delisted") == [listed("honour", "mer_9")]
    assert await honours.honour_entries("2026-01", "listed") == []


# -- the public listing --------------------------------------------------------------------------
async def test_the_listing_filters_orders_and_pages_the_view_with_grades(suite: Suite) -> None:
    for i, (district, market, stall, name) in enumerate(
        [
            ("zhifu", "mkt_2", "A-02", "王记 100%"),
            ("laishan", "mkt_1", "B-01", "李记"),
            ("zhifu", "mkt_2", "A-01", "张记"),
        ]
    ):
        await suite.register(
            {"id": f"mer_{i}", "name": name, "market_id": market, "market_name": f"M {market}",
             "district": district, "stall_no": stall}
        )  # fmt: skip
    await suite.stores.ledger.save(stored("mer_0", 90, "A", market="mkt_2"))

    async def ids(**kw: Any) -> tuple[list[str], int]:
        found, total = await suite.stores.grades.merchant_grades(GradeQuery(**kw))
        return [m.id for m in found], total

    assert await ids() == (["mer_1", "mer_2", "mer_0"], 3)
    assert await ids(offset=1, limit=1) == (["mer_2"], 3)
    assert await ids(district="zhifu") == (["mer_2", "mer_0"], 2)
    assert await ids(grade="A") == (["mer_0"], 1)
    assert await ids(q="100%") == (["mer_0"], 1)
    assert await ids(q="%") == (["mer_0"], 1)  # literally, not a wildcard
    found, _ = await suite.stores.grades.merchant_grades(GradeQuery(market_id="mkt_2", limit=1))
    assert found[0].market_name == "M mkt_2" and found[0].grade is None
    # One who left its stall is listed no more.
    await suite.register(
        {"id": "mer_9", "name": "已走", "market_id": "mkt_2", "market_name": "M mkt_2",
         "district": "zhifu", "stall_no": "A-03", "status": "left"}
    )  # fmt: skip
    assert await ids(market_id="mkt_2") == (["mer_2", "mer_0"], 2)


def objection(objection_id: str, event_id: str, **kw: Any) -> Objection:
    fields: dict[str, Any] = {
        "objection_id": objection_id, "merchant_id": "mer_1", "market_id": "mkt_1",
        "district": "zhifu", "event_id": event_id, "kind": "inspection.finding.major",
        "delta": -15, "occurred_at": T0, "fades_at": T0 + 365 * D, "correlation_id": "risk_1",
        "statement": "电子秤已检定", "filed_at": T0 + D, "filed_by": Actor.of("c-zhang", "张登记"),
        "due_at": T0 + 15 * D,
    } | kw  # fmt: skip
    return Objection(**fields)


async def test_an_objection_is_one_per_entry_decided_and_listed(suite: Suite) -> None:
    objections = suite.stores.objections
    first = objection("obj_1", "ev_1")
    assert await objections.add_objection(first)
    assert not await objections.add_objection(objection("obj_2", "ev_1"))  # the same entry
    assert await objections.add_objection(objection("obj_3", "ev_3", filed_at=T0 + 2 * D))
    other = objection("obj_4", "ev_4", merchant_id="mer_9", district="laishan")
    assert await objections.add_objection(other)
    assert await objections.objection("obj_1") == first
    assert await objections.objection("obj_2") is None
    assert await objections.objections_of("ev_1", "inspection.finding.major") == [first]
    assert await objections.objections_of("ev_1", "inspection.pass") == []
    decided = replace(
        first,
        state="corrected",
        reasoning="属实",
        decided_at=T0 + 3 * D,
        decided_by=Actor.of("l-zhou", "周领导"),
    )
    await objections.save_objection(decided)
    assert await objections.objection("obj_1", lock=True) == decided

    async def ids(**query: Any) -> list[str]:
        return [o.objection_id for o in await objections.objections(ObjectionQuery(**query))]

    # Oldest filed first (obj_1 and obj_4 on the same day: by id).
    assert await ids() == ["obj_1", "obj_4", "obj_3"]
    assert await ids(district="zhifu") == ["obj_1", "obj_3"]
    assert await ids(district="zhifu", state="open") == ["obj_3"]
    assert await ids(merchant_id="mer_9") == ["obj_4"]
    assert await ids(state="corrected") == ["obj_1"]


async def test_the_list_leaves_out_what_was_closed_before_a_moment_and_keeps_the_open(
    suite: Suite,
) -> None:
    objections = suite.stores.objections
    for n in range(1, 4):
        await objections.add_objection(objection(f"obj_{n}", f"ev_{n}", filed_at=T0 + n * D))
    for n, closed in ((1, "upheld"), (2, "withdrawn")):
        held = await objections.objection(f"obj_{n}")
        assert held is not None
        await objections.save_objection(
            replace(held, state=closed, reasoning="核实", decided_at=T0 + (10 * n) * D,
                    decided_by=Actor.of("c-li", "李登记"))
        )  # fmt: skip

    async def ids(since: datetime | None) -> list[str]:
        found = await objections.objections(ObjectionQuery(closed_from=since))
        return [o.objection_id for o in found]

    assert await ids(None) == ["obj_1", "obj_2", "obj_3"]
    assert await ids(T0 + 10 * D) == ["obj_1", "obj_2", "obj_3"]  # closed at the moment: kept
    assert await ids(T0 + 15 * D) == ["obj_2", "obj_3"]
    assert await ids(T0 + 25 * D) == ["obj_3"]  # the open one, whenever it was filed


async def test_an_entry_is_repaired_once_after_an_error_upheld_and_never_reversed_twice(
    suite: Suite,
) -> None:
    objections = suite.stores.objections
    error = objection("obj_1", "ev_1")
    assert await objections.add_objection(error)
    repair = objection("obj_2", "ev_1", filed_at=T0 + 2 * D, ground="repaired", commitment=True)
    # One open on the entry at a time, whatever its ground.
    assert not await objections.add_objection(repair)
    upheld = replace(error, state="upheld", reasoning="记录属实", decided_at=T0 + D,
                     decided_by=Actor.of("c-li", "李登记"))  # fmt: skip
    await objections.save_objection(upheld)
    assert await objections.add_objection(repair)
    assert await objections.objections_of("ev_1", "inspection.finding.major") == [upheld, repair]
    # Each ground once: neither another error nor another repair, while the repair stands.
    assert not await objections.add_objection(objection("obj_3", "ev_1", filed_at=T0 + 3 * D))
    again = objection("obj_4", "ev_1", filed_at=T0 + 3 * D, ground="repaired", commitment=True)
    assert not await objections.add_objection(again)
    await objections.save_objection(
        replace(repair, state="repaired", reasoning="整改到位", decided_at=T0 + 4 * D,
                decided_by=Actor.of("c-li", "李登记"))
    )  # fmt: skip
    assert not await objections.add_objection(objection("obj_5", "ev_1", filed_at=T0 + 5 * D))
    assert [o.ground for o in await objections.objections(ObjectionQuery())] == [
        "error",
        "repaired",
    ]


async def test_a_repair_refused_leaves_room_for_another_but_never_two_open(suite: Suite) -> None:
    objections = suite.stores.objections
    clerk = Actor.of("c-li", "李登记")

    def repair(objection_id: str, day: int) -> Objection:
        return objection(objection_id, "ev_1", filed_at=T0 + day * D, ground="repaired",
                         commitment=True)  # fmt: skip

    first = repair("obj_1", 1)
    assert await objections.add_objection(first)
    refused = replace(first, state="upheld", reasoning="整改不到位", decided_at=T0 + 2 * D,
                      decided_by=clerk)  # fmt: skip
    await objections.save_objection(refused)
    second = repair("obj_2", 40)
    assert await objections.add_objection(second)
    assert not await objections.add_objection(repair("obj_3", 41))  # one open at a time
    assert not await objections.add_objection(objection("obj_4", "ev_1", filed_at=T0 + 41 * D))
    await objections.save_objection(
        replace(second, state="upheld", reasoning="承诺书不符合要求", decided_at=T0 + 42 * D,
                decided_by=clerk)
    )  # fmt: skip
    # Refused twice; an error may still be disputed, once, and then no repair while it is open.
    error = objection("obj_5", "ev_1", filed_at=T0 + 43 * D)
    assert await objections.add_objection(error)
    assert not await objections.add_objection(repair("obj_6", 44))
    await objections.save_objection(
        replace(error, state="upheld", reasoning="记录属实", decided_at=T0 + 45 * D,
                decided_by=clerk)
    )  # fmt: skip
    assert not await objections.add_objection(objection("obj_7", "ev_1", filed_at=T0 + 46 * D))
    granted = repair("obj_8", 80)
    assert await objections.add_objection(granted)
    await objections.save_objection(
        replace(granted, state="repaired", reasoning="整改到位", decided_at=T0 + 81 * D,
                decided_by=clerk)
    )  # fmt: skip
    assert not await objections.add_objection(repair("obj_9", 120))  # reversed: never again
    held = await objections.objections_of("ev_1", "inspection.finding.major")
    assert [(o.objection_id, o.state) for o in held] == [
        ("obj_1", "upheld"),
        ("obj_2", "upheld"),
        ("obj_5", "upheld"),
        ("obj_8", "repaired"),
    ]


async def test_a_withdrawn_objection_leaves_its_entry_free_for_one_more(suite: Suite) -> None:
    objections = suite.stores.objections
    first = objection("obj_1", "ev_1")
    assert await objections.add_objection(first)
    await objections.save_objection(
        replace(first, state="withdrawn", reasoning="登记有误", decided_at=T0 + 2 * D,
                decided_by=Actor.of("c-zhang", "张登记"))
    )  # fmt: skip
    assert await objections.objections_of("ev_1", "inspection.finding.major") == []
    second = objection("obj_2", "ev_1", filed_at=T0 + 3 * D)
    assert await objections.add_objection(second)
    assert await objections.objections_of("ev_1", "inspection.finding.major") == [second]
    assert not await objections.add_objection(objection("obj_3", "ev_1", filed_at=T0 + 4 * D))
    listed = await objections.objections(ObjectionQuery(merchant_id="mer_1"))
    assert [(o.objection_id, o.state) for o in listed] == [
        ("obj_1", "withdrawn"),
        ("obj_2", "open"),
    ]


async def test_open_objections_past_their_deadline_are_found_and_counted(suite: Suite) -> None:
    objections = suite.stores.objections
    for objection_id, district, due in (
        ("obj_1", "zhifu", T0 + 5 * D),
        ("obj_2", "zhifu", T0 + 9 * D),
        ("obj_3", "laishan", T0 + 4 * D),
        ("obj_4", "zhifu", T0 + 3 * D),
    ):
        assert await objections.add_objection(
            objection(objection_id, f"ev_{objection_id}", district=district, due_at=due)
        )
    decided = await objections.objection("obj_4")
    assert decided is not None
    await objections.save_objection(
        replace(decided, state="upheld", reasoning="无误", decided_at=T0 + 6 * D,
                decided_by=Actor.of("c-zhou", "周登记"))
    )  # fmt: skip
    now = T0 + 6 * D

    async def overdue(**query: Any) -> list[str]:
        found = await objections.objections(ObjectionQuery(overdue_as_of=now, **query))
        return [o.objection_id for o in found]

    # A decided one is never overdue, however late; one due after `now` is not yet.
    assert await overdue() == ["obj_1", "obj_3"]
    assert await overdue(district="zhifu") == ["obj_1"]
    assert await objections.open_counts(now) == {
        ("zhifu", True): 1,
        ("zhifu", False): 1,
        ("laishan", True): 1,
    }
    assert await objections.open_counts(T0) == {("zhifu", False): 2, ("laishan", False): 1}


async def test_the_objection_ledger_pages_newest_first_within_its_window(suite: Suite) -> None:
    objections = suite.stores.objections
    # obj_b and obj_c filed at the same moment: the id breaks the tie.
    for objection_id, district, filed in (
        ("obj_a", "zhifu", T0),
        ("obj_b", "zhifu", T0 + D),
        ("obj_c", "zhifu", T0 + D),
        ("obj_d", "laishan", T0 + 2 * D),
        ("obj_e", "zhifu", T0 + 3 * D),
    ):
        assert await objections.add_objection(
            objection(objection_id, f"ev_{objection_id}", district=district, filed_at=filed)
        )

    async def ids(
        window: Window = ANY_TIME,
        after: Position | None = None,
        district: str | None = "zhifu",
        limit: int = 10,
    ) -> list[str]:
        found = await objections.filed(FiledQuery(window, after, district, limit))
        return [o.objection_id for o in found]

    assert await ids() == ["obj_e", "obj_c", "obj_b", "obj_a"]
    assert await ids(district=None) == ["obj_e", "obj_d", "obj_c", "obj_b", "obj_a"]
    assert await ids(Window(T0 + D, T0 + 3 * D)) == ["obj_c", "obj_b"]  # the end excluded
    assert await ids(limit=2) == ["obj_e", "obj_c"]
    assert await ids(after=Position(T0 + D, "obj_c"), limit=2) == ["obj_b", "obj_a"]
    assert await ids(after=Position(T0, "obj_a")) == []
