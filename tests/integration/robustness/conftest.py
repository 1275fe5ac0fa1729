"""In-process services for the robustness tests, each with a schema and consumer groups of its
own, the groups positioned at the ends of the shared topics they consume."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import topics
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support import scale_intents
from tests.support.city import InProcess, in_process, start_group_at_end


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The readings-at-scale test's hypothesis draw (~12 s of CPU, tests/support/scale_intents.py)
    begins now, in a process of its own, and is ready by the time the test, late in a serial
    run, needs it: it no longer holds up the run."""
    if any(item.path.name == "test_readings_at_scale.py" for item in items):
        scale_intents.begin_drawing()


def pytest_sessionfinish() -> None:
    scale_intents.stop_drawing()


@pytest.fixture(scope="module")
async def telemetry(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[InProcess]:
    """The registry and telemetry; the test's client is telemetry's."""
    group = f"rbt-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, topics.TELEMETRY_READINGS.name)

    def build(common: dict[str, Any]) -> Any:
        return build_telemetry(
            TelemetrySettings(
                **common,
                consumer_group=group,
                db_schema=f"telemetry_{uuid.uuid4().hex[:6]}",
                terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
            )
        )

    async with in_process(kafka, database_url, secrets_env, build) as started:
        yield started


@pytest.fixture(scope="module")
async def credit(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[InProcess]:
    """The registry and credit; the test's client is credit's."""
    group = f"rbc-{uuid.uuid4().hex[:8]}"
    for topic in (
        topics.INSPECTION_EVENTS.name,
        topics.COMPLAINTS_EVENTS.name,
        topics.REGISTRY_MERCHANTS.name,
        topics.TELEMETRY_RISKS.name,
    ):
        await start_group_at_end(kafka, group, topic)

    def build(common: dict[str, Any]) -> Any:
        settings = CreditSettings(
            **common, consumer_group=group, db_schema=f"credit_{uuid.uuid4().hex[:6]}"
        )
        return build_credit(settings)

    async with in_process(kafka, database_url, secrets_env, build) as started:
        yield started


@pytest.fixture(scope="module")
async def campaign(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[InProcess]:
    """The registry and the campaign; the test's client is the campaign's."""
    group = f"rbm-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, topics.INSPECTION_EVENTS.name)

    def build(common: dict[str, Any]) -> Any:
        settings = CampaignSettings(
            **common,
            consumer_group=group,
            db_schema=f"campaign_{uuid.uuid4().hex[:6]}",
            campaign_check_interval_s=0,
        )
        return build_campaign(settings)

    async with in_process(kafka, database_url, secrets_env, build) as started:
        yield started
