"""The silence check on the in-memory stores, with the readings' feed it is handed: nothing is
judged while the feed does not work, and silence counts from when it last started to
(docs/rules.md, "monitoring gap")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.runtime.fake_tables import snapshot
from services.runtime.feed_health import FeedView
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from services.telemetry.fakes import FakeTelemetryStore, fake_stores
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.projections import Directory
from services.telemetry.service import Telemetry
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import Stores
from tests.support.clock import Clock
from tests.support.readings import Terminal
from tests.support.telemetry_directory import MARKET, T0, TERMINAL

MINUTE = 60.0


@dataclass
class FeedStandIn:
    """What the runtime's tracker answers of a consumer holding partition 0 alone: since when
    the feed has worked, None while not."""

    since: float | None
    asked: int = 0

    async def __call__(self) -> FeedView:
        self.asked += 1
        return FeedView(self.since, {0: self.since})


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    store: FakeTelemetryStore
    clock: Clock[float]
    feed: FeedStandIn
    telemetry: Telemetry
    terminal: Terminal

    def types(self) -> list[str]:
        return list(self.uow.event_types())

    async def heard_now(self) -> None:
        """A reading stamped a minute ago arrives now: the terminal is heard of now."""
        at = datetime.fromtimestamp(self.clock.at, UTC) - timedelta(minutes=1)
        [reading] = self.terminal.series(at, [3.0])
        value = orjson.dumps(reading)
        await self.telemetry.handle_batch([Delivery("telemetry.readings.v1", 0, 0, b"k", value)])


@pytest.fixture
def world() -> World:
    directory = Directory(b"m" * 32)
    directory.keep_terminal(TERMINAL)
    directory.markets[MARKET.id] = MARKET
    clock = Clock(T0.timestamp())
    stores = fake_stores({TERMINAL.id: TERMINAL}, clock)
    uow = FakeUnitOfWork(stores, snapshot(stores))
    feed = FeedStandIn(since=clock.at - 3600)
    telemetry = Telemetry(
        uow.factory(),
        TelemetrySettings(terminal_master_secret="m" * 32),
        directory,
        TelemetryMetrics(Metrics("telemetry")),
        clock,
        feed=feed,
    )
    assert isinstance(stores.telemetry, FakeTelemetryStore)
    terminal = Terminal(TERMINAL.id, directory.key(TERMINAL).hex())
    return World(uow, stores.telemetry, clock, feed, telemetry, terminal)


async def test_while_the_feed_does_not_work_no_terminal_is_judged_silent(world: World) -> None:
    await world.heard_now()
    world.feed.since = None  # the broker froze
    world.clock.at += 10 * MINUTE
    assert await world.telemetry.check_silence() == 0
    assert world.feed.asked == 1
    assert world.types() == [] and world.store.rows == {}
    # The pending state was still written first, as before any check.
    assert world.telemetry.pending.batches == 0


async def test_once_it_works_again_a_silent_terminal_raises_a_full_window_later(
    world: World,
) -> None:
    await world.heard_now()
    world.feed.since = None
    world.clock.at += 10 * MINUTE
    assert await world.telemetry.check_silence() == 0
    back = world.clock.at
    world.feed.since = back
    world.clock.at = back + 2 * MINUTE
    assert await world.telemetry.check_silence() == 0
    assert world.types() == []
    world.clock.at = back + 3 * MINUTE + 1
    assert await world.telemetry.check_silence() == 1
    assert world.types() == ["telemetry.risk.raised"]
    [risk] = world.store.rows.values()
    assert (risk["rule"], risk["severity"]) == ("monitoring_gap", "minor")


async def test_a_feed_working_all_along_judges_as_before(world: World) -> None:
    await world.heard_now()
    world.clock.at += 2 * MINUTE
    assert await world.telemetry.check_silence() == 0
    world.clock.at += 2 * MINUTE
    assert await world.telemetry.check_silence() == 1
    assert world.types() == ["telemetry.risk.raised"]
