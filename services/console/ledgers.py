"""The ledgers (台账) a district's office exports, as rows of an Excel sheet: by month, quarter or
year, 投诉台账 (every complaint received in the period, how each clock ended and how it closed),
检查台账 (every inspection completed in it, what it found and who did it), 整改台账 (every
rectification order made in it and what became of it), 信用异议台账 (every objection to a
merchant's credit record filed in it, its deadline and its decision) and 考核台账 (the period's
assessment of every market, ranked, with its places on the monthly honour and warning lists); as
of today,
商户台账 (every merchant registered, its licence and how long it has left, its grade).

What leaves the system in a file is what the office needs and no more: the complaints ledger
carries no complainant's name or phone. Pure: the pages fetch the services' items and hand them
here with the names to show."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from services.console import labels
from services.console.clock import CHINA
from services.console.complaint_clocks import UNREACHED_LABEL, clocks
from services.console.licences import licence
from services.console.objection_clock import decision_clock
from services.console.workbook import Cell, Column, Share

PERIOD_FIELD: Final = "period"
_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})|-Q(?P<quarter>[1-4]))?")
_QUARTER_ZH: Final = ("一", "二", "三", "四")
# How far back the form offers each kind; an older period can still be asked for by its value.
OFFERED: Final = {1: 24, 3: 8, 12: 3}
PERIOD_KIND: Final = {1: "月度", 3: "季度", 12: "年度"}


class PeriodRefused(ValueError):
    """A period the form cannot export: the reason, said beside the field."""


def _months(year: int, month: int) -> int:
    return year * 12 + month - 1


def _first_of(months: int) -> date:
    year, month = divmod(months, 12)
    return date(year, month + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month, quarter or year (`months` 1, 3 or 12) of the city's calendar, from
    `first`, its first day."""

    first: date
    months: int = 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=CHINA)

    @property
    def end(self) -> datetime:
        after = _first_of(_months(self.first.year, self.first.month) + self.months)
        return datetime.combine(after, time(), tzinfo=CHINA)

    def _names(self) -> tuple[str, str]:
        year, month = self.first.year, self.first.month
        if self.months == 12:
            return f"{year:04d}", f"{year}年"
        if self.months == 3:
            quarter = (month - 1) // 3
            return f"{year:04d}-Q{quarter + 1}", f"{year}年第{_QUARTER_ZH[quarter]}季度"
        return f"{year:04d}-{month:02d}", f"{year}年{month}月"

    @property
    def text(self) -> str:
        """As the form sends it and the file is named: 2026-11, 2026-Q4 or 2026."""
        return self._names()[0]

    @property
    def label(self) -> str:
        """As the form lists it: 2026年11月, 2026年第四季度 or 2026年."""
        return self._names()[1]

    def month_texts(self) -> tuple[str, ...]:
        """Its months, as YYYY-MM, first to last."""
        at = _months(self.first.year, self.first.month)
        return tuple(_first_of(at + i).strftime("%Y-%m") for i in range(self.months))


def _containing(day: date, months: int) -> Period:
    """The month, quarter or year that `day` falls in."""
    return Period(date(day.year, (day.month - 1) // months * months + 1, 1), months)


def period(value: str | None, today: date) -> Period:
    """The month (`2026-11`), quarter (`2026-Q4`) or year (`2026`) the form sent, in the city's
    calendar; refused when none, not one of those, or begun after today (nothing can have
    happened yet)."""
    if not value:
        raise PeriodRefused("请选择期间")
    found = _PERIOD.fullmatch(value.strip())
    try:
        if found is None:
            raise ValueError(value)
        year = int(found["year"])
        if found["month"]:
            asked = Period(date(year, int(found["month"]), 1))
        elif found["quarter"]:
            asked = Period(date(year, (int(found["quarter"]) - 1) * 3 + 1, 1), 3)
        else:
            asked = Period(date(year, 1, 1), 12)
    except ValueError:
        raise PeriodRefused("请选择月份、季度或年份，例如 2026-11、2026-Q4 或 2026") from None
    if asked.first > today:
        raise PeriodRefused(
            {1: "不能晚于本月", 3: "不能晚于本季度", 12: "不能晚于今年"}[asked.months]
        )
    return asked


def offered(today: date) -> list[tuple[str, list[Period]]]:
    """What the form lists, newest first: the months, the quarters and the years up to the one
    today is in (that one so far)."""
    lists: list[tuple[str, list[Period]]] = []
    for months, count in OFFERED.items():
        now = _containing(today, months)
        at = _months(now.first.year, now.first.month)
        lists.append(
            (
                PERIOD_KIND[months],
                [Period(_first_of(at - i * months), months) for i in range(count)],
            )
        )
    return lists


def last_month(today: date) -> Period:
    """What the form offers first: the month ended last, whose figures are whole."""
    return Period(_first_of(_months(today.year, today.month) - 1))


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


COMPLAINT_COLUMNS: Final = (
    Column("编号", 22),
    Column("收到时间（北京时间）", 18),
    Column("渠道", 12),
    Column("市场", 18),
    Column("摊位号", 8),
    Column("商户", 16),
    Column("类别", 10),
    Column("投诉事项", 40),
    Column("状态", 10),
    Column("受理期限", 18),
    Column("受理情况", 18),
    Column("受理或决定时间", 18),
    Column("不予受理理由", 24),
    Column("调解期限", 18),
    Column("调解情况", 18),
    Column("办结时间", 18),
    Column("办结结果", 12),
    Column("是否属实", 8),
    Column("满意度", 8),
    Column("移送", 24),
)


def complaint_row(
    case: Mapping[str, Any],
    markets: Mapping[str, str],
    merchants: Mapping[str, str],
    now: datetime,
) -> list[Cell]:
    """One complaint as the ledger's row: the clocks as the queue says them at `now` (按期受理,
    逾期办结, 剩余 3 个工作日 …); no complainant's name or phone."""
    acceptance, mediation = clocks(dict(case), now)
    closed = case.get("state") == "closed"
    found = case.get("substantiated")
    rating = case.get("satisfaction")
    moves = [
        f"自{markets.get(m.get('from_market_id', ''), '原市场')}"
        f"移送至{markets.get(m.get('to_market_id', ''), '现市场')}"
        for m in case.get("transfers") or []
    ]
    return [
        str(case.get("id") or case.get("complaint_id") or ""),
        _when(case.get("received_at")),
        labels.label(labels.CHANNEL, case.get("channel")),
        markets.get(str(case.get("market_id")), "—"),
        str(case.get("stall_no") or ""),
        merchants.get(str(case.get("merchant_id")), "") if case.get("merchant_id") else "",
        labels.label(labels.COMPLAINT_CATEGORY, case.get("category")),
        str(case.get("facts") or ""),
        labels.label(labels.COMPLAINT_STATE, case.get("state")),
        _when(acceptance.deadline),
        acceptance.status,
        _when(case.get("accepted_at") or case.get("rejected_at")),
        str(case.get("rejection_reason") or ""),
        _when(mediation.deadline),
        mediation.status,
        _when(case.get("closed_at")),
        labels.label(labels.CLOSE_OUTCOME, case.get("outcome")) if closed else "",
        ("属实" if found else "不属实") if closed and found is not None else "",
        (UNREACHED_LABEL if rating is None else str(rating)) if closed else "",
        "；".join(moves),
    ]


INSPECTION_COLUMNS: Final = (
    Column("编号", 22),
    Column("完成时间（北京时间）", 18),
    Column("检查类型", 10),
    Column("市场", 18),
    Column("摊位号", 8),
    Column("商户", 16),
    Column("检查结果", 10),
    Column("检查发现", 40),
    Column("参与部门", 18),
    Column("检查员", 10),
    Column("期限", 18),
    Column("是否按期", 8),
    Column("整改通知", 10),
    Column("备注", 30),
)


def _finding(finding: Mapping[str, Any]) -> str:
    line = f"{finding.get('code', '')} {finding.get('title_zh') or ''}".strip()
    return f"{line}（{finding['note']}）" if finding.get("note") else line


def inspection_row(
    task: Mapping[str, Any], markets: Mapping[str, str], merchants: Mapping[str, str]
) -> list[Cell]:
    """One completed inspection as the ledger's row: where, why, what it found (each finding
    on its own line), who did it, whether on time and whether it ordered a rectification."""
    completed, due = _when(task.get("completed_at")), _when(task.get("due_at"))
    late = completed is not None and due is not None and completed > due
    departments = [labels.label(labels.DEPARTMENT, d) for d in task.get("departments") or []]
    return [
        str(task.get("id") or task.get("task_id") or ""),
        completed,
        labels.label(labels.REASON_KIND, task.get("reason_kind")),
        markets.get(str(task.get("market_id")), "—"),
        str(task.get("stall_no") or ""),
        merchants.get(str(task.get("merchant_id")), "") if task.get("merchant_id") else "",
        labels.label(labels.OUTCOME, task.get("outcome")),
        "\n".join(_finding(f) for f in task.get("findings") or []),
        "、".join(departments),
        labels.actor_name(task.get("completed_actor")),
        due,
        "逾期" if late else "按期",
        "已下达" if task.get("rectification_id") else "",
        str(task.get("note") or ""),
    ]


RECTIFICATION_COLUMNS: Final = (
    Column("编号", 22),
    Column("下达时间（北京时间）", 18),
    Column("检查编号", 22),
    Column("市场", 18),
    Column("摊位号", 8),
    Column("商户", 16),
    Column("问题程度", 10),
    Column("检查发现", 40),
    Column("整改期限", 18),
    Column("责令暂停经营", 10),
    Column("状态", 10),
    Column("是否逾期", 8),
    Column("复查未通过次数", 10),
    Column("复查通过时间", 18),
    Column("复查人", 10),
    Column("终止原因", 16),
)


def rectification_row(
    order: Mapping[str, Any], markets: Mapping[str, str], merchants: Mapping[str, str]
) -> list[Cell]:
    """One rectification order as the ledger's row: what it ordered and by when, and what
    became of it — verified (when, by whom), missed its deadline, lapsed (why)."""
    verified = order.get("state") == "verified"
    lapsed = order.get("state") == "lapsed"
    return [
        str(order.get("id") or order.get("rectification_id") or ""),
        _when(order.get("ordered_at")),
        str(order.get("task_id") or ""),
        markets.get(str(order.get("market_id")), "—"),
        str(order.get("stall_no") or ""),
        merchants.get(str(order.get("merchant_id")), "") if order.get("merchant_id") else "",
        labels.label(labels.OUTCOME, order.get("severity")),
        "\n".join(_finding(f) for f in order.get("findings") or []),
        _when(order.get("deadline")),
        "是" if order.get("suspension") else "",
        labels.label(labels.RECTIFICATION_STATE, order.get("state")),
        "逾期" if order.get("overdue_at") else "",
        int(order.get("failed_verifications") or 0),
        _when(order.get("verified_at")) if verified else None,
        labels.actor_name(order.get("verified_actor")) if verified else "",
        labels.label(labels.WITHDRAWAL_REASON, order.get("lapse_reason")) if lapsed else "",
    ]


OBJECTION_COLUMNS: Final = (
    Column("编号", 22),
    Column("类型", 10),
    Column("登记时间（北京时间）", 18),
    Column("市场", 18),
    Column("商户", 16),
    Column("异议的记录", 18),
    Column("记录分值", 8),
    Column("记录时间", 18),
    Column("商户陈述", 40),
    Column("登记人", 10),
    Column("处理期限", 18),
    Column("处理情况", 18),
    Column("状态", 10),
    Column("决定或撤回时间", 18),
    Column("决定或撤回人", 10),
    Column("决定或撤回理由", 40),
)


def objection_row(
    objection: Mapping[str, Any], markets: Mapping[str, str], merchants: Mapping[str, str]
) -> list[Cell]:
    """One objection as the ledger's row: the entry it disputes and what it was worth, the
    merchant's statement, its deadline as the list says it at the export (剩余 3 个工作日, 逾期,
    按期决定 …) and how it was closed: the decision, or its withdrawal (已撤回, and why)."""
    decided = objection.get("state") != "open"
    return [
        str(objection.get("objection_id") or ""),
        labels.label(labels.OBJECTION_GROUND, objection.get("ground") or "error"),
        _when(objection.get("filed_at")),
        markets.get(str(objection.get("market_id")), "—"),
        merchants.get(str(objection.get("merchant_id")), ""),
        labels.label(labels.CREDIT_KIND, objection.get("kind")),
        int(objection.get("delta") or 0),
        _when(objection.get("occurred_at")),
        str(objection.get("statement") or ""),
        labels.actor_name(objection.get("filed_by")),
        _when(objection.get("due_at")),
        decision_clock(dict(objection)).status,
        labels.objection_outcome(objection),
        _when(objection.get("decided_at")) if decided else None,
        labels.actor_name(objection.get("decided_by")) if decided else "",
        str(objection.get("reasoning") or "") if decided else "",
    ]


MERCHANT_COLUMNS: Final = (
    Column("市场", 18),
    Column("摊位号", 8),
    Column("商户名称", 18),
    Column("统一社会信用代码", 22),
    Column("食品经营许可证", 20),
    Column("许可证有效期至", 14),
    Column("证照状态", 12),
    Column("经营类别", 16),
    Column("经营状态", 12),
    Column("退出日期", 12),
    Column("退出原因", 20),
    Column("信用等级", 8),
)
# A grade the credit service could not be asked for, as the cell says it.
GRADE_UNAVAILABLE: Final = "暂时无法获取"


def merchant_row(
    merchant: Mapping[str, Any],
    markets: Mapping[str, str],
    grades: Mapping[str, str] | None,
    today: date,
) -> list[Cell]:
    """One registered merchant as the ledger's row: its licence's validity on `today` in the
    registry pages' words (已过期 N 天 / 剩余 N 天 / 有效), its grade (`grades` by merchant id;
    None when credit did not answer)."""
    left = merchant.get("status") == "left"
    valid = licence(merchant, today)
    grade = GRADE_UNAVAILABLE if grades is None else grades.get(str(merchant.get("id")), "")
    return [
        markets.get(str(merchant.get("market_id")), "—"),
        str(merchant.get("stall_no") or ""),
        str(merchant.get("name") or ""),
        str(merchant.get("credit_code") or ""),
        str(merchant.get("food_licence") or ""),
        valid["until"],
        "" if left else valid["status"],
        "、".join(merchant.get("categories") or []),
        labels.label(labels.MERCHANT_STATUS, merchant.get("status")),
        date.fromisoformat(str(merchant["left_on"])) if left and merchant.get("left_on") else None,
        str(merchant.get("left_reason") or "") if left else "",
        "" if left else grade,
    ]


# 考核台账: the assessment's figures, one column a part of the score (credit's names).
_COUNTED: Final = "open_risks"  # a number of risks, where every other part is a share
ASSESSMENT_COLUMNS: Final = (
    Column("本区排名", 10),
    Column("市场", 18),
    Column("区县", 10),
    Column("综合得分", 8),
    Column("商户数", 8),
    *(Column(f"{grade} 级商户", 8) for grade in "ABCD"),
    *(
        Column(f"{label}（项）" if part == _COUNTED else label, 12)
        for part, (label, _) in labels.ASSESSMENT_PART.items()
    ),
    Column("红黑榜", 8),
    Column("上榜理由", 30),
)
# A part with nothing to rate in the month: left out of the score, its weight to the others.
NOT_RATED: Final = "不计分"
# The month's honour and warning list is drawn after it ends (docs/honours.md).
HONOURS_NOT_DRAWN: Final = "未发布"
DISTRICT_TOTAL: Final = "全区"

Listed = Mapping[str, tuple[str, tuple[str, ...]]]
# Each month of a period (YYYY-MM) with its drawn lists; None: that month's is not drawn yet.
MonthsListed = Sequence[tuple[str, Listed | None]]


def market_honours(body: Mapping[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """market id → (the list it is on, the rules it met), of a month's drawn lists."""
    return {
        str(e.get("entity_id")): (kind, tuple(e.get("reasons") or ()))
        for kind in labels.HONOUR_LIST
        for e in body.get(kind) or []
        if e.get("entity") == "market"
    }


def _why(reasons: Sequence[str]) -> str:
    return "；".join(labels.honour_reason(r) for r in reasons)


def _honour_cells(market_id: str, months: MonthsListed) -> tuple[str, str]:
    """A market's 红黑榜 and 上榜理由 cells: a month's list and its rules; over a quarter or a
    year, how often it was on each list and, month by month, why."""
    drawn = [(month, listed) for month, listed in months if listed is not None]
    if not drawn:
        return HONOURS_NOT_DRAWN, ""
    if len(months) == 1:
        kind, reasons = drawn[0][1].get(market_id, ("", ()))
        return labels.HONOUR_LIST.get(kind, ""), _why(reasons)
    on = [(month, *listed[market_id]) for month, listed in drawn if market_id in listed]
    times = Counter(kind for _, kind, _ in on)
    verdict = "、".join(
        f"{name} {times[kind]} 次" for kind, name in labels.HONOUR_LIST.items() if times[kind]
    )
    why = "。".join(
        f"{month} {labels.HONOUR_LIST[kind]}：{_why(reasons)}" for month, kind, reasons in on
    )
    return verdict, why


def _drawn_share(months: MonthsListed) -> str:
    """On a district's line over several months: how many of them have their lists drawn."""
    if len(months) == 1:
        return ""
    return f"已发布 {sum(listed is not None for _, listed in months)}/{len(months)} 个月"


def _figures(assessment: Mapping[str, Any]) -> list[Cell]:
    grades = assessment.get("grades") or {}
    parts: list[Cell] = []
    for part in labels.ASSESSMENT_PART:
        value = assessment.get(part)
        if part == _COUNTED:
            parts.append(int(value or 0))
        else:
            parts.append(NOT_RATED if value is None else Share(value))
    return [
        round(float(assessment.get("score") or 0), 1),
        int(assessment.get("merchants") or 0),
        *(int(grades.get(grade) or 0) for grade in "ABCD"),
        *parts,
    ]


def assessment_rows(
    ranking: Mapping[str, Any], honours: MonthsListed, district_name: Callable[[str], str]
) -> list[list[Cell]]:
    """A period's 考核排名 as the ledger's rows: each district's markets best first, each with
    its score, its merchants' grades and every part of the score, and whether the period's
    monthly lists put it on 红榜 or 黑榜 (and why); then the district's own line (全区) with its
    standing in the city (and, over several months, how many of their lists are drawn)."""
    markets: dict[str, list[Mapping[str, Any]]] = {}
    for m in ranking.get("markets") or []:
        markets.setdefault(str(m.get("district")), []).append(m)
    rolled = {str(d.get("district")): d for d in ranking.get("districts") or []}
    order = sorted(
        set(markets) | set(rolled),
        key=lambda code: ((rolled.get(code) or {}).get("city_rank") or 10**6, code),
    )
    rows: list[list[Cell]] = []
    for code in order:
        for m in sorted(markets.get(code, []), key=lambda m: m.get("rank") or 10**6):
            rank = m.get("rank")
            rows.append(
                [
                    f"{rank}/{m.get('ranked')}" if rank else "",
                    str(m.get("market_name") or m.get("market_id") or ""),
                    district_name(code),
                    *_figures(m),
                    *_honour_cells(str(m.get("market_id")), honours),
                ]
            )
        if code in rolled:
            own = rolled[code]
            standing = own.get("city_rank")
            stands = f"全市第 {standing}/{own.get('city_ranked')}" if standing else ""
            rows.append(
                [
                    stands,
                    DISTRICT_TOTAL,
                    district_name(code),
                    *_figures(own),
                    _drawn_share(honours),
                    "",
                ]
            )
    return rows
