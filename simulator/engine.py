"""The engine: every terminal of a city on one event-time schedule, producing signed readings.

`step()` takes the terminal whose next reading is due soonest, advances its value model to that
instant under the faults acting on it, and returns what the terminal sends: usually one reading;
none while its sensor is switched off; an extra forged or replayed one under those faults. No
I/O and no wall clock: a seed and a start time fix every byte.

`seq` is the reading's event time in microseconds (or the previous seq + 1 if that is not
higher): it increases per terminal across restarts of the simulator without any saved state, so
a restarted live run is not mistaken for a replay. Replaying a period the service has already
seen is, correctly, a replay.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from contracts.telemetry import sign
from simulator.city import City, Market, Terminal
from simulator.clock import format_ts
from simulator.faults import FORGE_MODES, Fault, FaultBook, FaultSpec
from simulator.physics import (
    PROFILES,
    ColdChainModel,
    FootfallModel,
    Model,
    PaymentModel,
    Values,
)

Tag = Literal["reading", "forged", "replayed"]
FaultListener = Callable[[str, Fault, float], None]
HISTORY = 32  # readings a terminal remembers, for the replay fault


@dataclass(frozen=True)
class Emission:
    """One message: the reading's bytes, keyed by the terminal id it claims."""

    terminal_id: str
    value: bytes
    kind: str
    tag: Tag
    ts: float


def make_model(terminal: Terminal, market: Market, rng: random.Random, t0: float) -> Model:
    if terminal.kind == "cold_chain":
        return ColdChainModel(PROFILES[terminal.profile or "chilled"], rng, t0, market.hours)
    if terminal.kind == "footfall":
        return FootfallModel(market.capacity, market.kind, market.hours, rng, t0)
    return PaymentModel(market.kind, market.hours, rng, t0)


class _Sim:
    """One terminal while the run goes: its model, schedule step, last seq and recent readings."""

    __slots__ = (
        "emit_rng",
        "first",
        "forged",
        "history",
        "interval_s",
        "model",
        "reports",
        "seq",
        "step",
        "terminal",
    )

    def __init__(
        self, terminal: Terminal, model: Model, first: float, step: float, emit_rng: random.Random
    ) -> None:
        self.terminal, self.model, self.step, self.emit_rng = terminal, model, step, emit_rng
        self.first = first
        self.reports = 0  # schedule slots passed; due times are first + n × step, free of drift
        self.interval_s = max(1, round(step))
        self.seq = 0
        self.forged = 0
        self.history: deque[bytes] = deque(maxlen=HISTORY)


class Engine:
    def __init__(
        self,
        city: City,
        *,
        seed: int,
        start: float,
        interval_s: int | None = None,
        step_s: float | None = None,
        on_fault: FaultListener | None = None,
    ) -> None:
        """`interval_s` overrides every terminal's reporting interval; `step_s` (rate mode) sets
        the event time between two readings of one terminal and staggers terminals evenly."""
        self.city, self.seed, self.start = city, seed, start
        self.faults = FaultBook(city, seed)
        self.on_fault = on_fault
        self.now = start
        self.counts: Counter[str] = Counter()
        self._sims: list[_Sim] = []
        self._by_id: dict[str, _Sim] = {}
        self._heap: list[tuple[float, int]] = []
        terminals = sorted(city.terminals, key=lambda t: t.id)
        for index, terminal in enumerate(terminals):
            rng = random.Random(f"{seed}|{terminal.id}")
            step = float(step_s or interval_s or terminal.interval_s)
            if step_s:
                phase = step * index / len(terminals)
            else:
                # Terminals switched on at random moments: their readings spread over the interval.
                phase = float(rng.randrange(max(1, int(step))))
            first = start + phase
            market = city.markets[terminal.market_id]
            model = make_model(terminal, market, rng, first - step)
            sim = _Sim(terminal, model, first, step, random.Random(f"{seed}|{terminal.id}|emit"))
            self._sims.append(sim)
            self._by_id[terminal.id] = sim
            heapq.heappush(self._heap, (first, index))

    def next_time(self) -> float:
        """Event time of the next reading due."""
        return self._heap[0][0]

    def add_fault(self, spec: FaultSpec, *, source: str = "command") -> Fault:
        """A fault from a command: `now` and offsets count from the next reading due."""
        now = self.next_time()
        return self.faults.add(spec, now=now, base=now, source=source)

    def schedule(self, spec: FaultSpec) -> Fault:
        """A fault from the schedule: offsets count from the run's start."""
        return self.faults.add(spec, now=self.start, base=self.start, source="schedule")

    def stop_fault(self, fault_id: str) -> Fault:
        return self.faults.stop(fault_id, self.next_time())

    def step(self) -> list[Emission]:
        t, index = heapq.heappop(self._heap)
        sim = self._sims[index]
        sim.reports += 1
        heapq.heappush(self._heap, (sim.first + sim.reports * sim.step, index))
        self.now = t
        for change, fault in self.faults.advance(t):
            if self.on_fault is not None:
                self.on_fault(change, fault, t)
        terminal = sim.terminal
        values = sim.model.advance(t, self.faults.windows(terminal.id))
        acting = {f.kind: f for f in self.faults.acting(terminal.id, t)}
        if "sensor_off" in acting:
            self.counts["suppressed"] += 1
            return []
        sim.seq = max(sim.seq + 1, round(t * 1_000_000))
        reading = self._signed(
            terminal.id, sim.seq, t, terminal.kind, values, sim.interval_s, terminal.key
        )
        value = orjson.dumps(reading)
        out = [Emission(terminal.id, value, terminal.kind, "reading", t)]
        self.counts["reading"] += 1
        self.counts[terminal.kind] += 1
        if "forge" in acting:
            out.append(self._forge(sim, reading, acting["forge"], t))
            self.counts["forged"] += 1
        if "replay" in acting and sim.history:
            # Any earlier reading, byte for byte: its seq is at or below one already sent.
            old = sim.emit_rng.choice(list(sim.history))
            out.append(Emission(terminal.id, old, terminal.kind, "replayed", t))
            self.counts["replayed"] += 1
        sim.history.append(value)
        return out

    @staticmethod
    def _signed(
        terminal_id: str,
        seq: int,
        t: float,
        kind: str,
        values: Values,
        interval_s: int,
        key: bytes,
    ) -> dict[str, Any]:
        reading: dict[str, Any] = {"terminal_id": terminal_id, "seq": seq, "ts": format_ts(t)}
        reading["kind"] = kind
        reading.update(values)
        reading["interval_s"] = interval_s
        reading["sig"] = sign(reading, key)
        return reading

    def _forge(self, sim: _Sim, reading: dict[str, Any], fault: Fault, t: float) -> Emission:
        mode = fault.mode or "mixed"
        if mode == "mixed":
            mode = FORGE_MODES[sim.forged % len(FORGE_MODES)]
        sim.forged += 1
        rng = sim.emit_rng
        victim = self._by_id.get(fault.victims.get(sim.terminal.id, ""))
        if mode == "impersonate" and victim is not None:
            # Claims a terminal of another market; the forger can only sign with its own key.
            # The victim's seq is not used up: the genuine terminal carries on unharmed.
            kind = victim.terminal.kind
            forged = self._signed(
                victim.terminal.id,
                victim.seq + 1,
                t,
                kind,
                plausible(kind, victim.terminal.profile, rng),
                victim.interval_s,
                sim.terminal.key,
            )
            return Emission(victim.terminal.id, orjson.dumps(forged), kind, "forged", t)
        forged = dict(reading)
        if mode == "tamper":
            # Values rewritten after signing, as a man in the middle would: the sig no longer fits.
            forged.update(tampered(reading, rng))
        else:
            del forged["sig"]
            forged["sig"] = sign(forged, self._forger_key(sim.terminal.id))
        return Emission(sim.terminal.id, orjson.dumps(forged), sim.terminal.kind, "forged", t)

    def _forger_key(self, terminal_id: str) -> bytes:
        return hashlib.sha256(
            f"sentinel-simulator-forger|{self.seed}|{terminal_id}".encode()
        ).digest()


def plausible(kind: str, profile: str | None, rng: random.Random) -> Values:
    """Unremarkable values of a kind: what a forger would claim."""
    if kind == "cold_chain":
        return {
            "temp_c": round(PROFILES[profile or "chilled"].setpoint + rng.uniform(-0.5, 0.5), 1)
        }
    if kind == "footfall":
        flow = rng.randint(5, 40)
        return {"entries": flow, "exits": flow, "occupancy": rng.randint(50, 300)}
    count = rng.randint(1, 4)
    return {"tx_count": count, "tx_amount": round(count * rng.uniform(15, 60), 2), "refunds": 0}


def tampered(reading: dict[str, Any], rng: random.Random) -> Values:
    """A value changed to hide trouble or inflate sales; always different from the original."""
    kind = reading["kind"]
    if kind == "cold_chain":
        temp = float(reading["temp_c"])
        masked = round(rng.uniform(2.0, 4.0) if temp > -5 else rng.uniform(-20.0, -18.0), 1)
        return {"temp_c": masked if masked != temp else round(temp - 1.0, 1)}
    if kind == "footfall":
        occupancy = int(reading["occupancy"])
        return {"occupancy": occupancy // 2 if occupancy >= 2 else occupancy + 10}
    return {"tx_amount": round(float(reading["tx_amount"]) + 88.8, 2)}
