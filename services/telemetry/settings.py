"""Telemetry configuration: `TELEMETRY_*` variables, falling back to the stack-wide ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class TelemetrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRY_")
    service_name: ClassVar[str] = "telemetry"
    default_port: ClassVar[int] = 8102

    terminal_master_secret: SecretStr = SecretStr("")
    # Another topic only for benchmarks and isolated tests; terminals always use the default.
    readings_topic: str = "telemetry.readings.v1"
    future_tolerance_s: float = 300.0
    # A batch's readings first go the Rust fast path (services/telemetry/native.py); false: the
    # Python fast path alone, as before (the oracle of the tests; bench/README.md, issue 20).
    native_verification: bool = True
    batch_max_records: int = 5000
    batch_timeout_ms: int = 20
    silence_check_interval_s: float = 15.0
    # The readings' feed counts as broken once a partition went this long without a successful
    # fetch; silence counts only while it works (services/runtime/feed_health.py).
    feed_stale_after_s: float = Field(default=10.0, gt=0)
    # How often the open-risks gauge is recounted from the database (also at start-up and after
    # each risk change).
    gauge_refresh_interval_s: float = Field(default=15.0, gt=0)
    # Batches that change no risk and emit no event keep the terminals' states and their offsets
    # in memory; they are written together after this many batches or seconds, or with the next
    # batch that does change a risk (services/telemetry/service.py). 1: every batch writes.
    state_flush_batches: int = Field(default=10, ge=1)
    state_flush_interval_s: float = Field(default=1.0, gt=0)
