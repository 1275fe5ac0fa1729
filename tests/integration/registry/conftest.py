from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest

from services.registry.app import build
from services.registry.settings import RegistrySettings
from tests.support.api import RoleClient

SESSION_GROUP = f"sentinel-registry-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Api(RoleClient):
    app: object


@pytest.fixture(scope="module")
async def api(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Api]:
    settings = RegistrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=secrets_env["OIDC_ISSUER"],
        terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
        outbox_poll_interval_s=0.1,
        # This session's own group: inspection.events.v1 and registry.campaign.v1 are shared
        # with other runs and services. Modules run one after another and carry on from each
        # other's offsets.
        consumer_group=SESSION_GROUP,
    )
    app = build(settings)
    service = app.state.service
    await service.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield Api(client, app)
    await service.stop()


def market_body(district: str, name: str = "幸福农贸市场") -> dict[str, object]:
    return {
        "name": name,
        "district": district,
        "kind": "farmers",
        "operator": "幸福市场管理有限公司",
        "address": "幸福路1号",
        "capacity": 800,
        "opening_hours": {"open": "06:00", "close": "19:00"},
    }


def merchant_body(
    market_id: str, stall_no: str, credit_code: str = "914403001922038216"
) -> dict[str, object]:
    return {
        "name": f"商户{stall_no}",
        "market_id": market_id,
        "stall_no": stall_no,
        "credit_code": credit_code,
        "food_licence": "JY13706020012345",
        "licence_valid_until": (date.today() + timedelta(days=365)).isoformat(),
        "categories": ["pork"],
    }
