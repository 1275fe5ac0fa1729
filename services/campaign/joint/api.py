"""Joint meetings (联席会议) and joint enforcement (联合执法) over HTTP: thin routes that parse,
authorise and call `Joint`.

Readers: leader, department, clerk, inspector (and admin), of their district; a district's
people also read the city's meetings. Meetings are recorded by clerks and department staff,
action items reported done by them; enforcement cases are opened, decided and closed by
inspectors and department staff. Department staff report done only their own department's
items and decide or close only the cases their department is involved in (the token's
`department`; services/campaign/domain/ownership.py). Errors name the field and the reason;
a refused request changes nothing and publishes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictInt

from contracts.joint import CASE_SOURCES, SANCTIONS, CaseState, EnforcementCase
from contracts.people import actor_dict
from services.campaign.bodies import choice, text
from services.campaign.domain.enforcement import MAX_SUSPENSION_DAYS, Case
from services.campaign.domain.joint import LONG_TEXT, SHORT_TEXT
from services.campaign.domain.meetings import MAX_DECISIONS, ActionItem, DecisionInput, Meeting
from services.campaign.joint.events import case_body
from services.campaign.joint.service import Joint
from services.campaign.joint.store import ItemRow
from services.runtime import serial
from services.runtime.auth import Principal, require
from services.runtime.inputs import Strict, text_inputs

READERS: tuple[str, ...] = ("leader", "department", "clerk", "inspector")
Reader = Annotated[Principal, Depends(require(*READERS))]
MeetingWriter = Annotated[Principal, Depends(require("clerk", "department"))]
CaseWriter = Annotated[Principal, Depends(require("inspector", "department"))]
Code = Annotated[str, Field(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000)]
ItemState = Literal["open", "late", "done"]


class DecisionIn(Strict):
    decision: str = text(SHORT_TEXT, examples=["一周内完成冷链设施排查"])
    department: Code = Field(description="the owning department's code", examples=["health"])
    deadline: date | None = Field(description="the last day it is on time; not before held_on")


class MeetingIn(Strict):
    district: Code = Field(description="the convening district's code, or `city` (admin)")
    title: str = text(SHORT_TEXT, examples=["第二季度联席会议"])
    held_on: date | None = Field(description="the day it was held (not in the future)")
    departments: list[Code] = Field(
        max_length=50,
        description="the departments present (GET /departments), at least one",
        json_schema_extra={"minItems": 1},
    )
    minutes: str = text(LONG_TEXT)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=MAX_DECISIONS)


class DoneIn(Strict):
    note: str = Field(min_length=1, max_length=LONG_TEXT, examples=["已完成排查, 整改到位"])


class OriginIn(Strict):
    kind: str = choice(CASE_SOURCES, description="`finding`: an inspection task; `complaint`")
    id: str = Field(
        max_length=128,
        description="the task id or the complaint id",
        json_schema_extra={"minLength": 1},
    )


class CaseIn(Strict):
    origin: OriginIn
    departments: list[Code] = Field(max_length=50, json_schema_extra={"minItems": 1})
    facts: str = text(LONG_TEXT)


class DecideIn(Strict):
    sanction: str = choice(SANCTIONS)
    fine_yuan: Decimal | None = Field(
        default=None,
        description="a fine: the amount in yuan (number or string, at most two decimals)",
        examples=["2000.00"],
    )
    suspension_days: StrictInt | None = Field(
        default=None,
        description="a suspension: its days",
        json_schema_extra={"minimum": 1, "maximum": MAX_SUSPENSION_DAYS},
    )
    reasoning: str = text(LONG_TEXT)
    decided_on: date | None = Field(default=None, description="default: today (city time)")


class CloseIn(Strict):
    note: str = Field(min_length=1, max_length=LONG_TEXT, examples=["罚款已缴纳"])


# -- views ------------------------------------------------------------------------------------


def item_view(i: ActionItem, today: date) -> dict[str, Any]:
    return {
        "id": i.item_id,
        **serial.dump(i),
        "late": i.past_deadline(today),
        "on_time": i.on_time,
    }


def row_view(row: ItemRow, today: date) -> dict[str, Any]:
    return item_view(row.item, today) | {
        "district": row.district,
        "meeting_title": row.title,
        "held_on": row.held_on.isoformat(),
    }


def meeting_view(m: Meeting, today: date) -> dict[str, Any]:
    data = serial.dump(m)
    del data["items"]  # shown as `action_items`, each with its state today
    return {
        "id": m.meeting_id,
        **data,
        "action_items": [item_view(i, today) for i in m.items],
    }


class JointRouter(APIRouter):
    """The routes, with the use cases they call (for the app's state, a CLI or tests)."""

    def __init__(self, joint: Joint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.joint = joint


def build_router(joint: Joint) -> JointRouter:
    """The routes, bound to `joint`."""

    # Text Postgres cannot hold (NUL, lone surrogates) is refused up front, naming the field.
    router = JointRouter(joint, dependencies=[Depends(text_inputs)])

    def case_view(c: Case) -> dict[str, Any]:
        market = joint.directory.markets.get(c.market_id)
        merchant = joint.directory.merchants.get(c.merchant_id) if c.merchant_id else None
        fine = c.decision.fine_fen if c.decision else None
        return {
            "id": c.case_id,
            **EnforcementCase.model_validate(case_body(c)).model_dump(mode="json"),
            "market_name": market.name if market else None,
            "merchant_name": merchant.name if merchant else None,
            "fine_yuan": None if fine is None else f"{Decimal(fine) / 100:.2f}",
            "opened_actor": actor_dict(c.opened_actor),
            "decided_actor": actor_dict(c.decided_actor),
            "closed_actor": actor_dict(c.closed_actor),
        }

    # -- meetings --------------------------------------------------------------------------
    @router.get("/departments", tags=["joint meetings"])
    async def departments(who: Reader) -> dict[str, Any]:
        """The departments that take part in joint meetings and enforcement."""
        return {"items": serial.dump_many(joint.departments.items)}

    @router.post("/meetings", status_code=201, tags=["joint meetings"])
    async def record_meeting(body: MeetingIn, who: MeetingWriter) -> dict[str, Any]:
        """Record a joint meeting held (联席会议): the departments present, the minutes, and the
        decisions, each an action item (议定事项) owned by a department with a deadline."""
        meeting = await joint.record_meeting(
            who,
            district=body.district,
            title=body.title,
            held_on=body.held_on,
            departments=body.departments,
            minutes=body.minutes,
            decisions=[DecisionInput(d.decision, d.department, d.deadline) for d in body.decisions],
        )
        return meeting_view(meeting, joint.today())

    @router.get("/meetings", tags=["joint meetings"])
    async def list_meetings(
        who: Reader,
        district: Annotated[str | None, Query(description="a district code, or `city`")] = None,
        limit: Limit = 200,
    ) -> dict[str, Any]:
        found = await joint.meetings(who, district=district, limit=limit)
        today = joint.today()
        return {"items": [meeting_view(m, today) for m in found]}

    @router.get("/meetings/{meeting_id}", tags=["joint meetings"])
    async def get_meeting(meeting_id: str, who: Reader) -> dict[str, Any]:
        return meeting_view(await joint.meeting(who, meeting_id), joint.today())

    @router.post("/meetings/{meeting_id}/items/{item_id}/done", tags=["joint meetings"])
    async def item_done(
        meeting_id: str, item_id: str, body: DoneIn, who: MeetingWriter
    ) -> dict[str, Any]:
        """The owning department reports an action item done (on time by its deadline day): a
        department member only an item of their own department (403 otherwise), a clerk any."""
        meeting, item = await joint.mark_done(who, meeting_id, item_id, note=body.note)
        return item_view(item, joint.today()) | {
            "district": meeting.district,
            "meeting_title": meeting.title,
            "held_on": meeting.held_on.isoformat(),
        }

    @router.get("/action-items", tags=["joint meetings"])
    async def action_items(
        who: Reader,
        state: Annotated[
            ItemState | None, Query(description="open (not done), late (open past deadline)")
        ] = None,
        district: Annotated[str | None, Query()] = None,
        department: Annotated[str | None, Query()] = None,
        limit: Limit = 200,
    ) -> dict[str, Any]:
        """Action items by deadline, the late ones first among the open."""
        rows = await joint.action_items(
            who, state=state, district=district, department=department, limit=limit
        )
        today = joint.today()
        return {"items": [row_view(r, today) for r in rows]}

    # -- enforcement cases -----------------------------------------------------------------
    @router.post("/enforcement-cases", status_code=201, tags=["joint enforcement"])
    async def open_case(body: CaseIn, who: CaseWriter) -> dict[str, Any]:
        """Open a joint enforcement case (联合执法) from a critical finding (an inspection task
        completed with outcome critical) or an accepted complaint. 422 naming `origin.id` when
        it is neither; 409 while a case for it is not closed."""
        case = await joint.open_case(
            who,
            kind=body.origin.kind,
            origin_id=body.origin.id,
            departments=body.departments,
            facts=body.facts,
        )
        return case_view(case)

    @router.get("/enforcement-cases", tags=["joint enforcement"])
    async def list_cases(
        who: Reader,
        state: Annotated[CaseState | None, Query()] = None,
        district: Annotated[str | None, Query()] = None,
        market_id: Annotated[str | None, Query()] = None,
        limit: Limit = 200,
    ) -> dict[str, Any]:
        found = await joint.cases(
            who, state=state, district=district, market_id=market_id, limit=limit
        )
        return {"items": [case_view(c) for c in found]}

    @router.get("/enforcement-cases/{case_id}", tags=["joint enforcement"])
    async def get_case(case_id: str, who: Reader) -> dict[str, Any]:
        return case_view(await joint.case(who, case_id))

    @router.post("/enforcement-cases/{case_id}/decide", tags=["joint enforcement"])
    async def decide(case_id: str, body: DecideIn, who: CaseWriter) -> dict[str, Any]:
        """Decide an open case: a warning, a fine (`fine_yuan`) or a suspension
        (`suspension_days`), with the reasoning. Credit adjusts the merchant's score by it."""
        case = await joint.decide(
            who,
            case_id,
            sanction=body.sanction,
            fine_yuan=body.fine_yuan,
            suspension_days=body.suspension_days,
            reasoning=body.reasoning,
            decided_on=body.decided_on,
        )
        return case_view(case)

    @router.post("/enforcement-cases/{case_id}/close", tags=["joint enforcement"])
    async def close(case_id: str, body: CloseIn, who: CaseWriter) -> dict[str, Any]:
        """Close a decided case once its decision was carried out."""
        return case_view(await joint.close(who, case_id, note=body.note))

    return router
