"""How the duties component is configured: reporting interval, assessment window, notices, the
clock, the checklist file and the city's time zone. Every value has the default the plan asks
for; the campaign's settings (`CAMPAIGN_DUTIES_*` variables) override them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CHECKLIST_FILE = Path(__file__).resolve().parent.parent / "self_inspection_checklist.yaml"


@dataclass(frozen=True)
class DutiesConfig:
    # Task forces report every `report_interval_days` days (定期汇报: every two weeks).
    report_interval_days: int = 14
    # The market's standing is computed over this many days up to yesterday.
    window_days: int = 30
    # Certificates whose last day is within this many days are listed as expiring.
    certificate_notice_days: int = 30
    # How often the clock flags late reports and missed days and republishes standings; 0 turns
    # the periodic job off.
    check_interval_s: float = 300.0
    # The self-inspection checklist (a data file).
    checklist_path: Path = CHECKLIST_FILE
    # Dates are calendar days in the city.
    timezone: str = "Asia/Shanghai"
    # ISO weekdays (1 = Monday .. 7 = Sunday) on which markets close; every day opens otherwise.
    closed_weekdays: tuple[int, ...] = field(default=())
    # How many days back a self-inspection may still be recorded (a weak network at night).
    self_inspection_backfill_days: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.report_interval_days <= 366:
            raise ValueError("report_interval_days: 1 to 366")
        if not 1 <= self.window_days <= 366:
            raise ValueError("window_days: 1 to 366")
        if not 0 <= self.certificate_notice_days <= 366:
            raise ValueError("certificate_notice_days: 0 to 366")
        if self.check_interval_s < 0:
            raise ValueError("check_interval_s: 0 (off) or more")
        if any(not 1 <= d <= 7 for d in self.closed_weekdays) or len(self.closed_weekdays) >= 7:
            raise ValueError("closed_weekdays: ISO weekdays 1..7, not all of them")
        if not 0 <= self.self_inspection_backfill_days <= 30:
            raise ValueError("self_inspection_backfill_days: 0 to 30")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Any) -> DutiesConfig:
        """The config from the campaign's settings: `duties_<field>` attributes (and the
        service-wide `timezone`) where they exist, the defaults elsewhere."""
        values: dict[str, Any] = {}
        timezone = getattr(settings, "timezone", None)
        if timezone:
            values["timezone"] = timezone
        for f in fields(cls):
            value = getattr(settings, f"duties_{f.name}", None)
            if value is not None:
                values[f.name] = value
        if "checklist_path" in values:
            values["checklist_path"] = Path(values["checklist_path"])
        if "closed_weekdays" in values:
            values["closed_weekdays"] = tuple(int(d) for d in values["closed_weekdays"])
        return cls(**values)
