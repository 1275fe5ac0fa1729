from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topics
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from tests.support.city import Clock, Place, bearer, in_process, provision, start_group_at_end
from tests.support.poll import until


def submission(place: Place, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainant": {"name": "张三", "phone": "13812345678"},
        "market_id": place.market_id,
        "merchant_id": place.merchant_id,
        "category": "short_weight",
        "facts": f"在{place.stall_no}买的猪肉称重少了二两 {uuid.uuid4().hex[:6]}",
        "request": "退还差价",
        "channel": "web",
    }
    body.update(changes)
    return body


@dataclass
class Stack:
    registry: httpx.AsyncClient
    complaints: httpx.AsyncClient
    app: Any
    producer: AIOKafkaProducer
    clock: Clock

    def token(self, role: str, district: str) -> dict[str, str]:
        return bearer(role, district)

    async def place(self) -> Place:
        """A district, market and merchant, once the complaints service knows them."""
        place = await provision(self.registry)
        directory = self.app.state.complaints.directory

        def known() -> bool:
            return place.market_id in directory.markets and place.merchant_id in directory.merchants

        # The module's service reads the registry topics whole first: on a shared test stack
        # with a long history, on a loaded machine, that can take longer than a place's hop.
        await until(known, within=90, what="the complaints service's registry view has the place")
        return place


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    clock = Clock()
    group = f"cmp-{uuid.uuid4().hex[:8]}"
    for topic in (topics.COMPLAINTS_INTAKE.name, topics.INSPECTION_EVENTS.name):
        await start_group_at_end(kafka, group, topic)

    def build(common: dict[str, Any]) -> Any:
        return build_complaints(
            ComplaintsSettings(
                **common,
                consumer_group=group,
                db_schema=f"complaints_{uuid.uuid4().hex[:6]}",
                clock_check_interval_s=0.2,
            ),
            now=clock,
        )

    async with in_process(kafka, database_url, secrets_env, build) as run:
        yield Stack(run.registry, run.client, run.app, run.producer, clock)
