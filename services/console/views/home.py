"""/staff/: the signed-in person's next actions first."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console.backend import ApiError
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
    return render(request, "home.html", who, cards=cards)
