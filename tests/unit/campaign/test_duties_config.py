"""The duties component's configuration: defaults, checks, and reading the campaign's settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from services.campaign.duties.config import CHECKLIST_FILE, DutiesConfig


def test_defaults_are_the_plans() -> None:
    config = DutiesConfig()
    assert (config.report_interval_days, config.window_days) == (14, 30)
    assert config.certificate_notice_days == 30 and config.timezone == "Asia/Shanghai"
    assert config.checklist_path == CHECKLIST_FILE and CHECKLIST_FILE.is_file()
    assert config.closed_weekdays == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"report_interval_days": 0},
        {"window_days": 0},
        {"certificate_notice_days": -1},
        {"check_interval_s": -1},
        {"closed_weekdays": (0,)},
        {"closed_weekdays": (1, 2, 3, 4, 5, 6, 7)},
        {"self_inspection_backfill_days": 31},
    ],
)
def test_nonsense_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DutiesConfig(**changes)  # type: ignore[arg-type]


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(Exception, match="Mars"):
        DutiesConfig(timezone="Mars/Olympus")


def test_from_settings_reads_duties_fields_and_the_timezone() -> None:
    settings = SimpleNamespace(
        timezone="Asia/Urumqi",
        duties_report_interval_days=7,
        duties_checklist_path="/etc/checklist.yaml",
        duties_closed_weekdays=[1],
    )
    config = DutiesConfig.from_settings(settings)
    assert config.timezone == "Asia/Urumqi" and config.report_interval_days == 7
    assert config.checklist_path == Path("/etc/checklist.yaml")
    assert config.closed_weekdays == (1,) and config.window_days == 30
    assert DutiesConfig.from_settings(SimpleNamespace()) == DutiesConfig()
