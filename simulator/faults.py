"""Faults: what can go wrong with a terminal, when, and to which terminals.

A fault is written `KIND[@WHEN][:key=value,...]`, on the command line (`--fault`), one per line in
a schedule file (`--faults`), or sent to the control endpoint while the simulator runs:

    door_open@+5m:terminal=auto,duration=30m
    compressor@08:30:terminal=trm_0123,duration=24h
    crowd_surge:market=mkt_42          # on command: starts at once
    forge@+1m:mode=impersonate

WHEN is `now` (the default), `+5m` (after the run's start; after "now" for a command), `HH:MM`
(next time it is that in Shanghai) or an RFC 3339 instant. Options: `terminal` (an id, `auto`
for one chosen with the run's seed, or `all`), `market` (only that market's terminals),
`duration` (default per kind) and, for `forge`, `mode`.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.city import TERMINAL_KINDS, City
from simulator.clock import HOUR, MINUTE, format_duration, iso, next_local_time, parse_duration
from simulator.clock import parse_instant as _parse_instant
from simulator.physics import Window

KINDS = (
    "door_open",
    "compressor",
    "sensor_off",
    "crowd_surge",
    "refund_spree",
    "forge",
    "replay",
)
ALIASES = {
    "compressor_failing": "compressor",
    "gap": "sensor_off",
    "surge": "crowd_surge",
    "refunds": "refund_spree",
    "forged": "forge",
    "replayed": "replay",
}
DESCRIPTIONS = {
    "door_open": "cold chain: door left open, temperature climbs well past the limit (excursion)",
    "compressor": "cold chain: compressor failing slowly, short excursions every 60-90 min "
    "(cumulative time out of range)",
    "sensor_off": "the terminal stops reporting (monitoring gap)",
    "crowd_surge": "footfall: occupancy over 90 %, then over 100 % of capacity, at any hour "
    "(crowding: minor about 7 min after it starts, major about 10 min after)",
    "refund_spree": "payment: refunds 35-60 % of transactions (transaction anomaly)",
    "forge": "extra readings with a bad signature: tampered values, a wrong key, or another "
    "market's terminal id signed with this terminal's key",
    "replay": "an old reading resent as it was (seq replayed)",
}
ELIGIBLE: dict[str, tuple[str, ...]] = {
    "door_open": ("cold_chain",),
    "compressor": ("cold_chain",),
    "sensor_off": TERMINAL_KINDS,
    "crowd_surge": ("footfall",),
    "refund_spree": ("payment",),
    "forge": TERMINAL_KINDS,
    "replay": TERMINAL_KINDS,
}
# `auto` picks among these when there are any: the monitoring gap rule watches cold chain.
AUTO_PREFERS: dict[str, tuple[str, ...]] = {"sensor_off": ("cold_chain",)}
DEFAULT_DURATION_S = {
    "door_open": 30 * MINUTE,  # > 15 min above the limit, then a visible recovery
    "compressor": 24 * HOUR,  # the cumulative rule's window
    "sensor_off": 20 * MINUTE,  # well past 3 × the 60 s interval
    "crowd_surge": 20 * MINUTE,
    "refund_spree": 30 * MINUTE,
    "forge": 5 * MINUTE,
    "replay": 5 * MINUTE,
}
FORGE_MODES = ("tamper", "wrong_key", "impersonate")
_OPTIONS = {"terminal", "market", "duration", "mode"}


class FaultError(ValueError):
    """A fault spec that cannot be parsed or applied to this city."""


@dataclass(frozen=True)
class When:
    kind: Literal["now", "offset", "clock", "at"] = "now"
    seconds: float = 0.0  # offset, or the instant for `at`
    hour: int = 0
    minute: int = 0

    def resolve(self, *, now: float, base: float) -> float:
        if self.kind == "offset":
            return base + self.seconds
        if self.kind == "clock":
            return next_local_time(self.hour, self.minute, after=base)
        if self.kind == "at":
            return self.seconds
        return now


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    when: When = When()
    terminal: str = "auto"
    market: str | None = None
    duration_s: float | None = None
    mode: str | None = None
    text: str = ""


def _when(text: str) -> When:
    text = text.strip()
    if text in ("", "now"):
        return When()
    if text.startswith("+"):
        return When("offset", parse_duration(text[1:]))
    clock = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if clock:
        return When("clock", hour=int(clock.group(1)), minute=int(clock.group(2)))
    try:
        return When("at", _parse_instant(text, now=0.0))
    except ValueError:
        raise FaultError(f"when {text!r}: use now, +5m, HH:MM or an RFC 3339 instant") from None


def parse_spec(text: str) -> FaultSpec:
    """`KIND[@WHEN][:key=value,...]`; options may also be separated by spaces."""
    original = text.strip()
    if not original:
        raise FaultError("empty fault spec")
    # The options start at the first `:` followed by `name=`, so `@08:30` and RFC 3339 instants
    # keep their colons.
    head, *rest = re.split(r"(?::|\s+)(?=[a-z_]+=)", original, maxsplit=1)
    tail = rest[0] if rest else ""
    found = re.match(r"\s*([A-Za-z_]*)(.*)", head)
    name, remainder = (found.group(1), found.group(2).strip()) if found else ("", head)
    when = ""
    if remainder.startswith("@"):
        when = remainder[1:]
    elif remainder.startswith(":") and not tail:
        tail = remainder[1:]  # options that are not key=value: reported as such below
    elif remainder:
        raise FaultError(f"fault {original!r}: write KIND[@WHEN][:key=value,...]")
    kind = ALIASES.get(name.lower(), name.lower())
    if kind not in KINDS:
        raise FaultError(f"unknown fault {name!r}: one of {', '.join(KINDS)}")
    options: dict[str, str] = {}
    for item in filter(None, re.split(r"[,\s]+", tail.strip())):
        key, sep, value = item.partition("=")
        if not sep or key not in _OPTIONS or not value:
            raise FaultError(f"option {item!r}: use {', '.join(sorted(_OPTIONS))} as key=value")
        options[key] = value
    mode = options.get("mode")
    if mode is not None and (kind != "forge" or mode not in (*FORGE_MODES, "mixed")):
        raise FaultError(f"mode {mode!r}: only forge has a mode ({', '.join(FORGE_MODES)}, mixed)")
    try:
        duration = parse_duration(options["duration"]) if "duration" in options else None
    except ValueError as exc:
        raise FaultError(f"duration: {exc}") from None
    if duration is not None and duration <= 0:
        raise FaultError("duration must be positive")
    return FaultSpec(
        kind=kind,
        when=_when(when),
        terminal=options.get("terminal", "auto"),
        market=options.get("market"),
        duration_s=duration,
        mode=mode,
        text=original,
    )


def read_schedule(lines: Iterable[str]) -> list[FaultSpec]:
    """A schedule file: one spec per line; blank lines and `#` comments are skipped."""
    specs = []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            specs.append(parse_spec(line))
        except FaultError as exc:
            raise FaultError(f"line {number}: {exc}") from None
    return specs


@dataclass
class Fault:
    id: str
    kind: str
    start: float
    end: float
    terminals: tuple[str, ...]
    source: str = "schedule"
    spec: str = ""
    mode: str | None = None
    victims: dict[str, str] = field(default_factory=dict)  # forge: forger → impersonated id
    started: bool = False
    stopped: bool = False

    @property
    def state(self) -> str:
        return "stopped" if self.stopped else "active" if self.started else "scheduled"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "terminals": list(self.terminals),
            "start": iso(self.start),
            "end": iso(self.end),
            "duration": format_duration(self.end - self.start),
            "source": self.source,
            # What it does and which risk it raises, and when: the answer `make fault` prints.
            "effect": DESCRIPTIONS[self.kind],
        }
        if self.mode:
            out["mode"] = self.mode
        if self.victims:
            out["impersonates"] = dict(self.victims)
        return out


# Windows that ended this long ago are dropped; a terminal's model is never further behind the
# run's clock than its reporting interval (at most an hour in the registry).
_KEEP_ENDED_S = 2 * HOUR


class FaultBook:
    """Every fault of a run, by terminal; the engine asks it what acts on a terminal at `t`."""

    def __init__(self, city: City, seed: int) -> None:
        self.city = city
        self._rng = random.Random(f"{seed}|faults")
        self.faults: list[Fault] = []
        self._by_terminal: dict[str, list[tuple[Window, Fault]]] = {}
        self._windows: dict[str, tuple[Window, ...]] = {}
        self._next_change = math.inf  # the earliest start or end still to report

    def add(self, spec: FaultSpec, *, now: float, base: float, source: str = "schedule") -> Fault:
        start = spec.when.resolve(now=now, base=base)
        duration = spec.duration_s or DEFAULT_DURATION_S[spec.kind]
        targets = self._targets(spec)
        fault = Fault(
            id=f"f{len(self.faults) + 1}",
            kind=spec.kind,
            start=start,
            end=start + duration,
            terminals=targets,
            source=source,
            spec=spec.text,
            mode=(spec.mode or "mixed") if spec.kind == "forge" else None,
        )
        if spec.kind == "forge" and fault.mode in ("impersonate", "mixed"):
            for terminal_id in targets:
                victim = self._victim(terminal_id)
                if victim is not None:
                    fault.victims[terminal_id] = victim
        self.faults.append(fault)
        for terminal_id in targets:
            self._by_terminal.setdefault(terminal_id, []).append(
                (Window(fault.kind, fault.start, fault.end), fault)
            )
            self._reindex(terminal_id)
        self._next_change = min(self._next_change, fault.start)
        return fault

    def get(self, fault_id: str) -> Fault | None:
        return next((f for f in self.faults if f.id == fault_id), None)

    def stop(self, fault_id: str, at: float) -> Fault:
        """End a fault at `at` (event time); it is reported stopped when the run reaches it."""
        fault = self.get(fault_id)
        if fault is None:
            raise FaultError(f"no fault {fault_id!r}")
        fault.end = max(fault.start, min(fault.end, at))
        for terminal_id in fault.terminals:
            entries = self._by_terminal.get(terminal_id, [])
            self._by_terminal[terminal_id] = [
                (Window(f.kind, f.start, f.end), f) if f is fault else (w, f) for w, f in entries
            ]
            self._reindex(terminal_id)
        self._next_change = min(self._next_change, fault.end)
        return fault

    def advance(self, t: float) -> list[tuple[str, Fault]]:
        """What started and stopped by event time `t`, in order."""
        if t < self._next_change:
            return []
        changes: list[tuple[str, Fault]] = []
        upcoming = math.inf
        for fault in self.faults:
            if fault.stopped:
                continue
            if not fault.started and fault.start <= t:
                fault.started = True
                changes.append(("fault_started", fault))
            if fault.started and fault.end <= t:
                fault.stopped = True
                changes.append(("fault_stopped", fault))
                self._forget_ended(fault, t)
            if not fault.stopped:
                upcoming = min(upcoming, fault.end if fault.started else fault.start)
        self._next_change = upcoming
        return changes

    def windows(self, terminal_id: str) -> Sequence[Window]:
        return self._windows.get(terminal_id, ())

    def acting(self, terminal_id: str, t: float) -> list[Fault]:
        return [f for w, f in self._by_terminal.get(terminal_id, ()) if w.covers(t)]

    def describe(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self.faults]

    def _forget_ended(self, fault: Fault, t: float) -> None:
        for terminal_id in fault.terminals:
            entries = self._by_terminal.get(terminal_id, [])
            self._by_terminal[terminal_id] = [
                (w, f) for w, f in entries if w.end > t - _KEEP_ENDED_S
            ]
            self._reindex(terminal_id)

    def _reindex(self, terminal_id: str) -> None:
        self._windows[terminal_id] = tuple(w for w, _ in self._by_terminal.get(terminal_id, ()))

    def _targets(self, spec: FaultSpec) -> tuple[str, ...]:
        kinds = ELIGIBLE[spec.kind]
        pool = sorted(
            (
                t
                for t in self.city.terminals
                if t.kind in kinds and spec.market in (None, t.market_id)
            ),
            key=lambda t: t.id,
        )
        where = f" in market {spec.market}" if spec.market else ""
        if spec.terminal not in ("auto", "all"):
            terminal = self.city.terminal(spec.terminal)
            if terminal is None:
                raise FaultError(f"no terminal {spec.terminal!r} in this city")
            if terminal.kind not in kinds:
                raise FaultError(
                    f"{spec.kind} needs a {' or '.join(kinds)} terminal; "
                    f"{terminal.id} is {terminal.kind}"
                )
            return (terminal.id,)
        if not pool:
            raise FaultError(f"{spec.kind}: no {' or '.join(kinds)} terminal{where}")
        if spec.terminal == "all":
            return tuple(t.id for t in pool)
        preferred = AUTO_PREFERS.get(spec.kind, kinds)
        candidates = [t for t in pool if t.kind in preferred] or pool
        return (self._rng.choice(candidates).id,)

    def _victim(self, forger_id: str) -> str | None:
        """Whom a forger impersonates: a terminal of another market, else any other one."""
        forger = self.city.terminal(forger_id)
        others = sorted(t.id for t in self.city.terminals if t.id != forger_id)
        elsewhere = sorted(
            t.id
            for t in self.city.terminals
            if forger is not None and t.market_id != forger.market_id
        )
        pool = elsewhere or others
        return self._rng.choice(pool) if pool else None
