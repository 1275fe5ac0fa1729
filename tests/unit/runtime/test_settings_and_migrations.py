from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from services.runtime.migrations import MigrationError, discover
from services.runtime.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    service_name: ClassVar[str] = "demo"
    default_port: ClassVar[int] = 8199

    master_secret: SecretStr = SecretStr("")


def test_stack_wide_variables_fill_in_and_prefixed_ones_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "stack:9092")
    monkeypatch.setenv("OIDC_ISSUER", "http://idp:8180/realms/sentinel")
    monkeypatch.setenv("DATABASE_URL", "postgresql://stack/db")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://own/db")
    s = DemoSettings()
    assert s.kafka_bootstrap_servers == "stack:9092"
    assert s.oidc_issuer == "http://idp:8180/realms/sentinel"
    assert s.database_url == "postgresql://own/db"
    assert (s.pg_schema, s.port, s.group_id) == ("demo", 8199, "sentinel-demo")


def test_the_session_timeout_is_kafkas_default_and_no_shorter_than_the_broker_takes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_SESSION_TIMEOUT_MS", raising=False)
    assert DemoSettings().kafka_session_timeout_ms == 10_000
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "6000")
    assert DemoSettings().kafka_session_timeout_ms == 6_000
    monkeypatch.setenv("DEMO_KAFKA_SESSION_TIMEOUT_MS", "5999")
    with pytest.raises(ValidationError, match=r"kafka_session_timeout_ms\n.*greater than or equal"):
        DemoSettings()


def test_the_outbox_waits_30_s_for_kafka_by_default_and_a_service_may_say_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEMO_OUTBOX_PUBLISH_TIMEOUT_S", raising=False)
    assert DemoSettings().outbox_publish_timeout_s == 30.0
    monkeypatch.setenv("DEMO_OUTBOX_PUBLISH_TIMEOUT_S", "5")
    assert DemoSettings().outbox_publish_timeout_s == 5.0
    monkeypatch.setenv("DEMO_OUTBOX_PUBLISH_TIMEOUT_S", "0")  # would give up on every batch
    with pytest.raises(ValidationError, match=r"outbox_publish_timeout_s\n.*greater than 0"):
        DemoSettings()


def test_a_secret_the_service_needs_is_read_or_its_variables_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MASTER_SECRET", raising=False)
    monkeypatch.delenv("DEMO_MASTER_SECRET", raising=False)
    with pytest.raises(SystemExit, match=r"^SENTINEL_MASTER_SECRET \(or DEMO_MASTER_SECRET\) is"):
        DemoSettings().secret("master_secret")
    monkeypatch.setenv("SENTINEL_MASTER_SECRET", "s3cret")
    assert DemoSettings().secret("master_secret") == "s3cret"


def test_migrations_are_discovered_in_order_and_misnamed_files_refused(tmp_path: Path) -> None:
    (tmp_path / "0002_second.sql").write_text("SELECT 2")
    (tmp_path / "0001_first.sql").write_text("SELECT 1")
    found = discover("svc", tmp_path)
    assert [(m.version, m.name) for m in found] == [(1, "first"), (2, "second")]
    assert found[0].checksum != found[1].checksum
    (tmp_path / "3_bad.sql").write_text("SELECT 3")
    with pytest.raises(MigrationError, match="NNNN_name"):
        discover("svc", tmp_path)


def test_registry_migrations_are_well_formed() -> None:
    root = Path(__file__).resolve().parents[3] / "services"
    assert discover("registry", root / "registry" / "migrations")
    assert discover("runtime", root / "runtime" / "migrations")
