"""Photos of an inspection: type by content, size and count capped, recorded with the outcome;
and a re-check's (复查) photos and note, recorded with the verification."""

from __future__ import annotations

import pytest

from contracts.inspection import NOTE_MAX_CHARS
from contracts.people import Actor
from services.inspection.api import photo_out
from services.inspection.domain import (
    FindingReport,
    IllegalTransition,
    InvalidCompletion,
    InvalidVerification,
    RectificationOrder,
    verify,
)
from services.inspection.domain.photos import (
    MAX_PHOTOS_PER_TASK,
    PhotoTooLarge,
    accept_photo,
    awaiting_check,
    sniff,
)
from services.runtime import serial
from services.runtime.errors import Conflict, InvalidInput, status_of
from tests.support.inspection_builders import (
    INSPECTOR,
    POLICY,
    T0,
    D,
    H,
    claimed_task,
    complete,
    completed,
    new_task,
    schema_problems,
    wire,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
LI = Actor.of(INSPECTOR, "李检查员")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (b"GIF89a" + b"\x00" * 20, None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF that is not WebP
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"just some text, called x.jpg", None),
        (b"", None),
        (b"\xff\xd8", None),
    ],
)
def test_the_type_is_told_by_the_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def _accept(data: bytes, existing: int = 0, **kw: object) -> object:
    return accept_photo(
        claimed_task(),
        data,
        photo_id="pho_1",
        existing=existing,
        by=LI,
        now=T0,
        **kw,  # type: ignore[arg-type]
    )


def test_a_photo_is_accepted_with_its_type_size_and_uploader() -> None:
    photo = accept_photo(new_task(), PNG, photo_id="pho_1", existing=4, by=LI, now=T0)
    assert (photo.content_type, photo.size) == ("image/png", len(PNG))
    out = photo_out(photo)
    assert out["id"] == "pho_1" and out["content_type"] == "image/png"
    assert out["uploaded_by"] == {"subject": INSPECTOR, "name": "李检查员"}
    assert len(out["sha256"]) == 64


def test_refusals_name_the_field_file() -> None:
    with pytest.raises(InvalidInput) as not_image:
        _accept(b"hello, I am x.jpg")
    assert not_image.value.field == "file"
    with pytest.raises(InvalidInput) as empty:
        _accept(b"")
    assert empty.value.field == "file"
    with pytest.raises(PhotoTooLarge) as big:
        _accept(JPEG + b"\x00" * 2000, max_bytes=1000)
    assert status_of(big.value) == 413 and big.value.errors[0]["field"] == "file"
    with pytest.raises(Conflict) as sixth:
        _accept(PNG, existing=MAX_PHOTOS_PER_TASK)
    assert sixth.value.errors[0]["field"] == "file"


def test_a_completed_task_takes_no_photo() -> None:
    done = completed().task
    with pytest.raises(IllegalTransition):
        accept_photo(done, PNG, photo_id="pho_1", existing=0, by=LI, now=T0)


def _complete(photos: list[str], task_photos: list[str]):  # type: ignore[no-untyped-def]
    return complete(
        claimed_task(),
        by=INSPECTOR,
        outcome="major",
        findings=[FindingReport("CCH-01", "")],
        now=T0,
        policy=POLICY,
        photos=photos,
        task_photos=task_photos,
    )


def test_a_completion_records_the_photos_it_names_once_each() -> None:
    done = _complete(["pho_b", "pho_a", "pho_b"], ["pho_a", "pho_b", "pho_c"])
    assert done.task.photos == ("pho_b", "pho_a")
    assert serial.dump(done.task)["photos"] == ["pho_b", "pho_a"]
    assert wire(done.events[0])["data"]["photos"] == ["pho_b", "pho_a"]
    assert completed().task.photos == ()  # optional


def test_a_completion_naming_another_tasks_photo_changes_nothing() -> None:
    with pytest.raises(InvalidCompletion) as refused:
        _complete(["pho_a", "pho_x"], ["pho_a"])
    assert refused.value.errors == [
        {"field": "photos.1", "reason": "no photo 'pho_x' of this task"}
    ]
    # Reported with the other problems at once.
    with pytest.raises(InvalidCompletion) as both:
        complete(
            claimed_task(),
            by=INSPECTOR,
            outcome="major",
            findings=[],
            now=T0,
            policy=POLICY,
            photos=["pho_x"],
        )
    assert [e["field"] for e in both.value.errors] == ["findings", "photos.0"]


# -- a re-check's photos and note (复查) ---------------------------------------------------------


def _order() -> RectificationOrder:
    order = completed().order
    assert order is not None
    return order


def test_a_photo_of_an_open_order_is_kept_under_its_task_with_the_order() -> None:
    order = _order()
    photo = accept_photo(order, JPEG, photo_id="pho_r", existing=0, by=LI, now=T0 + D)
    assert (photo.task_id, photo.rectification_id, photo.district) == (
        order.task_id,
        order.rectification_id,
        order.district,
    )
    assert (photo.content_type, photo.size) == ("image/jpeg", len(JPEG))
    assert photo_out(photo)["rectification_id"] == order.rectification_id
    # A task's own photo has no order.
    assert (
        accept_photo(new_task(), PNG, photo_id="p", existing=0, by=LI, now=T0).rectification_id
        is None
    )


def test_an_order_photo_is_refused_as_a_tasks_is_naming_the_field_file() -> None:
    order = _order()

    def upload(data: bytes, existing: int = 0, **kw: object) -> object:
        return accept_photo(order, data, photo_id="p", existing=existing, by=LI, now=T0, **kw)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput) as not_image:
        upload(b"hello, I am x.jpg")
    assert not_image.value.field == "file"
    with pytest.raises(PhotoTooLarge):
        upload(JPEG + b"\x00" * 2000, max_bytes=1000)
    with pytest.raises(Conflict) as sixth:
        upload(PNG, existing=MAX_PHOTOS_PER_TASK)
    assert sixth.value.errors == [
        {"field": "file", "reason": "a rectification has at most 5 photos; it has 5"}
    ]
    verified = verify(order, passed=True, by=INSPECTOR, now=T0 + D, policy=POLICY).order
    with pytest.raises(IllegalTransition) as closed:
        accept_photo(verified, PNG, photo_id="p", existing=0, by=LI, now=T0 + 2 * D)
    assert closed.value.entity == "rectification" and status_of(closed.value) == 409


def test_the_photos_awaiting_a_check_are_those_uploaded_since_the_last_one() -> None:
    order = _order()
    before = [
        accept_photo(order, PNG, photo_id=f"p{i}", existing=i, by=LI, now=T0 + i * H)
        for i in range(3)
    ]
    assert awaiting_check(order, before) == before  # no check yet: all of them
    failed = verify(order, passed=False, by=INSPECTOR, now=T0 + D, policy=POLICY).order
    assert failed.last_verification_at == T0 + D
    after = accept_photo(failed, PNG, photo_id="p9", existing=0, by=LI, now=T0 + 2 * D)
    assert awaiting_check(failed, [*before, after]) == [after]


def test_a_check_records_its_note_and_photos_on_the_order_and_the_event() -> None:
    order = _order()
    checked = verify(
        order,
        passed=True,
        by=LI,
        now=T0 + D,
        policy=POLICY,
        note="冷柜门已修好，柜内 −18 °C",
        photos=["pho_b", "pho_a", "pho_b"],
        order_photos=["pho_a", "pho_b", "pho_c"],
    )
    assert checked.order.verification_note == "冷柜门已修好，柜内 −18 °C"
    assert checked.order.verification_photos == ("pho_b", "pho_a")
    assert checked.order.last_verification_at == T0 + D
    stored = serial.dump(checked.order)
    assert stored["verification_photos"] == ["pho_b", "pho_a"]
    assert serial.load(RectificationOrder, stored) == checked.order
    [event] = checked.events
    data = wire(event)["data"]
    assert (data["note"], data["photos"]) == ("冷柜门已修好，柜内 −18 °C", ["pho_b", "pho_a"])
    assert schema_problems(event) == []
    # Without evidence, as before: no note, no photos (and a blank note is none).
    bare = verify(order, passed=False, by=LI, now=T0 + D, policy=POLICY, note="")
    assert (bare.order.verification_note, bare.order.verification_photos) == (None, ())
    assert (wire(bare.events[0])["data"]["note"], wire(bare.events[0])["data"]["photos"]) == (
        None,
        [],
    )
    # The order keeps the latest check's evidence: a failed one's, then the passing one's.
    failed = verify(
        order, passed=False, by=LI, now=T0 + D, policy=POLICY, note="未修好", photos=["pho_a"],
        order_photos=["pho_a"],
    ).order  # fmt: skip
    assert (failed.verification_note, failed.verification_photos) == ("未修好", ("pho_a",))
    passed = verify(failed, passed=True, by=LI, now=T0 + 2 * D, policy=POLICY, note="已修好")
    assert (passed.order.verification_note, passed.order.verification_photos) == ("已修好", ())
    assert passed.order.last_verification_at == T0 + 2 * D


def test_a_check_naming_another_orders_photo_or_too_long_a_note_changes_nothing() -> None:
    order = _order()
    with pytest.raises(InvalidVerification) as refused:
        verify(
            order,
            passed=True,
            by=LI,
            now=T0 + D,
            policy=POLICY,
            note="长" * (NOTE_MAX_CHARS + 1),
            photos=["pho_a", "pho_x"],
            order_photos=["pho_a"],
        )
    assert refused.value.errors == [
        {"field": "note", "reason": f"at most {NOTE_MAX_CHARS} characters"},
        {"field": "photos.1", "reason": "no photo 'pho_x' of this rectification"},
    ]
    assert status_of(refused.value) == 422
    assert order.state == "open" and order.version == 1  # the value given is unchanged


def test_a_reinspection_task_closed_by_a_check_takes_its_note() -> None:
    result = completed("critical", ("HYG-06",))
    assert result.order is not None and result.reinspection is not None
    checked = verify(
        result.order,
        passed=True,
        by=LI,
        now=T0 + D,
        policy=POLICY,
        reinspection=result.reinspection,
        note="已整改，恢复经营",
        photos=["pho_a"],
        order_photos=["pho_a"],
    )
    assert checked.closed_task is not None and checked.closed_task.note == "已整改，恢复经营"
    assert [schema_problems(e) for e in checked.events] == [[], []]
