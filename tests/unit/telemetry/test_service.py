"""The telemetry use cases on the in-memory stores and a fake unit of work: what a batch, a silence
check and an acknowledgement store and announce, and above all what a rejected reading, a
redelivered batch or a failure half-way leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from contracts.people import Actor
from services.runtime.errors import Conflict, NotFound
from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from services.telemetry import service as telemetry_service
from services.telemetry.domain import LastReport, TerminalState
from services.telemetry.fakes import FakeOffsets, FakeTelemetryStore, fake_stores
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.projections import Directory
from services.telemetry.service import Telemetry, _claimed_terminal
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import RiskQuery, Stores
from tests.support.clock import Clock
from tests.support.readings import Terminal
from tests.support.telemetry_directory import MARKET, T0, TERMINAL
from tests.support.telemetry_nodes import Broken

INSPECTOR = Actor.of("i-zhou", "周检查员")


@dataclass
class World:
    uow: FakeUnitOfWork[Stores]
    store: FakeTelemetryStore
    offsets: FakeOffsets
    clock: Clock[float]
    telemetry: Telemetry
    terminal: Terminal
    offset: int = 0

    def types(self) -> list[str]:
        return list(self.uow.event_types())

    def deliveries(self, *readings: dict[str, Any] | bytes) -> list[Delivery]:
        found = []
        for r in readings:
            value = r if isinstance(r, bytes) else orjson.dumps(r)
            found.append(Delivery("telemetry.readings.v1", 0, self.offset, b"trm_1", value))
            self.offset += 1
        return found

    def hot(self, minutes: int, temp_c: float = 12.0) -> list[dict[str, Any]]:
        """A reading a minute, ending a minute before the clock."""
        start = datetime.fromtimestamp(self.clock.at, UTC) - timedelta(minutes=minutes + 1)
        return self.terminal.series(start, [temp_c] * (minutes + 1))


@pytest.fixture
def world() -> World:
    master = b"m" * 32
    directory = Directory(master)
    directory.keep_terminal(TERMINAL)
    directory.markets[MARKET.id] = MARKET
    clock = Clock(T0.timestamp())
    stores = fake_stores({TERMINAL.id: TERMINAL}, clock)
    uow = FakeUnitOfWork(stores, snapshot(stores))
    settings = TelemetrySettings(terminal_master_secret="m" * 32)
    metrics = TelemetryMetrics(Metrics("telemetry"))
    telemetry = Telemetry(uow.factory(), settings, directory, metrics, clock)
    terminal = Terminal(TERMINAL.id, directory.key(TERMINAL).hex())
    assert isinstance(stores.telemetry, FakeTelemetryStore)
    assert isinstance(stores.offsets, FakeOffsets)
    return World(uow, stores.telemetry, stores.offsets, clock, telemetry, terminal)


async def test_a_batch_stores_the_states_and_raises_a_risk_once(world: World) -> None:
    readings = world.hot(20)
    await world.telemetry.handle_batch(world.deliveries(*readings))
    assert world.types() == ["telemetry.risk.raised"]
    assert (await world.store.last_seqs(["trm_1"])) == {"trm_1": readings[-1]["seq"]}
    [risk] = await world.store.risks(RiskQuery(state="open", terminal_id="trm_1"))
    assert risk["rule"] == "cold_chain_excursion" and risk["district"] == "zhifu"
    assert world.offsets.next == {("telemetry.readings.v1", 0): len(readings)}


async def test_a_rejected_reading_stores_no_state_and_announces_only_its_rejection(
    world: World,
) -> None:
    forged = world.terminal.reading(T0 - timedelta(minutes=1), temp_c=3.0) | {"sig": "f" * 64}
    await world.telemetry.handle_batch(world.deliveries(forged, b"nonsense"))
    assert world.types() == ["telemetry.reading.rejected", "telemetry.reading.rejected"]
    reasons = [event.data.reason for _, event, _ in world.uow.published]
    assert reasons == ["signature", "malformed"]
    assert world.store.states == {} and world.store.rows == {}


async def test_a_redelivered_batch_announces_nothing_again(world: World) -> None:
    batch = world.deliveries(*world.hot(20))
    await world.telemetry.handle_batch(batch)
    stored = dict(world.store.states)
    await world.telemetry.handle_batch(batch)
    assert world.types() == ["telemetry.risk.raised"]
    assert world.store.states == stored


async def test_a_failure_half_way_rolls_back_and_publishes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> None:
        raise Broken("the database went away")

    monkeypatch.setattr(world.offsets, "advance", broken)
    batch = world.deliveries(*world.hot(20))
    with pytest.raises(Broken):
        await world.telemetry.handle_batch(batch)
    assert world.uow.published == [] and world.uow.rollbacks == 1
    assert world.store.states == {} and world.store.rows == {} and world.offsets.next == {}
    assert world.telemetry.held == {}  # the states changed in place are not kept either
    monkeypatch.undo()
    await world.telemetry.handle_batch(batch)  # Kafka redelivers it: judged as if new
    assert world.types() == ["telemetry.risk.raised"]


async def test_a_silent_sensor_raises_a_gap_once(world: World) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(2, temp_c=3.0)))
    assert world.types() == []
    world.clock.at += 3600
    assert await world.telemetry.check_silence() > 0
    assert world.types() == ["telemetry.risk.raised"]
    assert [r["rule"] for r in world.store.rows.values()] == ["monitoring_gap"]
    await world.telemetry.check_silence()
    assert world.types() == ["telemetry.risk.raised"]


async def test_a_retired_terminals_open_risks_are_cleared_once_by_the_clock(world: World) -> None:
    """退出经营 retires the merchant's freezer, maybe while it is warm or already unplugged: a
    retired terminal sends nothing that is judged, so its open risks are cleared on the next
    silence check, once."""
    await world.telemetry.handle_batch(world.deliveries(*world.hot(20)))  # an excursion
    world.clock.at += 3600  # and silent since: a gap too
    await world.telemetry.check_silence()
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.raised"]
    assert len(await world.store.risks(RiskQuery(state="open", terminal_id="trm_1"))) == 2

    retired = replace(TERMINAL, status="retired", version=TERMINAL.version + 1)
    world.telemetry.directory.keep_terminal(retired)
    world.store.terminals[TERMINAL.id] = retired
    world.clock.at += 60
    assert await world.telemetry.check_silence() == 2
    cleared = [e for _, e, _ in world.uow.published if e.type == "telemetry.risk.cleared"]
    assert sorted(e.data.rule for e in cleared) == ["cold_chain_excursion", "monitoring_gap"]
    assert {e.data.cleared_at.timestamp() for e in cleared} == {world.clock.at}
    assert await world.store.risks(RiskQuery(state="open", terminal_id="trm_1")) == []
    assert await world.telemetry.check_silence() == 0
    assert len(world.uow.published) == 4


async def test_a_failed_silence_check_publishes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(2, temp_c=3.0)))
    # Written first, so that it is the silence check's own transaction that fails (not the
    # flush of the pending batch before it).
    await world.telemetry.flush()
    assert world.telemetry.pending.batches == 0 and world.telemetry.held
    world.clock.at += 3600

    async def broken(*_: Any) -> None:
        raise Broken("the database went away")

    monkeypatch.setattr(world.store, "apply", broken)
    with pytest.raises(Broken):
        await world.telemetry.check_silence()
    assert world.types() == [] and world.store.rows == {}
    assert world.telemetry.held == {}


async def test_acknowledging_records_the_person_and_announces_it(world: World) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(20)))
    [risk_id] = world.store.rows
    world.clock.at += 60
    risk = await world.telemetry.acknowledge(risk_id, INSPECTOR, "seen", "zhifu")
    assert risk["acknowledged_by"] == "i-zhou"
    assert risk["acknowledged_actor"] == INSPECTOR.to_dict()
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.acknowledged"]
    assert world.store.rows[risk_id]["acknowledged_at"] == datetime.fromtimestamp(
        world.clock.at, UTC
    )


async def test_acknowledging_twice_or_elsewhere_is_refused_and_announces_nothing(
    world: World,
) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(20)))
    [risk_id] = world.store.rows
    with pytest.raises(NotFound):
        await world.telemetry.acknowledge(risk_id, INSPECTOR, None, "laishan")
    with pytest.raises(NotFound):
        await world.telemetry.acknowledge("no-such-risk", INSPECTOR, None, None)
    await world.telemetry.acknowledge(risk_id, INSPECTOR, None, None)
    with pytest.raises(Conflict):
        await world.telemetry.acknowledge(risk_id, Actor.of("i-li", "李"), None, None)
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.acknowledged"]
    assert world.store.rows[risk_id]["acknowledged_by"] == "i-zhou"


@pytest.mark.parametrize(
    ("raw", "claimed"),
    [
        (b'{"terminal_id": "trm_7", "temp": "warm"}', "trm_7"),
        (b'{"terminal_id": 7}', None),
        (b'["trm_7"]', None),
        (b"{not json", None),
    ],
)
def test_a_reading_of_no_typed_shape_still_names_the_terminal_whose_state_it_locks(
    raw: bytes, claimed: str | None
) -> None:
    assert _claimed_terminal(raw) == claimed


async def test_what_a_terminal_last_reported_is_nothing_before_its_first_reading(
    world: World,
) -> None:
    other = replace(TERMINAL, id="trm_0", district="laishan")
    world.telemetry.directory.keep_terminal(other)
    assert world.telemetry.market_terminals("mkt_1", None) == [other, TERMINAL]
    assert world.telemetry.market_terminals("mkt_1", "zhifu") == [TERMINAL]
    assert world.telemetry.market_terminals("mkt_2", None) == []
    assert await world.telemetry.last_reports(["trm_1", "trm_0"]) == {}


async def test_a_quiet_batch_is_reported_before_its_state_is_written(world: World) -> None:
    readings = world.hot(2, temp_c=3.5)
    await world.telemetry.handle_batch(world.deliveries(*readings))
    # Pending (docs/operations.md): nothing stored yet, and still reported from memory.
    assert world.telemetry.pending.batches == 1 and world.store.states == {}
    assert await world.store.last_reports(["trm_1"]) == {}
    last_ts = datetime.fromisoformat(readings[-1]["ts"]).timestamp()
    expected = LastReport(readings[-1]["seq"], last_ts, world.clock.at, 3.5, 0)
    assert await world.telemetry.last_reports(["trm_1"]) == {"trm_1": expected}
    await world.telemetry.flush()
    assert await world.store.last_reports(["trm_1"]) == {"trm_1": expected}
    assert await world.telemetry.last_reports(["trm_1"]) == {"trm_1": expected}


async def test_a_state_another_replica_stored_further_on_is_reported_over_the_held_one(
    world: World,
) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(2, temp_c=3.5)))
    [held] = world.telemetry.held.values()
    # Another replica took the partition over and judged later readings.
    later = TerminalState("trm_1", last_seq=held.state.last_seq + 5, last_ts=T0.timestamp())
    later.last_temp = 4.25
    stored = await world.store.lock_states(["trm_1"], {})
    stored["trm_1"].state = later
    await world.store.save_states(stored.values())
    [report] = (await world.telemetry.last_reports(["trm_1"])).values()
    assert (report.seq, report.temp_c) == (later.last_seq, 4.25)


async def test_a_report_counts_the_open_risks(world: World) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(20, temp_c=12.0)))
    [report] = (await world.telemetry.last_reports(["trm_1"])).values()
    assert (report.open_risks, report.temp_c) == (1, 12.0)


async def test_a_failed_flush_drops_the_pending_batches_and_a_redelivery_writes_them(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = world.deliveries(*world.hot(2, temp_c=3.0))
    await world.telemetry.handle_batch(batch)
    assert world.telemetry.pending.batches == 1

    async def broken(*_: Any) -> None:
        raise Broken("the database went away")

    monkeypatch.setattr(world.offsets, "advance", broken)
    with pytest.raises(Broken):
        await world.telemetry.flush()
    assert world.uow.rollbacks == 1
    assert world.telemetry.pending.batches == 0 and world.telemetry.held == {}
    assert world.store.states == {}
    assert world.offsets.next == {("telemetry.readings.v1", 0): 0}  # where it was
    monkeypatch.undo()
    await world.telemetry.handle_batch(batch)  # Kafka delivers again from the stored offset
    await world.telemetry.flush()
    assert world.offsets.next == {("telemetry.readings.v1", 0): len(batch)}
    assert world.store.states["trm_1"].last_seq == orjson.loads(batch[-1].value)["seq"]
    assert world.types() == []


async def test_the_open_risks_gauge_is_counted_from_the_store_on_every_replica(
    world: World,
) -> None:
    await world.telemetry.handle_batch(world.deliveries(*world.hot(20)))
    [risk] = world.store.rows.values()
    labels = (risk["rule"], risk["severity"])
    other = Telemetry(
        world.uow.factory(),
        world.telemetry.settings,
        world.telemetry.directory,
        TelemetryMetrics(Metrics("telemetry")),
        world.clock,
    )
    for replica in (world.telemetry, other):
        await replica.gauges.refresh()
        assert replica.metrics.open_risks.labels(*labels)._value.get() == 1
        assert replica.gauges.refreshed == 1


async def test_a_replica_wanting_the_native_path_that_is_not_built_verifies_in_python(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telemetry_service, "available", lambda: False)
    settings = TelemetrySettings(terminal_master_secret="m" * 32, native_verification=True)
    python_only = Telemetry(
        world.uow.factory(),
        settings,
        world.telemetry.directory,
        TelemetryMetrics(Metrics("telemetry")),
        world.clock,
    )
    assert python_only.native is None
    assert "sentinel_native is not built" in caplog.text
    forged = world.terminal.reading(T0 - timedelta(minutes=30), temp_c=3.0) | {"sig": "f" * 64}
    await python_only.handle_batch(world.deliveries(forged, *world.hot(20)))
    assert world.types() == ["telemetry.reading.rejected", "telemetry.risk.raised"]
    assert world.uow.published[0][1].data.reason == "signature"
