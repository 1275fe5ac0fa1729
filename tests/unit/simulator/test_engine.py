"""The engine's readings: valid per the contract, signed, ordered, reproducible; and the faults
that act on the message rather than the values (gap, forgery, replay)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from contracts.telemetry import parse_reading, range_violation, verify
from simulator.engine import Emission, Engine
from simulator.faults import parse_spec
from tests.support.simulator_cities import city, key

T0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC).timestamp()  # 08:00 in Shanghai: trading


def run(engine: Engine, until: float) -> list[Emission]:
    out: list[Emission] = []
    while engine.next_time() < until:
        out += engine.step()
    return out


def parsed(emissions: list[Emission]) -> list[dict[str, Any]]:
    return [orjson.loads(e.value) for e in emissions]


def test_every_reading_is_valid_signed_compact_and_keyed_by_its_terminal() -> None:
    engine = Engine(city(), seed=1, start=T0)
    emissions = run(engine, T0 + 3600)
    assert len(emissions) == 10 * 60
    for emission in emissions:
        reading = orjson.loads(emission.value)
        assert emission.terminal_id == reading["terminal_id"] and emission.tag == "reading"
        model = parse_reading(reading)  # the contract's strict model
        assert range_violation(model) is None
        assert model.interval_s == 60 and reading["ts"].endswith("Z")
        assert verify(reading, key(reading["terminal_id"]))
        assert len(emission.value) < 260  # "about 200 bytes"
    kinds = {r["kind"]: r for r in parsed(emissions)}
    assert set(kinds["cold_chain"]) == {
        "terminal_id",
        "seq",
        "ts",
        "kind",
        "temp_c",
        "interval_s",
        "sig",
    }
    assert {"entries", "exits", "occupancy"} <= set(kinds["footfall"])
    assert {"tx_count", "tx_amount", "refunds"} <= set(kinds["payment"])


def test_each_terminal_reports_once_per_interval_with_increasing_seq() -> None:
    emissions = run(Engine(city(), seed=2, start=T0), T0 + 3600)
    by_terminal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reading in parsed(emissions):
        by_terminal[reading["terminal_id"]].append(reading)
    assert len(by_terminal) == 10
    for readings in by_terminal.values():
        times = [datetime.fromisoformat(r["ts"]).timestamp() for r in readings]
        assert [b - a for a, b in itertools.pairwise(times)] == [60.0] * 59
        seqs = [r["seq"] for r in readings]
        assert all(b > a for a, b in itertools.pairwise(seqs))
    # Overall the readings come in event-time order, spread over the minute.
    all_times = [e.ts for e in emissions]
    assert all_times == sorted(all_times) and len(set(all_times[:10])) > 1


def test_seq_is_event_time_in_microseconds_so_a_restarted_run_carries_on() -> None:
    first = parsed(run(Engine(city(), seed=3, start=T0), T0 + 600))
    later = parsed(run(Engine(city(), seed=3, start=T0 + 600), T0 + 1200))
    last_seq = {r["terminal_id"]: r["seq"] for r in first}
    first_after: dict[str, int] = {}
    for r in later:
        first_after.setdefault(r["terminal_id"], r["seq"])
    assert all(first_after[t] > last_seq[t] for t in last_seq)
    assert first[0]["seq"] == int(datetime.fromisoformat(first[0]["ts"]).timestamp() * 1e6)


def test_the_same_seed_and_start_give_the_same_bytes() -> None:
    def values(seed: int, start: float = T0) -> list[bytes]:
        engine = Engine(city(), seed=seed, start=start)
        engine.schedule(parse_spec("door_open@+5m"))
        engine.schedule(parse_spec("forge@+10m:terminal=auto"))
        return [e.value for e in run(engine, start + 1800)]

    assert values(7) == values(7)
    assert values(7) != values(8)
    assert values(7) != values(7, T0 + 60)


def test_interval_override_and_rate_steps() -> None:
    slow = run(Engine(city(), seed=1, start=T0, interval_s=300), T0 + 3600)
    assert len(slow) == 10 * 12 and {r["interval_s"] for r in parsed(slow)} == {300}
    # Rate mode: terminals evenly staggered, event time moving with the readings.
    fast = Engine(city(), seed=1, start=T0, step_s=0.01)
    emissions = run(fast, T0 + 1)
    assert len(emissions) == 1000
    gaps = {round(b.ts - a.ts, 6) for a, b in itertools.pairwise(emissions)}
    assert gaps == {0.001}
    assert {r["interval_s"] for r in parsed(emissions)} == {1}


def test_a_switched_off_sensor_sends_nothing_then_resumes() -> None:
    engine = Engine(city(), seed=1, start=T0)
    engine.schedule(parse_spec("sensor_off@+10m:terminal=trm_fridge_0,duration=20m"))
    readings = [r for r in parsed(run(engine, T0 + 3600)) if r["terminal_id"] == "trm_fridge_0"]
    times = [datetime.fromisoformat(r["ts"]).timestamp() for r in readings]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) == 21 * 60 and len(readings) == 60 - 20
    assert engine.counts["suppressed"] == 20


@pytest.mark.parametrize("mode", ["tamper", "wrong_key", "impersonate", "mixed"])
def test_forged_readings_fail_verification_with_the_real_key(mode: str) -> None:
    engine = Engine(city(), seed=4, start=T0)
    engine.schedule(parse_spec(f"forge@+5m:terminal=all,market=mkt_0,duration=10m,mode={mode}"))
    emissions = run(engine, T0 + 1800)
    forged = [e for e in emissions if e.tag == "forged"]
    genuine = [e for e in emissions if e.tag == "reading"]
    assert len(forged) == 5 * 10 and len(genuine) == 10 * 30
    for emission in forged:
        reading = orjson.loads(emission.value)
        assert emission.terminal_id == reading["terminal_id"]
        parse_reading(reading)  # well-formed: only the signature gives it away
        assert not verify(reading, key(reading["terminal_id"]))
    assert all(verify(orjson.loads(e.value), key(e.terminal_id)) for e in genuine)
    claimed = {orjson.loads(e.value)["terminal_id"] for e in forged}
    if mode in ("impersonate", "mixed"):
        assert any(t.endswith("_1") or "_1_" in t for t in claimed)  # another market's ids
    else:
        assert claimed <= {t.id for t in city().terminals if t.market_id == "mkt_0"}


def test_impersonation_does_not_use_up_the_victims_seq() -> None:
    engine = Engine(city(), seed=4, start=T0)
    fault = engine.schedule(parse_spec("forge@+5m:terminal=trm_fridge_0,mode=impersonate"))
    victim = fault.victims["trm_fridge_0"]
    readings = parsed(run(engine, T0 + 1800))
    genuine = [r for r in readings if r["terminal_id"] == victim and verify(r, key(victim))]
    seqs = [r["seq"] for r in genuine]
    assert all(b > a for a, b in itertools.pairwise(seqs)) and len(seqs) == 30


def test_replayed_readings_repeat_an_earlier_reading_byte_for_byte() -> None:
    engine = Engine(city(), seed=5, start=T0)
    engine.schedule(parse_spec("replay@+10m:terminal=trm_till_0_1,duration=5m"))
    emissions = [e for e in run(engine, T0 + 1800) if e.terminal_id == "trm_till_0_1"]
    replayed = [e for e in emissions if e.tag == "replayed"]
    assert len(replayed) == 5
    seen: set[bytes] = set()
    highest = -1
    for emission in emissions:
        reading = orjson.loads(emission.value)
        if emission.tag == "replayed":
            assert emission.value in seen and reading["seq"] <= highest
            assert verify(reading, key("trm_till_0_1"))  # authentic, just old
        else:
            seen.add(emission.value)
            highest = max(highest, reading["seq"])


def test_faults_are_reported_as_event_time_passes() -> None:
    log: list[tuple[str, str, float]] = []
    engine = Engine(city(), seed=1, start=T0, on_fault=lambda c, f, t: log.append((c, f.id, t)))
    engine.schedule(parse_spec("door_open@+5m:duration=10m"))
    run(engine, T0 + 1800)
    assert [(c, f) for c, f, _ in log] == [("fault_started", "f1"), ("fault_stopped", "f1")]
    assert T0 + 300 <= log[0][2] < T0 + 360 and T0 + 900 <= log[1][2] < T0 + 960


def test_a_commanded_fault_starts_with_the_next_reading_due() -> None:
    engine = Engine(city(), seed=1, start=T0)
    run(engine, T0 + 600)
    fault = engine.add_fault(parse_spec("crowd_surge:duration=5m"))
    assert fault.start == engine.next_time() and fault.source == "command"
    stopped = engine.stop_fault(fault.id)
    assert stopped.end == engine.next_time()
