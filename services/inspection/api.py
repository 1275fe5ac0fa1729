"""Inspection HTTP API (DESIGN §6): thin routes that parse, authorise and call `Inspection`.

Scope: a token sees and acts on the tasks and orders of its own district only (admin and `*`
tokens: the whole city). Another district's task or order answers 404, as if absent, so ids of
other districts' work cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts.inspection import RectificationState, TaskState
from services.inspection.commands import Inspection, order_out, task_out
from services.inspection.domain import FindingReport
from services.runtime.auth import Principal, require
from services.runtime.inputs import text_inputs

# Text Postgres cannot hold (NUL, lone surrogates) is refused up front, naming the field.
router = APIRouter(dependencies=[Depends(text_inputs)])
Inspector = Annotated[Principal, Depends(require("inspector"))]
Reader = Annotated[Principal, Depends(require("inspector", "handler", "leader", "department"))]


def inspection(request: Request) -> Inspection:
    ins: Inspection = request.app.state.inspection
    return ins


Ins = Annotated[Inspection, Depends(inspection)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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


class VerifyIn(Strict):
    passed: bool


@router.get("/tasks", tags=["tasks"])
async def list_tasks(
    ins: Ins,
    who: Reader,
    state: Annotated[TaskState | None, Query()] = None,
    market_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    tasks = await ins.tasks(who, state=state, market_id=market_id, limit=limit)
    return {"items": [task_out(t) for t in tasks]}


@router.post("/tasks/{task_id}/claim", tags=["tasks"])
async def claim_task(task_id: str, ins: Ins, who: Inspector) -> dict[str, Any]:
    """Take the task (one inspector at a time); claiming again as its holder changes nothing."""
    return task_out(await ins.claim(who, task_id))


@router.post("/tasks/{task_id}/complete", tags=["tasks"])
async def complete_task(task_id: str, body: CompleteIn, ins: Ins, who: Inspector) -> dict[str, Any]:
    """Record the outcome; any outcome but `pass` orders rectification (in `rectification`)."""
    task, order = await ins.complete(
        who,
        task_id,
        outcome=body.outcome,
        findings=[FindingReport(f.code, f.note) for f in body.findings],
        departments=body.departments,
        note=body.note,
    )
    return task_out(task) | {"rectification": order_out(order) if order else None}


@router.get("/patrol-plans/{merchant_id}", tags=["patrols"])
async def patrol_plan(merchant_id: str, ins: Ins, who: Reader) -> dict[str, Any]:
    """A merchant's routine patrol plan: its grade, anchor (last inspection or when planning
    began), when it is next due, and the patrol task pending, if any."""
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


@router.post("/rectifications/{rectification_id}/verify", tags=["rectifications"])
async def verify_rectification(
    rectification_id: str, body: VerifyIn, ins: Ins, who: Inspector
) -> dict[str, Any]:
    """Passed: verified. Failed: stays open with a new deadline (or, suspended: re-inspection)."""
    return order_out(await ins.verify(who, rectification_id, passed=body.passed))
