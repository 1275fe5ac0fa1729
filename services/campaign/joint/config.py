"""Configuration of joint meetings and enforcement: the clock's interval, the city's time zone and
the departments file. The campaign app fills it from `CampaignSettings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import yaml

from services.campaign.domain.joint import Departments

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


def load_departments(path: Path) -> Departments:
    """The catalogue from its YAML file; ValueError naming the file and the entry when wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the departments file: {exc}") from exc
    return Departments.parse(data, str(path))
