"""The registry app in-process (as tests/integration/registry does), for provisioning a city."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime.auth import issue_token


@pytest.fixture(scope="module")
async def registry(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the registry API, carrying an admin token."""
    settings = RegistrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        auth_secret=secrets_env["SENTINEL_AUTH_SECRET"],
        terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
        outbox_poll_interval_s=0.1,
    )
    app = build(settings)
    service = app.state.service
    await service.start()
    token = issue_token(
        secret=secrets_env["SENTINEL_AUTH_SECRET"], role="admin", district="*", subject="simulator"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://registry",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client
    await service.stop()
