"""A citizen's photos of a complaint over HTTP, on real Postgres, Kafka and Keycloak tokens:
uploaded without signing in and cleaned, named by the complaint, fetched by the handlers and
leaders of its district only, refused with the field and the reason, and deleted by the service's
clock when no complaint named them within the hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.complaints.domain.photos import UPLOAD_TTL
from tests.integration.complaints.conftest import Stack, submission
from tests.support.images import GPS_MARK, TEXT_MARK, XMP_MARK, jpeg, plain_png, png
from tests.support.poll import until


async def upload(stack: Stack, data: bytes, name: str = "IMG_0001.jpg") -> Any:
    return await stack.complaints.post(
        "/complaints/photos", files={"file": (name, data, "image/jpeg")}
    )


async def test_a_citizen_files_with_photos_and_the_handlers_of_the_district_alone_see_them(
    stack: Stack,
) -> None:
    place = await stack.place()
    r = await upload(stack, jpeg())
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["id"].startswith("cph_") and first["content_type"] == "image/jpeg"
    assert first["complaint_id"] is None
    second = (await upload(stack, png(), name="x.jpg")).json()
    assert second["content_type"] == "image/png"  # by its bytes, not its name

    r = await stack.complaints.post(
        "/complaints", json=submission(place, photos=[first["id"], second["id"]])
    )
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["photos"] == 2
    tracked = (await stack.complaints.get(f"/complaints/track/{receipt['tracking_code']}")).json()
    assert tracked["photos"] == 2 and first["id"] not in str(tracked)

    handler = stack.token("handler", place.district)
    case = (await stack.complaints.get(f"/complaints/{receipt['id']}", headers=handler)).json()
    assert [p["id"] for p in case["photos"]] == [first["id"], second["id"]]
    path = f"/complaints/{receipt['id']}/photos"
    for who in (handler, stack.token("leader", place.district)):
        r = await stack.complaints.get(f"{path}/{second['id']}", headers=who)
        assert r.status_code == 200 and r.content == plain_png()
        assert r.headers["content-type"] == "image/png"
    kept = await stack.complaints.get(f"{path}/{first['id']}", headers=handler)
    assert kept.status_code == 200 and kept.content.startswith(b"\xff\xd8")
    for mark in (GPS_MARK, XMP_MARK, TEXT_MARK):
        assert mark not in kept.content

    elsewhere = await stack.complaints.get(
        f"{path}/{first['id']}", headers=stack.token("handler", "laishan")
    )
    assert elsewhere.status_code == 403
    assert (await stack.complaints.get(f"{path}/{first['id']}")).status_code == 401
    unknown = await stack.complaints.get(f"{path}/cph_0000000000000000", headers=handler)
    assert unknown.status_code == 404


async def test_bad_uploads_and_bad_photo_ids_are_refused_naming_the_field(stack: Stack) -> None:
    place = await stack.place()
    r = await upload(stack, b"just text, called a .jpg")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"
    assert "not a JPEG, PNG or WebP" in r.json()["errors"][0]["reason"]
    big = b"\xff\xd8\xff" + b"\x00" * (stack.app.state.complaints.photo_max_bytes + 1)
    r = await upload(stack, big)
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "file"
    r = await stack.complaints.post("/complaints/photos", json={"file": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"

    ids = [(await upload(stack, png())).json()["id"] for _ in range(4)]
    handler = stack.token("handler", place.district)
    before = (await stack.complaints.get("/complaints", headers=handler)).json()["items"]
    r = await stack.complaints.post("/complaints", json=submission(place, photos=ids))
    assert r.status_code == 422
    assert "photos" in {e["field"] for e in r.json()["errors"]}
    # Every problem at once: a malformed phone and an unknown photo.
    sent = submission(place, photos=["cph_nope", ids[0]])
    sent["complainant"] = {"name": "张三", "phone": "12"}
    r = await stack.complaints.post("/complaints", json=sent)
    assert r.status_code == 422
    errors = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert set(errors) == {"complainant.phone", "photos.0"}
    assert "no photo 'cph_nope' was uploaded" in errors["photos.0"]
    after = (await stack.complaints.get("/complaints", headers=handler)).json()["items"]
    assert len(after) == len(before)

    r = await stack.complaints.post("/complaints", json=submission(place, photos=[ids[0]]))
    assert r.status_code == 201, r.text
    again = await stack.complaints.post("/complaints", json=submission(place, photos=[ids[0]]))
    assert again.status_code == 422
    assert "already attached" in again.json()["errors"][0]["reason"]


async def test_an_upload_no_complaint_names_within_the_hour_is_deleted_by_the_clock(
    stack: Stack,
) -> None:
    place = await stack.place()
    claimed = (await upload(stack, png())).json()["id"]
    r = await stack.complaints.post("/complaints", json=submission(place, photos=[claimed]))
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    left = (await upload(stack, png())).json()["id"]

    stack.clock.offset += UPLOAD_TTL + timedelta(minutes=1)

    async def reason() -> str:
        r = await stack.complaints.post("/complaints", json=submission(place, photos=[left]))
        assert r.status_code == 422, r.text
        return str(r.json()["errors"][0]["reason"])

    async def deleted() -> bool:
        return "was uploaded" in await reason()

    await until(deleted, what="the clock deleted the unclaimed upload")
    handler = stack.token("handler", place.district)
    r = await stack.complaints.get(f"/complaints/{complaint_id}/photos/{claimed}", headers=handler)
    assert r.status_code == 200 and r.content == plain_png()
