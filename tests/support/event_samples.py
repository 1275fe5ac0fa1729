"""Valid data for the event types whose envelope tests need a concrete instance (SAMPLES), and
for telemetry's events apart from them (TELEMETRY_SAMPLES, built from `risk_data`): the suites that
walk SAMPLES leave telemetry's out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from contracts import campaign, registry
from contracts.telemetry import (
    ReadingRejected,
    RiskAcknowledged,
    RiskCleared,
    RiskEscalated,
    RiskRaised,
)

UPDATED = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

SAMPLES: dict[str, BaseModel] = {
    "registry.market.upserted": registry.MarketUpserted(
        version=1,
        updated_at=UPDATED,
        market_id="mkt_1",
        name="幸福农贸市场",
        district="zhifu",
        kind="farmers",
        operator="幸福市场管理公司",
        address="幸福路1号",
        capacity=800,
        opening_hours=registry.OpeningHours(open="06:00", close="19:00"),
        renovation_status="in_progress",
        task_force=registry.TaskForce(leader="王队长", members=["李", "张"]),
    ),
    "registry.merchant.upserted": registry.MerchantUpserted(
        version=3,
        updated_at=UPDATED,
        merchant_id="mer_1",
        name="老王鲜肉",
        market_id="mkt_1",
        district="zhifu",
        stall_no="A-12",
        credit_code="91370602MA3C1234X5",
        food_licence="JY13706020012345",
        licence_valid_until=date(2027, 12, 31),
        categories=["meat"],
        status="active",
    ),
    "registry.terminal.upserted": registry.TerminalUpserted(
        version=1,
        updated_at=UPDATED,
        terminal_id="trm_1",
        kind="cold_chain",
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        profile="chilled",
        interval_s=30,
        key_version=1,
        status="active",
    ),
}

_CHECK = campaign.Check(
    check_id="chk_1",
    kind="safety",
    result="fail",
    checked_on=date(2026, 5, 20),
    inspector="市住建局质安站 刘工",
    findings=["施工区与经营区未有效隔离"],
    rectify_by=date(2026, 6, 4),
    recorded_by="clerk@zhifu",
    recorded_at=UPDATED,
)
_MILESTONE = {
    "milestone_id": "mst_1",
    "version": 1,
    "campaign_id": "cmp_1",
    "scope": "district",
    "district": "zhifu",
    "market_id": None,
    "kind": "deployment_meeting_held",
    "deadline": date(2026, 4, 30),
    "documents": ["芝政办发〔2026〕12号"],
}

SAMPLES |= {
    "registry.campaign.upserted": campaign.CampaignUpserted(
        campaign_id="cmp_1",
        version=1,
        name="农贸市场提升改造专项行动",
        year=2026,
        mobilisation_date=date(2026, 3, 10),
        districts=["zhifu", "laishan"],
        deadlines=[
            campaign.MilestoneDeadline(
                kind="work_plan_submitted",
                scope="district",
                rule=campaign.DeadlineRule(days_after_mobilisation=1),
                deadline=date(2026, 3, 11),
            ),
            campaign.MilestoneDeadline(
                kind="deployment_meeting_held",
                scope="district",
                rule=campaign.DeadlineRule(month_day="04-30"),
                deadline=date(2026, 4, 30),
            ),
        ],
        created_at=UPDATED,
        updated_at=UPDATED,
    ),
    "registry.milestone.recorded": campaign.MilestoneRecorded(
        **_MILESTONE,
        state="recorded",
        achieved_on=date(2026, 4, 22),
        on_time=True,
        attendees=56,
        recorded_by="clerk@zhifu",
        recorded_at=UPDATED,
        late_flagged_at=None,
    ),
    "registry.milestone.late": campaign.MilestoneLate(
        **_MILESTONE,
        state="missing",
        achieved_on=None,
        on_time=None,
        recorded_by=None,
        recorded_at=None,
        late_flagged_at=UPDATED,
        disclosure_id="dsc_1",
    ),
    "registry.renovation.upserted": campaign.RenovationUpserted(
        project_id="rnv_1",
        version=3,
        campaign_id="cmp_1",
        market_id="mkt_1",
        district="zhifu",
        kind="old_market_upgrade",
        title="幸福农贸市场提升改造工程",
        scope_items=[campaign.ScopeItem(area="hygiene", description="增设洗手池")],
        budget=[
            campaign.BudgetLine(source="fiscal", amount_fen=120_000_000),
            campaign.BudgetLine(source="ppp", amount_fen=80_000_000),
        ],
        budget_total_fen=200_000_000,
        stage="under_construction",
        stages=[
            campaign.StageChange(
                stage="planned", reached_on=date(2026, 3, 30), by="clerk@zhifu", at=UPDATED
            ),
            campaign.StageChange(
                stage="approved", reached_on=date(2026, 4, 19), by="clerk@zhifu", at=UPDATED
            ),
            campaign.StageChange(
                stage="under_construction",
                reached_on=date(2026, 4, 29),
                by="clerk@zhifu",
                at=UPDATED,
            ),
        ],
        checks=[_CHECK],
        change="check_recorded",
        created_at=UPDATED,
        updated_at=UPDATED,
    ),
    "registry.renovation.check_failed": campaign.RenovationCheckFailed(
        project_id="rnv_1",
        campaign_id="cmp_1",
        market_id="mkt_1",
        market_name="幸福农贸市场",
        district="zhifu",
        project_kind="old_market_upgrade",
        project_stage="under_construction",
        check=_CHECK,
        rectify_by=date(2026, 6, 4),
        disclosure_id="dsc_2",
    ),
    "registry.disclosure.upserted": campaign.DisclosureUpserted(
        disclosure_id="dsc_2",
        version=1,
        kind="failed_check",
        state="open",
        source_id="chk_1",
        campaign_id="cmp_1",
        district="zhifu",
        district_name="芝罘区",
        market_id="mkt_1",
        market_name="幸福农贸市场",
        merchant_id=None,
        merchant_name=None,
        stall_no=None,
        title="幸福农贸市场改造工程安全检查不合格，限期2026-06-04前整改",
        title_en="幸福农贸市场: renovation safety check failed; rectify by 2026-06-04",
        details=["施工区与经营区未有效隔离"],
        deadline=datetime(2026, 6, 4, 16, 0, tzinfo=UTC),
        deadline_date=date(2026, 6, 4),
        opened_at=UPDATED,
        resolved_at=None,
        updated_at=UPDATED,
    ),
}


# -- telemetry ---------------------------------------------------------------------------------


def risk_evidence(rule: str = "cold_chain_excursion") -> dict[str, Any]:
    """The evidence of a risk raised by `rule`, as a dict."""
    return {
        "rule": rule,
        "thresholds": {"limit_c": 8.0, "raise_after_s": 900},
        "first_ts": "2026-05-01T07:45:00Z",
        "last_ts": "2026-05-01T08:00:00Z",
        "peak": 10.0,
        "duration_s": 900.0,
        "degree_minutes": 30.0,
        "readings_count": 16,
        "profile": "chilled",
    }


def risk_data(**changes: Any) -> dict[str, Any]:
    """An open minor cold-chain risk at stall A-12 of mer_1 (a risk event's `data`), changed."""
    return {
        "risk_id": "0b5a7c0e-8d3e-5f55-9d4c-1e7f7e0c0a11",
        "rule": "cold_chain_excursion",
        "category": "food_safety",
        "severity": "minor",
        "state": "open",
        "terminal_id": "trm_1",
        "market_id": "mkt_1",
        "merchant_id": "mer_1",
        "stall_no": "A-12",
        "district": "zhifu",
        "raised_at": "2026-05-01T08:00:00Z",
        "evidence": risk_evidence(),
        **changes,
    }


TELEMETRY_SAMPLES: dict[str, Any] = {
    "telemetry.reading.rejected": ReadingRejected.of(
        payload='{"terminal_id": "trm_1"',
        reason="malformed",
        detail="reading: not JSON",
        received_at=UPDATED,
        terminal_id="trm_1",
        channel="kafka",
    ),
    "telemetry.risk.raised": RiskRaised.model_validate(risk_data()),
    "telemetry.risk.escalated": RiskEscalated.model_validate(
        risk_data(severity="major", previous_severity="minor")
    ),
    "telemetry.risk.acknowledged": RiskAcknowledged.model_validate(
        risk_data(acknowledged_by="inspector-li", acknowledged_at="2026-05-01T08:05:00Z")
    ),
    "telemetry.risk.cleared": RiskCleared.model_validate(
        risk_data(state="cleared", cleared_at="2026-05-01T09:00:00Z")
    ),
}
