"""Pure value models of the terminals: what a fridge, a gate counter and a till would report.

No I/O and no clock: each model holds its own state and a seeded `random.Random`, and
`advance(t, windows)` moves it to event time `t` (under the fault windows given) and returns the
values of the reading at `t`. The same seed and the same sequence of `t` give the same values.

The numbers are chosen so that a healthy city never trips a telemetry rule (docs/rules.md: chilled
stays inside 0-6 °C, frozen below -15 °C, occupancy below 90 % of capacity, refunds around 1 %),
and each fault trips its rule clearly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from simulator.clock import HOUR, MINUTE, OpeningHours, local_day, local_hour, local_weekday

Values = dict[str, int | float]


@dataclass(frozen=True)
class Window:
    """A fault acting on one terminal from `start` (inclusive) to `end` (exclusive), event time."""

    kind: str
    start: float
    end: float

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


def covering(windows: Sequence[Window], kind: str, t: float) -> Window | None:
    for window in windows:
        if window.kind == kind and window.covers(t):
            return window
    return None


class Model(Protocol):
    def advance(self, t: float, windows: Sequence[Window] = ()) -> Values: ...


def bump(x: float, centre: float, width: float) -> float:
    """A Gaussian bump of height 1: the shape of a morning or an evening peak."""
    return math.exp(-((x - centre) ** 2) / (2 * width * width))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        # Knuth's method: exact, and cheap for the small means of one interval.
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    p = min(1.0, max(0.0, p))
    if n <= 0 or p == 0.0:
        return 0
    if n <= 64:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(mean, sd))))


def approach(value: float, target: float, tau_s: float, dt: float) -> float:
    """First-order (Newtonian) relaxation of `value` towards `target` over `dt` seconds."""
    return target + (value - target) * math.exp(-dt / tau_s)


class DayFactor:
    """A busier or quieter day: weekends busier, and a draw per day around that."""

    def __init__(self, rng: random.Random, weekend: float) -> None:
        self._rng, self._weekend = rng, weekend
        self._day: int | None = None
        self._factor = 1.0

    def at(self, t: float) -> float:
        day = local_day(t)
        if day != self._day:
            self._day = day
            base = self._weekend if local_weekday(t) >= 5 else 1.0
            self._factor = base * self._rng.uniform(0.9, 1.1)
        return self._factor


# -- cold chain ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdProfile:
    """A cabinet's thermal behaviour; time constants of first-order approaches, in seconds."""

    name: str
    setpoint: float
    low: float  # thermostat cut-out: the compressor stops below this
    high: float  # cut-in: it starts above this (as the air sensor sees it)
    limit: float  # the telemetry rule's limit (docs/rules.md), only used to size compressor stalls
    evaporator: float  # what a running compressor pulls towards
    cool_tau_s: float
    ambient: float  # the market hall
    warm_tau_s: float  # compressor off, door shut
    door_tau_s: float  # door left wide open
    stall_tau_s: float  # compressor failing: it stalls while the fans push hall air through
    door_rate_open_per_h: float  # customers opening the door during opening hours
    door_rate_closed_per_h: float
    door_spike: tuple[float, float]  # warmth one opening adds to the air at the sensor, °C
    door_cap: float
    door_decay_s: float
    noise_sd: float
    noise_clip: float


CHILLED = ColdProfile(
    name="chilled",
    setpoint=3.0,
    low=2.0,
    high=4.0,
    limit=8.0,
    evaporator=-8.0,
    cool_tau_s=36.7 * MINUTE,  # 0.3 °C/min at 3 °C: a 7 min pull-down in a ~27 min cycle
    ambient=20.0,
    warm_tau_s=170 * MINUTE,  # 0.1 °C/min at 3 °C
    door_tau_s=26.5 * MINUTE,  # open: 3 → 8 °C in ~10 min, ~14 °C after 30 min
    stall_tau_s=30 * MINUTE,
    door_rate_open_per_h=4.0,
    door_rate_closed_per_h=0.2,
    door_spike=(0.5, 1.2),
    door_cap=1.6,
    door_decay_s=3 * MINUTE,
    noise_sd=0.08,
    noise_clip=0.2,
)
FROZEN = ColdProfile(
    name="frozen",
    setpoint=-19.0,
    low=-20.5,
    high=-17.5,
    limit=-15.0,
    evaporator=-32.0,
    cool_tau_s=43 * MINUTE,
    ambient=20.0,
    warm_tau_s=390 * MINUTE,
    door_tau_s=90 * MINUTE,  # a chest freezer left open: -19 → -15 °C in ~10 min
    stall_tau_s=70 * MINUTE,
    door_rate_open_per_h=2.0,
    door_rate_closed_per_h=0.1,
    door_spike=(0.4, 1.2),
    door_cap=1.8,
    door_decay_s=3 * MINUTE,
    noise_sd=0.1,
    noise_clip=0.25,
)
PROFILES = {"chilled": CHILLED, "frozen": FROZEN}

# A failing compressor stalls, lets the cabinet warm to a little past the limit, then recovers:
# bursts of ~4-10 min out of range, every 45-75 min, so no single excursion reaches the 15 min
# duration rule while the 24 h total passes 60 min (the cumulative rule) within about 12 hours.
STALL_FIRST_S = (2 * MINUTE, 10 * MINUTE)
STALL_EVERY_S = (45 * MINUTE, 75 * MINUTE)
STALL_OVERSHOOT_C = (1.0, 1.6)


class ColdChainModel:
    """A fridge or freezer: thermostat cycles, customers opening the door, sensor noise."""

    SUBSTEP_S = 15.0  # keeps the thermostat's overshoot below 0.1 °C

    def __init__(
        self, profile: ColdProfile, rng: random.Random, t0: float, hours: OpeningHours
    ) -> None:
        self.profile, self.rng, self.t, self.hours = profile, rng, t0, hours
        self.temp = rng.uniform(profile.low + 0.3, profile.high - 0.3)
        self.door = 0.0  # air warmed by recent door openings, decaying
        self.cooling = rng.random() < 0.3
        self._stall_at: float | None = None
        self._stall_until_c: float | None = None  # stalled: recover at this temperature

    def advance(self, t: float, windows: Sequence[Window] = ()) -> Values:
        while self.t < t:
            step_end = min(self.t + self.SUBSTEP_S, t)
            self._substep(self.t, step_end - self.t, windows)
            self.t = step_end
        return {"temp_c": self.read()}

    def read(self) -> float:
        p = self.profile
        noise = max(-p.noise_clip, min(p.noise_clip, self.rng.gauss(0.0, p.noise_sd)))
        return round(self.temp + self.door + noise, 1)

    def _ambient(self, t: float) -> float:
        # The hall is warmer in the afternoon.
        return self.profile.ambient - 2.0 + 4.0 * bump(local_hour(t), 14.5, 3.5)

    def _substep(self, now: float, dt: float, windows: Sequence[Window]) -> None:
        p, rng = self.profile, self.rng
        if covering(windows, "door_open", now):
            self.temp = approach(self.temp, self._ambient(now), p.door_tau_s, dt)
            self.door = 0.0  # the air at the sensor *is* hall air now
            self.cooling = True  # running flat out, and losing
            return
        per_h = p.door_rate_open_per_h if self.hours.is_open(now) else p.door_rate_closed_per_h
        if rng.random() < per_h * dt / HOUR:
            self.door = min(p.door_cap, self.door + rng.uniform(*p.door_spike))
        self.door *= math.exp(-dt / p.door_decay_s)
        if self._stalled(now, covering(windows, "compressor", now) is not None):
            self.temp = approach(self.temp, self._ambient(now), p.stall_tau_s, dt)
            self.cooling = True  # it pulls down as soon as it restarts
        elif self.cooling:
            self.temp = approach(self.temp, p.evaporator, p.cool_tau_s, dt)
            if self.temp < p.low:
                self.cooling = False
        else:
            self.temp = approach(self.temp, self._ambient(now), p.warm_tau_s, dt)
            if self.temp + self.door > p.high:
                self.cooling = True

    def _stalled(self, now: float, failing: bool) -> bool:
        if not failing:
            self._stall_at = self._stall_until_c = None
            return False
        if self._stall_until_c is not None:
            if self.temp < self._stall_until_c:
                return True
            self._stall_until_c = None
            self._stall_at = now + self.rng.uniform(*STALL_EVERY_S)
            return False
        if self._stall_at is None:
            self._stall_at = now + self.rng.uniform(*STALL_FIRST_S)
        if now >= self._stall_at:
            self._stall_until_c = self.profile.limit + self.rng.uniform(*STALL_OVERSHOOT_C)
            return True
        return False


# -- footfall --------------------------------------------------------------------------------

DWELL_S = 25 * MINUTE  # how long a shopper stays
TRACK_TAU_S = 6 * MINUTE  # how fast the crowd follows the time of day
# A crowd surge: first over 90 % of capacity (the crowding rule's threshold) but short of 100 %
# (its `major` level), then well over 100 %. The crowd rushes in fast enough to pass 90 % within
# about 3 min even from an empty market at night (the rule judges every hour, docs/rules.md),
# and the first level holds long enough for the rule's 5 min: `minor` about 7 min after the
# surge starts, `major` about 10 min after, at any hour.
SURGE_FIRST = 0.95
SURGE_FIRST_S = 9 * MINUTE
SURGE_PEAK = 1.12
SURGE_TAU_S = 40.0


def crowd_fraction(t: float, market_kind: str, hours: OpeningHours) -> float:
    """Typical occupancy as a share of capacity: a morning and an evening peak (farmers'
    markets), an early peak (wholesale); empty when closed. At most ~0.6 on a weekday."""
    if not hours.is_open(t):
        return 0.0
    h = local_hour(t)
    if market_kind == "wholesale":
        return 0.08 + 0.5 * bump(h, 6.8, 0.8) + 0.2 * bump(h, 16.0, 1.5)
    return 0.06 + 0.5 * bump(h, 8.0, 1.1) + 0.15 * bump(h, 12.0, 1.2) + 0.38 * bump(h, 17.3, 0.9)


class FootfallModel:
    """A market's gate counter: entries and exits per interval and the occupancy it reckons."""

    def __init__(
        self,
        capacity: int,
        market_kind: str,
        hours: OpeningHours,
        rng: random.Random,
        t0: float,
    ) -> None:
        self.capacity, self.kind, self.hours, self.rng, self.t = (
            capacity,
            market_kind,
            hours,
            rng,
            t0,
        )
        self.days = DayFactor(rng, weekend=1.15)
        self.occupancy = round(self.desired(t0, ()))

    def desired(self, t: float, windows: Sequence[Window]) -> float:
        surge = covering(windows, "crowd_surge", t)
        if surge is not None:
            share = SURGE_FIRST if t - surge.start < SURGE_FIRST_S else SURGE_PEAK
            return share * self.capacity
        return crowd_fraction(t, self.kind, self.hours) * self.days.at(t) * self.capacity

    def advance(self, t: float, windows: Sequence[Window] = ()) -> Values:
        dt = max(0.0, t - self.t)
        self.t = max(self.t, t)
        desired = self.desired(t, windows)
        tau = SURGE_TAU_S if covering(windows, "crowd_surge", t) else TRACK_TAU_S
        follow = 1.0 - math.exp(-dt / tau)
        turnover = min(self.occupancy, desired) * dt / DWELL_S
        entries = poisson(self.rng, turnover + max(0.0, desired - self.occupancy) * follow)
        exits = poisson(self.rng, turnover + max(0.0, self.occupancy - desired) * follow)
        exits = min(exits, self.occupancy + entries)
        self.occupancy += entries - exits
        return {"entries": entries, "exits": exits, "occupancy": self.occupancy}


# -- payment ---------------------------------------------------------------------------------

REFUND_SHARE = 0.01
# One cashier serves at most this many payments a minute; sales below that are binomial, so a
# stall's busiest minutes are bounded and a robust baseline does not see anomalies in plain
# Poisson tails.
SERVICE_PER_MIN = 4.0
# A refund spree: well over the rule's 30 % share, and at least its minimum of refunds.
SPREE_SHARE = (0.35, 0.6)
SPREE_MIN_TX = 5
SPREE_MIN_REFUNDS = 3


def sales_per_minute(t: float, market_kind: str, hours: OpeningHours) -> float:
    if not hours.is_open(t):
        return 0.0
    h = local_hour(t)
    if market_kind == "wholesale":
        return 0.1 + 1.0 * bump(h, 6.8, 0.9) + 0.3 * bump(h, 16.0, 1.5)
    return 0.12 + 1.1 * bump(h, 8.0, 1.2) + 0.3 * bump(h, 12.0, 1.3) + 0.9 * bump(h, 17.5, 1.0)


class PaymentModel:
    """A stall's e-payment terminal: payments, their total in yuan and refunds per interval."""

    def __init__(
        self, market_kind: str, hours: OpeningHours, rng: random.Random, t0: float
    ) -> None:
        self.kind, self.hours, self.rng, self.t = market_kind, hours, rng, t0
        self.popularity = rng.uniform(0.6, 1.4)
        ticket = rng.uniform(150, 600) if market_kind == "wholesale" else rng.uniform(20, 60)
        self.ticket_sigma = 0.6
        # Lognormal tickets whose mean is `ticket`.
        self.ticket_mu = math.log(ticket) - self.ticket_sigma**2 / 2
        self.days = DayFactor(rng, weekend=1.25)

    def _amount(self, count: int) -> float:
        if count <= 40:
            total = sum(
                self.rng.lognormvariate(self.ticket_mu, self.ticket_sigma) for _ in range(count)
            )
        else:
            mean = math.exp(self.ticket_mu + self.ticket_sigma**2 / 2)
            sd = mean * math.sqrt(math.exp(self.ticket_sigma**2) - 1)
            total = max(0.0, self.rng.gauss(count * mean, math.sqrt(count) * sd))
        return round(total, 2)

    def advance(self, t: float, windows: Sequence[Window] = ()) -> Values:
        minutes = max(0.0, t - self.t) / MINUTE
        self.t = max(self.t, t)
        rate = sales_per_minute(t, self.kind, self.hours) * self.popularity * self.days.at(t)
        count = binomial(self.rng, math.ceil(SERVICE_PER_MIN * minutes), rate / SERVICE_PER_MIN)
        if covering(windows, "refund_spree", t):
            count = max(count, SPREE_MIN_TX + poisson(self.rng, 2.0))
            share = self.rng.uniform(*SPREE_SHARE)
            refunds = max(SPREE_MIN_REFUNDS, math.ceil(count * share))
        else:
            refunds = sum(1 for _ in range(count) if self.rng.random() < REFUND_SHARE)
        return {"tx_count": count, "tx_amount": float(self._amount(count)), "refunds": refunds}
