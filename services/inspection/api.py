"""Inspection HTTP API: thin routes that parse, authorise and call the use cases (`service.py`).

Scope: a token sees and acts on the tasks and orders of its own district only (admin and `*`
tokens: the whole city). Another district's task or order answers 404, as if absent, so ids of
other districts' work cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import Field

from contracts.inspection import PHOTOS_MAX, RectificationState, TaskState
from services.inspection.domain import FindingReport, Policy, RectificationOrder, Task
from services.inspection.domain.due import due_rule
from services.inspection.domain.photos import Photo
from services.inspection.service import InspectionService
from services.runtime import serial
from services.runtime.app import state
from services.runtime.auth import Principal, require
from services.runtime.body_problems import Sent, fitted
from services.runtime.inputs import Strict, storable_router
from services.runtime.paging import Position, next_token
from services.runtime.paging_query import PageAsked, page_query
from services.runtime.photo_uploads import PHOTO_ANSWERS, PHOTO_FORM, read_upload
from services.runtime.photo_uploads import photo_response as photo_bytes

router = storable_router()
Inspector = Annotated[Principal, Depends(require("inspector"))]
Reader = Annotated[Principal, Depends(require("inspector", "handler", "leader", "department"))]


Ins = Annotated[InspectionService, Depends(state("inspection"))]


def task_out(task: Task, policy: Policy) -> dict[str, Any]:
    """A task as every route shows it, with `due_rule`: the policy entry that set `due_at` —
    `basis` (risk, complaint, patrol, reinspection, renovation), the `key` it was chosen by (a
    severity, a complaint category, a re-inspection's reason `suspension` or `overdue`, a
    renovation check's kind, or null) and `within_s` (null for a renovation check: the end of
    its `rectify_by` day) — or null when none is known (a re-inspection recorded before its
    reason was kept)."""
    rule = due_rule(task, policy)
    return {
        "id": task.task_id,
        **serial.dump(task),
        "due_rule": None if rule is None else serial.dump(rule),
    }


def order_out(order: RectificationOrder) -> dict[str, Any]:
    return {"id": order.rectification_id, **serial.dump(order)}


class FindingIn(Strict):
    code: str = Field(min_length=1, max_length=16, examples=["CCH-01"])
    # Length is the domain's rule: it reports every offending field of a completion at once.
    note: str = ""


class CompleteIn(Strict):
    outcome: str = Field(
        description="pass | minor | major | critical", examples=["major"], max_length=32
    )
    findings: list[FindingIn] = Field(default_factory=list)
    departments: list[str] = Field(
        default_factory=list, description="market_regulation, health, environment"
    )
    note: str | None = None
    photos: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=PHOTOS_MAX,
        description="ids of photos uploaded to this task (POST /tasks/{task_id}/photos)",
    )


class VerifyIn(Strict):
    passed: bool
    # Length is the domain's rule, as a completion's note: every offending field at once.
    note: str | None = Field(default=None, description="the inspector's note at the check")
    photos: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=PHOTOS_MAX,
        description="ids of photos uploaded to this order "
        "(POST /rectifications/{rectification_id}/photos)",
    )


@router.get("/tasks", tags=["tasks"])
async def list_tasks(
    ins: Ins,
    who: Reader,
    state: Annotated[TaskState | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    tasks = await ins.tasks(who, state=state, market_id=market_id, limit=limit)
    return {"items": [task_out(t, ins.policy) for t in tasks]}


Completed = Annotated[
    PageAsked, page_query("completed_from", "completed_before", "tasks completed")
]
Ordered = Annotated[PageAsked, page_query("ordered_from", "ordered_before", "orders made")]


# Its own path, not under /tasks: `/tasks/{task_id}` would take any name put there for an id.
@router.get("/inspections", tags=["tasks"])
async def list_inspections(
    ins: Ins,
    who: Reader,
    page: Completed,
    market_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The inspection ledger (检查台账): the completed tasks the caller may read (its district's;
    a city-wide token's: all), newest completed first, then by id, each as `GET /tasks` shows
    it (outcome, findings, departments, who completed it, `rectification_id`; the stall where
    the inspection was). `completed_from` (inclusive) and `completed_before` (exclusive), each
    with its UTC offset, keep those completed in between; a full page's `next` is the `after` of
    the page that follows (null: the last), so that a month is exported page by page without
    losing or repeating an inspection. A refusal (422) names every bad value of the three at
    once."""
    tasks = await ins.inspections(
        who, window=page.window, after=page.after, market_id=market_id, limit=limit
    )
    return {
        "items": [task_out(t, ins.policy) for t in tasks],
        "next": next_token([_position(t) for t in tasks], limit),
    }


def _position(task: Task) -> Position:
    assert task.completed_at is not None, "the ledger lists completed tasks only"
    return Position(task.completed_at, task.task_id)


@router.get("/findings", tags=["findings"])
async def list_findings(ins: Ins, _: Reader) -> dict[str, Any]:
    """The finding catalogue for a checklist: each code with its Chinese (and English) label,
    default severity and category, grouped in the catalogue's order."""
    catalogue = ins.catalogue
    return {
        "version": catalogue.version,
        "categories": [
            {"code": g.name, "label_zh": g.title_zh, "label_en": g.title_en, "codes": list(g.codes)}
            for g in catalogue.groups.values()
        ],
        "items": [
            {
                "code": f.code,
                "label_zh": f.title_zh,
                "label_en": f.title_en,
                "severity": f.severity,
                "category": f.group,
                "category_zh": catalogue.groups[f.group].title_zh,
            }
            for f in catalogue
        ],
    }


@router.get("/tasks/{task_id}", tags=["tasks"])
async def get_task(task_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    """One task of the caller's district (another district's answers 404, as if absent)."""
    return task_out(await ins.task(who, task_id), ins.policy)


def photo_out(photo: Photo) -> dict[str, Any]:
    # The task's district is the photo's access rule, not something the answer shows.
    out: dict[str, Any] = serial.dump(photo)
    del out["district"]
    return out


def photo_response(photo: Photo, data: bytes) -> Response:
    """The photo's bytes, with the type its content was recognised as."""
    return photo_bytes(photo.photo_id, photo.content_type, data)


@router.post("/tasks/{task_id}/photos", status_code=201, tags=["photos"], openapi_extra=PHOTO_FORM)
async def add_photo(task_id: str, request: Request, ins: Ins, who: Inspector) -> dict[str, Any]:
    """Attach a photo (multipart field `file`) to an open task of the caller's district.

    JPEG, PNG or WebP, told by the bytes (not the name or the declared type); at most
    `INSPECTION_PHOTO_MAX_BYTES` (5 MB: 413 beyond); at most 5 per task (409 beyond). Errors
    name the field `file`."""
    data = await read_upload(request, ins.photo_max_bytes)
    return photo_out(await ins.add_photo(who, task_id, data))


@router.get("/tasks/{task_id}/photos", tags=["photos"])
async def list_photos(task_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    return {"items": [photo_out(p) for p in await ins.photos(who, task_id)]}


@router.get(
    "/tasks/{task_id}/photos/{photo_id}",
    tags=["photos"],
    response_class=Response,
    responses=PHOTO_ANSWERS,
)
async def get_photo(task_id: str, photo_id: str, ins: Ins, who: Reader) -> Response:
    """The photo's bytes, with the type its content was recognised as."""
    return photo_response(*await ins.photo(who, task_id, photo_id))


@router.post("/tasks/{task_id}/claim", tags=["tasks"])
async def claim_task(task_id: str, ins: Ins, who: Inspector) -> dict[str, Any]:
    """Take the task (one inspector at a time); claiming again as its holder changes nothing."""
    return task_out(await ins.claim(who, task_id), ins.policy)


def _completion_checks(fields: dict[str, Any]) -> dict[str, Any]:
    given: dict[str, Any] = {
        k: fields[k] for k in ("outcome", "departments", "note", "photos") if k in fields
    }
    if "findings" in fields:
        given["findings"] = [FindingReport(f.code, f.note) for f in fields["findings"]]
    return given


@router.post("/tasks/{task_id}/complete", tags=["tasks"])
async def complete_task(
    task_id: str, sent: Sent[CompleteIn], ins: Ins, who: Inspector
) -> dict[str, Any]:
    """Record the outcome; any outcome but `pass` orders rectification (in `rectification`).
    A refusal (422) names every problem of the body at once."""
    body = await fitted(
        sent, lambda fields: ins.check_completion(who, task_id, **_completion_checks(fields))
    )
    task, order = await ins.complete(
        who,
        task_id,
        outcome=body.outcome,
        findings=[FindingReport(f.code, f.note) for f in body.findings],
        departments=body.departments,
        note=body.note,
        photos=body.photos,
    )
    return task_out(task, ins.policy) | {"rectification": order_out(order) if order else None}


@router.get("/patrol-plans/{merchant_id}", tags=["patrols"])
async def patrol_plan(merchant_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    """A merchant's routine patrol plan: its grade, anchor (last inspection or when planning
    began), when it is next due, the interval and why (`interval_reason`: grade, default_grade,
    or warning_list — the month's 黑榜 in `warning_list`), and the patrol task pending, if any.
    `first_round`: never inspected, so the first patrol falls at the merchant's own point of the
    interval after planning began, not at its end (docs/honours.md, Patrols)."""
    return await ins.patrol_plan(who, merchant_id)


@router.get("/rectifications", tags=["rectifications"])
async def list_rectifications(
    ins: Ins,
    who: Reader,
    state: Annotated[RectificationState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    orders = await ins.orders(who, state=state, limit=limit)
    return {"items": [order_out(o) for o in orders]}


# Declared before `/rectifications/{rectification_id}`, which would take `issued` for an id.
@router.get("/rectifications/issued", tags=["rectifications"])
async def list_orders_issued(
    ins: Ins,
    who: Reader,
    page: Ordered,
    market_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The rectification ledger (整改台账): the orders the caller may read (its district's; a
    city-wide token's: all) made between `ordered_from` (inclusive) and `ordered_before`
    (exclusive), each with its UTC offset, newest first, then by id, each as
    `GET /rectifications/{id}` shows it, whatever became of it since (open, verified, lapsed;
    overdue). Paged as `GET /inspections` is: a full page's `next` is the `after` of the page
    that follows (null: the last). A refusal (422) names every bad value of the three at once."""
    orders = await ins.orders_issued(
        who, window=page.window, after=page.after, market_id=market_id, limit=limit
    )
    following = [Position(o.ordered_at, o.rectification_id) for o in orders]
    return {"items": [order_out(o) for o in orders], "next": next_token(following, limit)}


@router.get("/rectifications/{rectification_id}", tags=["rectifications"])
async def get_rectification(rectification_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    """One order of the caller's district (another district's answers 404, as if absent)."""
    return order_out(await ins.order(who, rectification_id))


@router.post(
    "/rectifications/{rectification_id}/photos",
    status_code=201,
    tags=["photos"],
    openapi_extra=PHOTO_FORM,
)
async def add_order_photo(
    rectification_id: str, request: Request, ins: Ins, who: Inspector
) -> dict[str, Any]:
    """Attach a photo (multipart field `file`) to the next check (复查) of an open order of the
    caller's district, for the verification to name in `photos`.

    The same rules as a task's photo: JPEG, PNG or WebP, told by the bytes; at most
    `INSPECTION_PHOTO_MAX_BYTES` (413 beyond); at most 5 awaiting each check (409 beyond); a
    verified order takes none (409). Errors name the field `file`."""
    data = await read_upload(request, ins.photo_max_bytes)
    return photo_out(await ins.add_order_photo(who, rectification_id, data))


@router.get("/rectifications/{rectification_id}/photos", tags=["photos"])
async def list_order_photos(rectification_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    """Every photo attached to the order's checks, by upload time (each check's own are in the
    order's `verification_photos` and its `inspection.rectification.verified` event)."""
    return {"items": [photo_out(p) for p in await ins.order_photos(who, rectification_id)]}


@router.get(
    "/rectifications/{rectification_id}/photos/{photo_id}",
    tags=["photos"],
    response_class=Response,
    responses=PHOTO_ANSWERS,
)
async def get_order_photo(rectification_id: str, photo_id: str, ins: Ins, who: Reader) -> Response:
    return photo_response(*await ins.order_photo(who, rectification_id, photo_id))


@router.post("/rectifications/{rectification_id}/verify", tags=["rectifications"])
async def verify_rectification(
    rectification_id: str, sent: Sent[VerifyIn], ins: Ins, who: Inspector
) -> dict[str, Any]:
    """Passed: verified. Failed: stays open with a new deadline (or, suspended: re-inspection).

    Either may carry the check's evidence: `note` and `photos` (ids uploaded to this order),
    recorded on the order as `verification_note` and `verification_photos`; a photo that is
    not this order's is refused (422 naming `photos.i`) and nothing changes. A refusal names
    every problem of the body at once."""
    body = await fitted(
        sent,
        lambda fields: ins.check_verification(
            who, rectification_id, note=fields.get("note"), photos=fields.get("photos", ())
        ),
    )
    return order_out(
        await ins.verify(
            who, rectification_id, passed=body.passed, note=body.note, photos=body.photos
        )
    )
