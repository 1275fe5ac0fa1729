"""The campaign service and the registry, in process on the real stack: the registry registers
the city, the campaign learns it from the registry's topics (its registry view) and the registry
follows the campaign's renovation projects into its markets' renovation status."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts import topics
from services.campaign.app import build
from services.campaign.service import Campaigns
from services.campaign.settings import CampaignSettings
from services.registry.app import build as build_registry
from services.runtime.directory import RegistryDirectory
from tests.support.api import RoleClient
from tests.support.city import stack_settings, start_group_at_end
from tests.support.poll import until
from tests.support.registry_api import registry_settings


@dataclass
class Api(RoleClient):
    """The campaign service's API; `registry` is the registry's, where the city is registered."""

    app: Any
    registry: RoleClient
    registry_app: Any

    @property
    def campaigns(self) -> Campaigns:
        found: Campaigns = self.app.state.campaigns
        return found

    @property
    def directory(self) -> RegistryDirectory:
        found: RegistryDirectory = self.app.state.directory
        return found

    async def knows(self, market: dict[str, Any], merchant: dict[str, Any] | None = None) -> None:
        """Wait until the campaign's registry view holds the market at (at least) the version
        the registry answered, and the merchant, if one is given."""

        def known() -> bool:
            held = self.directory.markets.get(market["id"])
            return bool(
                held
                and held.version >= market["version"]
                and (merchant is None or merchant["id"] in self.directory.merchants)
            )

        await until(known, what=f"the campaign knows market {market['id']}")


@pytest.fixture(scope="module")
async def api(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Api]:
    # Groups of this module's own, at the ends of the shared topics the two services consume:
    # they see what the tests cause, not what earlier runs left. (The campaign's registry view
    # has groups of its own and reads the registry's compacted topics from the beginning.)
    registry_group, campaign_group = (f"{n}-{uuid.uuid4().hex[:8]}" for n in ("cr", "cc"))
    for group, topic in (
        (registry_group, topics.INSPECTION_EVENTS.name),
        (registry_group, topics.REGISTRY_CAMPAIGN.name),
        (campaign_group, topics.INSPECTION_EVENTS.name),
        (f"{campaign_group}-suggestions", topics.COMPLAINTS_SUGGESTIONS.name),
    ):
        await start_group_at_end(kafka, group, topic)
    common = stack_settings(kafka, database_url, secrets_env)
    registry_app = build_registry(
        registry_settings(kafka, database_url, secrets_env, consumer_group=registry_group)
    )
    # No periodic clock: tests run the campaign clock themselves, at the time they choose.
    app = build(
        CampaignSettings(**common, consumer_group=campaign_group, campaign_check_interval_s=0)
    )
    for a in (registry_app, app):
        await a.state.service.start()
    # The registry view has read what the topics held (other runs' markets) before tests wait
    # for their own.
    await asyncio.wait_for(app.state.directory.caught_up.wait(), 180)
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://campaign"
            ) as client,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=registry_app), base_url="http://registry"
            ) as reg,
        ):
            yield Api(client, app, RoleClient(reg), registry_app)
    finally:
        for a in (app, registry_app):
            await a.state.service.stop()
