"""One suite for the telemetry stores, run against Postgres (a fresh schema, migrated) and the
in-memory fakes the use-case tests rely on: both must give the same answers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from contracts.people import Actor
from services.runtime.messaging import Delivery
from services.telemetry.app import MIGRATIONS
from services.telemetry.domain import Decision, Evidence, LastReport, TerminalState
from services.telemetry.domain.state import ColdWindow, OpenRisk
from services.telemetry.fakes import FakeTelemetryStore, fake_stores
from services.telemetry.projections import TerminalInfo
from services.telemetry.store import Held, RiskQuery, Stores, postgres_stores
from tests.support.store_suite import migrated

NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
RAISED = NOW.timestamp() - 1800


def terminal(tid: str = "trm_1", kind: str = "cold_chain", status: str = "active") -> TerminalInfo:
    return TerminalInfo(
        id=tid,
        kind=kind,
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        stall_no="A-1",
        profile="chilled" if kind == "cold_chain" else None,
        interval_s=60,
        key_version=1,
        status=status,
        version=1,
    )


@dataclass
class Backend:
    stores: Stores
    know: Callable[[TerminalInfo], Awaitable[None]]


@pytest.fixture
async def backend(database: str | None) -> AsyncIterator[Backend]:
    if database is None:
        stores = fake_stores()
        fake = stores.telemetry
        assert isinstance(fake, FakeTelemetryStore)

        async def remember(t: TerminalInfo) -> None:
            fake.terminals[t.id] = t

        yield Backend(stores, remember)
        return
    async with migrated(database, "telemetry", {"telemetry": MIGRATIONS}) as conn:

        async def insert(t: TerminalInfo) -> None:
            await conn.execute(
                "INSERT INTO terminals (id, kind, market_id, district, merchant_id, stall_no,"
                " profile, interval_s, key_version, status, version)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                t.id, t.kind, t.market_id, t.district, t.merchant_id, t.stall_no, t.profile,
                t.interval_s, t.key_version, t.status, t.version,
            )  # fmt: skip

        yield Backend(postgres_stores(conn), insert)


def heard(tid: str, seq: int, at: float) -> TerminalState:
    state = TerminalState(tid, last_seq=seq, last_ts=at, last_seen=at, last_temp=3.5)
    return state


def decision(
    action: str, severity: str = "minor", risk_id: str = "risk_1", at: float = RAISED
) -> Decision:
    evidence = Evidence(
        rule="cold_chain_excursion",
        thresholds={"max_c": 8.0},
        first_ts=RAISED,
        last_ts=at,
        peak=12.25,
        duration_s=at - RAISED,
        degree_minutes=40.0,
        readings_count=16,
    )
    return Decision(
        action,  # type: ignore[arg-type]
        risk_id,
        "cold_chain_excursion",
        severity,
        None,
        RAISED,
        at,
        16,
        evidence,
    )


async def saved(stores: Stores, *states: TerminalState) -> dict[str, Held]:
    held = await stores.telemetry.lock_states([s.terminal_id for s in states], {})
    for s in states:
        held[s.terminal_id].state = s
    await stores.telemetry.save_states(held.values())
    return held


async def test_a_terminal_never_seen_has_a_fresh_state(backend: Backend) -> None:
    held = await backend.stores.telemetry.lock_states(["trm_1"], {})
    assert held["trm_1"].rev == 0 and held["trm_1"].state == TerminalState("trm_1")
    assert await backend.stores.telemetry.last_seqs(["trm_1"]) == {}


async def test_a_saved_state_comes_back_at_the_next_rev(backend: Backend) -> None:
    state = heard("trm_1", 7, RAISED)
    held = await saved(backend.stores, state)
    assert held["trm_1"].rev == 1
    loaded = await backend.stores.telemetry.lock_states(["trm_1"], {})
    assert loaded["trm_1"].rev == 1 and loaded["trm_1"].state == state
    assert loaded["trm_1"].state is not state
    assert await backend.stores.telemetry.last_seqs(["trm_1", "trm_2"]) == {"trm_1": 7}


async def test_a_report_is_what_the_stored_state_says_last(backend: Backend) -> None:
    fridge = heard("trm_1", 7, RAISED)
    fridge.last_seen = RAISED + 2  # arrived after its event time
    fridge.risks["cold_chain_excursion"] = OpenRisk("risk_1", 2, RAISED, RAISED - 900)
    fridge.cold = ColdWindow(run=RAISED - 900, n=16)  # windows: not part of a report
    gate = TerminalState("trm_2", last_seq=3, last_ts=RAISED, last_seen=None)
    await saved(backend.stores, fridge, gate)
    reports = await backend.stores.telemetry.last_reports(["trm_1", "trm_2", "trm_3"])
    assert reports == {
        "trm_1": LastReport(7, RAISED, RAISED + 2, 3.5, 1),
        "trm_2": LastReport(3, RAISED, RAISED, None, 0),
    }
    assert await backend.stores.telemetry.last_reports([]) == {}


async def test_a_cached_state_is_reused_only_at_its_rev(backend: Backend) -> None:
    held = await saved(backend.stores, heard("trm_1", 7, RAISED))
    again = await backend.stores.telemetry.lock_states(["trm_1"], held)
    assert again["trm_1"] is held["trm_1"]
    stale = {"trm_1": Held(0, heard("trm_1", 3, RAISED))}
    loaded = await backend.stores.telemetry.lock_states(["trm_1"], stale)
    assert loaded["trm_1"].rev == 1 and loaded["trm_1"].state.last_seq == 7


async def test_silent_cold_chain_terminals_are_those_unheard_for_three_intervals(
    backend: Backend,
) -> None:
    long_ago, lately = time.time() - 3600, time.time() - 30
    for t in (
        terminal("trm_silent"),
        terminal("trm_lately"),
        terminal("trm_crowd", kind="crowding"),
        terminal("trm_retired", status="retired"),
    ):
        await backend.know(t)
    await saved(
        backend.stores,
        heard("trm_silent", 4, long_ago),
        heard("trm_lately", 5, lately),
        heard("trm_crowd", 6, long_ago),
        heard("trm_retired", 7, long_ago),
        heard("trm_unknown", 8, long_ago),
    )
    found = await backend.stores.telemetry.silent_cold_chain()
    assert [(tid, rev, s.last_seq) for tid, rev, s in found] == [("trm_silent", 1, 4)]


async def test_silent_cold_chain_terminals_of_the_partitions_asked_for(backend: Backend) -> None:
    long_ago = time.time() - 3600
    for tid in ("trm_p0", "trm_p1", "trm_p2", "trm_unplaced"):
        await backend.know(terminal(tid))
    states = [heard(f"trm_p{p}", p, long_ago) for p in range(3)]
    for p, state in enumerate(states):
        state.partition = p
    await saved(backend.stores, *states, heard("trm_unplaced", 9, long_ago))
    store = backend.stores.telemetry

    async def silent(partitions: list[int] | None, unplaced: bool) -> list[str]:
        found = await store.silent_cold_chain(partitions, unplaced=unplaced)
        return [tid for tid, _, _ in found]

    assert await silent([0, 2], False) == ["trm_p0", "trm_p2"]
    assert await silent([1], True) == ["trm_p1", "trm_unplaced"]
    assert await silent([], True) == ["trm_unplaced"]
    assert await silent([], False) == []
    assert await silent(None, False) == ["trm_p0", "trm_p1", "trm_p2", "trm_unplaced"]
    [(_, _, state)] = await store.silent_cold_chain([1], unplaced=False)
    assert state.partition == 1


async def test_retired_terminals_with_an_open_risk_of_the_partitions_asked_for(
    backend: Backend,
) -> None:
    """退出经营 retires a merchant's freezer: one retired with a risk open is picked for its
    risks to be cleared; an active one, or a retired one with none, is not."""
    lately = time.time() - 30
    for t in (
        terminal("trm_warm", status="retired"),
        terminal("trm_calm", status="retired"),
        terminal("trm_active"),
        terminal("trm_p1", status="retired"),
    ):
        await backend.know(t)
    states = [heard(tid, 3, lately) for tid in ("trm_warm", "trm_calm", "trm_active", "trm_p1")]
    for state in (states[0], states[2], states[3]):
        state.risks["cold_chain_excursion"] = OpenRisk("risk_x", 2, RAISED, RAISED - 900)
    states[0].partition, states[3].partition = 0, 1
    await saved(backend.stores, *states)
    store = backend.stores.telemetry

    async def picked(partitions: list[int] | None, unplaced: bool = True) -> list[str]:
        found = await store.retired_with_risks(partitions, unplaced=unplaced)
        return [tid for tid, _, _ in found]

    assert await picked(None) == ["trm_p1", "trm_warm"]
    assert await picked([0], unplaced=False) == ["trm_warm"]
    [(_, rev, state)] = await store.retired_with_risks([1], unplaced=False)
    assert (rev, list(state.risks)) == (1, ["cold_chain_excursion"])


async def test_decisions_raise_escalate_and_clear_a_risk(backend: Backend) -> None:
    store, t = backend.stores.telemetry, terminal()
    await store.apply([(decision("raise"), t)], NOW)
    await store.apply([(decision("raise", severity="major"), t)], NOW)  # a replay: kept as was
    [risk] = await store.risks(RiskQuery(state="open", limit=9))
    assert (risk["id"], risk["severity"], risk["state"]) == ("risk_1", "minor", "open")
    assert (risk["district"], risk["merchant_id"], risk["stall_no"]) == ("zhifu", "mer_1", "A-1")
    assert risk["raised_at"] == datetime.fromtimestamp(RAISED, UTC)
    assert risk["evidence"] == decision("raise").evidence.to_dict()
    assert risk["acknowledged_by"] is None and risk["acknowledged_actor"] is None
    assert await store.open_risk_counts() == [("cold_chain_excursion", "minor", 1)]

    later = NOW.timestamp() + 60
    await store.apply([(decision("escalate", "major", at=later), t)], NOW)
    assert (await store.risk("risk_1"))["severity"] == "major"  # type: ignore[index]
    await store.apply([(decision("clear", "major", at=later), t)], NOW)
    await store.apply([(decision("update", "critical", at=later), t)], NOW)  # cleared: no change
    cleared = await store.risk("risk_1", for_update=True)
    assert cleared is not None
    assert (cleared["state"], cleared["severity"]) == ("cleared", "major")
    assert cleared["cleared_at"] == datetime.fromtimestamp(later, UTC)
    assert await store.open_risk_counts() == []
    assert await store.risk("risk_2") is None


async def test_risks_are_listed_newest_first_within_the_filters(backend: Backend) -> None:
    store, t = backend.stores.telemetry, terminal()
    elsewhere = replace(t, id="trm_2", district="laishan")
    await store.apply(
        [
            (decision("raise", risk_id="risk_old"), t),
            (decision("raise", risk_id="risk_new", at=RAISED), elsewhere),
        ],
        NOW,
    )
    # A later raise, by its own raised_at.
    newer = replace(decision("raise", risk_id="risk_newest"), raised_at=RAISED + 60)
    await store.apply([(newer, replace(t, id="trm_3"))], NOW)
    listed = await store.risks(RiskQuery(market_id="mkt_1", limit=9))
    assert listed[0]["id"] == "risk_newest"
    mine = await store.risks(RiskQuery(district="zhifu", limit=9))
    assert {r["id"] for r in mine} == {"risk_old", "risk_newest"}
    one = await store.risks(RiskQuery(state="open", terminal_id="trm_2", limit=9))
    assert [r["id"] for r in one] == ["risk_new"]
    assert len(await store.risks(RiskQuery(limit=1))) == 1


async def test_an_acknowledgement_keeps_the_person(backend: Backend) -> None:
    store = backend.stores.telemetry
    await store.apply([(decision("raise"), terminal())], NOW)
    who = Actor.of("i-zhou", "周检查员")
    await store.acknowledge("risk_1", who, NOW)
    risk = await store.risk("risk_1")
    assert risk is not None
    assert (risk["acknowledged_by"], risk["acknowledged_at"]) == ("i-zhou", NOW)
    assert risk["acknowledged_actor"] == who.to_dict() and risk["updated_at"] == NOW


async def test_offsets_hide_what_was_handled_and_never_move_back(backend: Backend) -> None:
    offsets = backend.stores.offsets

    def at(partition: int, offset: int) -> Delivery:
        return Delivery("telemetry.readings.v1", partition, offset, None, b"{}")

    batch = [at(0, 0), at(0, 1), at(1, 5)]
    assert await offsets.unseen(batch) == batch
    await offsets.advance(batch)
    assert await offsets.unseen([*batch, at(0, 2), at(1, 6)]) == [at(0, 2), at(1, 6)]
    await offsets.advance([at(0, 0)])
    assert await offsets.unseen([at(0, 1), at(0, 2)]) == [at(0, 2)]
