"""商户信用: a merchant's grade and score, and why — the credit ledger as a timeline, newest
first, each adjustment linked to the task, complaint or risk at its root — with the registry's
name, market, stall and licence, and the patrol plan one click away. Beside an entry, its 信用异议:
a clerk records the merchant's objection there, another clerk decides it there
(views/objections.py posts the forms)."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from contracts.objections import FINDING_KINDS
from services.console import labels, web
from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.licences import licence
from services.console.sessions import Session
from services.console.web import OutOfScope, Person, Services, optional

router = APIRouter()

# What the credit service writes into an adjustment's reason (services/credit facts' detail):
# "task tsk_… passed", "complaint cmp_… (short_weight) substantiated", "confirmed risk r1, r2".
_TASK = re.compile(r"\btask ([\w-]+)")
_COMPLAINT = re.compile(r"\bcomplaint ([\w-]+)(?: \((\w+)\))?")
_RECTIFICATION = re.compile(r"\brectification ([\w-]+)")
_RISKS = re.compile(r"\bconfirmed risk ([\w-]+(?:, [\w-]+)*)")
_CASE = re.compile(r"\bcase (case_\w+)")


def links(entry: dict[str, Any]) -> list[dict[str, str]]:
    """Where an adjustment came from, as links a person can follow: the task whose result it
    scores, the complaint (named by the entry, or at the root of its chain), the risk at the
    root (its page draws the temperature curve)."""
    reason = str(entry.get("reason") or "")
    found: list[dict[str, str]] = []
    task = _TASK.search(reason)
    if task:
        found.append({"kind": "task", "text": "检查任务", "href": f"/staff/tasks/{task.group(1)}"})
    case = _CASE.search(reason)
    if case:
        href = f"/staff/enforcement/{case.group(1)}"
        found.append({"kind": "case", "text": "联合执法案件", "href": href})
    # complaint id -> its category, where the reason or the chain's root says it
    complaints = {m.group(1): m.group(2) for m in _COMPLAINT.finditer(reason)}
    root = entry.get("root") or {}
    if root.get("kind") == "complaint":
        complaints[str(root["id"])] = complaints.get(str(root["id"])) or root.get("category")
    for complaint_id, category in complaints.items():
        text = (
            f"投诉（{labels.label(labels.COMPLAINT_CATEGORY, category)}）" if category else "投诉"
        )
        found.append(
            {"kind": "complaint", "text": text, "href": f"/staff/complaints/{complaint_id}"}
        )
    risk = risk_root(entry)
    if risk is not None:
        rule = labels.label(labels.RULE, risk.get("rule")) if risk.get("rule") else "食品安全"
        found.append(
            {"kind": "risk", "text": f"风险（{rule}）", "href": f"/staff/risks/{risk['id']}"}
        )
    if _RECTIFICATION.search(reason):
        found.append({"kind": "rectification", "text": "整改通知", "href": "/staff/rectifications"})
    return found


def risk_root(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The risk at the root of the adjustment's chain (rule, severity, when it was raised)."""
    root = entry.get("root") or {}
    if root.get("kind") == "risk":
        return root
    risks = _RISKS.search(str(entry.get("reason") or ""))
    return {"kind": "risk", "id": risks.group(1).split(", ")[0]} if risks else None


DONE: Final = {
    "objection": "异议已登记，由本区其他登记员核实后决定。",
    "corrected": (
        "已更正：这条记录的扣分撤销，信用分随后更新；更正的是检查结论的，其整改通知随之终止。"
    ),
    "upheld": "已决定维持原记录。",
    "withdrawn": "异议已撤回，这条记录可以重新登记异议。",
    "repair": "信用修复申请已登记，由本区其他登记员核实后决定。",
    "repair_repaired": "已准予信用修复：这条记录不再计分，信用分随后更新。",
    "repair_upheld": "已决定不予修复：商户整改到位后，可从这条记录下所示的日期起再次申请。",
    "repair_withdrawn": "信用修复申请已撤回。",
}


def explain(credit: dict[str, Any]) -> list[dict[str, Any]]:
    """The ledger newest first, each entry with its links and the sign of its delta (credit
    says whether the merchant may still dispute it, `disputable`, or ask for its repair,
    `repairable`, or from when it may: `repair_opens_at`)."""
    entries = []
    for entry in sorted(
        credit.get("ledger") or [], key=lambda e: str(e.get("occurred_at")), reverse=True
    ):
        delta = int(entry.get("delta") or 0)
        shown = entry | {
            "links": links(entry),
            "risk": risk_root(entry),
            "sign": "down" if delta < 0 else "up" if delta > 0 else "zero",
        }
        if entry.get("another_registration"):
            # Recorded at another registration of the business: its objections are handled
            # on that registration's page, by its district.
            shown["objection"] = None
        entries.append(shown)
    return entries


async def _credit(services: Backend, token: str, merchant_id: str) -> dict[str, Any] | None:
    """The credit explanation; None while the credit service has not scored the merchant yet."""
    try:
        found: dict[str, Any] = await services.get(
            "credit", f"/merchants/{merchant_id}/credit", token
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return found


@router.get("/staff/merchants/{merchant_id}")
async def merchant_page(
    request: Request, merchant_id: str, who: Person, services: Services
) -> Response:
    return await page(request, merchant_id, who, services, Form.done(request, DONE))


async def page(
    request: Request, merchant_id: str, who: Session, services: Backend, form: Form
) -> Response:
    """The merchant's page, first shown or with an objection form refused."""
    token = who.access_token
    found, scored = await asyncio.gather(
        services.get("registry", f"/merchants/{merchant_id}", token),
        _credit(services, token, merchant_id),
        return_exceptions=True,
    )
    for answer in (found, scored):
        if isinstance(answer, BaseException) and not isinstance(answer, ApiError):
            raise answer
    merchant = found if isinstance(found, dict) else None
    credit = scored if isinstance(scored, dict) else None
    refused = any(isinstance(a, ApiError) and a.status == 403 for a in (found, scored))
    if refused or (merchant is None and credit is None):
        failed = found if isinstance(found, ApiError) else scored
        if isinstance(failed, ApiError) and failed.status not in (403, 404):
            return web.failed(request, who, failed)
        raise OutOfScope("商户")
    market_id = (merchant or credit or {}).get("market_id")
    market = await optional(services.get("registry", f"/markets/{market_id}", token), None)
    return form.page(
        request,
        "merchants/credit.html",
        who,
        merchant_id=merchant_id,
        may_act_on_objections=who.principal.holds("clerk"),
        me=who.principal.subject,
        decisions=labels.DECISIONS_OF_GROUND,
        finding_kinds=FINDING_KINDS,
        merchant=merchant,
        market=market,
        credit=credit,
        entries=explain(credit) if credit else [],
        licence=licence(merchant) if merchant else None,
        credit_unavailable=scored.message if isinstance(scored, ApiError) else None,
    )
