"""停业: a market closes for good once no merchant trades there. The rule (pure) and the use
case on the fakes: refused while a merchant trades, or for a day not yet come or no reason,
changing nothing; once closed, its terminals still active are retired with it, nothing joins it
and nothing of it changes, and citizens searching the directory no longer find it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from contracts.people import Actor
from services.registry.domain.model import MarketDetails, TaskForce
from services.registry.fakes import FakeRegistryUnits
from services.registry.service import NewTerminal, Registry
from services.registry.store import DirectoryQuery
from services.runtime.failures import Conflict, Forbidden, InvalidInputs
from tests.unit.registry.conftest import (
    CLERK,
    ELSEWHERE,
    NEW_MERCHANT,
    NOW,
    TODAY,
    market,
    refused,
    snapshots,
    terminal,
)

CLERK_ACTOR = Actor(subject="clerk-1", name="赵登记员")
DETAILS = MarketDetails("新名", "运营公司", "新路2号", 100, "05:00", "18:00")


# the rule ----------------------------------------------------------------------------------
def test_a_closed_market_is_closed_for_good_and_changes_no_more() -> None:
    shut = market().close(date(2026, 4, 30), " 整体搬迁 ", TODAY, NOW, by=CLERK_ACTOR)
    assert (shut.status, shut.closed_on, shut.closed_reason) == (
        "closed",
        date(2026, 4, 30),
        "整体搬迁",
    )
    assert (shut.version, shut.updated_actor) == (2, CLERK_ACTOR)
    for change in (
        lambda: shut.close(TODAY, "again", TODAY, NOW),
        lambda: shut.with_details(DETAILS, NOW),
        lambda: shut.with_task_force(TaskForce("王队长", ()), NOW),
        lambda: shut.with_location(37.5, 121.4, NOW),
    ):
        with pytest.raises(Conflict, match="closed on 2026-04-30"):
            change()


def test_a_closing_needs_a_reason_and_a_day_that_has_come_both_told_at_once() -> None:
    with pytest.raises(InvalidInputs) as raised:
        market().close(TODAY + timedelta(days=1), " ", TODAY, NOW)
    assert [field for field, _ in raised.value.problems] == ["closed_on", "reason"]


# the use case ------------------------------------------------------------------------------
async def test_a_market_with_a_merchant_trading_is_not_closed(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    error = await refused(units, registry.close_market(CLERK, "mkt_1", "搬迁"), Conflict)
    assert "1 merchant(s) still trade" in str(error)


@pytest.mark.parametrize(
    ("who", "reason", "closed_on", "error"),
    [
        (CLERK, " ", None, InvalidInputs),
        (CLERK, "搬迁", TODAY + timedelta(days=1), InvalidInputs),
        (ELSEWHERE, "搬迁", None, Forbidden),
    ],
)
async def test_a_refused_closing_changes_nothing(
    registry: Registry,
    units: FakeRegistryUnits,
    who: object,
    reason: str,
    closed_on: date | None,
    error: type[Exception],
) -> None:
    await registry.leave(CLERK, "mer_1", "转让")
    await refused(units, registry.close_market(who, "mkt_1", reason, closed_on), error)  # type: ignore[arg-type]


async def test_closing_retires_the_market_s_terminals_and_nothing_joins_it_after(
    registry: Registry, units: FakeRegistryUnits
) -> None:
    t = units.tables.terminals
    t["trm_gate"] = terminal("trm_gate")
    t["trm_old"] = terminal("trm_old", kind="payment", status="retired")
    units.tables.markets["mkt_2"] = market("mkt_2", name="别的市场")
    t["trm_other"] = terminal("trm_other", market_id="mkt_2")
    await registry.leave(CLERK, "mer_1", "转让")
    published = len(units.published)

    shut, retired = await registry.close_market(CLERK, "mkt_1", "整体搬迁至新址")

    assert (shut.status, shut.closed_on, shut.updated_actor) == ("closed", TODAY, CLERK_ACTOR)
    assert units.tables.markets["mkt_1"] == shut
    assert [x.id for x in retired] == ["trm_gate"]
    assert (t["trm_old"].version, t["trm_other"].status) == (1, "active")
    told = [(kind, subject, data.status) for kind, subject, _, data in snapshots(units)]
    assert told[published:] == [
        ("registry.market.upserted", "mkt_1", "closed"),
        ("registry.terminal.upserted", "trm_gate", "retired"),
    ]
    assert snapshots(units)[published][3].closed_on == TODAY

    # Nothing joins it, nothing of it changes, and a second closing is refused.
    joining = [
        registry.add_merchant(CLERK, replace(NEW_MERCHANT, stall_no="A-09")),
        registry.add_terminal(
            CLERK, NewTerminal(kind="footfall", market_id="mkt_1", interval_s=60)
        ),
        registry.correct_market(CLERK, "mkt_1", DETAILS),
        registry.close_market(CLERK, "mkt_1", "again"),
    ]
    for call in joining:
        error = await refused(units, call, Conflict)
        assert "closed on 2026-05-01" in str(error)
    joined = await refused(units, registry.add_merchant(CLERK, NEW_MERCHANT), Conflict)
    assert joined.errors == [{"field": "market_id", "reason": str(joined)}]

    # Citizens searching the directory find it no more; its own page still says it closed.
    listed, total = await registry.directory(DirectoryQuery(limit=20))
    assert ([m.id for m, _ in listed], total) == (["mkt_2"], 1)
    found, _ = await registry.public_market("mkt_1")
    assert (found.status, found.closed_on) == ("closed", TODAY)
