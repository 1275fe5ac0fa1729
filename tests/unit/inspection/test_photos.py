"""Photos of an inspection: type by content, size and count capped, recorded with the outcome."""

from __future__ import annotations

import pytest

from contracts.people import Actor
from services.inspection.api import photo_out
from services.inspection.domain import FindingReport, IllegalTransition, InvalidCompletion
from services.inspection.domain.photos import (
    MAX_PHOTOS_PER_TASK,
    PhotoTooLarge,
    accept_photo,
    sniff,
)
from services.runtime import serial
from services.runtime.errors import Conflict, InvalidInput, status_of
from tests.unit.inspection.builders import (
    INSPECTOR,
    POLICY,
    T0,
    claimed_task,
    complete,
    completed,
    new_task,
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
        {"field": "photos[1]", "reason": "no photo 'pho_x' of this task"}
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
    assert [e["field"] for e in both.value.errors] == ["findings", "photos[0]"]
