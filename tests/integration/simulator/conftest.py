"""The registry app in-process (as tests/integration/registry does), for provisioning a city."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import identity
from tests.support.registry_api import registry_settings, running_registry


@pytest.fixture(scope="module")
async def registry(
    kafka: str, database_url: str, secrets_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the registry API, carrying an admin token."""
    settings = registry_settings(kafka, database_url, secrets_env)
    admin = identity.current().auth("admin", "*")
    async with running_registry(settings, auth=admin) as (_, client):
        yield client
