"""Public disclosure (公开): late milestones, failed checks, overdue rectifications, and problems
the press, the public or supervisors exposed, with their deadline rectification (舆论监督,
限期整改)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from contracts.campaign import EXPOSURE_SOURCES
from contracts.people import Actor
from services.campaign.domain.campaign import end_of_day, revised
from services.campaign.domain.closed import takes_new_work
from services.campaign.domain.milestones import MILESTONE_LABELS, Milestone
from services.campaign.domain.renovations import CHECK_LABELS, Check, RenovationProject
from services.campaign.domain.text import Problems
from services.runtime.failures import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class Verification:
    """A re-check of an exposed problem's rectification (复查): fixed, or not yet."""

    on: date
    at: datetime
    fixed: bool
    note: str | None
    by: Actor


@dataclass(frozen=True)
class Disclosure:
    id: str
    kind: str
    source_id: str
    state: str
    district: str
    title: str
    title_en: str
    details: tuple[str, ...]
    deadline: datetime
    deadline_date: date
    opened_at: datetime
    campaign_id: str | None = None
    district_name: str | None = None
    market_id: str | None = None
    market_name: str | None = None
    merchant_id: str | None = None
    merchant_name: str | None = None
    stall_no: str | None = None
    resolved_at: datetime | None = None
    version: int = 1
    updated_at: datetime | None = None
    # Exposures (曝光): who exposed the problem and where, who recorded it, when its deadline
    # passed unrectified (flagged once) and the re-checks of its rectification.
    exposure_source: str | None = None
    exposure_reference: str | None = None
    recorded_by: Actor | None = None
    late_flagged_at: datetime | None = None
    verifications: tuple[Verification, ...] = ()
    # When it ended unrectified: its order lapsed, or its market closed for good (停业).
    lapsed_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        return self.state == "open" and now >= self.deadline

    def resolve(self, now: datetime) -> Disclosure | None:
        """Resolved now; None when it already was (nothing to publish)."""
        if self.state == "resolved":
            return None
        return revised(self, now, state="resolved", resolved_at=now)

    def lapse(self, now: datetime) -> Disclosure | None:
        """Over without being rectified: its rectification order lapsed (its merchant left its
        stall, 退出经营), or its market closed for good (停业), so nobody is left to put it right.
        None unless it is open."""
        if self.state != "open":
            return None
        return revised(self, now, state="lapsed", lapsed_at=now)


@dataclass(frozen=True)
class PlaceNames:
    """The names the registry gives a disclosed problem's district and market, where it has
    them (a disclosure falls back on the codes)."""

    district: str | None = None
    market: str | None = None


@dataclass(frozen=True)
class _Place:
    """Where a disclosed problem is, by code and by the names the registry gives."""

    district: str
    market_id: str | None
    names: PlaceNames

    @property
    def name(self) -> str:
        """What the public reads: the market's name, else the district's, else its code."""
        return self.names.market or self.names.district or self.district


def _opened(
    kind: str,
    source_id: str,
    place: _Place,
    *,
    disclosure_id: str,
    now: datetime,
    state: str = "open",
    **content: Any,
) -> Disclosure:
    """A disclosure first published at `now`. `content` is what the kind tells the public (its
    titles, details and deadline) and what only it carries (the campaign, the merchant, the
    exposure, when it was resolved)."""
    return Disclosure(
        id=disclosure_id,
        kind=kind,
        source_id=source_id,
        state=state,
        district=place.district,
        district_name=place.names.district,
        market_id=place.market_id,
        market_name=place.names.market,
        opened_at=now,
        updated_at=now,
        **content,
    )


def disclose_late_milestone(
    milestone: Milestone,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    names: PlaceNames = PlaceNames(),
) -> Disclosure:
    """A late milestone, open while it is missing and resolved once it is recorded."""
    zh, en = MILESTONE_LABELS[milestone.kind]
    place = _Place(milestone.district, milestone.market_id, names)
    where = place.name
    details = [f"应于{milestone.deadline.isoformat()}前{zh}"]
    if milestone.achieved_on is not None:
        details.append(f"已于{milestone.achieved_on.isoformat()}完成")
    else:
        details.append("截至公开时尚未完成")
    done = milestone.achieved_on is not None
    return _opened(
        "late_milestone",
        milestone.id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}未按期{zh}",
        title_en=f"{where}: {en} — deadline {milestone.deadline.isoformat()} missed",
        details=tuple(details),
        deadline=end_of_day(milestone.deadline, tz),
        deadline_date=milestone.deadline,
        now=now,
        state="resolved" if done else "open",
        resolved_at=now if done else None,
        campaign_id=milestone.campaign_id,
    )


def disclose_failed_check(
    project: RenovationProject,
    check: Check,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    names: PlaceNames = PlaceNames(),
) -> Disclosure:
    assert check.rectify_by is not None, "a failed check has a rectification deadline"
    zh, en = CHECK_LABELS[check.kind]
    place = _Place(project.district, project.market_id, names)
    where = place.name
    return _opened(
        "failed_check",
        check.id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}改造工程{zh}检查不合格，限期{check.rectify_by.isoformat()}前整改",
        title_en=f"{where}: renovation {en} check failed; rectify by {check.rectify_by}",
        details=check.findings,
        deadline=end_of_day(check.rectify_by, tz),
        deadline_date=check.rectify_by,
        now=now,
        campaign_id=project.campaign_id,
    )


@dataclass(frozen=True)
class OverdueOrder:
    """What a disclosure needs of an overdue rectification order (from inspection's event)."""

    rectification_id: str
    district: str
    market_id: str
    merchant_id: str | None
    stall_no: str | None
    deadline: datetime
    findings: tuple[str, ...]


def disclose_overdue_rectification(
    order: OverdueOrder,
    *,
    disclosure_id: str,
    tz: ZoneInfo,
    now: datetime,
    names: PlaceNames = PlaceNames(),
    merchant_name: str | None = None,
) -> Disclosure:
    place = _Place(order.district, order.market_id, names)
    where = place.name
    who = " ".join(
        p for p in (where, order.stall_no and f"{order.stall_no}摊位", merchant_name) if p
    )
    deadline_date = order.deadline.astimezone(tz).date()
    return _opened(
        "overdue_rectification",
        order.rectification_id,
        place,
        disclosure_id=disclosure_id,
        title=f"{who} 逾期未整改",
        title_en=f"{who}: rectification overdue since {deadline_date.isoformat()}",
        details=order.findings,
        deadline=order.deadline,
        deadline_date=deadline_date,
        now=now,
        merchant_id=order.merchant_id,
        merchant_name=merchant_name,
        stall_no=order.stall_no,
    )


def still_overdue(
    existing: Disclosure, order: OverdueOrder, *, tz: ZoneInfo, now: datetime
) -> Disclosure | None:
    """A later overdue of the same order (a new deadline passed after a failed re-inspection):
    the disclosure is (re)opened with that deadline; None when nothing changed."""
    if existing.state == "open" and existing.deadline == order.deadline:
        return None
    return revised(
        existing,
        now,
        state="open",
        resolved_at=None,
        deadline=order.deadline,
        deadline_date=order.deadline.astimezone(tz).date(),
        details=order.findings or existing.details,
    )


# -- public exposure and deadline rectification (舆论监督, 限期整改) ------------------------------

# (Chinese, English) names of who exposed a problem.
EXPOSURE_SOURCE_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "press": ("媒体", "the press"),
    "public": ("群众", "the public"),
    "supervision": ("督查", "supervision"),
}
MAX_RECTIFY_DAYS: Final = 365
EXPOSURE_TITLE_MAX: Final = 200
EXPOSURE_REFERENCE_MAX: Final = 200
EXPOSURE_DETAIL_MAX: Final = 500
EXPOSURE_DETAILS_MAX: Final = 50
VERIFY_NOTE_MAX: Final = 1000


@dataclass(frozen=True)
class ExposureReport:
    """A problem the press, a citizen or a supervising body exposed, as a clerk records it."""

    source: str | None
    reference: str
    title: str
    rectify_by: date | None
    details: tuple[str, ...] = ()


def disclose_exposure(
    report: ExposureReport,
    *,
    disclosure_id: str,
    district: str | None,
    market_id: str,
    tz: ZoneInfo,
    today: date,
    now: datetime,
    by: Actor,
    names: PlaceNames = PlaceNames(),
    closed_on: date | None = None,
) -> Disclosure:
    """An exposed problem, public and open until a re-check finds it fixed, with the deadline
    the market has to rectify it by (from today to a year ahead). `district`: the market's,
    None when the registry does not know the market; `closed_on`: the day it closed for good,
    if it did (nobody is left to rectify). Every problem is named at once."""
    problems = Problems()
    if district is None:
        problems.add("market_id", f"no market {market_id!r} is registered")
    takes_new_work(problems, market_id, closed_on)
    if report.source not in EXPOSURE_SOURCES:
        problems.add("source", f"must be one of {', '.join(EXPOSURE_SOURCES)}")
    reference = problems.text("reference", report.reference, limit=EXPOSURE_REFERENCE_MAX)
    title = problems.text("title", report.title, limit=EXPOSURE_TITLE_MAX)
    if len(report.details) > EXPOSURE_DETAILS_MAX:
        problems.add("details", f"at most {EXPOSURE_DETAILS_MAX} lines")
    details = problems.texts("details", report.details, limit=EXPOSURE_DETAIL_MAX)
    rectify_by = problems.day("rectify_by", report.rectify_by)
    if rectify_by and rectify_by < today:
        problems.add(
            "rectify_by", f"{rectify_by.isoformat()} is before today ({today.isoformat()})"
        )
    elif rectify_by and rectify_by > today + timedelta(days=MAX_RECTIFY_DAYS):
        problems.add("rectify_by", f"must be within {MAX_RECTIFY_DAYS} days of today")
    problems.raise_any()
    assert district is not None and report.source is not None and rectify_by is not None
    en = EXPOSURE_SOURCE_LABELS[report.source][1]
    place = _Place(district, market_id, names)
    where = place.name
    return _opened(
        "exposure",
        disclosure_id,
        place,
        disclosure_id=disclosure_id,
        title=f"{where}：{title}",
        title_en=f"{where}: {title} — exposed by {en}; rectify by {rectify_by}",
        details=details,
        deadline=end_of_day(rectify_by, tz),
        deadline_date=rectify_by,
        now=now,
        exposure_source=report.source,
        exposure_reference=reference,
        recorded_by=by,
    )


def flag_late_exposure(d: Disclosure, now: datetime) -> Disclosure | None:
    """An exposure still open after its deadline day, not flagged yet: flagged now (once), the
    public told it is late. None when there is nothing to flag."""
    if d.kind != "exposure" or d.late_flagged_at is not None or not d.overdue(now):
        return None
    line = f"整改期限{d.deadline_date.isoformat()}已过，尚未整改到位"
    return revised(d, now, late_flagged_at=now, details=(*d.details, line))


def verify_exposure(
    d: Disclosure,
    *,
    fixed: bool,
    note: str | None,
    by: Actor,
    today: date,
    now: datetime,
) -> Disclosure:
    """A re-check: fixed resolves the exposure (it leaves the public's open list); not fixed
    keeps it open, and the public reads that it was not. Not fixed needs a note of what is
    still wrong."""
    if d.kind != "exposure":
        raise NotFound(f"disclosure {d.id} is not an exposure")
    if d.state == "resolved":
        reason = f"exposure {d.id} is resolved already; nothing to verify"
        raise Conflict(reason, field="state")
    text = (note or "").strip() or None
    if text is not None and len(text) > VERIFY_NOTE_MAX:
        raise InvalidInput("note", f"must be at most {VERIFY_NOTE_MAX} characters")
    if not fixed and text is None:
        raise InvalidInput("note", "a problem not fixed needs a note of what is still wrong")
    check = Verification(today, now, fixed, text, by)
    if fixed:
        line = f"{today.isoformat()}复查：已整改到位" + (f"（{text}）" if text else "")
    else:
        line = f"{today.isoformat()}复查：未整改到位（{text}）"
    return revised(
        d,
        now,
        state="resolved" if fixed else "open",
        resolved_at=now if fixed else None,
        details=(*d.details, line),
        verifications=(*d.verifications, check),
    )
