"""Migration 0007 on real Postgres: an objection stored before repairs (信用修复) had a ground
loads as an objection to an error, and its entry, the objection upheld, takes one repair and
no second objection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.people import Actor
from services.credit.domain.objections import Objection
from services.credit.store import PostgresObjections
from services.runtime import serial
from tests.integration.credit.migrating import Before

FILED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
CLERK = Actor.of("c-zhang", "张登记")


async def test_an_objection_from_before_repairs_is_an_error_and_its_entry_takes_a_repair(
    database_url: str, tmp_path: Path
) -> None:
    before = await Before.made(database_url, tmp_path, "0007_credit_repairs.sql")
    upheld = Objection(
        objection_id="obj_old", merchant_id="mer_1", market_id="mkt_1", district="zhifu",
        event_id="ev_1", kind="inspection.finding.minor", delta=-5, occurred_at=FILED,
        fades_at=FILED + timedelta(days=365), correlation_id="risk_1", statement="电子秤已检定",
        filed_at=FILED, filed_by=CLERK, due_at=FILED + timedelta(days=14), state="upheld",
        reasoning="记录属实", decided_at=FILED + timedelta(days=3), decided_by=CLERK,
    )  # fmt: skip
    stored = {k: v for k, v in serial.dump(upheld).items() if k not in ("ground", "commitment")}
    async with before.connected() as conn:
        await conn.execute(
            """INSERT INTO objections (objection_id, merchant_id, district, event_id, kind, state,
                                       filed_at, due_at, objection)
               VALUES ('obj_old', 'mer_1', 'zhifu', 'ev_1', 'inspection.finding.minor', 'upheld',
                       $1, $2, $3)""",
            FILED, upheld.due_at, stored,
        )  # fmt: skip

    assert await before.through() == ["credit_repairs"]
    async with before.connected() as conn:
        store = PostgresObjections(conn)
        assert await store.objection("obj_old") == upheld
        assert upheld.ground == "error"
        later = FILED + timedelta(days=100)
        again = replace(upheld, objection_id="obj_again", filed_at=later, state="open",
                        reasoning=None, decided_at=None, decided_by=None)  # fmt: skip
        assert not await store.add_objection(again)
        repair = replace(again, objection_id="obj_repair", ground="repaired", commitment=True)
        assert await store.add_objection(repair)
        assert await store.objections_of("ev_1", "inspection.finding.minor") == [upheld, repair]
    await before.drop()
