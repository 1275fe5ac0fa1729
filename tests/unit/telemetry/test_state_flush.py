"""Quiet batches keep their states and offsets pending; what writes them (a batch with an effect,
the count, the interval, a silence check, a flush at stop); and what a crash with pending batches,
or another replica that took the partition over, leaves behind: no risk lost or doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.runtime.messaging import Delivery
from services.telemetry.store import RiskQuery
from tests.support.poll import until
from tests.support.telemetry_nodes import KEY, TOPIC, World


async def test_quiet_batches_write_nothing_until_the_count_is_reached() -> None:
    world = World(state_flush_batches=3, state_flush_interval_s=3600)
    readings = world.series(40, [3.0] * 30)
    await world.batch(readings[:10])
    await world.batch(readings[10:20])
    assert world.store.states == {} and world.offsets.next == {KEY: 0}
    assert world.node.writes == 0 and world.types() == []
    await world.batch(readings[20:])
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]
    assert world.store.states["trm_1"].rev == 1  # one write for three batches
    assert world.offsets.next == {KEY: 30} and world.node.writes == 1
    assert world.node.telemetry.pending.batches == 0


async def test_with_one_batch_to_flush_every_batch_writes_as_before() -> None:
    world = World(state_flush_batches=1)
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings[:5])
    assert world.offsets.next == {KEY: 5} and world.store.states["trm_1"].rev == 1
    await world.batch(readings[5:])
    assert world.offsets.next == {KEY: 10} and world.store.states["trm_1"].rev == 2


async def test_a_batch_that_raises_a_risk_writes_the_pending_ones_with_it() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(40, [3.0] * 10 + [12.0] * 20)
    await world.batch(readings[:10])
    assert world.store.states == {}
    await world.batch(readings[10:])
    assert world.types() == ["telemetry.risk.raised"]
    assert world.offsets.next == {KEY: 30}
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]
    assert [r["rule"] for r in world.store.rows.values()] == ["cold_chain_excursion"]


async def test_a_rejection_writes_the_pending_batches_with_it() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings[:5])
    await world.batch(readings[5:])
    assert world.store.states == {}
    await world.node.telemetry.handle_batch([Delivery(TOPIC, 0, world.offset, b"x", b"nonsense")])
    assert world.types() == ["telemetry.reading.rejected"]
    assert world.offsets.next == {KEY: 11}
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]


async def test_the_interval_writes_pending_batches_with_the_next_batch() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=1.0)
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings[:5])
    world.node.ticks.at += 0.5
    await world.batch(readings[5:8])
    assert world.store.states == {}
    world.node.ticks.at += 0.5
    await world.batch(readings[8:])
    assert world.offsets.next == {KEY: 10} and world.node.writes == 1


async def test_flush_writes_what_is_pending_and_nothing_when_nothing_is() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings)
    await world.node.telemetry.flush()
    assert world.offsets.next == {KEY: 10} and world.node.writes == 1
    await world.node.telemetry.flush()
    assert world.node.writes == 1 and world.uow.commits == 2


async def test_the_background_task_flushes_when_due_and_at_stop() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=0.01)
    telemetry = world.node.telemetry
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings[:5])
    running = asyncio.create_task(telemetry.flush_when_due())
    world.node.ticks.at += 1.0  # due: the task's next look writes it
    # the task runs on its own timer
    await until(lambda: world.offsets.next == {KEY: 5}, within=10, what="the due flush")
    world.node.ticks.at -= 1.0
    await world.batch(readings[5:])
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert world.offsets.next == {KEY: 10} and world.node.writes == 2


async def test_a_silence_check_first_writes_the_pending_states() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(3, [3.0] * 2)
    await world.batch(readings)
    assert await world.node.telemetry.check_silence() == 0  # heard a minute ago: not silent
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]
    world.clock.at += 3600
    assert await world.node.telemetry.check_silence() > 0
    assert world.types() == ["telemetry.risk.raised"]


async def test_a_crash_with_pending_batches_replays_them_to_the_same_risks() -> None:
    """The process dies with two quiet batches pending; Kafka committed past them, so the new
    process is handed the records after them: it rewinds to the stored offset, judges the
    pending readings again on the stored states and raises the risk the first run would have,
    once."""
    readings = World().series(50, [3.0] * 20 + [12.0] * 20 + [3.0] * 5)
    reference = World(state_flush_batches=100, state_flush_interval_s=3600)
    for part in (readings[:10], readings[10:20], readings[20:]):
        await reference.batch(part)

    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    world.terminal.seq = readings[-1]["seq"]
    await world.batch(readings[:10])
    await world.batch(readings[10:20])
    assert world.store.states == {}
    node = world.restart()  # SIGKILL: held states and pending offsets are gone
    after = world.deliveries(readings[20:])
    await node.telemetry.handle_batch(after)
    assert node.consumer.rewound == [(TOPIC, 0, 0)]
    assert world.types() == [] and world.store.rows == {}  # nothing judged past the gap
    assert world.offsets.next == {KEY: 0}
    # Kafka delivers again from the offset it was rewound to.
    await node.telemetry.handle_batch(world.deliveries(readings, at=0))
    assert world.types() == reference.types() == ["telemetry.risk.raised"]
    assert world.store.rows.keys() == reference.store.rows.keys()
    assert world.offsets.next == reference.offsets.next == {KEY: 45}
    await reference.node.telemetry.flush()
    await node.telemetry.flush()
    assert world.store.states["trm_1"].state == reference.store.states["trm_1"].state
    # A later redelivery of any of it judges nothing again.
    await node.telemetry.handle_batch(after)
    assert world.types() == ["telemetry.risk.raised"]


async def test_a_crash_and_a_new_group_at_the_topic_end_is_not_a_gap() -> None:
    """A partition never stored starts where the consumer was placed, not at offset 0."""
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    world.offset = 500
    await world.batch(world.series(20, [3.0] * 5))
    assert world.node.consumer.rewound == [] and world.offsets.next == {KEY: 500}
    world.restart()
    await world.batch(world.series(10, [3.0] * 5))
    assert world.node.consumer.rewound == [(TOPIC, 0, 500)]


async def test_pending_batches_of_a_partition_another_replica_took_over_are_dropped() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    first = world.node
    await world.batch(readings[:5])
    other = world.restart()  # the partition went to another replica, which wrote it
    await other.telemetry.handle_batch(world.deliveries(readings[:5], at=0))
    await other.telemetry.flush()
    assert world.offsets.next == {KEY: 5}
    await first.telemetry.handle_batch(world.deliveries(readings[5:]))
    # Its own pending batch is dropped, the batch in hand judged again on what the other wrote.
    assert world.node.telemetry.pending.batches == 0
    assert first.telemetry.pending.batches == 1 and first.consumer.rewound == []
    assert world.store.states["trm_1"].last_seq == readings[4]["seq"]  # the other's, kept
    assert first.telemetry.pending.offsets == {KEY: 10}
    assert first.telemetry.held["trm_1"].state.last_seq == readings[9]["seq"]


async def test_a_superseded_batch_behind_the_stored_offset_rewinds_once_not_per_record() -> None:
    """The other replica stored less than the batch in hand starts at: the batch is judged again
    at once, its partition rewound to the stored offset once, and its records left for then
    (record by record, each one rewound the consumer and took a transaction of its own)."""
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 12)
    first = world.node
    await world.batch(readings[:5])
    other = world.restart()
    await other.telemetry.handle_batch(world.deliveries(readings[:3], at=0))
    await other.telemetry.flush()
    assert world.offsets.next == {KEY: 3}
    commits, rollbacks = world.uow.commits, world.uow.rollbacks
    await first.telemetry.handle_batch(world.deliveries(readings[5:]))
    assert first.consumer.rewound == [(TOPIC, 0, 3)]
    # Two transactions for the five records: the superseded one and the one judging it again.
    assert (world.uow.commits - commits, world.uow.rollbacks - rollbacks) == (1, 1)
    assert first.telemetry.pending.states == {} and first.telemetry.pending.offsets == {}
    # Kafka delivers again from the offset it was rewound to: judged once, on the other's state.
    await first.telemetry.handle_batch(world.deliveries(readings[3:], at=3))
    await first.telemetry.flush()
    assert world.offsets.next == {KEY: 12}
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]


async def test_a_flush_of_batches_another_replica_took_over_drops_them() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    first = world.node
    await world.batch(readings[:5])
    other = world.restart()
    await other.telemetry.handle_batch(world.deliveries(readings, at=0))
    await other.telemetry.flush()
    await first.telemetry.flush()  # dropped, not written over the other's
    assert first.telemetry.pending.batches == 0 and first.writes == 0
    assert world.store.states["trm_1"].last_seq == readings[-1]["seq"]
    assert world.offsets.next == {KEY: 10}


async def test_a_failed_flush_drops_pending_and_a_redelivery_replays_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(40, [3.0] * 10 + [12.0] * 20)
    await world.batch(readings[:10])

    async def broken(*_: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(world.offsets, "advance", broken)
    hot = world.deliveries(readings[10:])
    with pytest.raises(RuntimeError):
        await world.node.telemetry.handle_batch(hot)
    assert world.types() == [] and world.store.states == {} and world.offsets.next == {KEY: 0}
    assert world.node.telemetry.pending.batches == 0 and world.node.telemetry.held == {}
    monkeypatch.undo()
    await world.node.telemetry.handle_batch(hot)  # redelivered: past the stored offset
    assert world.node.consumer.rewound == [(TOPIC, 0, 0)] and world.types() == []
    await world.node.telemetry.handle_batch(world.deliveries(readings, at=0))
    assert world.types() == ["telemetry.risk.raised"]
    [risk] = await world.store.risks(RiskQuery(terminal_id="trm_1"))
    assert risk["state"] == "open"


async def test_seqs_of_pending_batches_count_for_a_replay_check_before_they_are_stored() -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    await world.batch(readings[:5])
    assert world.store.states == {}  # pending, not stored
    assert await world.node.telemetry.last_seqs(["trm_1", "trm_unknown"]) == {
        "trm_1": readings[4]["seq"]
    }
    await world.node.telemetry.flush()
    world.restart()  # a replica holding nothing reads the stored seq
    assert await world.node.telemetry.last_seqs(["trm_1"]) == {"trm_1": readings[4]["seq"]}


async def test_a_failed_background_flush_is_logged_and_the_task_keeps_flushing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=0.01)
    telemetry = world.node.telemetry
    await world.batch(world.series(20, [3.0] * 5))
    flush, calls = telemetry.flush, []

    async def fails_once() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError("database went away")
        await flush()

    telemetry.flush = fails_once  # type: ignore[method-assign]
    running = asyncio.create_task(telemetry.flush_when_due())
    world.node.ticks.at += 1.0
    # written by the look after the failed one
    await until(lambda: world.offsets.next == {KEY: 5}, within=10, what="the flush after a failure")
    assert len(calls) >= 2 and not running.done()
    assert "pending states not written" in caplog.text

    async def fails_at_stop() -> None:
        raise OSError("database went away at stop")

    telemetry.flush = fails_at_stop  # type: ignore[method-assign]
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert "pending states not written at stop" in caplog.text
