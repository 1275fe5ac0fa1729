"""Every reason the campaign service answers beside a field of the console's campaign pages
(meetings, enforcement, exposures, training, self-inspection, renovations) reads in Chinese,
including those of a form sent with a value no list offered (a stale page or one tampered with).
Each is produced by the campaign's own rules where they can be called, so that a change of
wording there shows here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from contracts.people import Actor
from services.campaign.domain import disclosures, enforcement, meetings, ownership
from services.campaign.domain.joint import Invalid, JointRuleError, Unknown
from services.campaign.joint.config import DEPARTMENTS_FILE
from services.campaign.joint.policy_files import load_departments
from services.console import labels
from services.runtime.failures import InvalidInputs

NOW = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
CATALOGUE = load_departments(DEPARTMENTS_FILE)


def _case_reasons() -> dict[str, str]:
    reasons: dict[str, str] = {}
    for kind in ("bogus", "finding", "complaint"):
        with pytest.raises(Invalid) as exc:
            enforcement.open_case(
                kind=kind,
                origin_id="gone",
                origin=None,
                departments=["health"],
                facts="x",
                active=None,
                catalogue=CATALOGUE,
                now=NOW,
            )
        reasons.update({f"{field}:{kind}": reason for field, reason in exc.value.problems})
    return reasons


def _meeting_reasons() -> dict[str, str]:
    with pytest.raises(Invalid) as exc:
        meetings.record_meeting(
            catalogue=CATALOGUE,
            known_districts={"zhifu"},
            now=NOW,
            tz=TZ,
            district="zhifu",
            title="x",
            held_on=None,
            departments=["health"],
            minutes="x",
            decisions=[],
        )
    return dict(exc.value.problems)


def _exposure_reasons() -> dict[str, str]:
    report = disclosures.ExposureReport("press", "r", "t", date(2026, 5, 20), ("x",) * 51)
    with pytest.raises(InvalidInputs) as exc:
        disclosures.disclose_exposure(
            report,
            disclosure_id="d",
            district="zhifu",
            market_id="m",
            tz=TZ,
            today=date(2026, 5, 10),
            now=NOW,
            by=Actor.of("s", "n"),
        )
    return dict(exc.value.problems)


CASE = _case_reasons()
# A critical finding the district found wrong on the merchant's objection (信用异议).
FOUND_WRONG = enforcement.Origin(
    "finding", "tsk_1", "zhifu", "mkt_1", "mer_1", enforcement.FOUND_WRONG, "ev_1", "risk_1", NOW
).refusal()
MEETING = _meeting_reasons()
EXPOSURE = _exposure_reasons()


@pytest.mark.parametrize(
    ("reason", "chinese"),
    [
        # 联合执法: the case's origin and the sanction, from a stale or tampered form.
        (CASE["origin.kind:bogus"], "请选择案件来源"),
        (CASE["origin.id:finding"], "找不到该来源"),
        (CASE["origin.id:complaint"], "找不到该来源"),
        (FOUND_WRONG, "该检查结论已经信用异议更正，不能据此立案"),
        ("must be one of warning, fine, suspension", "请选择处罚"),
        # 联席会议: a day left out, an action item no longer in the meeting.
        (MEETING["held_on"], "必填"),
        (
            Unknown("item_id", "meeting mtg_1 has no action item 'item_9'").reason,
            "找不到该议定事项",
        ),
        # 曝光: too many detail lines, an exposure gone.
        (EXPOSURE["details"], "最多 50 行"),
        ("no exposure 'dsc_1'", "找不到该曝光问题"),
        ("disclosure dsc_1 is not an exposure", "找不到该曝光问题"),
        # 培训 and 自查: a session, course or follow-up no longer there (duties' `missing`).
        ("no such session", "找不到该培训场次或课程"),
        ("no such course", "找不到该培训场次或课程"),
        ("no such follow-up", "找不到该整改跟进"),
        ("follow-up fu_1 is closed; cannot close", "该整改跟进已完成"),
        # 改造项目: a stage button of a page another clerk already moved on, a check unresolved.
        (
            "the project is approved; it cannot move to approved (the next stage is "
            "under_construction)",
            "项目阶段已变化，请刷新页面后再操作",
        ),
        (
            "the project is accepted; it cannot move to accepted (accepted is the last stage)",
            "项目阶段已变化，请刷新页面后再操作",
        ),
        (
            "cannot accept the project with unresolved failed checks: quality check chk_1",
            "还有未整改合格的质量或安全检查，不能验收",
        ),
        ("must be one of planned, approved, under_construction, accepted", "请选择项目阶段"),
        ("no consultation on renovation project 'rnv_1'", "该项目尚未征求意见"),
    ],
)
def test_a_campaign_reason_reads_in_chinese(reason: str, chinese: str) -> None:
    assert labels.reason_zh(reason) == chinese


def _ownership_reasons() -> list[str]:
    """The refusals of a department member acting on another department's work, as the
    campaign's own rule words them (services/campaign/domain/ownership.py)."""
    item = meetings.ActionItem("item_1", "mtg_1", 1, "排查冷链", "environment", date(2026, 5, 15))
    origin = enforcement.Origin(
        "finding", "task_1", "zhifu", "mkt_1", None, "critical", "evt-1", "risk-1", NOW
    )
    case = enforcement.open_case(
        kind="finding",
        origin_id="task_1",
        origin=origin,
        departments=["health", "commerce"],
        facts="x",
        active=None,
        catalogue=CATALOGUE,
        now=NOW,
    )
    found = []
    for refuse in (
        lambda: ownership.may_report_done("health", item),
        lambda: ownership.may_act_on_case("environment", case, "decide"),
        lambda: ownership.may_report_done(None, item),
    ):
        with pytest.raises(JointRuleError) as exc:
            refuse()
        found.append(str(exc.value))
    return found


def test_a_department_members_refusals_read_in_chinese() -> None:
    other_item, other_case, no_department = _ownership_reasons()
    assert labels.reason_zh(other_item) == "该议定事项由其他部门负责，只能办结本部门的议定事项"
    assert labels.reason_zh(other_case) == "该案件不涉及本部门，只能处理本部门参与的联合执法案件"
    assert labels.reason_zh(no_department).startswith("您的账号未设置所属部门")
