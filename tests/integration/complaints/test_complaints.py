"""Complaints on real Kafka and Postgres: intake over HTTP and the topic, the lifecycle, the
working-day clocks, duplicates, district scope. In-process apps, the clock injectable."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import orjson

from contracts import topics
from services.runtime.data_files import default_calendar
from tests.integration.complaints.conftest import Stack, submission
from tests.support.complaints_events import intake_event
from tests.support.kafka import TopicWatcher, of

EVENTS = topics.COMPLAINTS_EVENTS.name
INTAKE = topics.COMPLAINTS_INTAKE.name
PHONE = "13812345678"
CITY = timezone(timedelta(hours=8))


async def test_a_public_complaint_is_published_masked_and_tracked_without_personal_data(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.complaints.post("/complaints", json=submission(place))
        assert r.status_code == 201, r.text
        receipt = r.json()
        [received] = await events.wait_for(
            of("complaints.complaint.received", complaint_id=receipt["id"])
        )
    body = received.json()
    assert received.key == receipt["id"].encode()
    assert body["subject"] == body["correlationid"] == receipt["id"]
    assert body["data"]["complainant"] == {"name": "张*", "phone": "138****5678"}
    assert PHONE.encode() not in received.value and "张三".encode() not in received.value
    assert body["data"]["tracking_code"] == receipt["tracking_code"]
    assert body["data"]["merchant_id"] == place.merchant_id
    assert body["data"]["district"] == place.district

    tracked = await stack.complaints.get(f"/complaints/track/{receipt['tracking_code']}")
    assert tracked.status_code == 200
    text = tracked.text
    assert PHONE not in text and "张三" not in text and "称重" not in text
    assert tracked.json()["state"] == "received"
    assert tracked.json()["acceptance_deadline"] == receipt["acceptance_deadline"]
    missing = await stack.complaints.get("/complaints/track/ZZZZZZZZZZ")
    assert missing.status_code == 404


async def test_the_intake_topic_gives_the_same_result_once_whatever_is_redelivered(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    body = submission(place, channel="hotline_12345", external_ref=f"12345-{uuid.uuid4().hex[:6]}")
    wire = intake_event(body)
    intake_id = orjson.loads(wire)["id"]
    marker = intake_event(submission(place, category="price", facts="价格标签与结算不符"))
    key = body["external_ref"].encode()
    async with TopicWatcher(kafka, EVENTS) as events:
        await stack.producer.send_and_wait(INTAKE, wire, key=key)
        await stack.producer.send_and_wait(INTAKE, wire, key=key)  # redelivered
        await stack.producer.send_and_wait(INTAKE, marker, key=key)  # same partition, after
        await events.wait_for(of("complaints.complaint.received", category="price"))
        received = [r for r in events.records if of("complaints.complaint.received")(r)]
    from_intake = [r.json() for r in received if r.json()["causationid"] == intake_id]
    assert len(from_intake) == 1
    [event] = from_intake
    assert event["data"]["channel"] == "hotline_12345"
    assert event["data"]["external_ref"] == body["external_ref"]
    assert event["data"]["complainant"]["phone"] == "138****5678"
    assert PHONE not in orjson.dumps(event).decode()


async def test_an_unknown_market_is_refused_over_http_and_parked_from_the_topic(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    admin = stack.token("admin", "*")
    before = (await stack.complaints.get("/complaints", headers=admin)).json()["items"]
    r = await stack.complaints.post(
        "/complaints", json=submission(place, market_id="mkt_nowhere", merchant_id=None)
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "market_id"
    bad_phone = await stack.complaints.post(
        "/complaints", json=submission(place, complainant={"name": "王五", "phone": "12345"})
    )
    assert bad_phone.status_code == 422
    assert [e["field"] for e in bad_phone.json()["errors"]] == ["complainant.phone"]

    wire = intake_event(submission(place, market_id="mkt_nowhere", merchant_id=None))
    async with TopicWatcher(kafka, f"{INTAKE}.dlq") as dlq:
        await stack.producer.send_and_wait(INTAKE, wire, key=b"nowhere")
        [parked] = await dlq.wait_for(lambda r: r.value == wire)
    assert b"market_id" in parked.headers["dlq.error"]
    after = (await stack.complaints.get("/complaints", headers=admin)).json()["items"]
    assert [c["id"] for c in after] == [c["id"] for c in before]


async def test_accept_sets_the_mediation_deadline_and_close_carries_substantiated(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    handler = stack.token("handler", place.district)
    receipt = (await stack.complaints.post("/complaints", json=submission(place))).json()
    cid = receipt["id"]

    early = await stack.complaints.post(
        f"/complaints/{cid}/close",
        json={"outcome": "refunded", "substantiated": True, "satisfaction": 4},
        headers=handler,
    )
    assert early.status_code == 409
    assert "received" in early.json()["message"]

    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.complaints.post(f"/complaints/{cid}/accept", headers=handler)
        assert r.status_code == 200, r.text
        [accepted] = await events.wait_for(of("complaints.complaint.accepted", complaint_id=cid))
        data = accepted.json()["data"]
        accepted_at = datetime.fromisoformat(data["accepted_at"])
        expected = default_calendar().deadline_at(accepted_at, 45, "Asia/Shanghai")
        assert datetime.fromisoformat(data["mediation_deadline"]) == expected

        again = await stack.complaints.post(f"/complaints/{cid}/accept", headers=handler)
        assert again.status_code == 409

        r = await stack.complaints.post(
            f"/complaints/{cid}/close",
            json={"outcome": "refunded", "substantiated": True, "satisfaction": 5},
            headers=handler,
        )
        assert r.status_code == 200, r.text
        [closed] = await events.wait_for(of("complaints.complaint.closed", complaint_id=cid))
    data = closed.json()["data"]
    assert data["substantiated"] is True and data["outcome"] == "refunded"
    assert data["within_limit"] is True and data["satisfaction"] == 5
    assert data["version"] == 3


async def test_a_complainant_not_reached_is_closed_with_a_null_satisfaction(
    stack: Stack, kafka: str
) -> None:
    # 未能回访: closed on time with no rating, stored and published as such.
    place = await stack.place()
    handler = stack.token("handler", place.district)
    cid = (await stack.complaints.post("/complaints", json=submission(place))).json()["id"]
    r = await stack.complaints.post(f"/complaints/{cid}/accept", headers=handler)
    assert r.status_code == 200, r.text
    body = {"outcome": "mediated", "substantiated": True}
    missing = await stack.complaints.post(f"/complaints/{cid}/close", json=body, headers=handler)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["satisfaction"]
    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.complaints.post(
            f"/complaints/{cid}/close", json=body | {"satisfaction": None}, headers=handler
        )
        assert r.status_code == 200, r.text
        [closed] = await events.wait_for(of("complaints.complaint.closed", complaint_id=cid))
    data = closed.json()["data"]
    assert (data["state"], data["satisfaction"], data["substantiated"]) == ("closed", None, True)
    stored = (await stack.complaints.get(f"/complaints/{cid}", headers=handler)).json()
    assert (stored["state"], stored["satisfaction"]) == ("closed", None)


async def test_a_complaint_about_another_market_is_transferred_to_its_district(
    stack: Stack, kafka: str
) -> None:
    # 移送: filed against the wrong market, moved to the right one in another district, whose
    # handler then holds it with a fresh acceptance clock.
    here, there = await stack.place(), await stack.place()
    handler = stack.token("handler", here.district)
    receiving = stack.token("handler", there.district)
    receipt = (await stack.complaints.post("/complaints", json=submission(here))).json()
    cid = receipt["id"]
    path = f"/complaints/{cid}/transfer"

    refused = await stack.complaints.post(
        path, json={"market_id": "mkt_nowhere", "reason": ""}, headers=handler
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["reason", "market_id"]
    unchanged = (await stack.complaints.get(f"/complaints/{cid}", headers=handler)).json()
    assert (unchanged["version"], unchanged["market_id"]) == (1, here.market_id)

    body = {"market_id": there.market_id, "stall_no": there.stall_no, "reason": "摊位在另一市场"}
    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.complaints.post(path, json=body, headers=handler)
        assert r.status_code == 200, r.text
        [moved] = await events.wait_for(of("complaints.complaint.transferred", complaint_id=cid))
    data = moved.json()["data"]
    assert (data["market_id"], data["district"], data["merchant_id"]) == (
        there.market_id,
        there.district,
        there.merchant_id,
    )
    assert (data["from_market_id"], data["from_district"], data["reason"]) == (
        here.market_id,
        here.district,
        "摊位在另一市场",
    )
    restarted = datetime.fromisoformat(data["acceptance_deadline"])
    assert restarted >= datetime.fromisoformat(receipt["acceptance_deadline"])

    assert (await stack.complaints.get(f"/complaints/{cid}", headers=handler)).status_code == 403
    theirs = (await stack.complaints.get("/complaints", headers=receiving)).json()["items"]
    assert cid in [c["id"] for c in theirs]
    tracked = (await stack.complaints.get(f"/complaints/track/{receipt['tracking_code']}")).json()
    assert tracked["market_id"] == there.market_id and tracked["transferred_at"] is not None
    r = await stack.complaints.post(f"/complaints/{cid}/accept", headers=receiving)
    assert r.status_code == 200, r.text
    again = await stack.complaints.post(path, json=body, headers=receiving)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "state"


async def test_a_complaint_moved_to_a_merchant_with_the_same_complaint_is_linked_to_it(
    stack: Stack,
) -> None:
    here, there = await stack.place(), await stack.place()
    facts = "电子秤少称了二两猪肉，要求退还差价"
    first = (await stack.complaints.post("/complaints", json=submission(there, facts=facts))).json()
    body = submission(
        here, facts=facts + "。", complainant={"name": "李四", "phone": "13900001111"}
    )
    second = (await stack.complaints.post("/complaints", json=body)).json()
    assert second["duplicate_of"] is None
    move = {"market_id": there.market_id, "stall_no": there.stall_no, "reason": "在另一市场"}
    handler = stack.token("handler", here.district)
    r = await stack.complaints.post(
        f"/complaints/{second['id']}/transfer", json=move, headers=handler
    )
    assert r.status_code == 200, r.text
    assert (r.json()["duplicate_of"], r.json()["version"]) == (first["id"], 3)
    receiving = stack.token("handler", there.district)
    root = (await stack.complaints.get(f"/complaints/{first['id']}", headers=receiving)).json()
    assert root["duplicates"] == [second["id"]]


async def test_undecided_past_seven_working_days_is_overdue_once(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    receipt = (await stack.complaints.post("/complaints", json=submission(place))).json()
    cid = receipt["id"]
    deadline = datetime.fromisoformat(receipt["acceptance_deadline"])
    service = stack.app.state.complaints
    async with TopicWatcher(kafka, EVENTS) as events:
        stack.clock.offset = deadline - stack.clock() + timedelta(minutes=1)
        try:
            [overdue] = await events.wait_for(
                of("complaints.complaint.overdue", complaint_id=cid), timeout=30
            )
            await service.check_clock()  # a second pass marks nothing new for this case
            later = await events.drain(settle_s=1.0)
        finally:
            stack.clock.offset = timedelta()
    assert overdue.json()["data"]["clock"] == "acceptance"
    assert datetime.fromisoformat(overdue.json()["data"]["deadline"]) == deadline
    mine = [r for r in later if of("complaints.complaint.overdue", complaint_id=cid)(r)]
    assert len(mine) == 1
    admin = stack.token("admin", "*")
    listed = await stack.complaints.get("/complaints?overdue=true", headers=admin)
    assert cid in [c["id"] for c in listed.json()["items"]]


async def test_a_similar_complaint_within_48_hours_is_linked_to_the_first(
    stack: Stack,
) -> None:
    place = await stack.place()
    handler = stack.token("handler", place.district)
    facts = "三号摊位的电子秤少称了二两猪肉"
    first = (await stack.complaints.post("/complaints", json=submission(place, facts=facts))).json()
    second = (
        await stack.complaints.post(
            "/complaints",
            json=submission(
                place,
                facts=facts + "，要求退款",
                complainant={"name": "李四", "phone": "13900001111"},
            ),
        )
    ).json()
    other = (
        await stack.complaints.post(
            "/complaints", json=submission(place, facts="摊主态度恶劣", category="service")
        )
    ).json()
    assert second["duplicate_of"] == first["id"]
    assert other["duplicate_of"] is None
    shown = (await stack.complaints.get(f"/complaints/{first['id']}", headers=handler)).json()
    assert shown["duplicates"] == [second["id"]]
    assert shown["complainant"] == {"name": "张三", "phone": PHONE}  # the handler may call back


async def test_another_districts_handler_is_refused_and_an_idempotency_key_repeats(
    stack: Stack,
) -> None:
    place = await stack.place()
    elsewhere = stack.token("handler", "some-other-district")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = submission(place)
    first = (await stack.complaints.post("/complaints", json=body, headers=key)).json()
    again = (await stack.complaints.post("/complaints", json=body, headers=key)).json()
    assert again["id"] == first["id"] and again["tracking_code"] == first["tracking_code"]
    cid = first["id"]
    assert (await stack.complaints.get(f"/complaints/{cid}", headers=elsewhere)).status_code == 403
    r = await stack.complaints.post(f"/complaints/{cid}/accept", headers=elsewhere)
    assert r.status_code == 403
    mine = (await stack.complaints.get("/complaints", headers=elsewhere)).json()["items"]
    assert cid not in [c["id"] for c in mine]
    assert (await stack.complaints.get(f"/complaints/{cid}")).status_code == 401


async def test_citizens_the_console_names_are_limited_each_on_their_own(stack: Stack) -> None:
    # The portal's citizens all arrive from the console's address; the console names each in
    # X-Forwarded-For, so one citizen past the limit leaves the others theirs.
    from services.runtime.ratelimit import TokenBuckets

    place = await stack.place()
    limits = stack.app.state.rate_limits
    saved = limits.get("complaints")
    limits["complaints"] = TokenBuckets(rate=0.01, burst=2)  # this test's tight limit

    async def submit(citizen: str) -> int:
        sent = await stack.complaints.post(
            "/complaints", json=submission(place), headers={"X-Forwarded-For": citizen}
        )
        return sent.status_code

    try:
        first = [await submit("203.0.113.7") for _ in range(3)]
        second = [await submit("198.51.100.20") for _ in range(2)]
    finally:
        if saved is None:
            limits.pop("complaints")
        else:
            limits["complaints"] = saved
    assert (first, second) == ([201, 201, 429], [201, 201])


async def test_the_public_endpoint_is_rate_limited_per_client_and_refusals_store_nothing(
    stack: Stack,
) -> None:
    from services.runtime.ratelimit import TokenBuckets

    place = await stack.place()
    admin = stack.token("admin", "*")
    limits = stack.app.state.rate_limits
    saved = limits.get("complaints")
    limits["complaints"] = TokenBuckets(rate=0.01, burst=2)  # this test's tight limit
    try:
        codes = [
            (await stack.complaints.post("/complaints", json=submission(place))).status_code
            for _ in range(4)
        ]
        refused = await stack.complaints.post("/complaints", json=submission(place))
    finally:
        if saved is None:
            limits.pop("complaints")
        else:
            limits["complaints"] = saved
    assert codes == [201, 201, 429, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "too_many_requests"
    stored = (
        await stack.complaints.get(f"/complaints?market_id={place.market_id}", headers=admin)
    ).json()["items"]
    assert len(stored) == 2


async def test_a_window_of_complaints_is_listed_page_by_page_each_once(stack: Stack) -> None:
    # A ledger's export (台账): the window's start is included, its end excluded, and every
    # page after the `next` of the one before, until a page says there is none.
    place = await stack.place()
    handler = stack.token("handler", place.district)
    receipts = []
    for _ in range(6):
        r = await stack.complaints.post("/complaints", json=submission(place))
        assert r.status_code == 201, r.text
        receipts.append(r.json())
    start = datetime.fromisoformat(receipts[1]["received_at"]).astimezone(CITY)  # any offset
    window = {"received_from": start.isoformat(), "received_before": receipts[5]["received_at"]}
    pages: list[list[str]] = []
    after: dict[str, str] = {}
    while True:
        r = await stack.complaints.get(
            "/complaints", params={**window, "limit": 2, **after}, headers=handler
        )
        assert r.status_code == 200, r.text
        pages.append([c["id"] for c in r.json()["items"]])
        if r.json()["next"] is None:
            break
        after = {"after": r.json()["next"]}
    assert pages == [[receipts[i]["id"] for i in pair] for pair in ((4, 3), (2, 1))] + [[]]


async def test_a_bad_window_or_position_is_refused_naming_each_field(stack: Stack) -> None:
    handler = stack.token("handler", "zhifu")

    async def refused(**params: str) -> list[dict[str, str]]:
        r = await stack.complaints.get("/complaints", params=params, headers=handler)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_input"
        errors: list[dict[str, str]] = r.json()["errors"]
        return errors

    naive_and_backwards = await refused(
        received_from="2026-11-01T00:00:00", received_before="2026-10-01T00:00:00"
    )
    assert [e["field"] for e in naive_and_backwards] == ["received_from", "received_before"]
    assert all("UTC offset" in e["reason"] for e in naive_and_backwards)
    assert await refused(
        received_from="2026-11-01T00:00:00+08:00", received_before="2026-10-31T16:00:00Z"
    ) == [{"field": "received_before", "reason": "must come after received_from"}]
    [bad_after] = await refused(after="garbage!!")
    assert bad_after["field"] == "after"
    everything = await refused(received_from="2026-11-01T00:00:00", after="garbage!!")
    assert [e["field"] for e in everything] == ["received_from", "after"]
