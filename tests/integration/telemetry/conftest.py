from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.registry.app import build as build_registry
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support import identity
from tests.support.city import stack_settings, start_group_at_end
from tests.support.credit_codes import fresh_credit_code
from tests.support.poll import until
from tests.support.readings import Terminal, encode
from tests.support.registry_api import registry_settings


@dataclass
class Stack:
    registry: httpx.AsyncClient
    telemetry: httpx.AsyncClient
    telemetry_app: Any
    producer: AIOKafkaProducer
    admin: dict[str, str]

    async def provision(
        self, kind: str = "cold_chain", profile: str | None = "chilled", capacity: int = 800
    ) -> tuple[Terminal, dict[str, Any]]:
        """A district, market, merchant and terminal, returned once telemetry knows them."""
        code = f"t{uuid.uuid4().hex[:8]}"
        r = await self.registry.post("/districts", json={"code": code, "name": code})
        assert r.status_code == 201, r.text
        market = (
            await self.registry.post(
                "/markets",
                json={
                    "name": "测试市场",
                    "district": code,
                    "kind": "farmers",
                    "operator": "o",
                    "address": "a",
                    "capacity": capacity,
                    "opening_hours": {"open": "00:00", "close": "23:59"},
                },
            )
        ).json()
        merchant = (
            await self.registry.post(
                "/merchants",
                json={
                    "name": "商户",
                    "market_id": market["id"],
                    "stall_no": "A-1",
                    "credit_code": fresh_credit_code(),
                    "food_licence": "JY13706020012345",
                    "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                    "categories": [],
                },
            )
        ).json()
        body: dict[str, Any] = {"kind": kind, "market_id": market["id"], "interval_s": 60}
        if kind == "cold_chain":
            body |= {"merchant_id": merchant["id"], "profile": profile}
        t = (await self.registry.post("/terminals", json=body)).json()
        directory = self.telemetry_app.state.telemetry.directory
        await until(
            lambda: t["id"] in directory.terminals and market["id"] in directory.markets,
            what="telemetry's projection has the terminal",
        )
        return Terminal(t["id"], t["key"], kind), t

    async def send(self, *readings: dict[str, Any] | bytes) -> None:
        for r in readings:
            value = r if isinstance(r, bytes) else encode(r)
            key = r["terminal_id"].encode() if isinstance(r, dict) else b"garbage"
            await self.producer.send("telemetry.readings.v1", value, key=key)
        await self.producer.flush()


@pytest.fixture(scope="module")
async def stack(kafka: str, database_url: str, secrets_env: dict[str, str]) -> AsyncIterator[Stack]:
    common = stack_settings(kafka, database_url, secrets_env) | {
        "terminal_master_secret": secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"]
    }
    registry_app = build_registry(registry_settings(kafka, database_url, secrets_env))
    # A consumer group and a schema of its own per test module, its readings group at the end
    # of the shared readings topic: the module's telemetry judges only the readings its tests
    # send, not the whole history of the suite (which would open and clear risks under them).
    group = f"tel-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, "telemetry.readings.v1")
    telemetry_app = build_telemetry(
        TelemetrySettings(
            **common,
            consumer_group=group,
            db_schema=f"telemetry_{uuid.uuid4().hex[:6]}",
        )
    )
    for app in (registry_app, telemetry_app):
        await app.state.service.start()
    admin = identity.bearer("admin", "*")
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app),
            base_url="http://r",
            auth=identity.current().auth("admin", "*"),
        ) as reg,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=telemetry_app), base_url="http://t"
        ) as tel,
    ):
        yield Stack(reg, tel, telemetry_app, producer, admin)
    await producer.stop()
    for app in (telemetry_app, registry_app):
        await app.state.service.stop()
