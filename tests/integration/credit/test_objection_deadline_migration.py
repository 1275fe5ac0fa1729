"""Migration 0005 on real Postgres: an objection stored before deadlines were kept (no `due_at`)
gets one — 14 days after its filing, 10 working days without holidays — in its column and in the
stored objection, so that it loads, lists and counts like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.people import Actor
from services.credit.domain.objections import Objection
from services.credit.store import ObjectionQuery, PostgresObjections
from services.runtime import serial
from tests.integration.credit.migrating import Before

FILED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def test_an_objection_filed_before_deadlines_were_kept_is_due_fourteen_days_on(
    database_url: str, tmp_path: Path
) -> None:
    before = await Before.made(database_url, tmp_path, "0005_objection_deadlines.sql")
    objection = Objection(
        objection_id="obj_old", merchant_id="mer_1", market_id="mkt_1", district="zhifu",
        event_id="ev_1", kind="inspection.finding.major", delta=-15, occurred_at=FILED,
        fades_at=FILED + timedelta(days=365), correlation_id="risk_1", statement="电子秤已检定",
        filed_at=FILED, filed_by=Actor.of("c-zhang", "张登记"), due_at=FILED,
    )  # fmt: skip
    stored = {k: v for k, v in serial.dump(objection).items() if k != "due_at"}
    async with before.connected() as conn:
        await conn.execute(
            """INSERT INTO objections (objection_id, merchant_id, district, event_id, kind, state,
                                       filed_at, objection)
               VALUES ('obj_old', 'mer_1', 'zhifu', 'ev_1', 'inspection.finding.major', 'open',
                       $1, $2)""",
            FILED, stored,
        )  # fmt: skip

    assert await before.through() == ["objection_deadlines"]
    async with before.connected() as conn:
        store = PostgresObjections(conn)
        loaded = await store.objection("obj_old")
        assert loaded is not None and loaded.due_at == FILED + timedelta(days=14)
        assert loaded.statement == "电子秤已检定" and loaded.state == "open"
        late = FILED + timedelta(days=14, seconds=1)
        found = await store.objections(ObjectionQuery(overdue_as_of=late))
        assert [o.objection_id for o in found] == ["obj_old"]
        assert await store.open_counts(late) == {("zhifu", True): 1}
    await before.drop()
