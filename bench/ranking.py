"""A district's 考核排名 (总览's ranking, the 考核台账): one call against one call per market.

    python -m bench.ranking [--markets 100] [--merchants 20] [--repeat 3]

Credit runs on the test stack's PostgreSQL (a fresh schema) with a district of `--markets`
markets of `--merchants` merchants each, every merchant registered through the ledger's own
batch handler (so each has a ledger line and a grade). Then, in turn:
- "per market": `market_assessment` once per market, as 总览 asked before (each call assesses
  every market of the city to rank one of them; the baseline, measured in the same run);
- "one ranking": `ranking` once, as 总览 and the 考核台账 ask now (GET /assessments);
- "one ranking, a past month": `ranking` for a period that has ended, which rebuilds every
  merchant's grade at its end from the ledger.
The order alternates between runs; the service calls are timed, HTTP is not.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bench import loops
from contracts import topics
from contracts.registry import MERCHANT_UPSERTED
from services.credit.app import MIGRATIONS
from services.credit.handlers import merchants_batches
from services.credit.metrics import CreditMetrics
from services.credit.policy_files import default_book
from services.credit.service import Credit
from services.credit.store import postgres_stores
from services.runtime.auth import Principal
from services.runtime.clock import utc_now
from services.runtime.db import create_pool
from services.runtime.delivery import Delivery
from services.runtime.directory import RegistryMemory
from services.runtime.metrics import Metrics
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate
from services.runtime.outbox import outgoing
from services.runtime.unit_of_work import postgres_units
from tests.support import registry
from tests.support.infra import infrastructure

LEADER = Principal(subject="bench-leader", role="leader", district="zhifu")
TOPIC = topics.REGISTRY_MERCHANTS.name
MODES = ("per market", "one ranking", "one ranking, a past month")


async def city(database_url: str, markets: int, merchants: int) -> tuple[Credit, Any]:
    schema = f"bench_ranking_{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, {"runtime": RUNTIME_MIGRATIONS, "credit": MIGRATIONS})
    pool = await create_pool(database_url, schema, max_size=4)
    directory = RegistryMemory()
    snapshots = []
    for m in range(markets):
        market_id = f"mkt_{m:04d}"
        directory.keep(registry.market(market_id, "zhifu", name=f"市场{m:04d}"))
        for n in range(merchants):
            merchant = registry.merchant(f"mer_{m:04d}_{n:03d}", market_id, f"A-{n:03d}")
            directory.keep(merchant)
            snapshots.append(merchant)
    credit = Credit(
        postgres_units(lambda: pool, schema, postgres_stores),
        directory,
        default_book(),
        # Two days on from the merchants' registration: a period that ended yesterday holds
        # every ledger line, and its ranking rebuilds each merchant's grade from them.
        lambda: utc_now() + timedelta(days=2),
        CreditMetrics(Metrics(f"bench_{schema}")),
        publish=False,
    )
    handle = merchants_batches(credit)
    deliveries = []
    for offset, merchant in enumerate(snapshots):
        _, event, key = outgoing("registry", MERCHANT_UPSERTED, merchant.merchant_id, merchant)
        deliveries.append(Delivery(TOPIC, 0, offset, key.encode(), event.to_json()))
    for start in range(0, len(deliveries), 500):
        await handle(deliveries[start : start + 500])
    return credit, pool


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def run(database_url: str, markets: int, merchants: int, repeat: int) -> None:
    credit, pool = await city(database_url, markets, merchants)
    try:
        market_ids = sorted(credit.directory.markets)
        recent = credit.period(30)  # to now, as 总览 asks (GET /assessments?days=30)
        past = credit.period(30, recent.end - timedelta(days=1))

        async def per_market() -> None:
            for market_id in market_ids:
                await credit.market_assessment(LEADER, market_id, recent)

        calls = {
            MODES[0]: per_market,
            MODES[1]: lambda: credit.ranking(LEADER, recent, current=True),
            MODES[2]: lambda: credit.ranking(LEADER, past),
        }
        for period, current in ((recent, True), (past, False)):
            body = await credit.ranking(LEADER, period, current=current)
            graded = sum(m["grades"].get("A", 0) for m in body["markets"])
            if len(body["markets"]) != markets or graded != markets * merchants:
                raise RuntimeError(f"the ranking does not hold the {markets} graded markets")
        print(f"{markets} markets of {merchants} merchants each, one district", file=sys.stderr)
        for i in range(repeat):
            order = MODES if i % 2 == 0 else MODES[::-1]
            took = {mode: await timed(calls[mode]) for mode in order}
            load = os.getloadavg()[0]
            print(f"run {i + 1} of {repeat} (load {load:.1f}, {' then '.join(order)}):")
            for mode in MODES:
                print(
                    f"  {mode:28} {1000 * took[mode]:9.1f} ms"
                    f"  ratio per market / this {took[MODES[0]] / took[mode]:6.1f}"
                )
    finally:
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markets", type=int, default=100)
    parser.add_argument("--merchants", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with infrastructure() as endpoints:
        loops.run(run(endpoints.database_url, args.markets, args.merchants, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
