"""The registry in process on the session's stack, as the integration tests run it beside the
service they test or on its own, and the bodies of a market and a merchant its API takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx

from services.registry.app import build
from services.registry.settings import RegistrySettings
from tests.support.credit_codes import fresh_credit_code


def registry_settings(
    kafka: str, database_url: str, secrets_env: dict[str, str], consumer_group: str | None = None
) -> RegistrySettings:
    """The registry on the session's Kafka, Postgres and identity provider, its outbox relayed
    every 0.1 s so tests need not wait for it. `consumer_group` is a group of the caller's own
    on the topics other runs share; without one, the registry's configured group."""
    settings = RegistrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=secrets_env["OIDC_ISSUER"],
        terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
        outbox_poll_interval_s=0.1,
    )
    if consumer_group is None:
        return settings
    return settings.model_copy(update={"consumer_group": consumer_group})


@asynccontextmanager
async def running_registry(
    settings: RegistrySettings, auth: httpx.Auth | None = None
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The registry app, started, and an HTTP client on it (sending `auth`, if given); the
    service stops when the block ends."""
    app = build(settings)
    await app.state.service.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://registry", auth=auth
        ) as client:
            yield app, client
    finally:
        await app.state.service.stop()


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
    market_id: str, stall_no: str, credit_code: str | None = None
) -> dict[str, object]:
    return {
        "name": f"商户{stall_no}",
        "market_id": market_id,
        "stall_no": stall_no,
        "credit_code": credit_code or fresh_credit_code(),
        "food_licence": "JY13706020012345",
        "licence_valid_until": (date.today() + timedelta(days=365)).isoformat(),
        "categories": ["pork"],
    }
