"""Complaints configuration: `COMPLAINTS_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class ComplaintsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_")
    service_name: ClassVar[str] = "complaints"
    default_port: ClassVar[int] = 8104

    calendar_file: Path | None = None
    # JSON overrides of the domain policy, e.g. {"acceptance_working_days": 5}.
    policy: str | None = None
    clock_check_interval_s: float = 60.0
