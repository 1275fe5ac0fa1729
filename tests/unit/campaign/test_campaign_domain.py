"""The pure campaign rules: deadline derivation, lateness, milestones, renovation stages and
budgets, disclosures, the progress view."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.campaign.domain.campaign import DEFAULT_RULES, DeadlineRule, end_of_day, plan_campaign
from services.campaign.domain.disclosures import (
    OverdueOrder,
    PlaceNames,
    disclose_failed_check,
    disclose_late_milestone,
    disclose_overdue_rectification,
    still_overdue,
)
from services.campaign.domain.milestones import (
    Expected,
    MilestoneReport,
    due_late_flags,
    expected_milestones,
    flag_missing,
    is_late,
    milestone_status,
    record_milestone,
)
from services.campaign.domain.money import fen_to_yuan, yuan_to_fen
from services.campaign.domain.progress import MarketFacts, progress
from services.campaign.domain.renovations import (
    Amendment,
    BudgetEntry,
    BudgetLine,
    CheckReport,
    RenovationProject,
    ScopeItem,
    StageConflict,
    advance_project,
    amend_project,
    plan_project,
    record_check,
    validate_budget,
    validate_scope,
)
from services.runtime.errors import InvalidInput, status_of
from services.runtime.failures import InvalidInputs
from tests.support.campaign_builders import MOB, NOW, TODAY, campaign, project

SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- deadlines -------------------------------------------------------------------------------


def test_default_deadlines_derive_from_the_mobilisation_date() -> None:
    assert campaign().deadlines() == {
        "work_plan_submitted": date(2026, 3, 11),
        "leadership_structure_submitted": date(2026, 3, 11),
        "deployment_meeting_held": date(2026, 4, 30),
        "task_force_set_up": date(2026, 3, 24),
        "renovation_plan_approved": date(2026, 5, 9),
    }


def test_deadlines_follow_a_moved_mobilisation_date_and_its_year() -> None:
    moved = campaign().reconfigure(NOW, mobilisation_date=date(2027, 2, 28))
    assert moved.version == 2 and moved.year == 2027
    assert moved.deadline("work_plan_submitted") == date(2027, 3, 1)
    assert moved.deadline("deployment_meeting_held") == date(2027, 4, 30)


def test_every_rule_kind_is_configurable() -> None:
    c = campaign(
        work_plan_submitted=DeadlineRule(days_after_mobilisation=3),
        deployment_meeting_held=DeadlineRule(month_day=(5, 15)),
        renovation_plan_approved=DeadlineRule(fixed_date=date(2026, 9, 30)),
    )
    assert c.deadline("work_plan_submitted") == date(2026, 3, 13)
    assert c.deadline("deployment_meeting_held") == date(2026, 5, 15)
    assert c.deadline("renovation_plan_approved") == date(2026, 9, 30)
    assert c.deadline("leadership_structure_submitted") == date(2026, 3, 11)  # default kept
    assert c.rule("deployment_meeting_held").to_dict() == {"month_day": "05-15"}


def test_a_deadline_before_mobilisation_is_refused_naming_the_milestone() -> None:
    with pytest.raises(InvalidInput) as err:
        plan_campaign("c", "x", date(2026, 5, 10), ["zhifu"], {}, NOW)
    assert err.value.field == "deadlines.deployment_meeting_held"
    assert "before the mobilisation date 2026-05-10" in err.value.reason
    # ...unless the campaign's year puts the month-day after it
    later = plan_campaign("c", "x", date(2026, 5, 10), ["zhifu"], {}, NOW, year=2027)
    assert later.deadline("deployment_meeting_held") == date(2027, 4, 30)


def test_feb_29_is_a_month_day_only_in_a_leap_year() -> None:
    rule = DeadlineRule.from_dict({"month_day": "02-29"}, "deadlines.x")
    with pytest.raises(InvalidInput) as err:
        plan_campaign("c", "x", date(2027, 1, 5), ["zhifu"], {"task_force_set_up": rule}, NOW)
    assert err.value.field == "deadlines.task_force_set_up.month_day"
    ok = plan_campaign("c", "x", date(2028, 1, 5), ["zhifu"], {"task_force_set_up": rule}, NOW)
    assert ok.deadline("task_force_set_up") == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "d"),
        ({"days_after_mobilisation": 1, "month_day": "04-30"}, "d"),
        ({"days_after_mobilisation": -1}, "d.days_after_mobilisation"),
        ({"days_after_mobilisation": 1.5}, "d.days_after_mobilisation"),
        ({"month_day": "13-01"}, "d.month_day"),
        ({"fixed_date": "2026-02-30"}, "d.fixed_date"),
        ({"weeks": 2}, "d"),
    ],
)
def test_malformed_rules_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        DeadlineRule.from_dict(raw, "d")
    assert err.value.field == field


def test_rules_round_trip_through_their_dict_form() -> None:
    for rule in (*DEFAULT_RULES.values(), DeadlineRule(fixed_date=date(2026, 4, 1))):
        assert DeadlineRule.from_dict(rule.to_dict()) == rule


def test_campaign_checks_its_districts_and_kinds() -> None:
    with pytest.raises(InvalidInput, match="at least one district"):
        plan_campaign("c", "x", MOB, [], {}, NOW)
    with pytest.raises(InvalidInput, match="listed twice"):
        plan_campaign("c", "x", MOB, ["a", "a"], {}, NOW)
    with pytest.raises(InvalidInput) as err:
        plan_campaign("c", "x", MOB, ["a"], {"tea_party": DeadlineRule(fixed_date=MOB)}, NOW)
    assert err.value.field == "deadlines.tea_party"


# -- lateness --------------------------------------------------------------------------------


def test_a_deadline_passes_when_its_day_is_over() -> None:
    deadline = date(2026, 3, 11)
    assert not is_late(deadline, date(2026, 3, 11))
    assert is_late(deadline, date(2026, 3, 12))


@pytest.mark.parametrize(
    ("achieved", "today", "status"),
    [
        (date(2026, 3, 11), date(2026, 6, 1), "on_time"),  # on the deadline day
        (date(2026, 3, 9), date(2026, 6, 1), "on_time"),  # early
        (date(2026, 3, 12), date(2026, 6, 1), "late"),  # the day after
        (None, date(2026, 3, 11), "pending"),  # not done, still its day
        (None, date(2026, 3, 12), "overdue"),
    ],
)
def test_milestone_status(achieved: date | None, today: date, status: str) -> None:
    assert milestone_status(date(2026, 3, 11), achieved, today) == status


def test_end_of_a_deadline_day_in_city_time() -> None:
    assert end_of_day(date(2026, 4, 30), SHANGHAI) == datetime(2026, 4, 30, 16, tzinfo=UTC)


def _expected(kind: str = "work_plan_submitted", district: str = "zhifu") -> Expected:
    return Expected("cmp_1", "district", district, None, kind, campaign().deadline(kind))


def test_recording_on_time_flags_nothing() -> None:
    change = record_milestone(
        _expected(), None, MilestoneReport(date(2026, 3, 11), documents=(" 芝政发〔2026〕1号 ",)),
        by="clerk", today=TODAY, now=NOW, make_id=lambda: "mst_1",
    )  # fmt: skip
    m = change.milestone
    assert not change.flagged_late
    assert (m.id, m.version, m.on_time, m.late_flagged_at) == ("mst_1", 1, True, None)
    assert m.documents == ("芝政发〔2026〕1号",)


def test_recording_late_flags_it_once_even_when_corrected() -> None:
    first = record_milestone(
        _expected(), None, MilestoneReport(date(2026, 3, 14)), by="clerk", today=TODAY, now=NOW
    )
    assert first.flagged_late and first.milestone.late_flagged_at == NOW
    assert first.milestone.on_time is False
    later = NOW + timedelta(days=1)
    again = record_milestone(
        _expected(),
        first.milestone,
        MilestoneReport(date(2026, 3, 15), note="corrected"),
        by="clerk",
        today=TODAY,
        now=later,
    )
    assert not again.flagged_late
    assert again.milestone.late_flagged_at == NOW and again.milestone.version == 2


def test_recording_a_milestone_flagged_while_missing_does_not_flag_it_again() -> None:
    flagged = flag_missing(_expected(), NOW, make_id=lambda: "mst_9")
    assert (flagged.achieved_on, flagged.late_flagged_at, flagged.on_time) == (None, NOW, None)
    change = record_milestone(
        _expected(), flagged, MilestoneReport(date(2026, 5, 2)), by="c", today=TODAY, now=NOW
    )
    assert not change.flagged_late and change.milestone.id == "mst_9"
    assert change.milestone.status(TODAY) == "late"


def test_a_milestone_flagged_while_missing_is_the_expected_one_in_its_first_version() -> None:
    e = _expected()
    flagged = flag_missing(e, NOW, make_id=lambda: "mst_9")
    assert (flagged.campaign_id, flagged.scope, flagged.district, flagged.market_id) == (
        e.campaign_id,
        e.scope,
        e.district,
        e.market_id,
    )
    assert (flagged.kind, flagged.deadline) == (e.kind, e.deadline)
    assert (flagged.version, flagged.updated_at, flagged.recorded_at) == (1, NOW, None)


def test_a_report_is_checked() -> None:
    def rec(kind: str, report: MilestoneReport) -> None:
        record_milestone(_expected(kind), None, report, by="c", today=TODAY, now=NOW)

    with pytest.raises(InvalidInput) as err:
        rec("work_plan_submitted", MilestoneReport(TODAY + timedelta(days=1)))
    assert err.value.field == "achieved_on"
    with pytest.raises(InvalidInput) as err:
        rec("deployment_meeting_held", MilestoneReport(date(2026, 4, 20)))
    assert err.value.field == "attendees"
    rec("deployment_meeting_held", MilestoneReport(date(2026, 4, 20), attendees=48))
    with pytest.raises(InvalidInput) as err:
        wrong = replace(_expected("task_force_set_up"), scope="district")
        record_milestone(wrong, None, MilestoneReport(MOB), by="c", today=TODAY, now=NOW)
    assert err.value.field == "kind"


def test_expected_milestones_per_district_and_per_market_of_the_campaign() -> None:
    found = expected_milestones(campaign(), [("m1", "zhifu"), ("m2", "laishan"), ("m3", "other")])
    assert len(found) == 2 * 3 + 2 * 2
    assert {(e.scope_id, e.kind) for e in found if e.scope == "market"} == {
        ("m1", "task_force_set_up"),
        ("m1", "renovation_plan_approved"),
        ("m2", "task_force_set_up"),
        ("m2", "renovation_plan_approved"),
    }


def test_due_late_flags_are_past_their_deadline_and_not_known() -> None:
    expected = expected_milestones(campaign(), [("m1", "zhifu")])
    on_deadline = date(2026, 3, 11)
    assert due_late_flags(expected, {}, on_deadline) == []
    due = due_late_flags(expected, {}, date(2026, 3, 12))
    assert {(e.scope_id, e.kind) for e in due} == {
        ("zhifu", "work_plan_submitted"),
        ("zhifu", "leadership_structure_submitted"),
        ("laishan", "work_plan_submitted"),
        ("laishan", "leadership_structure_submitted"),
    }
    known = {(e.scope_id, e.kind): flag_missing(e, NOW) for e in due}
    assert due_late_flags(expected, known, date(2026, 3, 12)) == []  # flagged once
    assert len(due_late_flags(expected, known, TODAY)) == 2 + 2  # meetings; m1: task force, plan


# -- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yuan", "fen"), [("1234.5", 123450), ("0", 0), ("0.01", 1), (7, 700), ("350000.50", 35000050)]
)
def test_yuan_to_fen_is_exact(yuan: str | int, fen: int) -> None:
    assert yuan_to_fen(yuan) == fen
    if fen:
        assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("bad", ["0.001", "-1", "NaN", "abc", "1e20"])
def test_yuan_amounts_that_are_not_money_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        yuan_to_fen(bad, "budget.0.amount_yuan")


def test_budget_has_one_line_per_source_and_something_to_spend() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_budget([BudgetLine("fiscal", 1), BudgetLine("fiscal", 2)])
    assert err.value.field == "budget.1.source"
    with pytest.raises(InvalidInput, match="adds up to nothing"):
        validate_budget([BudgetLine("ppp", 0)])
    with pytest.raises(InvalidInput) as err:
        validate_budget([BudgetLine("lottery", 5)])
    assert err.value.field == "budget.0.source"


# -- renovation projects ---------------------------------------------------------------------


def adv(p: RenovationProject, stage: str, on: date = TODAY) -> RenovationProject:
    return advance_project(p, stage, reached_on=on, by="c", today=TODAY, now=NOW)


def test_a_project_moves_through_its_stages_one_at_a_time() -> None:
    p = project()
    assert (p.stage, p.budget_total_fen, p.committed) == ("planned", 155_000_050, False)
    assert p.budget_by_source() == {"fiscal": 120_000_000, "ppp": 0, "special_fund": 35_000_050}
    for i, stage in enumerate(("approved", "under_construction", "accepted"), start=2):
        p = advance_project(p, stage, reached_on=date(2026, 4, i), by="clerk", today=TODAY, now=NOW)
        assert (p.stage, p.version, p.committed) == (stage, i, True)
    assert [s.stage for s in p.stages] == ["planned", "approved", "under_construction", "accepted"]


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("planned", "under_construction"),
        ("planned", "accepted"),
        ("approved", "planned"),
        ("under_construction", "approved"),
        ("accepted", "accepted"),
        ("planned", "planned"),
    ],
)
def test_an_illegal_transition_is_a_conflict_naming_the_current_stage(
    current: str, to: str
) -> None:
    with pytest.raises(StageConflict) as err:
        adv(project(stage=current), to)
    assert status_of(err.value) == 409
    assert err.value.body()["current_stage"] == current
    assert err.value.body()["errors"][0]["field"] == "stage"


def test_stage_dates_are_in_order_and_not_in_the_future() -> None:
    with pytest.raises(InvalidInput) as err:
        adv(project(), "approved", date(2026, 3, 31))
    assert err.value.field == "reached_on"
    with pytest.raises(InvalidInput):
        adv(project(), "approved", TODAY + timedelta(days=1))


def test_scope_and_budget_change_only_while_planned() -> None:
    amended = amend_project(
        project(), Amendment(budget=[BudgetLine("ppp", 5)], title=" 新标题 "), NOW
    )
    assert (amended.budget_total_fen, amended.title, amended.version) == (5, "新标题", 2)
    approved = adv(project(), "approved")
    with pytest.raises(StageConflict) as err:
        amend_project(approved, Amendment(budget=[BudgetLine("ppp", 5)]), NOW)
    assert err.value.current == "approved"


def _check(result: str, kind: str = "safety", **more: object) -> CheckReport:
    findings = ("临时用电线路裸露",) if result == "fail" else ()
    return CheckReport(kind, result, date(2026, 5, 20), "刘工", findings, **more)  # type: ignore[arg-type]


def test_a_failed_check_blocks_acceptance_until_a_pass_of_its_kind_resolves_it() -> None:
    p = adv(project(), "approved")
    p = advance_project(p, "under_construction", reached_on=TODAY, by="c", today=TODAY, now=NOW)
    failed = record_check(p, _check("fail"), check_id="chk_1", by="c", today=TODAY, now=NOW)
    assert failed.check.rectify_by == date(2026, 6, 4)  # 15 days by default
    assert [c.id for c in failed.project.open_failures()] == ["chk_1"]
    with pytest.raises(StageConflict, match="unresolved failed checks: safety check chk_1"):
        adv(failed.project, "accepted")
    quality = record_check(
        failed.project, _check("pass", "quality"), check_id="chk_2", by="c", today=TODAY, now=NOW
    )
    assert quality.resolved == () and quality.project.open_failures()
    safety = record_check(
        quality.project, _check("pass"), check_id="chk_3", by="c", today=TODAY, now=NOW
    )
    assert [c.id for c in safety.resolved] == ["chk_1"]
    assert safety.project.check("chk_1").resolved_by == "chk_3"  # type: ignore[union-attr]
    accepted = adv(safety.project, "accepted")
    assert accepted.stage == "accepted"


def test_checks_are_checked() -> None:
    with pytest.raises(StageConflict):
        record_check(project(), _check("pass"), check_id="x", by="c", today=TODAY, now=NOW)
    approved = adv(project(), "approved")
    no_findings = replace(_check("fail"), findings=())
    with pytest.raises(InvalidInput) as err:
        record_check(approved, no_findings, check_id="x", by="c", today=TODAY, now=NOW)
    assert err.value.field == "findings"
    with pytest.raises(InvalidInput) as err:
        early = _check("fail", rectify_by=date(2026, 5, 1))
        record_check(approved, early, check_id="x", by="c", today=TODAY, now=NOW)
    assert err.value.field == "rectify_by"


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "scope_items"),
        ([ScopeItem("hygiene", "增设洗手池"), ScopeItem("parking", "划线")], "scope_items.1.area"),
        ([ScopeItem("hygiene", "  ")], "scope_items.0.description"),
    ],
)
def test_a_scope_names_known_areas_with_something_to_do(items: list[ScopeItem], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_scope(items)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "budget"),
        ([BudgetLine("fiscal", -1)], "budget.0.amount_fen"),
        ([BudgetLine("fiscal", 5), BudgetLine("ppp", 10**18)], "budget.1.amount_fen"),
    ],
)
def test_a_budget_line_holds_an_amount_in_range(lines: list[BudgetLine], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_budget(lines)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "palace"}, "kind"),
        ({"district": "penglai"}, "market_id"),  # a district outside the campaign
        ({"title": "  "}, "title"),
        ({"planned_on": TODAY + timedelta(days=1)}, "planned_on"),
    ],
)
def test_a_plan_is_refused_naming_the_field_at_fault(
    changes: dict[str, object], field: str
) -> None:
    fields: dict[str, object] = {
        "project_id": "rnv_1",
        "market_id": "m1",
        "district": "zhifu",
        "kind": "old_market_upgrade",
        "title": "幸福农贸市场提升改造",
        "scope_items": [ScopeItem("hygiene", "增设洗手池")],
        "budget": [BudgetLine("fiscal", 100)],
        "by": "clerk",
        "today": TODAY,
        "now": NOW,
    }
    with pytest.raises(InvalidInput) as err:
        plan_project(campaign(), **(fields | changes))  # type: ignore[arg-type]
    assert err.value.field == field


def test_an_amendment_and_a_stage_name_what_they_refuse() -> None:
    with pytest.raises(InvalidInput) as err:
        amend_project(project(), Amendment(title=" "), NOW)
    assert err.value.field == "title"
    with pytest.raises(InvalidInput) as err:
        adv(project(), "demolished")
    assert err.value.field == "stage"


@pytest.mark.parametrize(
    ("report", "field"),
    [
        (replace(_check("pass"), kind="fire"), "kind"),
        (replace(_check("pass"), result="maybe"), "result"),
        (replace(_check("pass"), checked_on=TODAY + timedelta(days=1)), "checked_on"),
        (replace(_check("pass"), inspector=" "), "inspector"),
        (_check("pass", rectify_by=date(2026, 6, 1)), "rectify_by"),
    ],
)
def test_a_check_report_is_refused_naming_the_field_at_fault(
    report: CheckReport, field: str
) -> None:
    approved = adv(project(), "approved")
    with pytest.raises(InvalidInput) as err:
        record_check(approved, report, check_id="x", by="c", today=TODAY, now=NOW)
    assert err.value.field == field
    assert approved.checks == ()


# -- disclosures -----------------------------------------------------------------------------


def test_a_late_milestone_is_disclosed_open_and_resolved_once() -> None:
    flagged = flag_missing(_expected("deployment_meeting_held", "laishan"), NOW, lambda: "mst_1")
    d = disclose_late_milestone(
        flagged, disclosure_id="dsc_1", tz=SHANGHAI, now=NOW, names=PlaceNames("莱山区")
    )
    assert (d.state, d.source_id, d.deadline_date) == ("open", "mst_1", date(2026, 4, 30))
    assert d.title == "莱山区未按期召开市场经营者部署会"
    assert d.deadline == datetime(2026, 4, 30, 16, tzinfo=UTC) and d.overdue(NOW)
    resolved = d.resolve(NOW)
    assert resolved is not None and (resolved.state, resolved.version) == ("resolved", 2)
    assert resolved.resolve(NOW) is None


def test_a_milestone_recorded_late_is_disclosed_already_resolved() -> None:
    change = record_milestone(
        _expected(), None, MilestoneReport(date(2026, 3, 14)), by="c", today=TODAY, now=NOW
    )
    d = disclose_late_milestone(change.milestone, disclosure_id="d", tz=SHANGHAI, now=NOW)
    assert (d.state, d.resolved_at) == ("resolved", NOW)
    assert "已于2026-03-14完成" in d.details


def test_a_failed_check_is_disclosed_with_its_rectification_deadline() -> None:
    approved = adv(project(), "approved")
    out = record_check(approved, _check("fail"), check_id="chk_1", by="c", today=TODAY, now=NOW)
    d = disclose_failed_check(
        out.project,
        out.check,
        disclosure_id="d",
        tz=SHANGHAI,
        now=NOW,
        names=PlaceNames(market="幸福市场"),
    )
    assert d.title == "幸福市场改造工程安全检查不合格，限期2026-06-04前整改"
    assert (d.deadline_date, d.details, d.state) == (
        date(2026, 6, 4),
        ("临时用电线路裸露",),
        "open",
    )


def test_an_overdue_rectification_is_disclosed_and_reopened_with_a_new_deadline() -> None:
    deadline = datetime(2026, 5, 8, 2, tzinfo=UTC)
    order = OverdueOrder("rec_1", "zhifu", "m1", "mer_1", "A-01", deadline, ("CCH-01 冷链超温",))
    d = disclose_overdue_rectification(
        order,
        disclosure_id="d",
        tz=SHANGHAI,
        now=NOW,
        names=PlaceNames(market="幸福市场"),
        merchant_name="老王",
    )
    assert d.title == "幸福市场 A-01摊位 老王 逾期未整改"
    assert (d.deadline, d.deadline_date) == (deadline, date(2026, 5, 8))
    assert still_overdue(d, order, tz=SHANGHAI, now=NOW) is None
    later = replace(order, deadline=deadline + timedelta(days=7))
    reopened = still_overdue(d.resolve(NOW) or d, later, tz=SHANGHAI, now=NOW)
    assert reopened is not None and reopened.state == "open" and reopened.resolved_at is None
    assert reopened.deadline_date == date(2026, 5, 15)


def test_an_open_disclosure_lapses_once_and_a_resolved_one_does_not() -> None:
    deadline = datetime(2026, 5, 8, 2, tzinfo=UTC)
    order = OverdueOrder("rec_1", "zhifu", "m1", "mer_1", "A-01", deadline, ("CCH-01 冷链超温",))
    d = disclose_overdue_rectification(
        order, disclosure_id="d", tz=SHANGHAI, now=NOW, names=PlaceNames(market="幸福市场")
    )
    ended = d.lapse(NOW + timedelta(days=1))
    assert ended is not None
    assert (ended.state, ended.lapsed_at, ended.resolved_at) == (
        "lapsed",
        NOW + timedelta(days=1),
        None,
    )
    assert ended.version == d.version + 1
    assert ended.lapse(NOW + timedelta(days=2)) is None
    resolved = d.resolve(NOW)
    assert resolved is not None and resolved.lapse(NOW) is None


# -- progress --------------------------------------------------------------------------------


def test_progress_counts_milestones_task_forces_stages_and_money_per_district() -> None:
    c = campaign()
    markets = [
        MarketFacts("m1", "幸福", "zhifu", True),
        MarketFacts("m2", "只楚", "zhifu", False),
        MarketFacts("m3", "莱山", "laishan", True),
        MarketFacts("m4", "别处", "elsewhere", True),
    ]
    rec = lambda kind, scope_id, on: record_milestone(  # noqa: E731
        next(e for e in expected_milestones(c, [(m.id, m.district) for m in markets])
             if e.kind == kind and e.scope_id == scope_id),
        None, MilestoneReport(on, attendees=9), by="c", today=TODAY, now=NOW,
    ).milestone  # fmt: skip
    milestones = [
        rec("work_plan_submitted", "zhifu", date(2026, 3, 11)),
        rec("leadership_structure_submitted", "zhifu", date(2026, 3, 11)),
        rec("deployment_meeting_held", "zhifu", date(2026, 4, 22)),
        rec("task_force_set_up", "m1", date(2026, 3, 20)),
        rec("work_plan_submitted", "laishan", date(2026, 3, 11)),
        rec("leadership_structure_submitted", "laishan", date(2026, 3, 14)),
    ]
    p1 = project()
    p2 = replace(
        adv(project(id="rnv_2", market_id="m2"), "approved"),
        budget=(BudgetLine("fiscal", 1_000), BudgetLine("ppp", 2_000)),
    )
    p3 = project(id="rnv_3", market_id="m3", district="laishan")
    view = progress(
        c,
        district_names={"zhifu": "芝罘区", "laishan": "莱山区"},
        markets=markets,
        milestones=milestones,
        projects=[p1, p2, p3],
        today=date(2026, 4, 15),
    )
    zhifu, laishan = view["districts"]
    assert (zhifu["district"], zhifu["name"]) == ("zhifu", "芝罘区")
    # zhifu: 3 done on time, m1 task force on time; m2 task force overdue, 2 plans pending
    assert zhifu["milestones"] == {
        "expected": 7, "on_time": 4, "late": 0, "missing": 3, "overdue": 1, "pending": 2,
        "missed_deadline": 1,
    }  # fmt: skip
    # laishan: leadership late, meeting not due yet (15 April), m3 task force overdue
    assert laishan["milestones"] == {
        "expected": 5, "on_time": 1, "late": 1, "missing": 3, "overdue": 1, "pending": 2,
        "missed_deadline": 2,
    }  # fmt: skip
    assert zhifu["markets"] == {"total": 2, "with_task_force": 1}
    assert zhifu["markets_without_task_force"] == ["m2"]
    renov = zhifu["renovations"]
    assert renov["by_stage"] == {
        "planned": 1, "approved": 1, "under_construction": 0, "accepted": 0
    }  # fmt: skip
    assert renov["budget"]["fen"] == {
        "fiscal": 120_001_000,
        "ppp": 2_000,
        "special_fund": 35_000_050,
    }
    assert renov["committed"]["fen"] == {"fiscal": 1_000, "ppp": 2_000, "special_fund": 0}
    assert renov["committed"]["yuan"]["fiscal"] == "10.00"
    totals = view["totals"]
    assert totals["milestones"]["expected"] == 12 and totals["markets"]["total"] == 3
    assert totals["renovations"]["budget"]["total_fen"] == 155_000_050 * 2 + 3_000
    only = progress(
        c, district_names={}, markets=markets, milestones=milestones, projects=[p1, p2, p3],
        today=date(2026, 4, 15), only_district="laishan",
    )  # fmt: skip
    assert [d["district"] for d in only["districts"]] == ["laishan"]
    assert only["totals"]["renovations"]["total"] == 1


def test_a_closed_markets_project_not_yet_accepted_is_counted_stopped_apart() -> None:
    """停业: its planned or approved project goes no further — counted `stopped`, neither by
    stage nor in the money; one accepted before the closing stays with its stage and money."""
    c = campaign()
    markets = [MarketFacts("m1", "幸福", "zhifu", True)]
    planned = project()
    approved = adv(project(id="rnv_2", market_id="m2"), "approved")
    built = replace(project(id="rnv_3", market_id="m3"), stage="accepted")
    view = progress(
        c,
        district_names={},
        markets=markets,
        milestones=[],
        projects=[planned, approved, built],
        today=date(2026, 4, 15),
        closed_markets={"m2", "m3"},
    )
    zhifu = view["districts"][0]["renovations"]
    assert (zhifu["total"], zhifu["stopped"]) == (2, 1)
    assert zhifu["by_stage"] == {
        "planned": 1, "approved": 0, "under_construction": 0, "accepted": 1
    }  # fmt: skip
    assert zhifu["budget"]["total_fen"] == planned.budget_total_fen + built.budget_total_fen
    assert view["totals"]["renovations"]["stopped"] == 1


def test_every_problem_of_a_plan_is_named_at_once() -> None:
    with pytest.raises(InvalidInputs) as err:
        plan_project(
            None,
            campaign_id="cmp_gone",
            project_id="rnv_2",
            market_id="m_gone",
            district=None,
            kind="palace",
            title=" ",
            scope_items=[ScopeItem("roof", ""), ScopeItem("hygiene", "增设洗手池")],
            budget=[BudgetLine("lottery", 100), BudgetLine("fiscal", -1)],
            by="clerk",
            today=TODAY,
            now=NOW,
            planned_on=TODAY + timedelta(days=1),
        )
    assert [field for field, _ in err.value.problems] == [
        "campaign_id",
        "market_id",
        "kind",
        "title",
        "scope_items.0.area",
        "scope_items.0.description",
        "budget.0.source",
        "budget.1.amount_fen",
        "planned_on",
    ]


def test_every_problem_of_an_amendment_a_stage_and_a_check_is_named_at_once() -> None:
    with pytest.raises(InvalidInputs) as err:
        amend_project(project(), Amendment(title="", scope_items=[], budget=[]), NOW)
    assert [field for field, _ in err.value.problems] == ["title", "scope_items", "budget"]
    with pytest.raises(InvalidInputs) as err:
        adv(project(), "demolished", on=TODAY + timedelta(days=1))
    assert [field for field, _ in err.value.problems] == ["stage", "reached_on"]
    approved = adv(project(), "approved")
    bad = CheckReport("fire", "fail", TODAY + timedelta(days=1), " ", ("", "x" * 501))
    with pytest.raises(InvalidInputs) as err:
        record_check(approved, bad, check_id="x", by="c", today=TODAY, now=NOW)
    assert [field for field, _ in err.value.problems] == [
        "kind",
        "checked_on",
        "inspector",
        "findings.0",
        "findings.1",
    ]
    assert approved.checks == ()


def test_every_problem_of_a_campaign_and_a_milestone_is_named_at_once() -> None:
    with pytest.raises(InvalidInputs) as err:
        plan_campaign(
            "c",
            " ",
            date(2026, 3, 10),
            ["zhifu", "nowhere"],
            {"tea_party": DeadlineRule(fixed_date=MOB)},
            NOW,
            year=2200,
            known_districts={"zhifu"},
        )
    assert err.value.problems == [
        ("name", "must not be blank"),
        ("districts", "no district with code 'nowhere'"),
        ("deadlines.tea_party", "not a milestone kind"),
        ("year", "must be from 2000 to 2100"),
    ]
    report = MilestoneReport(TODAY + timedelta(days=1), attendees=None, documents=(" ",))
    with pytest.raises(InvalidInputs) as err:
        record_milestone(
            _expected("deployment_meeting_held"), None, report, by="c", today=TODAY, now=NOW
        )
    assert [field for field, _ in err.value.problems] == ["achieved_on", "attendees", "documents"]


def test_every_problem_of_a_budget_given_in_fen_or_yuan_is_named_at_once() -> None:
    entries = [
        BudgetEntry("lottery", amount_fen=1, amount_yuan="1"),
        BudgetEntry("fiscal", amount_yuan="1.001"),
        BudgetEntry("ppp", amount_yuan="-2"),
    ]
    with pytest.raises(InvalidInputs) as err:
        validate_budget(entries)
    assert err.value.problems == [
        ("budget.0.source", "must be one of fiscal, ppp, special_fund"),
        ("budget.0", "give amount_fen or amount_yuan, not both"),
        ("budget.1.amount_yuan", "has more than two decimal places (fen is the smallest unit)"),
        ("budget.2.amount_yuan", "must be a finite amount of at least 0"),
    ]
    lines = validate_budget([BudgetEntry("fiscal", amount_yuan="12.34"), BudgetLine("ppp", 5)])
    assert lines == (BudgetLine("fiscal", 1234), BudgetLine("ppp", 5))
