"""The inspection ledger (检查台账, `GET /inspections`) and the rectification ledger (整改台账,
`GET /rectifications/issued`) on the real stack: tasks made from risks
on the real topic and completed through the API are listed by completion, page after page by
the listing's `next`, each once and as `GET /tasks/{id}` shows it; a window or page that cannot
be used is refused naming every field at fault; another district reads none of it. Real Kafka
and Postgres, in-process apps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from services.runtime.paging import Position
from tests.integration.inspection.conftest import Place, Stack, minutes_ago
from tests.support.poll import until

CITY = timezone(timedelta(hours=8))


async def _opened(stack: Stack, place: Place) -> str:
    """The task a risk about the place's merchant opens (the merchant has no other open)."""
    await stack.risk(place, raised_at=minutes_ago(5))
    inspector = stack.token("inspector", place.district)

    async def opened() -> list[str]:
        r = await stack.inspection.get(
            "/tasks", params={"state": "open", "market_id": place.market_id}, headers=inspector
        )
        return [t["id"] for t in r.json()["items"]]

    [task_id] = await until(opened, what="the risk's task")
    return str(task_id)


async def _inspected(stack: Stack, place: Place, body: dict[str, Any]) -> str:
    """A task opened by a risk, claimed and completed with `body` by an inspector."""
    task_id = await _opened(stack, place)
    inspector = stack.token("inspector", place.district, subject="inspector-ledger")
    r = await stack.inspection.post(f"/tasks/{task_id}/claim", headers=inspector)
    assert r.status_code == 200, r.text
    r = await stack.inspection.post(f"/tasks/{task_id}/complete", headers=inspector, json=body)
    assert r.status_code == 200, r.text
    return task_id


async def test_a_district_s_inspections_are_paged_through_each_once_newest_first(
    stack: Stack,
) -> None:
    place, elsewhere = await stack.place(), await stack.place()
    # In the city's offset, as the console asks for a month: the instant is what counts.
    begun = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(CITY)
    minor = {"outcome": "minor", "findings": [{"code": "HYG-01", "note": "台面未清洁"}]}
    first = await _inspected(stack, place, minor)
    second = await _inspected(stack, place, {"outcome": "pass", "departments": ["health"]})
    still_to_do = await _opened(stack, place)
    window = {
        "completed_from": begun.isoformat(),
        "completed_before": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    leader = stack.token("leader", place.district)

    pages: list[dict[str, Any]] = []
    after: str | None = None
    while len(pages) < 5:
        params = {**window, "limit": 1, **({"after": after} if after else {})}
        r = await stack.inspection.get("/inspections", params=params, headers=leader)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        after = r.json()["next"]
        if after is None:
            break
    listed = [t["id"] for page in pages for t in page["items"]]
    assert listed == [second, first] and still_to_do not in listed
    # Two full pages, then the empty one that says nothing follows.
    assert [len(p["items"]) for p in pages] == [1, 1, 0]

    # Each item as the task's own page shows it: outcome, findings, who, the order it made.
    for page in pages[:2]:
        [item] = page["items"]
        shown = await stack.inspection.get(f"/tasks/{item['id']}", headers=leader)
        assert item == shown.json()
    [done] = pages[1]["items"]
    assert done["state"] == "completed" and done["outcome"] == "minor"
    assert [f["code"] for f in done["findings"]] == ["HYG-01"]
    assert done["rectification_id"] is not None
    assert done["completed_actor"]["subject"] == stack.subject(
        "inspector", place.district, "inspector-ledger"
    )
    assert datetime.fromisoformat(done["completed_at"]) >= begun

    # The window's start is inclusive, its end exclusive.
    at = datetime.fromisoformat(done["completed_at"])
    just = {
        "completed_from": at.isoformat(),
        "completed_before": (at + timedelta(microseconds=1)).isoformat(),
    }
    r = await stack.inspection.get("/inspections", params=just, headers=leader)
    assert [t["id"] for t in r.json()["items"]] == [first]
    before = {"completed_from": begun.isoformat(), "completed_before": at.isoformat()}
    r = await stack.inspection.get("/inspections", params=before, headers=leader)
    assert r.json() == {"items": [], "next": None}

    # The market's filter; another district's reader sees none of it.
    mine = {**window, "market_id": place.market_id}
    r = await stack.inspection.get("/inspections", params=mine, headers=leader)
    assert [t["id"] for t in r.json()["items"]] == [second, first]
    for theirs in (
        stack.token("leader", elsewhere.district),
        stack.token("inspector", elsewhere.district),
    ):
        r = await stack.inspection.get("/inspections", params=mine, headers=theirs)
        assert r.status_code == 200 and r.json() == {"items": [], "next": None}
        r = await stack.inspection.get("/inspections", params=window, headers=theirs)
        assert r.json() == {"items": [], "next": None}


async def test_the_orders_made_in_a_window_are_the_rectification_ledger(stack: Stack) -> None:
    place, elsewhere = await stack.place(), await stack.place()
    begun = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(CITY)
    major = {"outcome": "major", "findings": [{"code": "CCH-01", "note": "冷柜温度 9℃"}]}
    task_id = await _inspected(stack, place, major)
    await _inspected(stack, place, {"outcome": "pass"})  # makes no order
    window = {
        "ordered_from": begun.isoformat(),
        "ordered_before": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    leader = stack.token("leader", place.district)

    r = await stack.inspection.get(
        "/rectifications/issued", params={**window, "limit": 1}, headers=leader
    )
    assert r.status_code == 200, r.text
    [order] = r.json()["items"]
    assert order["task_id"] == task_id and order["severity"] == "major"
    shown = await stack.inspection.get(f"/rectifications/{order['id']}", headers=leader)
    assert order == shown.json()
    following = {**window, "limit": 1, "after": r.json()["next"]}
    r = await stack.inspection.get("/rectifications/issued", params=following, headers=leader)
    assert r.json() == {"items": [], "next": None}

    theirs = stack.token("leader", elsewhere.district)
    r = await stack.inspection.get("/rectifications/issued", params=window, headers=theirs)
    assert r.json() == {"items": [], "next": None}
    naive = {"ordered_from": "2026-11-01T00:00:00", "after": "garbage"}
    r = await stack.inspection.get("/rectifications/issued", params=naive, headers=leader)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"ordered_from", "after"}


async def test_a_window_without_offsets_or_a_token_it_did_not_give_is_a_422_naming_them(
    stack: Stack,
) -> None:
    admin = stack.token("admin", "*")
    naive = {"completed_from": "2026-11-01T00:00:00", "completed_before": "2026-10-01T00:00:00"}
    r = await stack.inspection.get("/inspections", params=naive, headers=admin)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input"
    reasons = {e["field"]: e["reason"] for e in body["errors"]}
    assert set(reasons) == {"completed_from", "completed_before"}
    assert all(reason.startswith("must carry a UTC offset") for reason in reasons.values())
    assert "completed_from" in body["message"] and "completed_before" in body["message"]

    backwards = {
        "completed_from": "2026-11-01T00:00:00+08:00",
        "completed_before": "2026-10-01T00:00:00+08:00",
    }
    r = await stack.inspection.get("/inspections", params=backwards, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "completed_before", "reason": "must come after completed_from"}
    ]

    # The last two read back, but as nothing Postgres could be asked (a 500 if passed on).
    edge = datetime.fromisoformat("0001-01-01T00:00:00+01:00")
    for garbage in (
        "garbage",
        "!!!",
        "MjAyNi0xMS0wMQ",  # a date and no id
        Position(datetime.now(UTC), "tsk_\x00").token(),
        Position(edge, "tsk_1").token(),
    ):
        r = await stack.inspection.get("/inspections", params={"after": garbage}, headers=admin)
        assert r.status_code == 422, (garbage, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["after"]
    outside = {"completed_from": edge.isoformat(), "completed_before": "2026-10-01T00:00:00Z"}
    r = await stack.inspection.get("/inspections", params=outside, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["completed_from"]
