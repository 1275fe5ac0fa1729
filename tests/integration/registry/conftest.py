from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api import RoleClient
from tests.support.registry_api import market_body, registry_settings, running_registry

SESSION_GROUP = f"sentinel-registry-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Api(RoleClient):
    app: object


@pytest.fixture(scope="module")
async def api(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Api]:
    # This session's own group: inspection.events.v1 and registry.campaign.v1 are shared with
    # other runs and services. Modules run one after another and carry on from each other's
    # offsets.
    settings = registry_settings(kafka, database_url, secrets_env, consumer_group=SESSION_GROUP)
    async with running_registry(settings) as (app, client):
        yield Api(client, app)


async def district_with_market(api: Api, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """A new district of its own and a market in it (named `name`, else the usual name)."""
    code = f"v{uuid.uuid4().hex[:8]}"
    r = await api.post("/districts", {"code": code, "name": f"区{code}"})
    assert r.status_code == 201, r.text
    r = await api.post("/markets", market_body(code, *([name] if name else [])))
    assert r.status_code == 201, r.text
    return code, r.json()
