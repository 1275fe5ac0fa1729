"""Credit configuration: `CREDIT_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.credit.domain.objections import DECISION_WORKING_DAYS, MAX_DECISION_WORKING_DAYS
from services.runtime.settings import ServiceSettings


class CreditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CREDIT_")
    service_name: ClassVar[str] = "credit"
    default_port: ClassVar[int] = 8105

    # A directory of policy files (one version each); the packaged policies when unset.
    policy_dir: Path | None = None
    # How often adjustments that have faded (12 months) are taken out of scores.
    fade_check_interval_s: float = 300.0
    # Market assessments: published on this schedule, over the last `assessment_period_days`.
    assessment_interval_s: float = 86400.0
    assessment_period_days: int = 30
    # The honour and warning list (红黑榜): drawn for the month before once a month has ended
    # (on the 1st, city time); checked this often. Off: only `POST /honours/draw` and
    # `python -m services.credit draw-honours` draw.
    honours_auto_draw: bool = True
    honours_check_interval_s: float = 600.0
    # Objections (信用异议): decided within this many working days of the calendar (the packaged
    # one unless CREDIT_CALENDAR_FILE or CALENDAR_FILE names another); the open ones are counted
    # for the metrics this often.
    objection_working_days: int = Field(
        default=DECISION_WORKING_DAYS, ge=1, le=MAX_DECISION_WORKING_DAYS
    )
    calendar_file: Path | None = None
    objection_count_interval_s: float = 60.0
