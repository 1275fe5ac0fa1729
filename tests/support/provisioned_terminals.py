"""Terminals for the suites that run telemetry against the registry's API: an all-day market of a
district of its own, cold-chain terminals in it (one at a merchant), and the last seq telemetry
stored for one."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import httpx

from tests.support.credit_codes import fresh_credit_code
from tests.support.readings import Terminal
from tests.support.registry_api import market_body


async def all_day_market(http: httpx.AsyncClient) -> str:
    """A wholesale market open all day (but a minute before midnight: every second of silence
    counts) in a district of its own, through the registry's API (`http`, an admin's client):
    its id."""
    code = f"k{uuid.uuid4().hex[:8]}"
    assert (await http.post("/districts", json={"code": code, "name": code})).status_code == 201
    body = market_body(code, "冷链市场") | {
        "kind": "wholesale",
        "opening_hours": {"open": "00:00", "close": "23:59"},
    }
    market = await http.post("/markets", json=body)
    assert market.status_code == 201, market.text
    return str(market.json()["id"])


async def cold_chain_terminals(
    http: httpx.AsyncClient, count: int, interval_s: int, market_id: str | None = None
) -> list[Terminal]:
    """`count` chilled-goods cold-chain terminals reporting every `interval_s`, with their keys,
    in `market_id` or an all-day market of their own."""
    market_id = market_id or await all_day_market(http)
    terminals = []
    for _ in range(count):
        made = await http.post(
            "/terminals",
            json={
                "kind": "cold_chain",
                "market_id": market_id,
                "profile": "chilled",
                "interval_s": interval_s,
            },
        )
        assert made.status_code == 201, made.text
        terminals.append(Terminal(made.json()["id"], made.json()["key"]))
    return terminals


async def provision_terminal(http: httpx.AsyncClient) -> tuple[Terminal, str]:
    """A frozen-goods cold-chain terminal (a reading a minute) at a merchant of an all-day
    market of a district of its own: the terminal with its key, and the market's id."""
    market_id = await all_day_market(http)
    merchant = (
        await http.post(
            "/merchants",
            json={
                "name": "冻品",
                "market_id": market_id,
                "stall_no": "F-1",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "categories": [],
            },
        )
    ).json()
    t = (
        await http.post(
            "/terminals",
            json={
                "kind": "cold_chain",
                "market_id": market_id,
                "merchant_id": merchant["id"],
                "profile": "frozen",
                "interval_s": 60,
            },
        )
    ).json()
    return Terminal(t["id"], t["key"]), market_id


async def terminal_last_seq(database_url: str, schema: str, tid: str) -> int:
    """The last seq telemetry (its state in `schema`) handled for the terminal: -1 before the
    first, or before telemetry made its tables."""
    conn = await asyncpg.connect(database_url)
    try:
        seq = await conn.fetchval(
            f'SELECT last_seq FROM "{schema}".terminal_state WHERE terminal_id = $1', tid
        )
    except asyncpg.UndefinedTableError:
        seq = None
    finally:
        await conn.close()
    return -1 if seq is None else int(seq)
