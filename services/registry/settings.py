"""Registry configuration: `REGISTRY_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_")
    service_name: ClassVar[str] = "registry"
    default_port: ClassVar[int] = 8101

    terminal_master_secret: SecretStr = SecretStr("")
    licence_check_interval_s: float = 24 * 3600
