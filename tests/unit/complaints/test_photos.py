"""A citizen's photos of a complaint: cleaned of where they were taken, kept unclaimed for an
hour, named by the complaint filed after them, shown to staff who may read the complaint only;
every refusal names its field and leaves nothing behind."""

from __future__ import annotations

import struct
from datetime import timedelta

import pytest

from services.complaints.domain import InvalidComplaint
from services.complaints.domain.photos import (
    MAX_PHOTOS_PER_COMPLAINT,
    UPLOAD_TTL,
    ComplaintPhoto,
    accept_upload,
    claim_problems,
)
from services.runtime.auth import Principal
from services.runtime.failures import Forbidden, InvalidInput, NotFound
from services.runtime.photos import PhotoTooLarge, sniff, strip_metadata
from services.runtime.ratelimit import TooManyRequests
from tests.support.images import (
    GPS_MARK,
    JPEG_SCAN,
    JPEG_TABLES,
    TEXT_MARK,
    XMP_MARK,
    jpeg,
    plain_png,
    png,
    webp,
)
from tests.unit.complaints.conftest import T0, World, submission

HANDLER = Principal(subject="h-zhou", role="handler", district="zhifu", name="周处理员")
LEADER = Principal(subject="l-wang", role="leader", district="zhifu")
ELSEWHERE = Principal(subject="h-li", role="handler", district="laishan")
MARKS = (GPS_MARK, XMP_MARK, TEXT_MARK, b"Photoshop", b"xap/1.0")


# -- cleaning, on bytes built as a phone writes them ---------------------------------------------


def _segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments before its scan."""
    markers, i = [], 2
    while data[i + 1] != 0xDA:
        markers.append(data[i + 1])
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return markers


def test_a_jpeg_loses_its_exif_xmp_iptc_and_comment_and_keeps_its_picture_and_orientation() -> None:
    clean = strip_metadata(jpeg(orientation=6))
    for mark in MARKS:
        assert mark not in clean
    # JFIF first, then an EXIF of the orientation alone, the ICC profile, the picture as sent.
    assert _segments(clean) == [0xE0, 0xE1, 0xE2, 0xDB, 0xC0]
    assert clean.endswith(JPEG_TABLES + JPEG_SCAN + b"\xff\xd9")
    app1 = clean.index(b"\xff\xe1")
    assert clean[app1 + 4 : app1 + 10] == b"Exif\x00\x00"
    # One IFD entry: tag 0x0112 (orientation), SHORT, 6.
    assert clean[app1 + 18 : app1 + 20] == b"\x00\x01"
    assert struct.unpack(">HHIH", clean[app1 + 20 : app1 + 30]) == (0x0112, 3, 1, 6)
    assert sniff(clean) == "image/jpeg"


def test_an_upright_jpeg_keeps_no_exif_at_all() -> None:
    for orientation in (None, 1):
        clean = strip_metadata(jpeg(orientation=orientation))
        assert _segments(clean) == [0xE0, 0xE2, 0xDB, 0xC0]
        assert b"Exif" not in clean


def test_a_png_loses_its_exif_and_text_chunks_and_is_otherwise_the_same_bytes() -> None:
    assert strip_metadata(png()) == plain_png()


def test_a_webp_loses_its_exif_and_xmp_chunks_and_says_so_in_its_header() -> None:
    sent = webp()
    clean = strip_metadata(sent)
    for mark in (GPS_MARK, XMP_MARK):
        assert mark not in clean
    assert b"EXIF" not in clean and b"XMP " not in clean
    assert clean[:4] == b"RIFF" and clean[8:12] == b"WEBP"
    assert struct.unpack("<I", clean[4:8])[0] == len(clean) - 8
    assert clean[12:16] == b"VP8X" and clean[20] == 0x10  # the alpha flag stays, EXIF/XMP gone
    assert b"VP8L" in clean and b"picture" in clean


@pytest.mark.parametrize(
    "broken",
    [
        jpeg()[:40],  # cut inside the EXIF segment
        b"\xff\xd8\xff\xe0\x00",  # a length cut short
        png()[:30],  # cut inside a chunk
        png().replace(b"IEND", b"IEXD"),  # no end
        webp()[:24],  # shorter than it says
    ],
)
def test_a_damaged_image_is_refused_naming_the_file(broken: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        strip_metadata(broken)
    assert refused.value.field == "file" and "damaged" in refused.value.reason


# -- the rules ------------------------------------------------------------------------------------


def test_an_upload_is_kept_cleaned_with_the_facts_of_the_cleaned_bytes() -> None:
    photo, clean = accept_upload(png(), photo_id="cph_1", now=T0)
    assert clean == plain_png()
    assert (photo.content_type, photo.size, photo.complaint_id) == ("image/png", len(clean), None)
    assert photo.uploaded_at == T0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"hello, I am text called photo.jpg", "not a JPEG, PNG or WebP image"),
    ],
)
def test_an_upload_that_is_not_an_image_is_refused_naming_the_file(
    data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        accept_upload(data, photo_id="cph_1", now=T0)
    assert refused.value.field == "file" and reason in refused.value.reason


def test_an_upload_over_the_cap_is_refused_before_anything_else() -> None:
    with pytest.raises(PhotoTooLarge) as refused:
        accept_upload(b"x" * 2049, photo_id="cph_1", now=T0, max_bytes=2048)
    assert refused.value.errors == [
        {"field": "file", "reason": "a photo is at most 2048 bytes (0.00195312 MB)"}
    ]


def _photo(
    photo_id: str, *, complaint_id: str | None = None, age: timedelta = timedelta()
) -> ComplaintPhoto:
    return ComplaintPhoto(photo_id, "image/png", 10, "0" * 64, T0 - age, complaint_id)


def test_what_stops_a_complaint_naming_photos_is_each_named_by_its_place() -> None:
    found = {
        "new": _photo("new"),
        "used": _photo("used", complaint_id="cmp_other"),
        "old": _photo("old", age=UPLOAD_TTL),
        "mine": _photo("mine", complaint_id="cmp_mine"),
    }
    assert claim_problems(["new", "mine"], found, T0, mine="cmp_mine") == []
    problems = dict(claim_problems(["new", "new", "nope", "used", "old"], found, T0))
    assert problems["photos"] == "a complaint has at most 3 photos; 5 sent"
    assert "named twice" in problems["photos.1"]
    assert "no photo 'nope' was uploaded" in problems["photos.2"]
    assert "already attached to a complaint" in problems["photos.3"]
    assert "expired (1 hour unclaimed)" in problems["photos.4"]
    assert MAX_PHOTOS_PER_COMPLAINT == 3


@pytest.mark.parametrize(
    ("ttl", "said"),
    [
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=90), "90 seconds"),
        (timedelta(seconds=0.5), "0.5 seconds"),
        (timedelta(seconds=1_000_001), "1000001 seconds"),
    ],
)
def test_an_expired_photo_is_refused_with_the_time_an_upload_is_kept(
    ttl: timedelta, said: str
) -> None:
    """The console reads the time back from the reason (services/console/labels.py): it says
    the setting's, in the largest unit it is a whole number of."""
    found = {"old": _photo("old", age=ttl)}
    assert claim_problems(["old"], found, T0, ttl=ttl) == [
        ("photos.0", f"photo 'old' expired ({said} unclaimed): upload it again")
    ]


# -- the use cases, on the fakes ------------------------------------------------------------------


async def test_a_citizen_files_a_complaint_with_photos_a_handler_of_its_district_sees(
    world: World,
) -> None:
    first = await world.complaints.upload_photo(jpeg())
    second = await world.complaints.upload_photo(png())
    case = await world.complaints.submit(
        submission(), via="http", photos=[second.photo_id, first.photo_id]
    )
    kept = await world.complaints.photos(case.complaint_id)
    assert {p.photo_id for p in kept} == {first.photo_id, second.photo_id}
    assert all(p.complaint_id == case.complaint_id for p in kept)
    for who in (HANDLER, LEADER):
        photo, data = await world.complaints.photo(who, case.complaint_id, second.photo_id)
        assert data == plain_png() and photo.content_type == "image/png"
    with pytest.raises(Forbidden):
        await world.complaints.photo(ELSEWHERE, case.complaint_id, second.photo_id)
    with pytest.raises(NotFound):
        await world.complaints.photo(HANDLER, case.complaint_id, "cph_nope")
    # The event is the one it always was: photos stay in the service.
    [(_, event, _)] = world.uow.published
    assert "photos" not in event.data.model_dump()


async def test_a_photo_is_stored_without_the_place_it_was_taken(world: World) -> None:
    photo = await world.complaints.upload_photo(jpeg())
    _, data = world.photos_store.rows[photo.photo_id]
    assert GPS_MARK not in data and XMP_MARK not in data and TEXT_MARK not in data


@pytest.mark.parametrize("problem", ["unknown", "used", "expired", "twice"])
async def test_a_complaint_naming_a_photo_it_may_not_is_refused_and_nothing_is_stored(
    world: World, problem: str
) -> None:
    photo = await world.complaints.upload_photo(png())
    named = [photo.photo_id]
    if problem == "unknown":
        named = ["cph_never"]
    elif problem == "used":
        await world.complaints.submit(submission(), via="http", photos=[photo.photo_id])
    elif problem == "expired":
        world.clock.at += UPLOAD_TTL + timedelta(seconds=1)
    else:
        named = [photo.photo_id, photo.photo_id]
    before = dict(world.complaints_store.rows), list(world.uow.published)
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(submission(), via="http", photos=named)
    assert refused.value.field.startswith("photos.")
    assert (dict(world.complaints_store.rows), list(world.uow.published)) == before
    if problem != "used":
        assert world.photos_store.rows[photo.photo_id][0].complaint_id is None


async def test_a_photo_problem_is_told_with_the_complaints_other_problems(world: World) -> None:
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(
            submission(market_id="mkt_nowhere", merchant_id=None), via="http", photos=["cph_x"]
        )
    assert {f for f, _ in refused.value.problems} == {"market_id", "photos.0"}
    with pytest.raises(InvalidComplaint) as checked:
        await world.complaints.check_submission({"photos": ["cph_x"]})
    assert [f for f, _ in checked.value.problems] == ["photos.0"]


async def test_a_retried_filing_returns_the_first_complaint_with_its_photos(world: World) -> None:
    photo = await world.complaints.upload_photo(png())
    first = await world.complaints.submit(
        submission(), via="http", intake_id="http:k1", photos=[photo.photo_id]
    )
    again = await world.complaints.submit(
        submission(), via="http", intake_id="http:k1", photos=[photo.photo_id]
    )
    assert again == first
    assert len(world.complaints_store.rows) == 1


async def test_a_complaint_naming_an_expired_photo_hears_the_configured_time(
    world: World,
) -> None:
    world.complaints.photo_ttl = timedelta(minutes=30)
    photo = await world.complaints.upload_photo(png())
    world.clock.at += timedelta(minutes=30)
    with pytest.raises(InvalidComplaint) as refused:
        await world.complaints.submit(submission(), via="http", photos=[photo.photo_id])
    assert refused.value.problems == [
        ("photos.0", f"photo {photo.photo_id!r} expired (30 minutes unclaimed): upload it again")
    ]


async def test_unclaimed_uploads_expire_by_the_clock_and_claimed_ones_stay(world: World) -> None:
    kept = await world.complaints.upload_photo(png())
    await world.complaints.submit(submission(), via="http", photos=[kept.photo_id])
    left = await world.complaints.upload_photo(png())
    world.clock.at += UPLOAD_TTL - timedelta(seconds=1)
    assert await world.complaints.expire_photos() == 0
    world.clock.at += timedelta(seconds=2)
    assert await world.complaints.expire_photos() == 1
    assert set(world.photos_store.rows) == {kept.photo_id}
    assert left.photo_id not in world.photos_store.rows


async def test_uploads_stop_while_too_many_wait_for_a_complaint(world: World) -> None:
    world.complaints.photo_max_unclaimed = 2
    for _ in range(2):
        await world.complaints.upload_photo(png())
    with pytest.raises(TooManyRequests):
        await world.complaints.upload_photo(png())
    assert len(world.photos_store.rows) == 2


async def test_a_refused_upload_stores_nothing(world: World) -> None:
    with pytest.raises(InvalidInput):
        await world.complaints.upload_photo(b"GIF89a not accepted")
    with pytest.raises(PhotoTooLarge):
        world.complaints.photo_max_bytes = 1024
        await world.complaints.upload_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000)
    assert world.photos_store.rows == {}
