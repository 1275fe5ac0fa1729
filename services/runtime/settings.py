"""Configuration from the environment (pydantic-settings), one prefix per service.

Each service subclasses `ServiceSettings` with its own prefix (`REGISTRY_`, `TELEMETRY_`, ...).
The stack-wide variables written to `.run/env` (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`,
`SENTINEL_AUTH_SECRET`, ...) are read as a fallback, so one sourced env file configures every
service while a prefixed variable still overrides it for one service.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource


class _UnprefixedEnv(EnvSettingsSource):
    """Reads the stack-wide names: the field name upper-cased, or `SENTINEL_<FIELD>`."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        for name in (field_name.upper(), f"SENTINEL_{field_name.upper()}"):
            value = self.env_vars.get(name.lower())
            if value is not None:
                return value, field_name, False
        return None, field_name, False


class ServiceSettings(BaseSettings):
    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8100

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/postgres"
    db_schema: str = Field(default="", description="Postgres schema; defaults to the service name")
    db_pool_min: int = 1
    db_pool_max: int = 10
    http_host: str = "127.0.0.1"
    http_port: int = 0
    auth_secret: SecretStr = SecretStr("")
    log_level: str = "INFO"
    log_json: bool = True
    consumer_group: str = ""
    outbox_poll_interval_s: float = 0.5
    outbox_batch_size: int = 500
    handler_max_attempts: int = 3
    retry_backoff_s: float = 0.5
    # Public endpoints, per client address: requests a second on average, and the burst allowed.
    public_rate_per_s: float = 20.0
    public_burst: int = 60

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The prefixed variable wins; the stack-wide one fills in what it leaves unset.
        return (init_settings, env_settings, _UnprefixedEnv(settings_cls), file_secret_settings)

    @property
    def pg_schema(self) -> str:
        return self.db_schema or self.service_name

    @property
    def port(self) -> int:
        return self.http_port or self.default_port

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"sentinel-{self.service_name}"
