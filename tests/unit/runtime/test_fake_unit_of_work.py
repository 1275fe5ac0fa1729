"""The fake unit of work use-case tests run on: it commits what a block emitted and claimed, and
a block that raised publishes nothing and claims nothing."""

from __future__ import annotations

import pytest

from services.runtime.messaging import Delivery
from services.runtime.outbox import outgoing
from services.runtime.unit_of_work import FakeUnitOfWork
from tests.support.event_samples import SAMPLES

MARKET = "registry.market.upserted"
DELIVERY = Delivery("registry.markets.v1", 0, 1, None, b"{}")


async def test_a_block_that_returns_commits_its_events_and_claims() -> None:
    work = FakeUnitOfWork(stores={"n": 0})
    uow = work.factory()
    async with uow() as w:
        assert await w.claim("c", "evt_1", DELIVERY)
        w.emit(outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET]))
    assert work.event_types() == [MARKET]
    assert work.claimed == {("c", "evt_1")} and work.commits == 1
    async with uow() as w:
        assert not await w.claim("c", "evt_1", DELIVERY)


async def test_a_block_that_raises_publishes_nothing_and_claims_nothing() -> None:
    work = FakeUnitOfWork(stores=None)
    with pytest.raises(RuntimeError):
        async with work.factory()() as w:
            assert await w.claim("c", "evt_1", DELIVERY)
            w.emit(outgoing("registry", MARKET, "mkt_1", SAMPLES[MARKET]))
            raise RuntimeError("store failed")
    assert work.published == [] and work.claimed == set()
    assert (work.commits, work.rollbacks) == (0, 1)
    async with work.factory()() as w:
        assert await w.claim("c", "evt_1", DELIVERY)


async def test_a_rollback_puts_the_fake_stores_back_when_given_a_snapshot() -> None:
    rows: dict[str, int] = {"kept": 1}

    def snapshot():  # type: ignore[no-untyped-def]
        before = dict(rows)
        return lambda: (rows.clear(), rows.update(before))

    work = FakeUnitOfWork(stores=rows, snapshot=snapshot)
    with pytest.raises(RuntimeError):
        async with work.factory()() as w:
            w.stores["lost"] = 2
            raise RuntimeError("later step failed")
    assert rows == {"kept": 1}
    async with work.factory()() as w:
        w.stores["added"] = 3
    assert rows == {"kept": 1, "added": 3}
