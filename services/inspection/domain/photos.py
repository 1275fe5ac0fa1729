"""Photos of an inspection: what an upload may be, judged by its bytes, never by its name.

An inspector attaches at most `MAX_PHOTOS_PER_TASK` photos to a task before completing it; each
one is a JPEG, PNG or WebP image recognised by its magic bytes (the file name and the declared
content type are ignored: a PNG called `x.jpg` is a PNG, a text file called `x.jpg` is refused),
and at most `max_bytes` long. A completion may name the task's photos (`photos`). Pure: the
service stores the bytes and serves them only to staff in the task's district.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from pydantic import Field

from contracts.inspection import PHOTOS_MAX
from contracts.people import Actor
from services.inspection.domain.errors import IllegalTransition
from services.inspection.domain.model import Task, aware, once_each
from services.runtime.failures import Conflict, InvalidInput, TooLarge

PHOTO_TYPES: Final = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTOS_PER_TASK: Final = PHOTOS_MAX
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
FIELD: Final = "file"


class PhotoTooLarge(TooLarge):
    """The upload is over the size cap, naming the field."""

    def __init__(self, max_bytes: int) -> None:
        reason = f"a photo is at most {max_bytes} bytes ({max_bytes / 1024 / 1024:g} MB)"
        super().__init__(f"{FIELD}: {reason}", [{"field": FIELD, "reason": reason}])


def sniff(data: bytes) -> str | None:
    """The image type the bytes are, by their signature; None if not JPEG, PNG or WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True, slots=True)
class Photo:
    """A stored photo's facts (its bytes are kept beside them, not in the value)."""

    # Shown and stored (the table's column) as "id".
    photo_id: Annotated[str, Field(alias="id")]
    task_id: str
    district: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: Actor
    uploaded_at: datetime


def accept_photo(
    task: Task,
    data: bytes,
    *,
    photo_id: str,
    existing: int,
    by: Actor,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_photos: int = MAX_PHOTOS_PER_TASK,
) -> Photo:
    """The photo to store for `task`, or an error naming `file`: 413 over `max_bytes`, 422 not
    an image of a known type (or empty), 409 when the task has `max_photos` already or is
    completed."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(max_bytes)
    if not task.is_open:
        raise IllegalTransition("task", task.task_id, task.state, "attach a photo")
    if existing >= max_photos:
        reason = f"a task has at most {max_photos} photos; it has {existing}"
        raise Conflict(f"{FIELD}: {reason}", [{"field": FIELD, "reason": reason}])
    if not data:
        raise InvalidInput(FIELD, "the file is empty")
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput(
            FIELD, "not a JPEG, PNG or WebP image (judged by its content, not by its name)"
        )
    return Photo(
        photo_id=photo_id,
        task_id=task.task_id,
        district=task.district,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=by,
        uploaded_at=aware(now),
    )


def completion_photos(
    chosen: Sequence[str], of_task: Collection[str]
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """The photos a completion names, each once, in the order given, and the problems: every
    one must be a photo of the task (`photos[i]` names one that is not)."""
    out, problems = once_each("photos", chosen, of_task, lambda p: f"no photo {p!r} of this task")
    return tuple(out), problems
