"""A citizen's photos of a complaint (a short weight on the scale, spoiled food, a dirty stall):
often the only evidence there is.

A photo is uploaded first, on its own, through the public channel (no sign-in), and named by
its id in the complaint filed after it (`photos`). Until then it is unclaimed, belongs to
nobody, and expires `UPLOAD_TTL` after its upload: the service's clock deletes it, so the public
endpoint cannot fill the disk with photos never filed. A complaint names at most
`MAX_PHOTOS_PER_COMPLAINT`; each photo once, and a photo claimed by one complaint cannot be named
by another.

What a photo may be (JPEG, PNG or WebP told by its bytes, at most `max_bytes`) and its cleaning
(no EXIF, XMP or text: a phone writes where the photo was taken, and a citizen's home must not
travel with it) are the runtime's (services/runtime/photos.py), as they are inspection's. Only
staff who may read the complaint see the photo; the public tracking page says how many there
are. Pure: the service stores the bytes beside the value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Final

from pydantic import Field

from services.runtime.clock import aware
from services.runtime.photos import DEFAULT_MAX_BYTES, check_size, image_type, strip_metadata

MAX_PHOTOS_PER_COMPLAINT: Final = 3
UPLOAD_TTL: Final = timedelta(hours=1)
FIELD: Final = "photos"


@dataclass(frozen=True, slots=True)
class ComplaintPhoto:
    """A stored photo's facts (its bytes, cleaned, are kept beside them, not in the value)."""

    # Shown and stored (the table's column) as "id".
    photo_id: Annotated[str, Field(alias="id")]
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    # The complaint that named it; None while unclaimed.
    complaint_id: str | None = None

    def expired(self, now: datetime, ttl: timedelta = UPLOAD_TTL) -> bool:
        """Unclaimed, and uploaded longer than `ttl` ago."""
        return self.complaint_id is None and aware(now) - self.uploaded_at >= ttl


def accept_upload(
    data: bytes, *, photo_id: str, now: datetime, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[ComplaintPhoto, bytes]:
    """The photo to keep, unclaimed, and its bytes cleaned of metadata; an error naming `file`
    otherwise: 413 over `max_bytes` (as sent), 422 empty, not a JPEG, PNG or WebP, or broken."""
    check_size(data, max_bytes)
    content_type = image_type(data)
    clean = strip_metadata(data)
    photo = ComplaintPhoto(
        photo_id=photo_id,
        content_type=content_type,
        size=len(clean),
        sha256=hashlib.sha256(clean).hexdigest(),
        uploaded_at=aware(now),
    )
    return photo, clean


def claim_problems(
    chosen: Sequence[str],
    found: Mapping[str, ComplaintPhoto],
    now: datetime,
    *,
    ttl: timedelta = UPLOAD_TTL,
    mine: str | None = None,
) -> list[tuple[str, str]]:
    """What stops a complaint naming `chosen` (the uploads `found` by id), each problem naming
    `photos` or `photos.i`: more than `MAX_PHOTOS_PER_COMPLAINT`, a photo named twice, one that
    is unknown or expired, or one another complaint named (`mine`: the complaint a retry of the
    same filing already made, whose photos it may name again)."""
    problems: list[tuple[str, str]] = []
    if len(chosen) > MAX_PHOTOS_PER_COMPLAINT:
        problems.append(
            (
                FIELD,
                f"a complaint has at most {MAX_PHOTOS_PER_COMPLAINT} photos; {len(chosen)} sent",
            )
        )
    seen: set[str] = set()
    for i, photo_id in enumerate(chosen):
        where = f"{FIELD}.{i}"
        photo = found.get(photo_id)
        if photo_id in seen:
            problems.append((where, f"photo {photo_id!r} is named twice"))
        elif photo is None:
            problems.append(
                (where, f"no photo {photo_id!r} was uploaded (POST /complaints/photos first)")
            )
        elif photo.complaint_id is not None and photo.complaint_id != mine:
            problems.append((where, f"photo {photo_id!r} is already attached to a complaint"))
        elif photo.expired(now, ttl):
            problems.append(
                (
                    where,
                    f"photo {photo_id!r} expired ({_kept(ttl)} unclaimed): upload it again",
                )
            )
        seen.add(photo_id)
    return problems


def _kept(ttl: timedelta) -> str:
    """How long an upload is kept, in the largest unit it is a whole number of ("1 hour",
    "90 minutes", "0.5 seconds"): the setting's own time, which the console reads back from the
    reason to tell the citizen in Chinese (services/console/labels.py)."""
    seconds = ttl.total_seconds()
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    said = int(seconds) if seconds.is_integer() else seconds
    return f"{said} second{'' if said == 1 else 's'}"


def claimed(photos: Sequence[ComplaintPhoto], complaint_id: str) -> list[ComplaintPhoto]:
    """The photos, now the complaint's."""
    return [replace(p, complaint_id=complaint_id) for p in photos]
