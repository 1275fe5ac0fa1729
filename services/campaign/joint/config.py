"""Configuration of joint meetings and enforcement: the clock's interval, the city's time zone and
the departments file (read by policy_files.py). The campaign app fills it from
`CampaignSettings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

DEPARTMENTS_FILE: Final = Path(__file__).resolve().parent.parent / "departments.yaml"


@dataclass(frozen=True)
class JointConfig:
    # How often the clock flags action items past their deadline; 0 turns the periodic job off
    # (tests, or a scheduler calling `Joint.flag_late_items`).
    check_interval_s: float = 600.0
    # Deadlines and days are calendar days in the city's time zone.
    timezone: str = "Asia/Shanghai"
    departments_file: Path = field(default=DEPARTMENTS_FILE)
    # The most items one run of the clock flags (the next run takes the rest).
    batch_limit: int = 500

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
