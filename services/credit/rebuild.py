"""Rebuild every ledger and score from the topics, from the beginning, into fresh tables, and
compare them with the live ones.

    python -m services.credit rebuild [--schema credit_rebuild] [--keep]

A second instance of the credit consumers runs over a fresh schema with a consumer group of its
own, publishing nothing, until it has read every ledger topic to the end it had when the rebuild
began; then the scores and the adjustments of both schemas are compared. Exit status 0 when they
are identical, 1 with the differences printed otherwise.

Replayed: inspection, complaints, registry merchants, risks, joint enforcement cases
(`campaign.enforcement.v1`) and the campaign's duties (`campaign.duties.v1`).

One known limit: `registry.merchants.v1` is compacted, so a status a merchant left before
compaction ran (active → licence_expired → active) is no longer on the topic; the live ledger
keeps its adjustment, a rebuild cannot see it. So with a 统一社会信用代码 corrected before
compaction ran: the live ledger keeps its `merchant.credit_code` entry (worth 0), the rebuild
sees only the code as it is now — the same scores, one adjustment fewer.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from contracts import topics
from services.credit.app import LEDGER_TOPICS, wire
from services.credit.settings import CreditSettings
from services.credit.store import postgres_stores
from services.runtime.db import connect, ident

# The ledger's topics (joint enforcement decisions among them since issue 17), and the
# campaign's duties (no score, but the rebuilt tables hold them too).
REPLAYED_TOPICS = (*LEDGER_TOPICS, topics.CAMPAIGN_DUTIES.name)


@dataclass
class Comparison:
    live_scores: dict[str, tuple[int, str]]
    rebuilt_scores: dict[str, tuple[int, str]]
    live_adjustments: int
    rebuilt_adjustments: int
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def report(self) -> str:
        lines = [
            f"merchants: live {len(self.live_scores)}, rebuilt {len(self.rebuilt_scores)}",
            f"adjustments: live {self.live_adjustments}, rebuilt {self.rebuilt_adjustments}",
        ]
        lines += self.differences[:50]
        if len(self.differences) > 50:
            lines.append(f"... and {len(self.differences) - 50} more differences")
        lines.append("identical" if self.identical else f"{len(self.differences)} differences")
        return "\n".join(lines)


async def _snapshot(
    dsn: str, schema: str
) -> tuple[dict[str, tuple[int, str]], set[tuple[str, str, int, str]]]:
    async with connect(dsn) as conn:
        await conn.execute(f"SET search_path TO {ident(schema)}, public")
        store = postgres_stores(conn)
        return await store.ledger.scores(), await store.ledger.adjustment_keys()


async def compare(dsn: str, live_schema: str, rebuilt_schema: str) -> Comparison:
    live, live_adj = await _snapshot(dsn, live_schema)
    rebuilt, rebuilt_adj = await _snapshot(dsn, rebuilt_schema)
    result = Comparison(live, rebuilt, len(live_adj), len(rebuilt_adj))
    for merchant in sorted(set(live) | set(rebuilt)):
        if live.get(merchant) != rebuilt.get(merchant):
            result.differences.append(
                f"score {merchant}: live {live.get(merchant)}, rebuilt {rebuilt.get(merchant)}"
            )
    for key in sorted(live_adj - rebuilt_adj):
        result.differences.append(f"adjustment only live: {key}")
    for key in sorted(rebuilt_adj - live_adj):
        result.differences.append(f"adjustment only rebuilt: {key}")
    return result


async def rebuild(settings: CreditSettings, schema: str, *, keep: bool = False) -> Comparison:
    if schema == settings.pg_schema:
        raise ValueError(f"the rebuild schema must differ from the live one ({schema})")
    async with connect(settings.database_url) as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {ident(schema)} CASCADE")
    fresh = settings.model_copy(
        update={"db_schema": schema, "consumer_group": f"credit-rebuild-{uuid.uuid4().hex[:8]}"}
    )
    service, _ = wire(fresh, publish=False)
    await service.start()
    try:
        for topic in REPLAYED_TOPICS:
            await service.messaging.caught_up(topic)
    finally:
        await service.stop()
    result = await compare(settings.database_url, settings.pg_schema, schema)
    if not keep:
        async with connect(settings.database_url) as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {ident(schema)} CASCADE")
    return result


def main(schema: str, keep: bool) -> int:
    result = asyncio.run(rebuild(CreditSettings(), schema, keep=keep))
    print(result.report())
    return 0 if result.identical else 1
