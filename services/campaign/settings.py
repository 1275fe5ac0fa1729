"""Campaign configuration: `CAMPAIGN_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class CampaignSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_")
    service_name: ClassVar[str] = "campaign"
    default_port: ClassVar[int] = 8106

    # How often the campaign clock flags milestones past their deadline; 0 turns the periodic
    # job off (run `python -m services.campaign check-campaigns` from a scheduler instead).
    campaign_check_interval_s: float = 600

    # Task-force reports, operators' self-inspections and training (services/campaign/duties):
    # every two weeks a report; standings over 30 days; certificates listed 30 days ahead.
    duties_report_interval_days: int = 14
    duties_window_days: int = 30
    duties_certificate_notice_days: int = 30
    # How often the duties clock flags late reports and missed days; 0 turns it off.
    duties_check_interval_s: float = 300
    # The self-inspection checklist (YAML); unset: the bundled self_inspection_checklist.yaml.
    duties_checklist_path: Path | None = None
    # ISO weekdays (1 = Monday) on which the city's markets close; none by default.
    duties_closed_weekdays: tuple[int, ...] = ()
    duties_self_inspection_backfill_days: int = 1
    # How often the joint-meetings clock flags action items past their deadline; 0 turns it off.
    joint_check_interval_s: float = 600
    # The departments of joint meetings and enforcement (YAML); unset: the bundled file.
    joint_departments_file: Path | None = None
