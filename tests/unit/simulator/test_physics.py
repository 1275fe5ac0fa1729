"""The value models on simulated days: plausible when healthy, each fault clearly past its rule's
threshold (docs/rules.md), and the same numbers from the same seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.clock import MINUTE, OpeningHours, day_start, local_hour
from simulator.physics import (
    CHILLED,
    FROZEN,
    ColdChainModel,
    ColdProfile,
    FootfallModel,
    PaymentModel,
    Values,
    Window,
    binomial,
    poisson,
)

MONDAY = day_start(date(2026, 5, 4))  # 00:00 Shanghai
SATURDAY = day_start(date(2026, 5, 9))
HOURS = OpeningHours()


def day_of(
    model: ColdChainModel | FootfallModel | PaymentModel,
    start: float,
    windows: Sequence[Window] = (),
    minutes: int = 24 * 60,
    step: float = MINUTE,
) -> list[tuple[float, Values]]:
    out = []
    for k in range(1, int(minutes * MINUTE / step) + 1):
        t = start + k * step
        out.append((t, model.advance(t, windows)))
    return out


def fridge(profile: ColdProfile, seed: int, start: float = MONDAY) -> ColdChainModel:
    return ColdChainModel(profile, random.Random(seed), start, HOURS)


def temps(series: list[tuple[float, Values]]) -> list[float]:
    return [float(v["temp_c"]) for _, v in series]


def runs_above(values: list[float], limit: float) -> list[int]:
    """Lengths (in readings, i.e. minutes) of consecutive runs above `limit`."""
    runs, current = [], 0
    for value in values:
        if value > limit:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


# -- cold chain ------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_a_healthy_fridge_stays_within_0_to_6_c_all_day(seed: int) -> None:
    values = temps(day_of(fridge(CHILLED, seed), MONDAY))
    assert min(values) >= 0.0 and max(values) <= 6.0
    assert 2.5 <= sum(values) / len(values) <= 3.6  # around 3 °C


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_a_healthy_freezer_stays_below_the_frozen_limit_all_day(seed: int) -> None:
    values = temps(day_of(fridge(FROZEN, seed), MONDAY))
    assert min(values) >= -22.0 and max(values) < -15.0
    assert -19.6 <= sum(values) / len(values) <= -18.4  # around −19 °C


def test_compressor_cycles_and_door_openings_show_in_a_healthy_day() -> None:
    values = temps(day_of(fridge(CHILLED, 5), MONDAY))
    # The thermostat cycles: the temperature turns from rising to falling many times a day.
    turns = sum(
        1 for a, b, c in zip(values, values[1:], values[2:], strict=False) if b > a and b > c
    )
    assert turns > 30
    # Door openings (opening hours only) push readings above the thermostat's cut-in.
    open_peak = max(
        v
        for (t, _), v in zip(day_of(fridge(CHILLED, 5), MONDAY), values, strict=True)
        if HOURS.is_open(t)
    )
    assert open_peak > CHILLED.high + 0.3


@pytest.mark.parametrize(("profile", "limit"), [(CHILLED, 8.0), (FROZEN, -15.0)])
def test_door_left_open_climbs_past_the_limit_for_over_15_minutes(
    profile: ColdProfile, limit: float
) -> None:
    start = MONDAY + 10 * 3600
    door = [Window("door_open", start + 30 * MINUTE, start + 60 * MINUTE)]
    values = temps(day_of(fridge(profile, 1, start), start, door, minutes=180))
    before = values[:29]
    assert max(before) <= limit
    assert max(runs_above(values, limit)) > 15
    # The rise takes a while (not a step): still under the limit 5 min after the door opened.
    assert values[29 + 5] <= limit
    assert max(values) >= limit + 4  # well past it
    assert values[-1] <= limit  # and it recovers once the door is shut


@pytest.mark.parametrize(("profile", "limit"), [(CHILLED, 8.0), (FROZEN, -15.0)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_failing_compressor_adds_up_over_60_minutes_in_short_bursts(
    profile: ColdProfile, limit: float, seed: int
) -> None:
    failing = [Window("compressor", MONDAY, MONDAY + 86_400)]
    runs = runs_above(temps(day_of(fridge(profile, seed), MONDAY, failing)), limit)
    assert sum(runs) > 60  # the cumulative rule: more than 60 min in 24 h
    assert max(runs) < 15  # never one excursion long enough for the duration rule
    assert len(runs) >= 8


def test_a_compressor_fault_ends_with_its_window() -> None:
    failing = [Window("compressor", MONDAY, MONDAY + 6 * 3600)]
    values = temps(day_of(fridge(CHILLED, 4), MONDAY, failing))
    assert runs_above(values[:360], 8.0)
    assert runs_above(values[400:], 8.0) == []


def test_cold_chain_values_follow_the_seed() -> None:
    assert day_of(fridge(CHILLED, 9), MONDAY) == day_of(fridge(CHILLED, 9), MONDAY)
    assert day_of(fridge(CHILLED, 9), MONDAY) != day_of(fridge(CHILLED, 10), MONDAY)


# -- footfall --------------------------------------------------------------------------------


def gate(
    seed: int, capacity: int = 800, kind: str = "farmers", start: float = MONDAY
) -> FootfallModel:
    return FootfallModel(capacity, kind, HOURS, random.Random(seed), start)


@pytest.mark.parametrize("kind", ["farmers", "wholesale"])
@pytest.mark.parametrize("start", [MONDAY, SATURDAY])
def test_a_normal_day_never_crowds_and_empties_at_night(kind: str, start: float) -> None:
    series = day_of(gate(3, kind=kind, start=start), start)
    occupancy = {round(local_hour(t), 2): int(v["occupancy"]) for t, v in series}
    assert max(occupancy.values()) < 0.8 * 800
    assert occupancy[3.0] == 0 and occupancy[23.0] == 0
    assert max(occupancy.values()) > 0.3 * 800


def test_farmers_market_has_a_morning_and_an_evening_peak() -> None:
    series = day_of(gate(3), MONDAY)
    occupancy = {round(local_hour(t), 2): int(v["occupancy"]) for t, v in series}
    assert occupancy[8.0] > 2 * occupancy[13.0]
    assert occupancy[17.5] > 1.5 * occupancy[13.0]


def test_occupancy_is_what_the_counter_reckons_from_entries_and_exits() -> None:
    model = gate(8)
    previous = model.occupancy
    for _, values in day_of(model, MONDAY):
        assert values["occupancy"] == previous + values["entries"] - values["exits"]
        assert min(values["entries"], values["exits"], values["occupancy"]) >= 0
        previous = int(values["occupancy"])


@pytest.mark.parametrize("at_hour", [3, 12, 17])
def test_crowd_surge_passes_90_then_100_percent_of_capacity_for_over_5_minutes(
    at_hour: int,
) -> None:
    capacity = 600
    start = MONDAY + at_hour * 3600
    surge = [Window("crowd_surge", start, start + 20 * MINUTE)]
    series = day_of(gate(2, capacity, start=start - MINUTE), start - MINUTE, surge, minutes=40)
    occupancy = [int(v["occupancy"]) for _, v in series]
    over_90 = runs_above([o / capacity for o in occupancy], 0.90)
    at_100 = runs_above([o / capacity for o in occupancy], 0.999)
    assert max(over_90) > 5 and max(at_100) > 5
    first_90 = next(i for i, o in enumerate(occupancy) if o > 0.9 * capacity)
    first_100 = next(i for i, o in enumerate(occupancy) if o >= capacity)
    assert first_90 < first_100  # it builds up: over 90 % first
    assert occupancy[-1] < 0.9 * capacity  # and disperses after the surge


# -- payment ---------------------------------------------------------------------------------


def till(seed: int, start: float = MONDAY) -> PaymentModel:
    return PaymentModel("farmers", HOURS, random.Random(seed), start)


def test_sales_happen_in_opening_hours_with_morning_and_evening_peaks() -> None:
    series = day_of(till(6), MONDAY)
    by_hour = [0] * 24
    for t, values in series:
        by_hour[int(local_hour(t))] += int(values["tx_count"])
        if not HOURS.is_open(t):
            assert values == {"tx_count": 0, "tx_amount": 0.0, "refunds": 0}
    assert by_hour[8] > 2 * by_hour[13] and by_hour[17] > 1.5 * by_hour[13]
    total = sum(by_hour)
    refunds = sum(int(v["refunds"]) for _, v in series)
    amount = sum(float(v["tx_amount"]) for _, v in series)
    assert 150 < total < 2000
    assert refunds <= 0.05 * total  # about 1 %
    assert 15 < amount / total < 80  # yuan per payment at a farmers' market stall


def test_refund_spree_refunds_over_30_percent_of_payments_every_interval() -> None:
    start = MONDAY + 10 * 3600
    spree = [Window("refund_spree", start, start + 30 * MINUTE)]
    series = day_of(till(2, start), start, spree, minutes=29)  # the end is exclusive
    for _, values in series:
        assert values["refunds"] >= 3
        assert values["refunds"] > 0.3 * values["tx_count"]
    after = day_of(till(2, start + 30 * MINUTE), start + 30 * MINUTE, spree, minutes=60)
    assert sum(int(v["refunds"]) for _, v in after) <= 3


def test_amounts_are_plain_two_decimal_yuan() -> None:
    for _, values in day_of(till(1), MONDAY):
        amount = values["tx_amount"]
        assert isinstance(amount, float) and round(amount, 2) == amount and amount >= 0
        assert "e" not in repr(amount)


# -- samplers --------------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.3, 4.0, 80.0])
def test_poisson_has_its_mean(lam: float) -> None:
    rng = random.Random(1)
    draws = [poisson(rng, lam) for _ in range(4000)]
    assert abs(sum(draws) / len(draws) - lam) < 0.1 * lam + 0.05
    assert min(draws) >= 0


def test_binomial_stays_within_its_trials() -> None:
    rng = random.Random(2)
    small = [binomial(rng, 4, 0.7) for _ in range(2000)]
    large = [binomial(rng, 240, 0.5) for _ in range(200)]
    assert set(small) <= {0, 1, 2, 3, 4} and abs(sum(small) / 2000 - 2.8) < 0.1
    assert all(0 <= d <= 240 for d in large) and abs(sum(large) / 200 - 120) < 3
    assert binomial(rng, 10, 0.0) == 0 and binomial(rng, 0, 0.5) == 0
