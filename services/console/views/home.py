"""/staff/: the signed-in person's next actions first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.views import self_inspection
from services.console.web import Person, Services, render

router = APIRouter()


@dataclass
class Card:
    title: str
    href: str
    note: str
    count: int | None = None
    alert: bool = False


@router.get("/staff/")
async def staff_home(request: Request, who: Person, services: Services) -> Response:
    p, cards = who.principal, []
    if p.roles <= {"operator"}:  # a market's operator: its own market's 今日自查 first
        done = Form.done(request, self_inspection.DONE)
        return await self_inspection.operator_home(request, who, services, done)
    if p.holds("inspector", "leader", "department"):
        try:
            open_tasks = await services.items(
                "inspection", "/tasks", who.access_token, state="open"
            )
        except ApiError:
            open_tasks = []
        overdue = sum(1 for t in open_tasks if t.get("overdue_at"))
        cards.append(
            Card("检查任务", "/staff/tasks", f"{overdue} 项逾期", len(open_tasks), overdue > 0)
        )
        cards.append(Card("整改复查", "/staff/rectifications", "到期的整改通知与复查"))
    if p.holds("handler", "leader"):
        cards.append(
            Card("投诉队列", "/staff/complaints", "受理期限 7 个工作日，调解期限 45 个工作日")
        )
    if p.holds("clerk"):
        cards.append(Card("登记", "/staff/registry", "市场、商户、终端，证照即将到期"))
    if p.holds("inspector", "handler", "clerk", "leader"):
        cards.append(Card("风险看板", "/staff/risks", "实时风险，按市场、等级、规则筛选"))
    if p.holds("leader"):
        cards.append(Card("总览", "/staff/overview", "考核排名、创建进度、趋势"))
    if p.holds("department", "clerk", "leader"):
        cards.append(await _meetings_card(services, who.access_token))
    if p.holds("department", "inspector", "leader"):
        cards.append(await _cases_card(services, who.access_token))
    if p.holds("leader"):
        cards.append(Card("红黑榜", "/staff/honours", "每月市场与商户红榜、黑榜"))
    if p.holds("clerk", "inspector"):
        cards.append(await _reports_card(services, who.access_token))
    if p.holds("clerk"):
        cards.append(await _training_card(services, who.access_token))
    if p.holds("clerk", "inspector", "leader"):
        cards.append(await _exposures_card(services, who.access_token))
    if p.holds("clerk", "leader"):
        cards.append(await _renovations_card(services, who.access_token))
    return render(request, "home.html", who, cards=cards)


async def _listed(services: Backend, path: str, token: str, **params: Any) -> list[Any] | None:
    """What a card counts; None when the service does not answer it (the card then only links)."""
    try:
        return await services.items("campaign", path, token, **params)
    except ApiError:
        return None


async def _meetings_card(services: Backend, token: str) -> Card:
    """联席会议: the open action items, the late ones counted in red."""
    items = await _listed(services, "/action-items", token, state="open", limit=1000)
    if items is None:
        return Card("联席会议", "/staff/meetings", "会议纪要与议定事项")
    late = sum(1 for i in items if i.get("late"))
    note = f"议定事项 {late} 项逾期" if late else "未办结的议定事项"
    return Card("联席会议", "/staff/meetings", note, len(items), late > 0)


async def _cases_card(services: Backend, token: str) -> Card:
    """联合执法: the cases waiting for a decision."""
    cases = await _listed(services, "/enforcement-cases", token, state="open")
    if cases is None:
        return Card("联合执法", "/staff/enforcement", "严重问题与投诉移送的案件")
    return Card("联合执法", "/staff/enforcement", "待决定的案件", len(cases))


async def _reports_card(services: Backend, token: str) -> Card:
    """专班汇报: the reports of the district late and still not filed, in red."""
    late = await _listed(services, "/reports", token, state="late")
    if late is None:
        return Card("专班汇报", "/staff/reports", "各市场专班定期汇报")
    note = f"{len(late)} 期逾期未报" if late else "各市场专班定期汇报，下次应报日期"
    return Card("专班汇报", "/staff/reports", note, len(late), bool(late))


async def _training_card(services: Backend, token: str) -> Card:
    """培训: managers' certificates ending within 30 days."""
    soon = await _listed(services, "/certificates", token, expiring_within_days=30)
    if soon is None:
        return Card("培训", "/staff/training", "课程、场次、管理人员合格证")
    note = "合格证即将到期（30 天内）" if soon else "课程、场次、管理人员合格证"
    return Card("培训", "/staff/training", note, len(soon), bool(soon))


async def _exposures_card(services: Backend, token: str) -> Card:
    """曝光整改: the exposed problems not rectified yet, the overdue ones in red."""
    found = await _listed(services, "/exposures", token, state="open", limit=500)
    if found is None:
        return Card("曝光整改", "/staff/exposures", "媒体、群众、督查曝光的问题，限期整改")
    late = sum(1 for d in found if d.get("overdue"))
    note = f"{late} 项逾期未整改" if late else "曝光问题按整改期限"
    return Card("曝光整改", "/staff/exposures", note, len(found), late > 0)


async def _renovations_card(services: Backend, token: str) -> Card:
    """改造项目: plans open for comment, and the comments not answered yet (in red)."""
    projects = await _listed(services, "/renovations", token)
    if projects is None:
        return Card("改造项目", "/staff/renovations", "改造方案征求群众意见")
    consulting = [p["consultation"] for p in projects if p.get("consultation")]
    waiting = sum(int(c.get("unanswered") or 0) for c in consulting)
    open_now = sum(1 for c in consulting if c.get("open"))
    note = f"{waiting} 条群众意见未答复" if waiting else f"{open_now} 个方案正在征求意见"
    return Card("改造项目", "/staff/renovations", note, len(projects), waiting > 0)
