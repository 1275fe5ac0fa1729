"""The citizens' portal with 2,000 merchants: market search and the merchant page, beside the
console's own /healthz as the baseline of the same run.

The registry and credit run in-process (own schemas and consumer groups; credit starts at the end
of the inspection, complaints and risk topics, and reads the registry's compacted merchant topic
from its beginning, as in production). A district with 20 markets of 100 merchants each is made
through the registry's API and reaches credit through the registry topics. The console runs
in-process too, reaching the services through an in-process transport; every public rate limit
is lifted (what is measured is the pages, not the limiter).

Each endpoint gets `requests` GETs from `concurrency` clients at once; reported: requests/s and
p50/p99 latency, and each page's requests/s as a share of /healthz's.

    set -a; source .run/env; set +a; .venv/bin/python -m bench.portal
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from bench.console import Routed
from bench.inspection import SIGNER, _start_at_end
from services.console.app import build as build_console
from services.console.settings import ConsoleSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.registry.app import build as build_registry
from services.registry.settings import RegistrySettings
from tests.support.signing import ISSUER

MARKETS = 20
UNLIMITED: dict[str, Any] = {"public_rate_per_s": 1e9, "public_burst": 1_000_000_000}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Portal:
    console: httpx.AsyncClient
    market_names: list[str]
    merchants: list[str]


async def _city(registry: httpx.AsyncClient, merchants: int) -> tuple[list[str], list[str]]:
    code = f"p{uuid.uuid4().hex[:8]}"
    r = await registry.post("/districts", json={"code": code, "name": "压测区"})
    r.raise_for_status()
    names, ids = [], []
    per_market = max(1, merchants // MARKETS)
    for m in range(MARKETS):
        name = f"压测市场{code}-{m:02d}"
        r = await registry.post(
            "/markets",
            json={
                "name": name,
                "district": code,
                "kind": "farmers",
                "operator": "压测市场管理公司",
                "address": f"压测路{m}号",
                "capacity": 5000,
                "opening_hours": {"open": "06:00", "close": "19:00"},
            },
        )
        r.raise_for_status()
        market_id = r.json()["id"]
        names.append(name)
        for i in range(per_market):
            r = await registry.post(
                "/merchants",
                json={
                    "name": f"商户{m:02d}-{i:03d}",
                    "market_id": market_id,
                    "stall_no": f"P-{i}",
                    "credit_code": "914403001922038216",
                    "food_licence": "JY13706020012345",
                    "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                    "categories": [],
                },
            )
            r.raise_for_status()
            ids.append(r.json()["id"])
        print(f"  registry: market {m + 1}/{MARKETS}, {len(ids)} merchants", file=sys.stderr)
    return names, ids


@asynccontextmanager
async def running_portal(kafka: str, database_url: str, merchants: int) -> AsyncIterator[Portal]:
    common: dict[str, Any] = dict(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        oidc_issuer=ISSUER,
        oidc_jwks=SIGNER.jwks_json(),
        outbox_poll_interval_s=0.05,
        **UNLIMITED,
    )
    tag = uuid.uuid4().hex[:6]
    # Only what this run makes: no history of suspensions or renovations for markets and
    # merchants it never registered.
    for topic in ("inspection.events.v1", "registry.campaign.v1"):
        await _start_at_end(kafka, f"bench-preg-{tag}", topic)
    registry_app = build_registry(
        RegistrySettings(
            **common,
            terminal_master_secret="bench-only-master",  # noqa: S106
            db_schema=f"bench_preg_{tag}",
            consumer_group=f"bench-preg-{tag}",
        )
    )
    group = f"bench-pcre-{tag}"
    for topic in ("inspection.events.v1", "complaints.events.v1", "telemetry.risks.v1"):
        await _start_at_end(kafka, group, topic)
    credit_app = build_credit(
        CreditSettings(**common, consumer_group=group, db_schema=f"bench_pcre_{tag}")
    )
    for app in (registry_app, credit_app):
        await app.state.service.start()
    admin = SIGNER.bearer("admin", "*")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app),
            base_url="http://registry",
            headers=admin,
            timeout=30,
        ) as registry:
            names, ids = await _city(registry, merchants)
        console_app = build_console(
            ConsoleSettings(
                oidc_issuer=ISSUER,
                oidc_jwks=SIGNER.jwks_json(),
                registry_url="http://registry",
                credit_url="http://credit",
                complaints_url="http://complaints",
                **UNLIMITED,
            ),
            Routed({"registry": registry_app, "credit": credit_app}),
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=console_app), base_url="http://console", timeout=30
        ) as console:
            deadline = time.monotonic() + 600
            while (await console.get(f"/merchants/{ids[-1]}")).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("credit did not learn the bench merchants in 600 s")
                await asyncio.sleep(0.5)
            yield Portal(console, names, ids)
    finally:
        for app in (credit_app, registry_app):
            await app.state.service.stop()


async def _load(
    client: httpx.AsyncClient, paths: list[str], requests: int, concurrency: int
) -> dict[str, float]:
    times: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for i in queue:
            began = time.perf_counter()
            r = await client.get(paths[i % len(paths)])
            times.append(time.perf_counter() - began)
            if r.status_code != 200:
                raise RuntimeError(f"{paths[i % len(paths)]}: {r.status_code} {r.text[:200]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": _percentile(times, 99) * 1000,
    }


async def portal(
    kafka: str, database_url: str, merchants: int = 2000, requests: int = 500, concurrency: int = 8
) -> dict[str, Any]:
    async with running_portal(kafka, database_url, merchants) as p:
        first = await p.console.get("/markets", params={"q": p.market_names[0]})
        assert first.status_code == 200 and p.market_names[0] in first.text, first.text[:300]
        page = await p.console.get(f"/merchants/{p.merchants[0]}")
        assert 'id="grade"' in page.text and "商户00-000" in page.text, page.text[:300]
        search = [f"/markets?q={name[-6:]}" for name in p.market_names]
        merchant = [f"/merchants/{m}" for m in p.merchants]
        out: dict[str, Any] = {"merchants": len(p.merchants)}
        for name, paths in (("healthz", ["/healthz"]), ("search", search), ("merchant", merchant)):
            await _load(p.console, paths, min(50, requests), concurrency)  # warm up
            out[name] = await _load(p.console, paths, requests, concurrency)
        return out


def main() -> None:
    kafka = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    database_url = os.environ["DATABASE_URL"]
    result = asyncio.run(portal(kafka, database_url))
    base = result["healthz"]
    print(f"citizens' portal, {result['merchants']} merchants in {MARKETS} markets (in-process):")
    for name, label in (
        ("healthz", "console /healthz (baseline)"),
        ("search", "market search /markets?q="),
        ("merchant", "merchant page /merchants/{id}"),
    ):
        r = result[name]
        print(
            f"  {label:32s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms"
            f"  p99 {r['p99_ms']:6.1f} ms  ({r['rps'] / base['rps']:.3f} of baseline req/s)"
        )


if __name__ == "__main__":
    main()
