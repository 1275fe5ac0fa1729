"""Photos of an inspection: what an upload may be, judged by its bytes, never by its name.

An inspector attaches at most `MAX_PHOTOS_PER_TASK` photos to a task before completing it; each
one is a JPEG, PNG or WebP image recognised by its magic bytes (the file name and the declared
content type are ignored: a PNG called `x.jpg` is a PNG, a text file called `x.jpg` is refused),
and at most `max_bytes` long. A completion may name the task's photos (`photos`).

A re-check (复查) of an open rectification order carries evidence too (docs/console.md:
evidence at the stall): photos attached to the order, at most `MAX_PHOTOS_PER_TASK` awaiting each
check, named by the verification. They are kept under the task that ordered it, with the order's
id. Pure: the service stores the bytes and serves them only to staff in the task's (the order's)
district.

What a photo may be (its type told by its bytes, its size) is every service's, in the runtime
(services/runtime/photos.py, re-exported here); what a task or an order holds is inspection's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from pydantic import Field

from contracts.inspection import PHOTOS_MAX
from contracts.people import Actor
from services.inspection.domain.errors import IllegalTransition
from services.inspection.domain.model import RectificationOrder, Task, once_each
from services.runtime.clock import aware
from services.runtime.failures import Conflict
from services.runtime.photos import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from services.runtime.photos import FIELD, check_size, image_type
from services.runtime.photos import PhotoTooLarge as PhotoTooLarge
from services.runtime.photos import sniff as sniff

MAX_PHOTOS_PER_TASK: Final = PHOTOS_MAX


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
    # The order whose re-check it was attached to; None for a photo of the inspection itself.
    rectification_id: str | None = None


def accept_photo(
    holder: Task | RectificationOrder,
    data: bytes,
    *,
    photo_id: str,
    existing: int,
    by: Actor,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_photos: int = MAX_PHOTOS_PER_TASK,
) -> Photo:
    """The photo to store for an open task, or for the next check of an open order (kept under
    the task whose outcome ordered it: its district, and its story), or an error naming `file`:
    413 over `max_bytes`, 422 not an image of a known type (or empty), 409 when `existing`
    photos are there already (a task's; an order's awaiting the check, `awaiting_check`) or the
    task is completed, the order verified."""
    check_size(data, max_bytes)
    if isinstance(holder, Task):
        owner, rectification_id = "task", None
        if not holder.is_open:
            raise IllegalTransition("task", holder.task_id, holder.state, "attach a photo")
    else:
        owner, rectification_id = "rectification", holder.rectification_id
        if holder.state != "open":
            raise IllegalTransition(
                "rectification", rectification_id, holder.state, "attach a photo"
            )
    if existing >= max_photos:
        reason = f"a {owner} has at most {max_photos} photos; it has {existing}"
        raise Conflict(f"{FIELD}: {reason}", field=FIELD, reason=reason)
    content_type = image_type(data)
    return Photo(
        photo_id=photo_id,
        task_id=holder.task_id,
        district=holder.district,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=by,
        uploaded_at=aware(now),
        rectification_id=rectification_id,
    )


def awaiting_check(order: RectificationOrder, photos: Iterable[Photo]) -> list[Photo]:
    """The order's photos uploaded since its latest check (all of them before the first): what
    the next check may carry, and what counts against the limit of an upload."""
    since = order.last_verification_at
    return [p for p in photos if since is None or p.uploaded_at > since]


def completion_photos(
    chosen: Sequence[str], of_task: Collection[str]
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """The photos a completion names, each once, in the order given, and the problems: every
    one must be a photo of the task (`photos.i` names one that is not)."""
    out, problems = once_each("photos", chosen, of_task, lambda p: f"no photo {p!r} of this task")
    return tuple(out), problems


def verification_photos(
    chosen: Sequence[str], of_order: Collection[str]
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """The photos a verification names, each once, in the order given, and the problems: every
    one must be a photo of the order (`photos.i` names one that is not)."""
    out, problems = once_each(
        "photos", chosen, of_order, lambda p: f"no photo {p!r} of this rectification"
    )
    if len(out) > MAX_PHOTOS_PER_TASK:
        problems.append(("photos", f"a check records at most {MAX_PHOTOS_PER_TASK} photos"))
    return tuple(out), problems
