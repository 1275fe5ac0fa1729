"""The silence check on the in-memory stores, judging each terminal by the feed of the partition
its readings come through, in the process that holds that partition (docs/rules.md, "monitoring
gap"): a terminal of a partition stopped here, or held by another process, is not judged; one of
a partition working here is, from when that partition last started to work; one whose stored
state does not say its partition yet is judged while the whole subscription works."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.runtime.fake_tables import snapshot
from services.runtime.feed_health import FeedView
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from services.telemetry.domain import TerminalState
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
READINGS = "telemetry.readings.v1"
# Three cold-chain terminals reporting each minute (a gap after 3 minutes' silence), whose
# readings come through partitions 0, 1 and 2.
TERMINALS = [replace(TERMINAL, id=f"trm_{p}", stall_no=f"A-{p}") for p in range(3)]


@dataclass
class FeedStandIn:
    """What the runtime's tracker answers: the partitions this process holds, each with since
    when its feed has worked (None: it does not), and the whole subscription's since."""

    partitions: dict[int, float | None] = field(default_factory=dict)
    whole: float | None = None

    async def __call__(self) -> FeedView:
        return FeedView(self.whole, dict(self.partitions))


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    store: FakeTelemetryStore
    clock: Clock[float]
    feed: FeedStandIn
    telemetry: Telemetry
    directory: Directory
    offsets: dict[int, int] = field(default_factory=dict)
    terminals: dict[int, Terminal] = field(default_factory=dict)

    async def heard_now(self, partition: int) -> None:
        """Terminal `partition`'s reading stamped a minute ago arrives now on its partition."""
        info = TERMINALS[partition]
        terminal = self.terminals.setdefault(
            partition, Terminal(info.id, self.directory.key(info).hex())
        )
        at = datetime.fromtimestamp(self.clock.at, UTC) - timedelta(minutes=1)
        [reading] = terminal.series(at, [3.0])
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        delivery = Delivery(READINGS, partition, offset, info.id.encode(), orjson.dumps(reading))
        await self.telemetry.handle_batch([delivery])

    def gaps(self) -> set[str]:
        return {r["terminal_id"] for r in self.store.rows.values() if r["state"] == "open"}


@pytest.fixture
def world() -> World:
    directory = Directory(b"m" * 32)
    for t in TERMINALS:
        directory.keep_terminal(t)
    directory.markets[MARKET.id] = MARKET
    clock = Clock(T0.timestamp())
    stores = fake_stores({t.id: t for t in TERMINALS}, clock)
    uow = FakeUnitOfWork(stores, snapshot(stores))
    early = clock.at - 3600
    feed = FeedStandIn({0: early, 1: early, 2: early}, early)
    telemetry = Telemetry(
        uow.factory(),
        TelemetrySettings(terminal_master_secret="m" * 32),
        directory,
        TelemetryMetrics(Metrics("telemetry")),
        clock,
        feed=feed,
    )
    assert isinstance(stores.telemetry, FakeTelemetryStore)
    return World(uow, stores.telemetry, clock, feed, telemetry, directory)


async def test_a_state_keeps_the_partition_its_last_reading_came_through(world: World) -> None:
    for p in range(3):
        await world.heard_now(p)
    await world.telemetry.flush()
    for p in range(3):
        assert world.store.states[f"trm_{p}"].state["part"] == p


async def test_only_the_terminals_of_a_stalled_partition_go_unjudged(world: World) -> None:
    for p in range(3):
        await world.heard_now(p)
    # Partition 1 stalls at a poison reading: the whole subscription does not work, its
    # other partitions do.
    world.feed.partitions[1] = world.feed.whole = None
    world.clock.at += 10 * MINUTE
    assert await world.telemetry.check_silence() == 2
    assert world.gaps() == {"trm_0", "trm_2"}


async def test_a_terminal_of_a_partition_another_process_holds_is_not_judged_here(
    world: World,
) -> None:
    for p in range(3):
        await world.heard_now(p)
    # A rebalance left this process partition 2 alone.
    world.feed.partitions = {2: world.feed.partitions[2]}
    world.clock.at += 10 * MINUTE
    assert await world.telemetry.check_silence() == 1
    assert world.gaps() == {"trm_2"}


async def test_a_process_holding_no_partition_judges_nothing(world: World) -> None:
    for p in range(3):
        await world.heard_now(p)
    world.feed.partitions, world.feed.whole = {}, None
    world.clock.at += 10 * MINUTE
    assert await world.telemetry.check_silence() == 0
    assert world.gaps() == set()


async def test_silence_counts_from_when_its_own_partition_last_started_to_work(
    world: World,
) -> None:
    for p in range(2):
        await world.heard_now(p)
    world.clock.at += 10 * MINUTE
    # Partition 1 was taken over a minute ago and caught up since: its terminal has a full
    # window from then, partition 0's has been silent all along.
    world.feed.partitions[1] = world.clock.at - MINUTE
    world.feed.whole = world.clock.at - MINUTE
    assert await world.telemetry.check_silence() == 1
    assert world.gaps() == {"trm_0"}
    world.clock.at += 2 * MINUTE + 1
    assert await world.telemetry.check_silence() == 1
    assert world.gaps() == {"trm_0", "trm_1"}


async def test_a_state_stored_before_partitions_were_kept_is_judged_by_the_whole(
    world: World,
) -> None:
    await world.heard_now(0)
    await world.telemetry.flush()
    del world.store.states["trm_0"].state["part"]  # as written before this change
    world.telemetry.held.clear()
    world.clock.at += 10 * MINUTE
    # One partition stopped: the whole does not work, so it is not judged.
    world.feed.partitions[1] = world.feed.whole = None
    assert await world.telemetry.check_silence() == 0
    # All working again since a minute ago: a full window from then.
    world.feed.partitions[1] = world.feed.whole = world.clock.at - MINUTE
    assert await world.telemetry.check_silence() == 0
    world.clock.at += 2 * MINUTE + 1
    assert await world.telemetry.check_silence() == 1
    assert world.gaps() == {"trm_0"}
    # Its next reading says its partition, from which it is judged by that one alone.
    await world.heard_now(0)
    await world.telemetry.flush()
    assert world.store.states["trm_0"].state["part"] == 0


def test_the_partition_rides_in_the_stored_state_and_an_older_state_loads_without_it() -> None:
    state = TerminalState("trm_0", last_seq=4, last_ts=T0.timestamp(), partition=3)
    stored = state.to_dict()
    assert stored["part"] == 3
    assert TerminalState.from_dict(stored).partition == 3
    del stored["part"]  # as written before the partition was kept
    assert TerminalState.from_dict(stored) == replace(state, partition=None)
