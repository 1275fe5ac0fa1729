"""Credit's open data (issue 16) on real Kafka and Postgres: the merchant page with its last
inspection and open orders, the search, the CSV export and a market's grade shares and rank —
no token, nothing personal."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import topics
from contracts.envelope import Envelope, make_event
from contracts.inspection import RectificationOrdered
from tests.integration.credit.conftest import Stack, completed, registered, score_of
from tests.support import credit_events as samples
from tests.support.city import Place
from tests.support.kafka import TopicWatcher
from tests.support.personal import assert_nothing_personal
from tests.support.poll import until

SCORES = topics.CREDIT_SCORES.name
INSPECTION = topics.INSPECTION_EVENTS.name
# provision() gives every market a task force of people; none of them is ever shown.
PEOPLE = ("王队长",)
# A graded merchant as open data: the CSV export's columns, in order, and its schema's fields.
OPEN_DATA_COLUMNS = [
    "id",
    "name",
    "market_id",
    "market_name",
    "district",
    "stall_no",
    "grade",
    "graded_at",
]


def ordered(place: Place, deadline: datetime) -> Envelope[Any]:
    rec_id = f"rec_{uuid.uuid4().hex[:12]}"
    data = RectificationOrdered.model_validate(
        samples.order(
            rectification_id=rec_id,
            version=1,
            market_id=place.market_id,
            district=place.district,
            merchant_id=place.merchant_id,
            stall_no=place.stall_no,
            ordered_at=datetime.now(UTC).isoformat(),
            deadline=deadline.isoformat(),
            reinspection_task_id=None,
        )
    )
    return make_event(
        service="inspection",
        event_type="inspection.rectification.ordered",
        version=1,
        subject=data.task_id,
        data=data,
        correlation_id=data.task_id,
    )


async def known(stack: Stack, place: Place) -> None:
    directory = stack.app.state.credit.directory
    await until(
        lambda: place.merchant_id in directory.merchants and place.market_id in directory.markets,
        what="credit knows the merchant's and the market's names",
    )


async def public(stack: Stack, path: str, seen: list[str], status: int = 200) -> Any:
    r = await stack.credit.get(path)  # no token
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    seen.append(r.text)
    return r.json() if "json" in r.headers["content-type"] else r.text


async def test_a_merchant_page_shows_grade_last_inspection_and_open_orders(
    stack: Stack, kafka: str
) -> None:
    seen: list[str] = []
    place = await registered(stack, kafka)
    await known(stack, place)
    event = completed(place, "major")
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    order = ordered(place, deadline)
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(INSPECTION, event, event.subject)
        await stack.send(INSPECTION, order, event.subject)
        await stack.send(INSPECTION, order, event.subject)  # redelivered: counted once
        await scores.wait_for(score_of(place.merchant_id, score=85, grade="B"))

    async def with_order() -> dict[str, Any] | None:
        body: dict[str, Any] = await public(stack, f"/public/merchants/{place.merchant_id}", seen)
        return body if body["open_rectifications"]["count"] else None

    page = await until(with_order, what="the order reached the public view")
    assert page["grade"] == "B" and page["graded_at"] is not None
    assert page["last_inspection_outcome"] == "major"
    city_day = event.data.completed_at.astimezone(stack.app.state.credit.tz).date()
    assert page["last_inspection"] == city_day.isoformat()  # the city's day, not UTC's
    orders = page["open_rectifications"]
    assert orders["count"] == 1
    assert datetime.fromisoformat(orders["earliest_deadline"]) == deadline
    assert (page["market_name"], page["stall_no"]) == ("检查市场", place.stall_no)

    found = await public(stack, f"/public/merchants?market_id={place.market_id}", seen)
    assert found == {
        "items": [
            {
                "id": place.merchant_id,
                "name": "商户",
                "market_id": place.market_id,
                "market_name": "检查市场",
                "district": place.district,
                "stall_no": place.stall_no,
                "grade": "B",
                "graded_at": page["graded_at"],
            }
        ],
        "total": 1,
        "offset": 0,
        "limit": 20,
    }
    by_name = await public(stack, f"/public/merchants?q=商&district={place.district}", seen)
    assert [m["id"] for m in by_name["items"]] == [place.merchant_id]
    none_a = await public(stack, f"/public/merchants?district={place.district}&grade=A", seen)
    assert none_a["total"] == 0 and none_a["items"] == []
    paged = await public(stack, "/public/merchants?limit=1&offset=0", seen)
    assert paged["limit"] == 1 and len(paged["items"]) == 1 and paged["total"] >= 1
    await public(stack, "/public/merchants?limit=101", seen, status=422)
    await public(stack, "/public/merchants?grade=E", seen, status=422)
    await public(stack, "/public/merchants/mer_nobody", seen, status=404)

    exported = await stack.credit.get(f"/public/merchants.csv?market_id={place.market_id}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8")
    seen.append(text)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == OPEN_DATA_COLUMNS
    [row] = rows[1:]
    assert row[:7] == [
        place.merchant_id,
        "商户",
        place.market_id,
        "检查市场",
        place.district,
        place.stall_no,
        "B",
    ]
    assert datetime.fromisoformat(row[7]) == datetime.fromisoformat(page["graded_at"])
    for text in seen:
        assert_nothing_personal(text, PEOPLE, where="credit public")


async def test_a_market_shows_its_grade_shares_and_its_rank_from_the_latest_assessment(
    stack: Stack, kafka: str
) -> None:
    seen: list[str] = []
    place = await registered(stack, kafka)
    await known(stack, place)
    before = await public(stack, f"/public/markets/{place.market_id}/grades", seen)
    assert before == {
        "shares": {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0},
        "merchants": 1,
        "rank": None,
    }
    r = await stack.credit.post("/assessments", headers=stack.token("admin", "*"))
    assert r.status_code == 202, r.text
    after = await public(stack, f"/public/markets/{place.market_id}/grades", seen)
    assert after["shares"] == {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0}
    assert after["merchants"] == 1
    rank = after["rank"]
    assert (rank["position"], rank["of"]) == (1, 1)
    assert set(rank["period"]) == {"from", "to"}
    await public(stack, "/public/markets/mkt_nobody/grades", seen, status=404)
    for text in seen:
        assert_nothing_personal(text, PEOPLE, where="credit public")


async def test_the_openapi_document_states_the_open_data_schemas(stack: Stack) -> None:
    doc = (await stack.credit.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert set(schemas["PublicMerchantGrade"]["properties"]) == set(OPEN_DATA_COLUMNS)
    assert {"shares", "merchants", "rank"} == set(schemas["MarketGrades"]["properties"])
    assert "text/csv" in doc["paths"]["/public/merchants.csv"]["get"]["responses"]["200"]["content"]
