"""Inspection configuration: `INSPECTION_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSPECTION_")
    service_name: ClassVar[str] = "inspection"
    default_port: ClassVar[int] = 8103

    timezone: str = "Asia/Shanghai"
    clock_check_interval_s: float = 30.0
