"""A stall with a freezer, made through the registry's API on a city of processes, and readings
sent for it: what the end-to-end and the browser tests drive the closed loop with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.telemetry import sign
from tests.support.city_processes import City
from tests.support.credit_codes import fresh_credit_code
from tests.support.poll import until
from tests.support.readings import Terminal, encode, iso


@dataclass
class Stall:
    district: str
    market_id: str
    merchant_id: str
    freezer: Terminal


async def open_stall(city: City, district: str | None = None) -> Stall:
    """A market (with its task force), a merchant and the merchant's freezer, through the
    registry's API; returns once every service that needs them knows them."""
    async with city.client("registry") as registry:
        code = district or f"e{uuid.uuid4().hex[:8]}"
        if district is None:
            r = await registry.post("/districts", json={"code": code, "name": code})
            assert r.status_code == 201, r.text
        r = await registry.post(
            "/markets",
            json={
                "name": f"闭环市场{uuid.uuid4().hex[:4]}",
                "district": code,
                "kind": "farmers",
                "operator": "闭环市场管理公司",
                "address": "闭环路1号",
                "capacity": 300,
                "opening_hours": {"open": "00:00", "close": "23:59"},
            },
        )
        assert r.status_code == 201, r.text
        market = r.json()
        r = await registry.put(
            f"/markets/{market['id']}/task-force", json={"leader": "周队长", "members": ["吴"]}
        )
        assert r.status_code == 200, r.text
        r = await registry.post(
            "/merchants",
            json={
                "name": "闭环冻品",
                "market_id": market["id"],
                "stall_no": "E-1",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                "categories": ["frozen_food"],
            },
        )
        assert r.status_code == 201, r.text
        merchant = r.json()
        r = await registry.post(
            "/terminals",
            json={
                "kind": "cold_chain",
                "market_id": market["id"],
                "merchant_id": merchant["id"],
                "profile": "frozen",
                "interval_s": 60,
            },
        )
        assert r.status_code == 201, r.text
        terminal = r.json()
    stall = Stall(code, market["id"], merchant["id"], Terminal(terminal["id"], terminal["key"]))
    async with city.client("credit") as credit:

        async def scored() -> bool:
            r = await credit.get(f"/merchants/{stall.merchant_id}/credit")
            return r.status_code == 200

        await until(scored, within=60, what="credit scored the new merchant")
    async with city.client("inspection") as inspection:

        async def planned() -> bool:
            r = await inspection.get(f"/patrol-plans/{stall.merchant_id}")
            return r.status_code == 200

        await until(planned, within=60, what="inspection planned the merchant's patrols")
    await _telemetry_knows(city, stall.freezer)
    return stall


async def _telemetry_knows(city: City, terminal: Terminal) -> None:
    """Wait until telemetry's registry view holds the terminal: a reading sent before that is
    rightly rejected as `unknown_terminal`, and the test's risk never comes. The probe is the
    terminal's reading under a wrong key: rejected for its signature once the terminal is known
    (which changes no state), for the unknown terminal before."""
    body: dict[str, Any] = {
        "terminal_id": terminal.id,
        "seq": 1,
        "ts": iso(datetime.now(UTC)),
        "kind": terminal.kind,
        "temp_c": -18.0,
    }
    probe = {**body, "sig": sign(body, bytes(32))}
    async with city.client("telemetry") as telemetry:

        async def known() -> bool:
            r = await telemetry.post("/ingest", json=[probe])
            if r.status_code != 200:  # 429 while the ingest bucket refills
                return False
            return bool(r.json()["results"][0]["reason"] != "unknown_terminal")

        await until(known, within=60, every=1.0, what="telemetry knows the terminal")


async def send_readings(city: City, readings: list[dict[str, Any]]) -> None:
    for reading in readings:
        await city.producer.send(
            "telemetry.readings.v1", encode(reading), key=reading["terminal_id"].encode()
        )
    await city.producer.flush()
