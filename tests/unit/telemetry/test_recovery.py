"""How the telemetry service recovers: a record that failed alone is no gap for the ones after
it; pending work on a state another replica wrote is dropped, never written over it; a silence
check skips a terminal this replica's directory does not hold and leaves nothing behind when it
fails. Nothing is lost or doubled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.runtime.delivery import Delivery
from tests.support.readings import Terminal
from tests.support.telemetry_directory import TERMINAL
from tests.support.telemetry_nodes import KEY, TOPIC, Broken, Node, World


async def broken(*_: Any) -> Any:
    raise Broken("the database went away")


async def fails(
    world: World, monkeypatch: pytest.MonkeyPatch, batch: list[Delivery], times: int = 1
) -> None:
    """`batch` fails `times` times, the database gone while its states are locked; then the
    database is back (as the dispatcher sees a record that fails alone before it parks it)."""
    monkeypatch.setattr(world.store, "lock_states", broken)
    for _ in range(times):
        with pytest.raises(Broken):
            await world.node.telemetry.handle_batch(batch)
    monkeypatch.undo()


async def written_elsewhere(world: World, readings: list[dict[str, Any]]) -> Node:
    """`world.node` stores readings 0-4 and holds 5-9 pending; an hour on, another replica's
    silence check raises a gap on the stored state (rev 2) without moving the stored offset.
    Returns the first node (`world.node` is then the other one)."""
    first = world.node
    await world.batch(readings[:5])
    await first.telemetry.flush()
    await world.batch(readings[5:10])
    assert world.store.states["trm_1"].rev == 1 and first.telemetry.pending.batches == 1
    world.clock.at += 3600
    assert await world.restart().telemetry.check_silence() > 0
    assert world.types() == ["telemetry.risk.raised"]
    assert world.store.states["trm_1"].rev == 2 and world.offsets.next == {KEY: 5}
    return first


async def test_a_record_that_failed_alone_is_no_gap_for_the_record_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    telemetry = world.node.telemetry
    readings = world.series(20, [3.0] * 3)
    d0, d1, d2 = world.deliveries(readings)
    await fails(world, monkeypatch, [d0, d1, d2])
    # The dispatcher goes record by record; the second keeps failing and is dead-lettered.
    await telemetry.handle_batch([d0])
    await fails(world, monkeypatch, [d1], times=2)
    await telemetry.handle_batch([d2])
    assert world.node.consumer.rewound == []  # not rewound to the dead-lettered record
    assert world.offsets.next == {KEY: 3} and world.node.writes == 2
    assert world.store.states["trm_1"].last_seq == readings[2]["seq"]
    assert world.store.states["trm_1"].rev == 2 and world.types() == []


async def test_records_that_failed_alone_are_skipped_but_a_real_gap_after_them_is_rewound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    telemetry = world.node.telemetry
    readings = world.series(20, [3.0] * 6)
    d = world.deliveries(readings)
    await fails(world, monkeypatch, d[:4])
    await telemetry.handle_batch([d[0]])
    for failing in d[1:3]:  # two in a row fail alone
        await fails(world, monkeypatch, [failing])
    # Record 3 was never judged: the partition is rewound to it, not to the failed ones.
    await telemetry.handle_batch(d[4:])
    assert world.node.consumer.rewound == [(TOPIC, 0, 3)]
    assert world.offsets.next == {KEY: 1} and world.store.states["trm_1"].rev == 1
    await telemetry.handle_batch(d[3:])
    await telemetry.flush()
    assert world.node.consumer.rewound == [(TOPIC, 0, 3)]
    assert world.offsets.next == {KEY: 6} and world.store.states["trm_1"].rev == 2
    assert world.store.states["trm_1"].last_seq == readings[5]["seq"]


async def test_a_record_that_failed_alone_is_judged_once_when_it_comes_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    telemetry = world.node.telemetry
    readings = world.series(20, [3.0] * 3)
    d0, d1, d2 = world.deliveries(readings)
    await fails(world, monkeypatch, [d0, d1, d2])
    await telemetry.handle_batch([d0])
    await fails(world, monkeypatch, [d1])
    await telemetry.handle_batch([d1])  # a retry that works: judged, not skipped
    assert world.offsets.next == {KEY: 2}
    assert world.store.states["trm_1"].last_seq == readings[1]["seq"]
    await telemetry.handle_batch([d2])
    assert world.node.consumer.rewound == [] and world.offsets.next == {KEY: 3}
    assert world.store.states["trm_1"].rev == 3 and world.node.writes == 3
    assert telemetry._failed == {}  # the mark behind the stored offset is dropped


async def test_a_batch_on_a_state_another_replica_wrote_drops_the_pending_ones_and_rewinds() -> (
    None
):
    """The stored offset did not move but the terminal's state did: what was pending is dropped
    and the batch judged again at once, as by a process that has just started: its partition is
    rewound to the stored offset, and the readings the pending batch held clear the gap once."""
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 15)
    first = await written_elsewhere(world, readings)
    commits, rollbacks = world.uow.commits, world.uow.rollbacks
    await first.telemetry.handle_batch(world.deliveries(readings[10:]))
    assert (world.uow.commits - commits, world.uow.rollbacks - rollbacks) == (1, 1)
    assert first.consumer.rewound == [(TOPIC, 0, 5)]
    assert first.telemetry.pending.states == {} and first.telemetry.held == {}
    assert world.offsets.next == {KEY: 5} and world.store.states["trm_1"].rev == 2
    assert "monitoring_gap" in world.store.states["trm_1"].state["risks"]
    assert world.types() == ["telemetry.risk.raised"]
    await first.telemetry.handle_batch(world.deliveries(readings[5:], at=5))
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.cleared"]
    [risk] = world.store.rows.values()
    assert risk["rule"] == "monitoring_gap" and risk["state"] == "cleared"
    assert world.offsets.next == {KEY: 15}
    assert world.store.states["trm_1"].last_seq == readings[14]["seq"]


async def test_a_flush_of_a_state_another_replica_wrote_drops_it_instead_of_writing_over_it() -> (
    None
):
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 15)
    first = await written_elsewhere(world, readings)
    await first.telemetry.flush()
    assert first.writes == 1  # the flush before: nothing written now
    assert first.telemetry.pending.batches == 0 and first.telemetry.held == {}
    assert world.store.states["trm_1"].rev == 2 and world.offsets.next == {KEY: 5}
    assert "monitoring_gap" in world.store.states["trm_1"].state["risks"]
    # The dropped readings are read again from the stored offset.
    await first.telemetry.handle_batch(world.deliveries(readings[10:]))
    assert first.consumer.rewound == [(TOPIC, 0, 5)]
    await first.telemetry.handle_batch(world.deliveries(readings[5:], at=5))
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.cleared"]
    assert world.offsets.next == {KEY: 15}


async def test_a_silence_check_over_a_pending_state_another_replica_wrote_raises_no_gap_twice() -> (
    None
):
    world = World(state_flush_batches=100, state_flush_interval_s=3600)
    readings = world.series(20, [3.0] * 10)
    first = await written_elsewhere(world, readings)
    assert await first.telemetry.check_silence() == 0  # judged on the other's state: gap open
    assert first.writes == 1 and first.telemetry.pending.batches == 0
    assert world.types() == ["telemetry.risk.raised"] and len(world.store.rows) == 1
    assert world.store.states["trm_1"].rev == 2 and world.offsets.next == {KEY: 5}


async def test_a_silence_check_skips_a_terminal_its_directory_does_not_hold() -> None:
    """The stored state and the registry view's table have a terminal this replica's directory
    does not (yet) hold: it is left alone and the others' gaps are still raised."""
    world = World(state_flush_batches=1)
    other = replace(TERMINAL, id="trm_2")
    directory = world.node.telemetry.directory
    directory.terminals[other.id] = world.store.terminals[other.id] = other
    second = Terminal(other.id, directory.key(other).hex())
    start = datetime.fromtimestamp(world.clock.at, UTC) - timedelta(minutes=3)
    await world.batch(world.series(3, [3.0] * 2) + second.series(start, [3.0] * 2))
    assert world.store.states["trm_2"].rev == 1
    del directory.terminals[other.id]
    world.clock.at += 3600
    assert await world.node.telemetry.check_silence() > 0
    assert world.types() == ["telemetry.risk.raised"]
    assert [r["terminal_id"] for r in world.store.rows.values()] == ["trm_1"]
    assert world.store.states["trm_2"].rev == 1 and "risks" not in world.store.states["trm_2"].state


async def test_a_silence_check_failing_in_its_own_transaction_leaves_nothing_and_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(state_flush_batches=1)
    telemetry = world.node.telemetry
    await world.batch(world.series(3, [3.0] * 2))
    assert world.store.states["trm_1"].rev == 1 and telemetry.pending.batches == 0
    world.clock.at += 3600
    monkeypatch.setattr(world.store, "apply", broken)
    with pytest.raises(Broken):
        await telemetry.check_silence()
    assert world.types() == [] and world.store.rows == {} and world.uow.rollbacks == 1
    assert world.store.states["trm_1"].rev == 1 and telemetry.held == {}
    monkeypatch.undo()
    assert await telemetry.check_silence() > 0
    assert world.types() == ["telemetry.risk.raised"] and world.store.states["trm_1"].rev == 2
    await world.batch(world.series(1, [3.0]))  # heard again: the gap is cleared, once
    assert world.types() == ["telemetry.risk.raised", "telemetry.risk.cleared"]
    [risk] = world.store.rows.values()
    assert risk["state"] == "cleared"
