"""One suite for the complaints stores, run against Postgres (a fresh schema, migrated) and the
in-memory fakes the use-case tests rely on: both must give the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from contracts.people import Actor
from services.complaints.app import MIGRATIONS
from services.complaints.domain import (
    DEFAULT_POLICY,
    Complaint,
    WorkCalendar,
    accept,
    close,
    mark_overdue,
    receive,
    transfer,
)
from services.complaints.domain.photos import ComplaintPhoto, claimed
from services.complaints.domain.suggestions import (
    Suggestion,
    answer_suggestion,
    receive_suggestion,
)
from services.complaints.fakes import fake_stores
from services.complaints.store import (
    CaseQuery,
    InspectionRecord,
    StaleWrite,
    Stores,
    postgres_stores,
)
from services.runtime.paging import Position, Window
from tests.support.store_suite import migrated

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in the city
CAL = WorkCalendar.weekends_only()


@pytest.fixture
async def stores(database: str | None) -> AsyncIterator[Stores]:
    if database is None:
        yield fake_stores()
        return
    async with migrated(database, "complaints", {"complaints": MIGRATIONS}) as conn:
        yield postgres_stores(conn)


def case(
    at: datetime = T0,
    *,
    merchant_id: str | None = "mer_1",
    category: str = "short_weight",
    district: str = "zhifu",
    market_id: str = "mkt_1",
) -> Complaint:
    return receive(
        name="张三",
        phone="13812345678",
        market_id=market_id,
        district=district,
        merchant_id=merchant_id,
        stall_no="A-01" if merchant_id else None,
        category=category,
        facts="少称二两",
        request="退差价",
        channel="web",
        now=at,
        policy=DEFAULT_POLICY,
        calendar=CAL,
    )


def accepted(c: Complaint, at: datetime) -> Complaint:
    return accept(c, by="h1", now=at, policy=DEFAULT_POLICY, calendar=CAL)


async def stored(stores: Stores, *cases: Complaint, **kw: Any) -> None:
    for c in cases:
        await stores.complaints.insert(
            c, intake_id=kw.get("intake_id"), external_ref=kw.get("external_ref")
        )


def ids(cases: list[Complaint]) -> list[str]:
    return [c.complaint_id for c in cases]


# -- complaints ----------------------------------------------------------------------------------


async def test_a_case_is_found_by_id_tracking_code_and_intake(stores: Stores) -> None:
    c = case()
    await stored(stores, c, intake_id="http:k1", external_ref="12345-1")
    s = stores.complaints
    assert await s.get(c.complaint_id) == c
    assert await s.get(c.complaint_id, for_update=True) == c
    assert await s.by_tracking_code(c.tracking_code) == c
    assert await s.by_intake("http:k1") == c
    assert await s.external_ref(c.complaint_id) == "12345-1"
    await s.lock_intake("http:k1")  # held to the end of the transaction, answers nothing
    assert await s.get("cmp_nobody") is None
    assert await s.by_tracking_code("ZZZZZZZZZZ") is None
    assert await s.by_intake("http:other") is None
    assert await s.external_ref("cmp_nobody") is None


async def test_an_update_takes_the_next_version_only(stores: Stores) -> None:
    c = case()
    await stored(stores, c)
    a = accepted(c, T0 + timedelta(hours=1))
    await stores.complaints.update(a)
    assert await stores.complaints.get(c.complaint_id) == a
    with pytest.raises(StaleWrite):
        await stores.complaints.update(a)  # the same version again: a lost update
    with pytest.raises(StaleWrite):
        await stores.complaints.update(accepted(case(), T0))  # never stored


async def test_a_transferred_case_is_found_under_its_new_market_and_district(
    stores: Stores,
) -> None:
    c = case(T0)
    await stored(stores, c)
    moved = transfer(
        c,
        by=Actor.of("h1", "王处理员"),
        market_id="mkt_9",
        district="laishan",
        reason="市场选错了",
        now=T0 + timedelta(days=2),
        policy=DEFAULT_POLICY,
        calendar=CAL,
    )
    await stores.complaints.update(moved)
    s = stores.complaints
    assert await s.get(c.complaint_id) == moved

    def query(district: str, market_id: str | None = None) -> CaseQuery:
        return CaseQuery(district, None, market_id, overdue=False, open_only=False, limit=10)

    assert ids(await s.cases(query("laishan", "mkt_9"))) == ids([moved])
    assert await s.cases(query("zhifu")) == []
    assert await s.recent("mer_1", "short_weight", T0) == []  # its old merchant's no more
    # The clock runs to the new deadline, two working days after the old one.
    assert moved.acceptance_deadline == c.acceptance_deadline + timedelta(days=2)
    assert await s.past_deadline(c.acceptance_deadline + timedelta(minutes=1), 10) == []
    assert ids(await s.past_deadline(moved.acceptance_deadline + timedelta(minutes=1), 10)) == ids(
        [moved]
    )


async def test_recent_is_the_merchants_category_since_oldest_first(stores: Stores) -> None:
    first, second = case(T0), case(T0 + timedelta(hours=3))
    older = case(T0 - timedelta(days=3))
    other_category = case(T0, category="price")
    other_merchant = case(T0, merchant_id="mer_2")
    await stored(stores, second, older, first, other_category, other_merchant)
    found = await stores.complaints.recent("mer_1", "short_weight", T0)  # the edge included
    assert ids(found) == ids([first, second])
    locked = await stores.complaints.recent("mer_1", "short_weight", T0, for_update=True)
    assert ids(locked) == ids(found)


async def test_cases_filter_and_come_newest_first(stores: Stores) -> None:
    a = case(T0, district="zhifu", market_id="mkt_1")
    b = case(T0 + timedelta(hours=1), district="laishan", market_id="mkt_2")
    c = accepted(case(T0 + timedelta(hours=2)), T0 + timedelta(hours=3))
    d = mark_overdue(case(T0 + timedelta(hours=4)), T0 + timedelta(days=30))
    assert d is not None
    await stored(stores, a, b, c, d)
    s = stores.complaints

    async def listed(**kw: Any) -> list[str]:
        return ids(await s.cases(listing(**kw)))

    assert await listed() == ids([d, c, b, a])
    assert await listed(limit=2) == ids([d, c])
    assert await listed(district="laishan") == ids([b])
    assert await listed(market_id="mkt_1") == ids([d, c, a])
    assert await listed(state="accepted") == ids([c])
    assert await listed(overdue=True) == ids([d])
    closed = close(
        c,
        by="h1",
        outcome="refunded",
        substantiated=True,
        satisfaction=5,
        now=T0 + timedelta(days=1),
    )
    await s.update(closed)
    assert await listed(open_only=True) == ids([d, b, a])


def listing(**kw: Any) -> CaseQuery:
    args: dict[str, Any] = {
        "district": None,
        "state": None,
        "market_id": None,
        "overdue": False,
        "open_only": False,
        "limit": 100,
    }
    return CaseQuery(**(args | kw))


async def test_a_window_holds_the_cases_received_from_its_start_to_before_its_end(
    stores: Stores,
) -> None:
    end = T0 + timedelta(days=30)
    before = case(T0 - timedelta(microseconds=1))
    at_start, inside = case(T0), case(T0 + timedelta(days=3))
    last = case(end - timedelta(microseconds=1))
    at_end = case(end)
    await stored(stores, at_end, inside, before, last, at_start)
    s = stores.complaints
    assert ids(await s.cases(listing(window=Window(T0, end)))) == ids([last, inside, at_start])
    assert ids(await s.cases(listing(window=Window(T0, None)))) == ids(
        [at_end, last, inside, at_start]
    )
    assert ids(await s.cases(listing(window=Window(None, end)))) == ids(
        [last, inside, at_start, before]
    )
    # An offset other than the stored one's names the same instant.
    city = timezone(timedelta(hours=8))
    assert ids(await s.cases(listing(window=Window(T0.astimezone(city), end)))) == ids(
        [last, inside, at_start]
    )


def with_id(c: Complaint, complaint_id: str) -> Complaint:
    return replace(c, complaint_id=complaint_id)


async def test_cases_of_one_instant_come_by_id_descending_compared_as_code_points(
    stores: Stores,
) -> None:
    # Upper case before lower case in code points, after it in a locale's order: "cmp_a" is
    # greater than "cmp_B" here, as Python compares them.
    low, high = with_id(case(T0), "cmp_B"), with_id(case(T0), "cmp_a")
    newer, older = case(T0 + timedelta(seconds=1)), case(T0 - timedelta(seconds=1))
    await stored(stores, low, older, high, newer)
    assert ids(await stores.complaints.cases(listing())) == ids([newer, high, low, older])


async def test_a_page_edge_between_two_cases_of_one_instant_loses_and_repeats_neither(
    stores: Stores,
) -> None:
    tied = [with_id(case(T0), f"cmp_{n}") for n in ("0b", "0a")]
    newer, older = case(T0 + timedelta(minutes=1)), case(T0 - timedelta(minutes=1))
    outside = case(T0 + timedelta(days=1))
    await stored(stores, older, *tied, outside, newer)
    window = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    s = stores.complaints

    pages: list[list[str]] = []
    after: Position | None = None
    while True:
        page = await s.cases(listing(window=window, after=after, limit=2))
        pages.append(ids(page))
        if len(page) < 2:
            break
        after = Position(page[-1].received_at, page[-1].complaint_id)
    # The first page ends between the two: the second starts with the other one.
    assert pages == [ids([newer, tied[0]]), ids([tied[1], older]), []]
    # A page starts strictly after its position, whatever else is asked.
    edge = Position(T0, "cmp_0b")
    assert ids(await s.cases(listing(after=edge))) == ids([tied[1], older])
    assert ids(await s.cases(listing(after=edge, window=Window(T0, None)))) == ids([tied[1]])


async def test_past_deadline_is_each_unmarked_running_clock_oldest_first(stores: Stores) -> None:
    due = case(T0)
    later_due = case(T0 + timedelta(hours=1))
    marked = mark_overdue(case(T0 + timedelta(hours=2)), T0 + timedelta(days=30))
    assert marked is not None
    fresh = case(T0 + timedelta(days=20))
    mediating = accepted(case(T0 + timedelta(hours=3)), T0 + timedelta(hours=4))
    await stored(stores, later_due, due, marked, fresh, mediating)
    now = T0 + timedelta(days=15)
    found = await stores.complaints.past_deadline(now, 10)
    assert ids(found) == ids([due, later_due])
    assert ids(await stores.complaints.past_deadline(now, 1)) == ids([due])
    assert mediating.mediation_deadline is not None
    after_mediation = mediating.mediation_deadline + timedelta(seconds=1)
    assert mediating.complaint_id in ids(await stores.complaints.past_deadline(after_mediation, 10))


async def test_counts_are_by_state_and_category(stores: Stores) -> None:
    a, b = case(T0), case(T0 + timedelta(hours=1))
    c = case(T0, category="price")
    await stored(stores, a, b, c)
    await stores.complaints.update(accepted(b, T0 + timedelta(hours=2)))
    assert sorted(await stores.complaints.counts()) == [
        ("accepted", "short_weight", 1),
        ("received", "price", 1),
        ("received", "short_weight", 1),
    ]


async def test_an_inspection_is_kept_once_per_task_of_a_known_case(stores: Stores) -> None:
    c = case()
    await stored(stores, c)
    s = stores.complaints
    findings = [{"code": "scale_tampered", "severity": "major", "note": "秤不准"}]
    late, early = T0 + timedelta(days=2), T0 + timedelta(days=1)
    assert await s.record_inspection(
        c.complaint_id, InspectionRecord("tsk_2", "failed", findings, late)
    )
    assert await s.record_inspection(c.complaint_id, InspectionRecord("tsk_1", "passed", [], early))
    assert not await s.record_inspection(
        c.complaint_id, InspectionRecord("tsk_2", "passed", [], early)
    )
    assert not await s.record_inspection(
        "cmp_nobody", InspectionRecord("tsk_1", "passed", [], early)
    )
    assert await s.inspections(c.complaint_id) == [
        {
            "task_id": "tsk_1",
            "outcome": "passed",
            "findings": [],
            "completed_at": early.isoformat(),
        },
        {
            "task_id": "tsk_2",
            "outcome": "failed",
            "findings": findings,
            "completed_at": late.isoformat(),
        },
    ]
    assert await s.inspections("cmp_nobody") == []


async def test_an_intake_id_is_stored_once(stores: Stores) -> None:
    await stored(stores, case(), intake_id="topic:e1")
    with pytest.raises(Exception):  # noqa: B017 - asyncpg's and the fake's errors differ
        await stored(stores, case(), intake_id="topic:e1")


# -- suggestions ---------------------------------------------------------------------------------


def suggestion(
    at: datetime = T0, *, about: str = "market", district: str = "zhifu", publish: bool = True
) -> Suggestion:
    market = about == "market"
    return receive_suggestion(
        about=about,
        market_id=f"mkt_{district}" if market else None,
        district=district if market else None,
        text="建议增加公平秤",
        name="李建国",
        phone="13912345678",
        publish_answer=publish,
        now=at,
    )


def answered(s: Suggestion, at: datetime) -> Suggestion:
    return answer_suggestion(s, answer="已设置", by=Actor(subject="h1", name="处理员"), now=at)


async def test_a_suggestion_is_found_and_updated_to_its_next_version_only(
    stores: Stores,
) -> None:
    s = suggestion()
    store = stores.suggestions
    await store.insert(s)
    assert await store.get(s.suggestion_id) == s
    assert await store.get(s.suggestion_id, for_update=True) == s
    assert await store.by_tracking_code(s.tracking_code) == s
    assert await store.get("sug_nobody") is None
    assert await store.by_tracking_code("ZZZZZZZZZZ") is None
    done = answered(s, T0 + timedelta(hours=1))
    await store.update(done)
    assert await store.get(s.suggestion_id) == done
    with pytest.raises(StaleWrite):
        await store.update(done)


async def test_suggestions_listed_for_a_district_include_the_campaigns(stores: Stores) -> None:
    mine = suggestion(T0)
    theirs = suggestion(T0 + timedelta(hours=1), district="laishan")
    campaign = suggestion(T0 + timedelta(hours=2), about="campaign")
    store = stores.suggestions
    for s in (mine, theirs, campaign):
        await store.insert(s)
    done = answered(mine, T0 + timedelta(hours=3))
    await store.update(done)

    def sids(found: list[Suggestion]) -> list[str]:
        return [s.suggestion_id for s in found]

    everything = await store.listed(district=None, state=None, limit=10)
    assert sids(everything) == sids([campaign, theirs, mine])
    assert sids(await store.listed(district=None, state=None, limit=1)) == sids([campaign])
    zhifu = await store.listed(district="zhifu", state=None, limit=10)
    assert sids(zhifu) == sids([campaign, mine])
    assert sids(await store.listed(district="zhifu", state="answered", limit=10)) == sids([mine])


async def test_published_are_the_answered_ones_the_author_agreed_to_newest_answer_first(
    stores: Stores,
) -> None:
    first = suggestion(T0)
    second = suggestion(T0 + timedelta(hours=1), district="laishan")
    private = suggestion(T0 + timedelta(hours=2), publish=False)
    unanswered = suggestion(T0 + timedelta(hours=3))
    campaign = suggestion(T0 + timedelta(hours=4), about="campaign")
    store = stores.suggestions
    for s in (first, second, private, unanswered, campaign):
        await store.insert(s)
    await store.update(answered(second, T0 + timedelta(days=1)))
    await store.update(answered(first, T0 + timedelta(days=2)))
    await store.update(answered(private, T0 + timedelta(days=3)))
    await store.update(answered(campaign, T0 + timedelta(hours=5)))

    async def sids(**kw: Any) -> list[str]:
        args: dict[str, Any] = {"market_id": None, "about": None, "limit": 10}
        return [s.suggestion_id for s in await store.published(**(args | kw))]

    assert await sids() == [first.suggestion_id, second.suggestion_id, campaign.suggestion_id]
    assert await sids(limit=1) == [first.suggestion_id]
    assert await sids(market_id="mkt_laishan") == [second.suggestion_id]
    assert await sids(about="campaign") == [campaign.suggestion_id]


# -- citizens' photos -----------------------------------------------------------------------------


def upload(photo_id: str, at: datetime = T0) -> ComplaintPhoto:
    return ComplaintPhoto(photo_id, "image/png", 3, "ab" * 32, at)


async def test_photos_are_kept_with_their_bytes_and_named_by_their_complaint(
    stores: Stores,
) -> None:
    c = case()
    await stored(stores, c)
    await stores.photos.add(upload("cph_b", T0 + timedelta(seconds=1)), b"\x01\x02\x03")
    await stores.photos.add(upload("cph_a", T0 + timedelta(seconds=2)), b"\x04\x05\x06")
    assert await stores.photos.of_complaint(c.complaint_id) == []
    assert await stores.photos.get(c.complaint_id, "cph_a") is None  # not the complaint's yet
    found = await stores.photos.found(["cph_a", "cph_b", "cph_nope"], for_update=True)
    assert sorted(p.photo_id for p in found) == ["cph_a", "cph_b"]
    assert await stores.photos.unclaimed() == 2

    await stores.photos.attach(claimed(found, c.complaint_id))
    assert [p.photo_id for p in await stores.photos.of_complaint(c.complaint_id)] == [
        "cph_b",
        "cph_a",
    ]
    assert await stores.photos.get(c.complaint_id, "cph_a") == (
        claimed([upload("cph_a", T0 + timedelta(seconds=2))], c.complaint_id)[0],
        b"\x04\x05\x06",
    )
    assert await stores.photos.get("cmp_other", "cph_a") is None
    assert await stores.photos.unclaimed() == 0


async def test_only_unclaimed_photos_uploaded_before_the_time_expire(stores: Stores) -> None:
    c = case()
    await stored(stores, c)
    for i in range(3):
        await stores.photos.add(upload(f"cph_old{i}", T0 + timedelta(minutes=i)), b"x")
    await stores.photos.add(upload("cph_new", T0 + timedelta(hours=2)), b"x")
    [kept] = await stores.photos.found(["cph_old0"])
    await stores.photos.attach(claimed([kept], c.complaint_id))

    assert await stores.photos.expire(T0 + timedelta(hours=1), limit=1) == 1
    assert await stores.photos.expire(T0 + timedelta(hours=1), limit=10) == 1
    assert await stores.photos.expire(T0 + timedelta(hours=1), limit=10) == 0
    left = await stores.photos.found(["cph_old0", "cph_old1", "cph_old2", "cph_new"])
    assert sorted(p.photo_id for p in left) == ["cph_new", "cph_old0"]
