"""/staff/: the signed-in person's next actions first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.console import clock
from services.console.agenda import (
    Due,
    agenda,
    complaints_due,
    orders_due,
    tasks_due,
    urgency,
)
from services.console.alerts import AlertBook, firing_now
from services.console.backend import ApiError, Backend
from services.console.forms import Form
from services.console.licences import WARNING_DAYS
from services.console.sessions import Session
from services.console.views import (
    department_home,
    overview,
    registry,
    renovations,
    self_inspection,
)
from services.console.web import Person, Services, market_names, optional, render

router = APIRouter()


@dataclass(frozen=True)
class Card:
    title: str
    href: str
    note: str
    count: int | None = None
    alert: bool = False


@dataclass(frozen=True)
class Counted:
    """A card counting what `service` (the campaign, unless said) lists at `path` (or what
    `joint` reads, the request's joint work shared with the 待办 rows): how many, `red` of them
    in red, said by `note`. When the service does not answer, the card says `idle` and only
    links."""

    title: str
    href: str
    idle: str
    path: str | Callable[[department_home.JointWork], Awaitable[list[Any]]]
    note: Callable[[list[Any], int], str]
    red: Callable[[list[Any]], int] = lambda listed: 0
    params: Mapping[str, Any] = field(default_factory=dict)
    # What of the list is the person's to count: a department member's own department's work
    # (department_home.theirs), so that the card agrees with their 待办.
    only: Callable[[Session, Mapping[str, Any]], bool] = lambda who, listed: True
    service: str = "campaign"

    async def card(self, services: Backend, who: Session, joint: department_home.JointWork) -> Card:
        try:
            if isinstance(self.path, str):
                token = who.access_token
                listed = await services.items(self.service, self.path, token, **self.params)
            else:
                listed = await self.path(joint)
        except ApiError:
            return Card(self.title, self.href, self.idle)
        listed = [x for x in listed if self.only(who, x)]
        red = self.red(listed)
        return Card(self.title, self.href, self.note(listed, red), len(listed), red > 0)


def _flagged(key: str) -> Callable[[list[Any]], int]:
    """How many of what is listed have `key` set (late, overdue)."""
    return lambda listed: sum(1 for x in listed if x.get(key))


def _consultations(projects: list[Any]) -> list[Any]:
    return [p["consultation"] for p in projects if p.get("consultation")]


def _unanswered(projects: list[Any]) -> int:
    return sum(int(c.get("unanswered") or 0) for c in _consultations(projects))


def _unresolved(projects: list[Any]) -> int:
    return sum(renovations.open_failures(p) for p in projects)


def _waiting_on_projects(projects: list[Any]) -> int:
    """What the projects wait on the clerk for: comments to answer, failed checks to follow."""
    return _unanswered(projects) + _unresolved(projects)


def _projects_note(projects: list[Any], waiting: int) -> str:
    said = [
        f"{n} {what}"
        for n, what in (
            (_unanswered(projects), "条群众意见未答复"),
            (_unresolved(projects), "项检查不合格未整改"),
        )
        if n
    ]
    if said:
        return "，".join(said)
    return f"{sum(1 for c in _consultations(projects) if c.get('open'))} 个方案正在征求意见"


# A clerk's registry, counted by licences_card; the risk board, counted by risks_card.
REGISTRY = Card("登记", "/staff/registry", "市场、商户、终端，证照即将到期")
RISKS = Card("风险看板", "/staff/risks", "实时风险，按市场、等级、规则筛选")
COMPLAINTS = Card("投诉队列", "/staff/complaints", "受理期限 7 个工作日，调解期限 45 个工作日")
SERIOUS = ("major", "critical")
SUGGESTIONS_NOTE = "市民的意见建议，答复后凭查询码可查"

# Who sees which card, in the order shown, after the inspection tasks' and 待复查 cards.
CARDS: tuple[tuple[tuple[str, ...], Card | Counted], ...] = (
    (("handler", "leader"), COMPLAINTS),
    # The citizens' suggestions waiting for an answer (a plan's comments are 改造项目's).
    (
        ("handler", "leader"),
        Counted(
            "意见建议",
            "/staff/suggestions",
            SUGGESTIONS_NOTE,
            "/suggestions",
            note=lambda waiting, _: f"{len(waiting)} 条待答复" if waiting else SUGGESTIONS_NOTE,
            params={"state": "received", "limit": 1000},
            only=lambda who, suggestion: not suggestion.get("project_id"),
            service="complaints",
        ),
    ),
    (("clerk",), REGISTRY),
    (("inspector", "handler", "clerk", "leader"), RISKS),
    (("leader",), Card("总览", "/staff/overview", "考核排名、创建进度、趋势")),
    # The open action items, the late ones counted in red.
    (
        ("department", "clerk", "leader"),
        Counted(
            "联席会议",
            "/staff/meetings",
            "会议纪要与议定事项",
            department_home.JointWork.items,
            note=lambda items, late: f"议定事项 {late} 项逾期" if late else "未办结的议定事项",
            red=_flagged("late"),
            only=department_home.theirs,
        ),
    ),
    # The cases waiting for a decision.
    (
        ("department", "inspector", "leader"),
        Counted(
            "联合执法",
            "/staff/enforcement",
            "严重问题与投诉移送的案件",
            department_home.JointWork.cases,
            note=lambda cases, _: "待决定的案件",
            only=department_home.theirs,
        ),
    ),
    (("leader",), Card("红黑榜", "/staff/honours", "每月市场与商户红榜、黑榜")),
    # Merchants' objections to their credit records (and requests for 信用修复) waiting for a
    # clerk's decision; those past their deadline (异议处理期限) in red.
    (
        ("clerk", "leader"),
        Counted(
            "信用异议",
            "/staff/objections",
            "商户对信用记录的异议与信用修复申请",
            "/objections",
            note=lambda waiting, late: (
                (f"{len(waiting)} 件待决定" + (f"，{late} 件逾期" if late else ""))
                if waiting
                else "商户对信用记录的异议与信用修复申请"
            ),
            red=_flagged("overdue"),
            params={"state": "open"},
            service="credit",
        ),
    ),
    # The reports of the district late and still not filed, in red.
    (
        ("clerk", "inspector"),
        Counted(
            "专班汇报",
            "/staff/reports",
            "各市场专班定期汇报",
            "/reports",
            note=lambda late, n: f"{n} 期逾期未报" if late else "各市场专班定期汇报，下次应报日期",
            red=len,
            params={"state": "late"},
        ),
    ),
    # Managers' certificates ending within 30 days.
    (
        ("clerk",),
        Counted(
            "培训",
            "/staff/training",
            "课程、场次、管理人员合格证",
            "/certificates",
            note=lambda soon, _: (
                "合格证即将到期（30 天内）" if soon else "课程、场次、管理人员合格证"
            ),
            red=len,
            params={"expiring_within_days": 30},
        ),
    ),
    # The exposed problems not rectified yet, the overdue ones in red.
    (
        ("clerk", "inspector", "leader"),
        Counted(
            "曝光整改",
            "/staff/exposures",
            "媒体、群众、督查曝光的问题，限期整改",
            "/exposures",
            note=lambda found, late: f"{late} 项逾期未整改" if late else "曝光问题按整改期限",
            red=_flagged("overdue"),
            params={"state": "open", "limit": 500},
        ),
    ),
    # Plans open for comment; the comments not answered yet and the failed checks not put
    # right yet (in red).
    (
        ("clerk", "leader"),
        Counted(
            "改造项目",
            "/staff/renovations",
            "改造方案征求意见，质量安全检查",
            "/renovations",
            note=_projects_note,
            red=_waiting_on_projects,
        ),
    ),
)


@router.get("/staff/")
async def staff_home(request: Request, who: Person, services: Services) -> Response:
    p, cards = who.principal, []
    joint = department_home.JointWork(who, services)
    if p.roles <= {"operator"}:  # a market's operator: its own market's 今日自查 first
        done = Form.done(request, self_inspection.DONE)
        return await self_inspection.operator_home(request, who, services, done)
    open_tasks: list[Any] = []
    open_orders: list[Any] | None = None
    if p.holds("inspector", "leader", "department"):
        token = who.access_token
        open_tasks, open_orders = await asyncio.gather(
            optional(services.items("inspection", "/tasks", token, state="open", limit=1000), []),
            optional(
                services.items("inspection", "/rectifications", token, state="open", limit=1000),
                None,
            ),
        )
        overdue = sum(1 for t in open_tasks if t.get("overdue_at"))
        cards.append(
            Card("检查任务", "/staff/tasks", f"{overdue} 项逾期", len(open_tasks), overdue > 0)
        )
        cards.append(orders_card(open_orders))
    # The open complaints, read once for the 投诉队列 card and a handler's 待办 rows.
    open_complaints: list[Any] | None = None
    if p.holds("handler", "leader"):
        open_complaints = await _open_complaints(services, who.access_token)
    # The licences running out, read once for the 登记 card and a clerk's 更新许可证 rows.
    expiring: list[Any] | None = None
    if p.holds("clerk"):
        expiring = await registry.expiring_licences(services, who.access_token)
    for roles, card in CARDS:
        if p.holds(*roles):
            if isinstance(card, Counted):
                card = await card.card(services, who, joint)
            elif card is REGISTRY:
                card = licences_card(expiring)
            elif card is COMPLAINTS:
                card = complaints_card(open_complaints)
            elif card is RISKS:
                listed = services.items(
                    "telemetry", "/risks", who.access_token, state="open", limit=1000
                )
                card = risks_card(await optional(listed, None))
            cards.append(card)
    if "admin" in p.roles:  # the system's operator: its alerts (views/alerts.py)
        alerts = await alerts_card(request)
        # Something firing comes first: last of 15 cards it was ~2000 px down on a phone.
        if alerts.alert:
            cards.insert(0, alerts)
        else:
            cards.append(alerts)
    if p.roles <= {"leader"}:  # a leader reads: 总览 first (docs/console.md), the areas below
        others = [c for c in cards if c.href != "/staff/overview"]
        return await overview.overview_page(request, who, services, others)
    due, markets = await asyncio.gather(
        _due(who, services, open_tasks, open_orders or [], open_complaints or [], joint, expiring),
        department_home.district_markets(who, services),
    )
    shown, more = agenda(*due)
    return render(
        request,
        "home.html",
        who,
        cards=cards,
        due=shown,
        more=more,
        markets=markets,
        markets_shown=department_home.MARKETS_SHOWN,
    )


def orders_card(open_orders: list[Any] | None) -> Card:
    """待复查: the open rectification orders of the district, those past their deadline in red;
    without a count while the inspection service does not answer."""
    if open_orders is None:
        return Card("待复查", "/staff/rectifications", "到期的整改通知与复查")
    late = sum(1 for o in open_orders if o.get("overdue_at"))
    note = f"{late} 项逾期未复查" if late else "整改通知按整改期限复查"
    return Card("待复查", "/staff/rectifications", note, len(open_orders), late > 0)


async def _open_complaints(services: Backend, token: str) -> list[Any] | None:
    """The complaints received (to accept) and accepted (to close); None while the complaints
    service does not answer."""
    received, accepted = await asyncio.gather(
        *(
            optional(services.items("complaints", "/complaints", token, state=s, limit=1000), None)
            for s in ("received", "accepted")
        )
    )
    if received is None or accepted is None:
        return None
    return [*received, *accepted]


def complaints_card(open_complaints: list[Any] | None) -> Card:
    """投诉队列: the complaints not closed yet, those past their running clock's deadline in red
    and those near it said; without a count while complaints does not answer. A leader's home
    only linked to the queue (the console walk)."""
    if open_complaints is None:
        return COMPLAINTS
    now = clock.now()
    marks = [urgency(c, now) for c in open_complaints]
    late, near = marks.count("overdue"), marks.count("nearing")
    if late:
        note = f"{late} 件逾期" + (f"，{near} 件临期" if near else "")
    elif near:
        note = f"{near} 件临期"
    else:
        note = COMPLAINTS.note
    return Card("投诉队列", "/staff/complaints", note, len(open_complaints), late > 0)


def risks_card(open_risks: list[Any] | None) -> Card:
    """风险看板: the open risks of the scope, those 较重 or 严重 said in red; without a count
    while telemetry does not answer. A leader's 总览 read two open risks in its trends while the
    card below said nothing of them (the console walk)."""
    if open_risks is None:
        return RISKS
    serious = sum(1 for r in open_risks if r.get("severity") in SERIOUS)
    if serious:
        note = f"{serious} 项较重及以上，未解除"
    elif open_risks:
        note = "未解除的风险，按市场、等级、规则筛选"
    else:
        note = "没有未解除的风险"
    return Card("风险看板", "/staff/risks", note, len(open_risks), serious > 0)


def licences_card(expiring: list[Any] | None) -> Card:
    """登记: the food licences of the scope ending within 30 days, those already ended in red,
    linked to the clerk's 证照即将到期; without a count while the registry does not answer. The
    clerk's home said only 证照即将到期 while a licence ran out in 14 days (the console walk)."""
    if expiring is None:
        return REGISTRY
    ended = sum(1 for m in expiring if m["licence"]["expired"])
    if ended:
        note = f"证照即将到期，其中 {ended} 户已过期"
    elif expiring:
        note = f"证照 {WARNING_DAYS} 天内到期"
    else:
        note = f"{WARNING_DAYS} 天内没有到期的证照"
    return Card("登记", "/staff/registry#expiring", note, len(expiring), ended > 0)


async def _due(
    who: Session,
    services: Backend,
    open_tasks: list[Any],
    open_orders: list[Any],
    open_complaints: list[Any],
    joint: department_home.JointWork,
    expiring: list[Any] | None = None,
) -> list[list[Due]]:
    """What is due for the person's own work: an inspector's tasks to claim or complete and
    orders to re-inspect, a handler's complaints to accept or close, a department member's
    议定事项 to report done and 联合执法 cases to decide, a clerk's licences to renew. A service
    that does not answer leaves its part out (its card below still links to the list)."""
    p, token, now = who.principal, who.access_token, clock.now()
    calls: dict[str, Awaitable[list[Any]]] = {}
    if "inspector" in p.roles:
        calls["tasks-claimed"] = services.items(
            "inspection", "/tasks", token, state="claimed", limit=1000
        )
    if "department" in p.roles:
        calls["action-items"] = joint.items()
        calls["cases"] = joint.cases()
    licences = (expiring or []) if "clerk" in p.roles else []
    if not calls and "handler" not in p.roles and not licences:
        return []
    # The tasks', orders', complaints' and licences' rows name their market; a department
    # member's rows carry their own names (an item has no market, a case its market's name).
    named = bool(p.roles & {"inspector", "handler"}) or bool(licences)
    names, *listed = await asyncio.gather(
        market_names(services, token) if named else _no_names(),
        *(optional(c, []) for c in calls.values()),
    )
    got = dict(zip(calls, listed, strict=True))
    markets = names or {}
    # Only inspectors claim and complete tasks: the open tasks listed for another role's card
    # (a department member's, a leader's) are not theirs to do.
    tasks = open_tasks + got.get("tasks-claimed", []) if "inspector" in p.roles else []
    cases = open_complaints if "handler" in p.roles else []
    return [
        tasks_due(tasks, p.subject, markets, now),
        orders_due(open_orders if "inspector" in p.roles else [], markets, now),
        complaints_due(cases, markets, now),
        department_home.items_due(got.get("action-items", []), who, clock.today()),
        department_home.cases_due(got.get("cases", []), who),
        licences_due(licences, markets),
    ]


def licences_due(expiring: list[Any], markets: Mapping[str, str]) -> list[Due]:
    """A clerk's 更新许可证 rows: each licence ended or ending within WARNING_DAYS (as listed by
    registry.expiring_licences, each with its `licence`), due on its last valid day, to renew on
    its market's page with the form open (?licence=). The clerk's home had cards and no row."""
    return [
        Due(
            "licence",
            f"{markets.get(str(m.get('market_id')), '市场')} · 摊位 {m.get('stall_no')} · "
            f"{m.get('name')}",
            f"食品经营许可证{'已过期' if m['licence']['expired'] else '即将到期'}",
            department_home._end_of(str(m["licence_valid_until"])),
            m["licence"]["expired"],
            "更新许可证",
            f"/staff/registry/markets/{m.get('market_id')}?licence={m['id']}#m-{m['id']}",
            left=m["licence"]["left"],
        )
        for m in expiring
    ]


async def _no_names() -> dict[str, str] | None:
    return None


async def alerts_card(request: Request) -> Card:
    book: AlertBook = request.app.state.alerts
    # The acknowledged (silenced) ones too: an alert acknowledged but still firing is still
    # something wrong, and a card counting only the others said nothing was.
    held = await firing_now(
        request.app.state.settings.alertmanager_url, timeout_s=1.0, silenced=True
    )
    alerts = held if held is not None else book.firing()
    firing, acknowledged = len(alerts), sum(1 for a in alerts if a.silenced_by)
    if not firing:
        note = "服务运行告警：正在告警与最近通知"
    elif acknowledged:
        note = f"{firing} 项正在告警，其中 {acknowledged} 项已确认"
    else:
        note = f"{firing} 项正在告警"
    return Card("告警", "/staff/alerts", note, firing, firing > 0)
