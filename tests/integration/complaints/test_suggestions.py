"""Suggestions (意见建议) on real Kafka and Postgres: a citizen sends one with no token, follows
it by its tracking code, staff of the district answer it once, and the answer is public only
when the author agreed. Events masked; no public response carries a name or a phone."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import topics
from tests.integration.complaints.conftest import Stack, submission
from tests.support.kafka import Record, TopicWatcher
from tests.support.personal import assert_nothing_personal

SUGGESTIONS = topics.COMPLAINTS_SUGGESTIONS.name
NAME, PHONE = "李建国", "13912345678"
COMPLAINANT = "张三"


def about(suggestion_id: str, event_type: str):  # type: ignore[no-untyped-def]
    def match(r: Record) -> bool:
        body = r.json()
        return body["type"] == event_type and body["subject"] == suggestion_id

    return match


async def public(stack: Stack, method: str, path: str, seen: list[str], **kw: Any) -> Any:
    r = await stack.complaints.request(method, path, **kw)  # no token
    seen.append(r.text)
    return r


async def test_a_suggestion_is_answered_once_and_public_only_when_the_author_agreed(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    seen: list[str] = []
    text = f"建议市场增加公平秤 {uuid.uuid4().hex[:6]}"
    body = {
        "about": "market",
        "market_id": place.market_id,
        "text": text,
        "name": NAME,
        "phone": PHONE,
        "publish_answer": True,
    }
    async with TopicWatcher(kafka, SUGGESTIONS) as events:
        r = await public(stack, "POST", "/suggestions", seen, json=body)
        assert r.status_code == 201, r.text
        receipt = r.json()
        assert set(receipt) == {"id", "tracking_code"}
        [received] = await events.wait_for(about(receipt["id"], "complaints.suggestion.received"))
    event = received.json()
    assert received.key == receipt["id"].encode()
    assert event["subject"] == event["correlationid"] == receipt["id"]
    assert event["data"]["author"] == {"name": "李**", "phone": "139****5678"}
    assert event["data"]["district"] == place.district and event["data"]["text"] == text
    assert PHONE.encode() not in received.value and NAME.encode() not in received.value

    tracked = await public(stack, "GET", f"/suggestions/track/{receipt['tracking_code']}", seen)
    assert tracked.json() == {
        "about": "market",
        "market_id": place.market_id,
        "status": "received",
        "answer": None,
        "answered_at": None,
    }
    assert (await stack.complaints.get("/suggestions/track/ZZZZZZZZZZ")).status_code == 404

    # Staff of another district neither see it nor answer it.
    elsewhere = stack.token("handler", "another-district")
    listed = await stack.complaints.get("/suggestions", headers=elsewhere)
    assert receipt["id"] not in {s["id"] for s in listed.json()["items"]}
    denied = await stack.complaints.post(
        f"/suggestions/{receipt['id']}/answer", json={"answer": "x"}, headers=elsewhere
    )
    assert denied.status_code == 404
    leader = stack.token("leader", place.district)
    mine = await stack.complaints.get("/suggestions?state=received", headers=leader)
    [staff_view] = [s for s in mine.json()["items"] if s["id"] == receipt["id"]]
    assert staff_view["author"] == {"name": NAME, "phone": PHONE}  # staff call back
    refused = await stack.complaints.post(
        f"/suggestions/{receipt['id']}/answer", json={"answer": "x"}, headers=leader
    )
    assert refused.status_code == 403  # a leader reads, changes nothing

    handler = stack.token("handler", place.district)
    answer = "已要求市场在入口处设置公平秤"
    async with TopicWatcher(kafka, SUGGESTIONS) as events:
        r = await stack.complaints.post(
            f"/suggestions/{receipt['id']}/answer", json={"answer": answer}, headers=handler
        )
        assert r.status_code == 200, r.text
        [answered] = await events.wait_for(about(receipt["id"], "complaints.suggestion.answered"))
    assert r.json()["state"] == "answered" and r.json()["answered_by"]["subject"]
    data = answered.json()["data"]
    assert data["answer"] == answer and data["actor"] == r.json()["answered_by"]
    assert PHONE.encode() not in answered.value and NAME.encode() not in answered.value
    again = await stack.complaints.post(
        f"/suggestions/{receipt['id']}/answer", json={"answer": "再答"}, headers=handler
    )
    assert again.status_code == 409

    tracked = await public(stack, "GET", f"/suggestions/track/{receipt['tracking_code']}", seen)
    assert tracked.json()["status"] == "answered" and tracked.json()["answer"] == answer
    listed_public = await public(
        stack, "GET", f"/public/suggestions?market_id={place.market_id}", seen
    )
    assert listed_public.json() == [
        {
            "id": receipt["id"],
            "about": "market",
            "market_id": place.market_id,
            "text": text,
            "answer": answer,
            "answered_at": tracked.json()["answered_at"],
        }
    ]

    # Without the author's consent the answer stays private.
    private = body | {"publish_answer": False, "text": "不公开的建议"}
    r = await public(stack, "POST", "/suggestions", seen, json=private)
    hidden = r.json()["id"]
    r = await stack.complaints.post(
        f"/suggestions/{hidden}/answer", json={"answer": "已收到"}, headers=handler
    )
    assert r.status_code == 200
    shown = await public(stack, "GET", f"/public/suggestions?market_id={place.market_id}", seen)
    assert [s["id"] for s in shown.json()] == [receipt["id"]]

    for text_seen in seen:
        assert_nothing_personal(text_seen, (NAME,), where="suggestions public")


async def test_a_campaign_suggestion_is_the_citys_and_any_handler_answers_it(
    stack: Stack,
) -> None:
    body = {"about": "campaign", "text": "建议公布改造进度", "publish_answer": True}
    r = await stack.complaints.post("/suggestions", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    handler = stack.token("handler", f"d{uuid.uuid4().hex[:6]}")
    listed = await stack.complaints.get("/suggestions", headers=handler)
    assert sid in {s["id"] for s in listed.json()["items"]}
    r = await stack.complaints.post(
        f"/suggestions/{sid}/answer", json={"answer": "每月公布"}, headers=handler
    )
    assert r.status_code == 200, r.text
    campaign = (await stack.complaints.get("/public/suggestions?about=campaign&limit=100")).json()
    assert sid in {s["id"] for s in campaign}
    assert all(s["about"] == "campaign" and s["market_id"] is None for s in campaign)


async def test_a_bad_suggestion_names_the_field_and_stores_nothing(stack: Stack) -> None:
    place = await stack.place()
    cases = [
        ({"about": "market", "text": "t"}, "market_id"),
        ({"about": "campaign", "market_id": place.market_id, "text": "t"}, "market_id"),
        ({"about": "market", "market_id": "mkt_nobody", "text": "t"}, "market_id"),
        ({"about": "market", "market_id": place.market_id, "text": "  "}, "text"),
        ({"about": "market", "market_id": place.market_id, "text": "x" * 2001}, "text"),
        ({"about": "market", "market_id": place.market_id, "text": "t", "phone": "12345"}, "phone"),
        ({"about": "shop", "text": "t"}, "about"),
    ]
    for body, field in cases:
        r = await stack.complaints.post("/suggestions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.text)
    # Blank optional fields, as a form posts them, are "not given".
    r = await stack.complaints.post(
        "/suggestions",
        json={"about": "campaign", "market_id": "", "text": "好", "name": "", "phone": ""},
    )
    assert r.status_code == 201, r.text


async def test_no_public_complaints_or_suggestions_response_carries_a_name_or_a_phone(
    stack: Stack,
) -> None:
    """Every public endpoint of the service, after a complaint and an answered, published
    suggestion: no phone number, neither the complainant's nor the author's name."""
    place = await stack.place()
    seen: list[str] = []
    r = await public(stack, "POST", "/complaints", seen, json=submission(place))
    assert r.status_code == 201, r.text
    await public(stack, "GET", f"/complaints/track/{r.json()['tracking_code']}", seen)
    r = await public(
        stack,
        "POST",
        "/suggestions",
        seen,
        json={
            "about": "market",
            "market_id": place.market_id,
            "text": "建议延长营业时间",
            "name": NAME,
            "phone": PHONE,
            "publish_answer": True,
        },
    )
    sid, code = r.json()["id"], r.json()["tracking_code"]
    handler = stack.token("handler", place.district)
    r = await stack.complaints.post(
        f"/suggestions/{sid}/answer", json={"answer": "好"}, headers=handler
    )
    assert r.status_code == 200, r.text
    await public(stack, "GET", f"/suggestions/track/{code}", seen)
    await public(stack, "GET", "/public/suggestions", seen)
    await public(stack, "GET", f"/public/suggestions?market_id={place.market_id}", seen)
    assert len(seen) == 6
    for text in seen:
        assert_nothing_personal(text, (NAME, COMPLAINANT), where="complaints public")
