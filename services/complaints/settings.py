"""Complaints configuration: `COMPLAINTS_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
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
    # Citizens' photos of complaints (services/complaints/domain/photos.py, docs/integration.md).
    photo_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="the largest photo a citizen may upload"
    )
    photo_ttl_s: float = Field(
        default=3600.0, gt=0, description="an upload no complaint names is deleted after this"
    )
    photo_max_unclaimed: int = Field(
        default=500, ge=1, description="uploads waiting for a complaint at most; 429 beyond"
    )
