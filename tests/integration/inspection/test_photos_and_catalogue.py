"""What the console's task page needs from inspection: one task by id, the finding catalogue,
and photos kept by the service (type told by content, size and count capped, scoped to the
district), a task's and a rectification order's re-check's (复查, with its note). Real Kafka and
Postgres, in-process apps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.inspection.conftest import Place, Stack, distinct
from tests.support.kafka import TopicWatcher

EVENTS = "inspection.events.v1"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


async def _task(stack: Stack, kafka: str, place: Place) -> str:
    async with TopicWatcher(kafka, EVENTS) as events:
        raised_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        await stack.risk(place, raised_at=raised_at)
        [created] = distinct(
            await events.wait_for(
                lambda r: (
                    r.json()["type"] == "inspection.task.created"
                    and r.json()["data"].get("merchant_id") == place.merchant_id
                )
            )
        )
    return str(created.json()["subject"])


def _file(name: str, data: bytes, declared: str = "image/jpeg") -> dict[str, Any]:
    return {"file": (name, data, declared)}


async def test_one_task_by_id_in_scope_only(stack: Stack, kafka: str) -> None:
    place = await stack.place()
    task_id = await _task(stack, kafka, place)
    for role in ("inspector", "leader", "department", "handler"):
        r = await stack.inspection.get(
            f"/tasks/{task_id}", headers=stack.token(role, place.district)
        )
        assert r.status_code == 200, (role, r.text)
        assert r.json()["id"] == task_id and r.json()["merchant_id"] == place.merchant_id
    listed = (
        await stack.inspection.get("/tasks", headers=stack.token("inspector", place.district))
    ).json()["items"]
    assert [t for t in listed if t["id"] == task_id] == [r.json()]  # the same shape as listed
    other = await stack.place()
    r = await stack.inspection.get(
        f"/tasks/{task_id}", headers=stack.token("inspector", other.district)
    )
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await stack.inspection.get(
        "/tasks/tsk_nope", headers=stack.token("inspector", place.district)
    )
    assert r.status_code == 404


async def test_the_finding_catalogue_has_chinese_labels(stack: Stack) -> None:
    r = await stack.inspection.get("/findings", headers=stack.token("leader", "zhifu"))
    assert r.status_code == 200, r.text
    items = {i["code"]: i for i in r.json()["items"]}
    assert items["HYG-06"]["label_zh"] == "销售腐败变质或超过保质期的食品"
    assert items["HYG-06"]["severity"] == "critical" and items["HYG-06"]["category"] == "hygiene"
    r = await stack.inspection.get("/findings", headers=stack.token("clerk", "zhifu"))
    assert r.status_code == 403


async def test_photos_typed_by_content_capped_scoped_and_recorded_with_the_outcome(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    task_id = await _task(stack, kafka, place)
    li = stack.token("inspector", place.district, subject="inspector-li")
    li_subject = stack.subject("inspector", place.district, "inspector-li")
    url = f"/tasks/{task_id}/photos"

    # A PNG called x.jpg and declared as JPEG is a PNG.
    r = await stack.inspection.post(url, headers=li, files=_file("x.jpg", PNG))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["content_type"] == "image/png" and first["size"] == len(PNG)
    assert first["uploaded_by"] == {
        "subject": li_subject,
        "name": "测试inspector " + place.district,
    }

    # Text called x.jpg is refused, naming the field.
    r = await stack.inspection.post(url, headers=li, files=_file("x.jpg", b"not a photo at all"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "file"
    # So is a 6 MB upload (the cap is 5 MB), and a request that is no form at all.
    big = JPEG + b"\x00" * (6 * 1024 * 1024)
    r = await stack.inspection.post(url, headers=li, files=_file("big.jpg", big))
    assert r.status_code == 413, r.text
    assert r.json()["errors"][0]["field"] == "file"
    r = await stack.inspection.post(url, headers=li, json={"file": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = await stack.inspection.post(url, headers=li, files={"photo": ("a.png", PNG, "image/png")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"

    ids = [first["id"]]
    for data in (JPEG, WEBP, PNG, JPEG):
        r = await stack.inspection.post(url, headers=li, files=_file("p", data, "text/plain"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert [await _type(stack, li, task_id, i) for i in ids] == [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/png",
        "image/jpeg",
    ]
    # A sixth is refused, naming the field.
    r = await stack.inspection.post(url, headers=li, files=_file("6.png", PNG))
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "file"

    listed = (await stack.inspection.get(url, headers=li)).json()["items"]
    assert [p["id"] for p in listed] == ids
    assert {p["uploaded_by"]["subject"] for p in listed} == {li_subject}
    r = await stack.inspection.get(f"{url}/{ids[0]}", headers=stack.token("leader", place.district))
    assert r.status_code == 200
    assert r.content == PNG and r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"

    # Another district's staff: the photos do not exist for them.
    other = await stack.place()
    stranger = stack.token("inspector", other.district)
    assert (await stack.inspection.get(url, headers=stranger)).status_code == 404
    assert (await stack.inspection.get(f"{url}/{ids[0]}", headers=stranger)).status_code == 404
    r = await stack.inspection.post(url, headers=stranger, files=_file("x.png", PNG))
    assert r.status_code == 404
    # Readers may look, not upload.
    r = await stack.inspection.post(
        url, headers=stack.token("leader", place.district), files=_file("x.png", PNG)
    )
    assert r.status_code == 403

    # A completion names the task's photos; another task's photo is refused and changes nothing.
    other_task = await _task(stack, kafka, other)
    theirs = (
        await stack.inspection.post(
            f"/tasks/{other_task}/photos",
            headers=stack.token("inspector", other.district),
            files=_file("t.png", PNG),
        )
    ).json()["id"]
    assert (await stack.inspection.post(f"/tasks/{task_id}/claim", headers=li)).status_code == 200
    body = {"outcome": "major", "findings": [{"code": "CCH-01", "note": "冷柜门未关"}]}
    r = await stack.inspection.post(
        f"/tasks/{task_id}/complete", headers=li, json=body | {"photos": [ids[0], theirs]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "photos.1"
    assert (await stack.inspection.get(f"/tasks/{task_id}", headers=li)).json()[
        "state"
    ] == "claimed"
    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.inspection.post(
            f"/tasks/{task_id}/complete", headers=li, json=body | {"photos": ids[:2]}
        )
        assert r.status_code == 200, r.text
        [completed] = distinct(
            await events.wait_for(
                lambda x: (
                    x.json()["type"] == "inspection.task.completed" and x.key == task_id.encode()
                )
            )
        )
    assert r.json()["photos"] == ids[:2]
    assert completed.json()["data"]["photos"] == ids[:2]
    # A completed task takes no more photos.
    r = await stack.inspection.post(url, headers=li, files=_file("late.png", PNG))
    assert r.status_code == 409


async def _type(stack: Stack, headers: dict[str, str], task_id: str, photo_id: str) -> str:
    r = await stack.inspection.get(f"/tasks/{task_id}/photos/{photo_id}", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.headers["content-type"])


async def _order(
    stack: Stack, kafka: str, place: Place, headers: dict[str, str]
) -> tuple[str, str]:
    """A task completed `major`: the task and the order it issued."""
    task_id = await _task(stack, kafka, place)
    assert (await stack.inspection.post(f"/tasks/{task_id}/claim", headers=headers)).is_success
    body = {"outcome": "major", "findings": [{"code": "CCH-01", "note": "冷柜门未关"}]}
    r = await stack.inspection.post(f"/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return task_id, str(r.json()["rectification_id"])


async def test_a_recheck_carries_photos_uploaded_to_its_order_and_a_note(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    li = stack.token("inspector", place.district, subject="inspector-li")
    task_id, order_id = await _order(stack, kafka, place, li)
    url = f"/rectifications/{order_id}/photos"

    # Typed by content, named `file` when refused, as a task's photo.
    r = await stack.inspection.post(url, headers=li, files=_file("fixed.jpg", PNG))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["content_type"] == "image/png" and first["rectification_id"] == order_id
    r = await stack.inspection.post(url, headers=li, files=_file("x.jpg", b"not a photo at all"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = await stack.inspection.post(url, headers=li, json={"file": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    big = JPEG + b"\x00" * (6 * 1024 * 1024)
    r = await stack.inspection.post(url, headers=li, files=_file("big.jpg", big))
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "file"
    r = await stack.inspection.post(url, headers=li, files=_file("2.webp", WEBP))
    assert r.status_code == 201, r.text
    second = r.json()

    listed = (await stack.inspection.get(url, headers=li)).json()["items"]
    assert [p["id"] for p in listed] == [first["id"], second["id"]]
    leader = stack.token("leader", place.district)
    r = await stack.inspection.get(f"{url}/{first['id']}", headers=leader)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    # The order's photos are not the inspection's own.
    assert (await stack.inspection.get(f"/tasks/{task_id}/photos", headers=li)).json() == {
        "items": []
    }
    r = await stack.inspection.get(f"/tasks/{task_id}/photos/{first['id']}", headers=li)
    assert r.status_code == 404

    # Another district's staff: the order's photos do not exist for them; readers do not upload.
    other = await stack.place()
    stranger = stack.token("inspector", other.district)
    assert (await stack.inspection.get(url, headers=stranger)).status_code == 404
    assert (await stack.inspection.get(f"{url}/{first['id']}", headers=stranger)).status_code == 404
    r = await stack.inspection.post(url, headers=stranger, files=_file("x.png", PNG))
    assert r.status_code == 404
    r = await stack.inspection.post(url, headers=leader, files=_file("x.png", PNG))
    assert r.status_code == 403

    # Naming another order's photo (or an unknown one) is refused and changes nothing.
    their_li = stack.token("inspector", other.district, subject="inspector-zhao")
    _, their_order = await _order(stack, kafka, other, their_li)
    theirs = (
        await stack.inspection.post(
            f"/rectifications/{their_order}/photos", headers=their_li, files=_file("t.png", PNG)
        )
    ).json()["id"]
    before = (await stack.inspection.get(f"/rectifications/{order_id}", headers=li)).json()
    for named in ([first["id"], theirs], [first["id"], "pho_nope"]):
        r = await stack.inspection.post(
            f"/rectifications/{order_id}/verify",
            headers=li,
            json={"passed": True, "note": "已整改", "photos": named},
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["photos.1"]
    r = await stack.inspection.post(
        f"/rectifications/{order_id}/verify", headers=li, json={"passed": True, "note": "长" * 1001}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = await stack.inspection.post(
        f"/rectifications/{order_id}/verify", headers=li, json={"passed": True, "photos": "x"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("photos")
    assert (await stack.inspection.get(f"/rectifications/{order_id}", headers=li)).json() == before

    async with TopicWatcher(kafka, EVENTS) as events:
        r = await stack.inspection.post(
            f"/rectifications/{order_id}/verify",
            headers=li,
            json={"passed": True, "note": "冷柜门已修好，柜内 −18 °C", "photos": [second["id"]]},
        )
        assert r.status_code == 200, r.text
        [verified] = distinct(
            await events.wait_for(
                lambda x: (
                    x.json()["type"] == "inspection.rectification.verified"
                    and x.json()["subject"] == order_id
                )
            )
        )
    checked = r.json()
    assert checked["state"] == "verified"
    assert checked["verification_note"] == "冷柜门已修好，柜内 −18 °C"
    assert checked["verification_photos"] == [second["id"]]
    assert (await stack.inspection.get(f"/rectifications/{order_id}", headers=li)).json() == checked
    data = verified.json()["data"]
    assert (data["note"], data["photos"]) == ("冷柜门已修好，柜内 −18 °C", [second["id"]])
    # A verified order takes no more photos.
    r = await stack.inspection.post(url, headers=li, files=_file("late.png", PNG))
    assert r.status_code == 409


async def test_a_suspensions_reinspection_task_names_the_rule_of_its_due_time(
    stack: Stack, kafka: str
) -> None:
    place = await stack.place()
    li = stack.token("inspector", place.district, subject="inspector-li")
    task_id = await _task(stack, kafka, place)
    assert (await stack.inspection.post(f"/tasks/{task_id}/claim", headers=li)).is_success
    body = {"outcome": "critical", "findings": [{"code": "HYG-06", "note": "严重问题"}]}
    r = await stack.inspection.post(f"/tasks/{task_id}/complete", headers=li, json=body)
    assert r.status_code == 200, r.text
    order = (
        await stack.inspection.get(f"/rectifications/{r.json()['rectification_id']}", headers=li)
    ).json()
    assert order["suspension"] is True
    again = (
        await stack.inspection.get(f"/tasks/{order['reinspection_task_id']}", headers=li)
    ).json()
    assert again["reason_kind"] == "reinspection"
    assert again["due_rule"] == {
        "basis": "reinspection",
        "key": "suspension",
        "within_s": 3 * 86400,
    }
