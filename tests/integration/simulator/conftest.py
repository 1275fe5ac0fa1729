"""The registry app in-process (as tests/integration/registry does), for provisioning a city."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.registry.app import build
from services.registry.settings import RegistrySettings
from tests.support import identity


@pytest.fixture(scope="module")
async def registry(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the registry API, carrying an admin token."""
    settings = RegistrySettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=secrets_env["OIDC_ISSUER"],
        terminal_master_secret=secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"],
        outbox_poll_interval_s=0.1,
    )
    app = build(settings)
    service = app.state.service
    await service.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://registry",
        auth=identity.current().auth("admin", "*"),
    ) as client:
        yield client
    await service.stop()
