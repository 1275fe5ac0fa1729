"""Complaints HTTP API: thin routes that parse, authorise and call the use cases
(`Complaints` and `Suggestions` in service.py).

`POST /complaints` and `GET /complaints/track/{code}` are public: a citizen files a complaint
and follows it by its tracking code, which shows the status and the deadlines, nothing personal.
`POST /complaints/photos` (public too, the same rate limit as filing) keeps a photo for the
complaint filed after it to name in `photos`; only staff who may read the complaint get it back.
Suggestions (意见建议) likewise: `POST /suggestions`, `GET /suggestions/track/{code}` and
`GET /public/suggestions` (answered ones whose author agreed) are public and rate limited.
Everything else needs a handler's token; a case of another district is refused (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from contracts.complaints import TEXT_MAX_CHARS, CloseOutcome, ComplaintState, ComplaintSubmission
from contracts.suggestions import ANSWER_MAX_CHARS, About, SuggestionState, SuggestionSubmission
from services.complaints.domain import Complaint
from services.complaints.domain.photos import MAX_PHOTOS_PER_COMPLAINT, ComplaintPhoto
from services.complaints.service import Complaints, Suggestions
from services.runtime import serial
from services.runtime.app import state
from services.runtime.auth import Principal, require
from services.runtime.body_problems import Sent, fitted
from services.runtime.inputs import Strict, storable_router
from services.runtime.paging import Position, next_token
from services.runtime.paging_query import PageAsked, page_query
from services.runtime.photo_uploads import PHOTO_ANSWERS, PHOTO_FORM, photo_response, read_upload
from services.runtime.ratelimit import rate_limited

router = storable_router()
Handler = Annotated[Principal, Depends(require("handler"))]
Reader = Annotated[Principal, Depends(require("handler", "inspector", "leader"))]


Svc = Annotated[Complaints, Depends(state("complaints"))]
Sugg = Annotated[Suggestions, Depends(state("suggestions"))]
SuggestionReader = Annotated[Principal, Depends(require("handler", "leader"))]


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=TEXT_MAX_CHARS, examples=["不属于市场监管职责"])


class TransferIn(Strict):
    market_id: str = Field(min_length=1, max_length=64, examples=["mkt_0001"])
    stall_no: str | None = Field(
        default=None,
        max_length=32,
        description="the stall in the new market, when the complaint names one",
    )
    reason: str = Field(
        min_length=1, max_length=TEXT_MAX_CHARS, examples=["投诉对象不在本市场，在幸福市场"]
    )


class CloseIn(Strict):
    outcome: CloseOutcome
    substantiated: bool
    satisfaction: int | None = Field(
        ge=1,
        le=5,
        description="the complainant's satisfaction, 1-5; null when they could not be reached "
        "for it (未能回访). Required: a closing says which.",
    )


class ComplaintFiling(ComplaintSubmission):
    """`POST /complaints`'s body: the contract's submission (what integrators send on
    complaints.intake.v1 too) and, on the public channel only, the photos uploaded for it."""

    photos: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_PHOTOS_PER_COMPLAINT,
        description="ids of photos uploaded first (POST /complaints/photos), each once, "
        "within an hour of their upload",
    )


def photo_out(photo: ComplaintPhoto) -> dict[str, Any]:
    out: dict[str, Any] = serial.dump(photo)
    return out


@router.post(
    "/complaints",
    status_code=201,
    tags=["public"],
    dependencies=[Depends(rate_limited("complaints"))],
)
async def submit(
    sent: Sent[ComplaintFiling],
    svc: Svc,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any]:
    """File a complaint (public). Returns its `id` and the `tracking_code` to follow it with.
    A refusal (422) names every problem of the body at once: a malformed phone with a market
    that is not registered, say, or a photo (`photos.i`) unknown, expired or already used.

    Send an `Idempotency-Key` header to make a retry return the same complaint."""
    body = await fitted(sent, svc.check_submission)
    case = await svc.submit(
        body,
        via="http",
        intake_id=idempotency_key and f"http:{idempotency_key}",
        photos=body.photos,
    )
    return {**svc.receipt(case), "photos": len(await svc.photos(case.complaint_id))}


@router.post(
    "/complaints/photos",
    status_code=201,
    tags=["public"],
    openapi_extra=PHOTO_FORM,
    # Counted with the filings: one bucket per citizen for everything they send.
    dependencies=[Depends(rate_limited("complaints"))],
)
async def upload_photo(request: Request, svc: Svc) -> dict[str, Any]:
    """Upload a photo (multipart field `file`) for a complaint about to be filed (public); the
    answer's `id` goes in the complaint's `photos`.

    JPEG, PNG or WebP, told by the bytes (not the name or the declared type); at most
    `COMPLAINTS_PHOTO_MAX_BYTES` (5 MB: 413 beyond). Its metadata (EXIF with the place it was
    taken, XMP, text) is removed before it is kept. An upload no complaint names within
    `COMPLAINTS_PHOTO_TTL_S` (an hour) is deleted. Errors name the field `file`."""
    data = await read_upload(request, svc.photo_max_bytes)
    return photo_out(await svc.upload_photo(data))


@router.get(
    "/complaints/track/{tracking_code}",
    tags=["public"],
    dependencies=[Depends(rate_limited("track"))],
)
async def track(tracking_code: str, svc: Svc) -> dict[str, Any]:
    """The public status of a complaint: state, deadlines and outcome, and how many photos
    were attached — nothing personal (no photo is shown publicly)."""
    case = await svc.by_tracking_code(tracking_code)
    return {**svc.public_view(case), "photos": len(await svc.photos(case.complaint_id))}


Received = Annotated[PageAsked, page_query("received_from", "received_before", "cases received")]


@router.get("/complaints", tags=["handling"])
async def list_complaints(
    svc: Svc,
    who: Reader,
    page: Received,
    state: Annotated[ComplaintState | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    nearing: Annotated[
        bool, Query(description="only open cases within the warning window of a deadline")
    ] = False,
    overdue: Annotated[bool, Query(description="only cases past a deadline")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The cases the caller may read (its district's; a city-wide token's: all), newest received
    first, then by id. `received_from` (inclusive) and `received_before` (exclusive), each with
    its UTC offset, keep those received in between; a full page's `next` is the `after` of the
    page that follows (null: the last), so that a ledger (台账) is exported page by page without
    losing or repeating a case. A refusal (422) names every bad value of the three at once.

    `nearing=true` is a short worklist filtered after the query, not a listing to page through:
    its `next` is always null."""
    cases = await svc.cases(
        who,
        state=state,
        market_id=market_id,
        nearing=nearing,
        overdue=overdue,
        limit=limit,
        window=page.window,
        after=page.after,
    )
    following = None if nearing else next_token([_position(c) for c in cases], limit)
    return {"items": [svc.case_view(c) for c in cases], "next": following}


def _position(case: Complaint) -> Position:
    return Position(case.received_at, case.complaint_id)


@router.get("/complaints/{complaint_id}", tags=["handling"])
async def get_complaint(complaint_id: str, svc: Svc, who: Reader) -> dict[str, Any]:
    """The whole case, with the complainant's contact details, linked duplicates and the
    facts of its photos (`photos`: fetch each from `/complaints/{id}/photos/{photo_id}`)."""
    case = await svc.case(who, complaint_id)
    return svc.case_view(
        case,
        inspections=await svc.inspections(case.complaint_id),
        photos=[photo_out(p) for p in await svc.photos(case.complaint_id)],
    )


@router.get(
    "/complaints/{complaint_id}/photos/{photo_id}",
    tags=["handling"],
    response_class=Response,
    responses=PHOTO_ANSWERS,
)
async def get_photo(complaint_id: str, photo_id: str, svc: Svc, who: Reader) -> Response:
    """A photo of the complaint, as kept (its metadata removed), for those who may read the
    complaint: 403 another district's, 404 an unknown complaint or photo."""
    photo, data = await svc.photo(who, complaint_id, photo_id)
    return photo_response(photo.photo_id, photo.content_type, data)


@router.post("/complaints/{complaint_id}/accept", tags=["handling"])
async def accept(complaint_id: str, svc: Svc, who: Handler) -> dict[str, Any]:
    """Accept for handling; sets the mediation deadline (45 working days)."""
    return svc.case_view(await svc.accept(who, complaint_id))


@router.post("/complaints/{complaint_id}/reject", tags=["handling"])
async def reject(complaint_id: str, body: RejectIn, svc: Svc, who: Handler) -> dict[str, Any]:
    return svc.case_view(await svc.reject(who, complaint_id, reason=body.reason))


@router.post("/complaints/{complaint_id}/transfer", tags=["handling"])
async def transfer(
    complaint_id: str, sent: Sent[TransferIn], svc: Svc, who: Handler
) -> dict[str, Any]:
    """移送 a received complaint to the market it is really about (in this district or another,
    whose handlers then hold it, with a fresh acceptance clock); a refusal (422) names every
    problem of the body at once, and a complaint linked as a duplicate is a 409."""
    body = await fitted(sent, svc.check_transfer)
    return svc.case_view(
        await svc.transfer(
            who,
            complaint_id,
            market_id=body.market_id,
            stall_no=body.stall_no,
            reason=body.reason,
        )
    )


@router.post("/complaints/{complaint_id}/close", tags=["handling"])
async def close(complaint_id: str, sent: Sent[CloseIn], svc: Svc, who: Handler) -> dict[str, Any]:
    """Close an accepted complaint; a refusal (422) names every problem of the body at once."""
    body = await fitted(sent, svc.check_closing)
    return svc.case_view(
        await svc.close(
            who,
            complaint_id,
            outcome=body.outcome,
            substantiated=body.substantiated,
            satisfaction=body.satisfaction,
        )
    )


# -- suggestions (意见建议) ------------------------------------------------------------------


class AnswerIn(Strict):
    answer: str = Field(min_length=1, max_length=ANSWER_MAX_CHARS, examples=["已责成市场整改"])


class SuggestionReceipt(BaseModel):
    id: str
    tracking_code: str


class SuggestionStatus(BaseModel):
    about: About
    market_id: str | None
    status: SuggestionState
    answer: str | None
    answered_at: str | None


class PublicSuggestion(BaseModel):
    id: str
    about: About
    market_id: str | None
    text: str
    answer: str | None
    answered_at: str | None


@router.post(
    "/suggestions",
    status_code=201,
    tags=["public"],
    dependencies=[Depends(rate_limited("suggestions"))],
    response_model=SuggestionReceipt,
)
async def suggest(sent: Sent[SuggestionSubmission], sugg: Sugg) -> dict[str, Any]:
    """Send a suggestion about a market or the city's campaign (public). Name and phone are
    optional; `publish_answer` lets the answer be shown publicly; `project_id` names a
    renovation plan open for comment (征求群众意见) that it comments on. A refusal (422) names
    every problem of the body at once."""
    body = await fitted(sent, sugg.check)
    s = await sugg.submit(body)
    return {"id": s.suggestion_id, "tracking_code": s.tracking_code}


@router.get(
    "/suggestions/track/{tracking_code}",
    tags=["public"],
    dependencies=[Depends(rate_limited("track"))],
    response_model=SuggestionStatus,
)
async def track_suggestion(tracking_code: str, sugg: Sugg) -> dict[str, Any]:
    """Whether a suggestion was answered, and the answer — nothing personal."""
    return (await sugg.by_tracking_code(tracking_code)).public_status()


@router.get(
    "/public/suggestions",
    tags=["public"],
    dependencies=[Depends(rate_limited("public"))],
    response_model=list[PublicSuggestion],
)
async def public_suggestions(
    sugg: Sugg,
    market_id: Annotated[str | None, Query(max_length=64)] = None,
    about: Annotated[About | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[dict[str, Any]]:
    """Answered suggestions whose author agreed to publication, newest answer first: the text
    and the answer as written, never the author."""
    found = await sugg.published(market_id=market_id, about=about, limit=limit)
    return [s.public_view() for s in found]


@router.get("/suggestions", tags=["suggestions"])
async def list_suggestions(
    sugg: Sugg,
    who: SuggestionReader,
    state: Annotated[SuggestionState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Suggestions the caller may read, newest first: its district's markets' and the
    campaign's (city-wide tokens: all), with the author's contact details."""
    return {"items": [s.staff_view() for s in await sugg.listed(who, state=state, limit=limit)]}


@router.post("/suggestions/{suggestion_id}/answer", tags=["suggestions"])
async def answer_suggestion(
    suggestion_id: str, body: AnswerIn, sugg: Sugg, who: Handler
) -> dict[str, Any]:
    """Answer a suggestion, once (409 when already answered); the actor is recorded."""
    return (await sugg.answer(who, suggestion_id, body.answer)).staff_view()
