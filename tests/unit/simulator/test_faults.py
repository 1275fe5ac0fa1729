"""Fault specs, schedules, and which terminals a fault acts on, when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.faults import (
    DEFAULT_DURATION_S,
    FaultBook,
    FaultError,
    When,
    parse_spec,
    read_schedule,
)
from simulator.physics import Window
from tests.support.simulator_cities import city

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Shanghai


def test_the_spec_syntax_of_the_brief() -> None:
    spec = parse_spec("door_open@+5m:terminal=trm_fridge_0")
    assert (spec.kind, spec.when, spec.terminal) == (
        "door_open",
        When("offset", 300.0),
        "trm_fridge_0",
    )
    assert spec.duration_s is None and spec.market is None


def test_when_can_be_now_a_local_clock_time_or_an_instant() -> None:
    assert parse_spec("crowd_surge").when == When()
    assert parse_spec("crowd_surge@now").when == When()
    assert parse_spec("crowd_surge@08:30:market=mkt_1").when == When("clock", hour=8, minute=30)
    at = parse_spec("crowd_surge@2026-05-04T02:00:00Z:duration=10m")
    assert at.when == When("at", T0) and at.duration_s == 600


def test_options_by_comma_or_space_and_aliases() -> None:
    spec = parse_spec("compressor_failing@+1h terminal=all market=mkt_0 duration=12h")
    assert (spec.kind, spec.terminal, spec.market, spec.duration_s) == (
        "compressor",
        "all",
        "mkt_0",
        12 * 3600,
    )
    assert parse_spec("gap").kind == "sensor_off"
    assert parse_spec("forged:mode=impersonate").mode == "impersonate"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("melt_down", "unknown fault"),
        ("door_open@soon", "when"),
        ("door_open:colour=red", "option"),
        ("door_open:terminal", "option"),
        ("door_open:duration=forever", "duration"),
        ("door_open:mode=tamper", "only forge has a mode"),
        ("forge:mode=gentle", "mode"),
        ("  ", "empty"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(FaultError, match=problem):
        parse_spec(text)


def test_a_schedule_file_skips_comments_and_names_the_bad_line() -> None:
    specs = read_schedule(["# morning trouble", "", "door_open@07:30  # the fishmonger", "replay"])
    assert [s.kind for s in specs] == ["door_open", "replay"]
    with pytest.raises(FaultError, match="line 2"):
        read_schedule(["replay", "nonsense"])


def test_offsets_count_from_the_base_and_durations_default_per_kind() -> None:
    book = FaultBook(city(), seed=1)
    fault = book.add(parse_spec("door_open@+5m"), now=T0 + 999, base=T0)
    assert fault.start == T0 + 300
    assert fault.end == fault.start + DEFAULT_DURATION_S["door_open"]
    now = book.add(parse_spec("refund_spree"), now=T0 + 999, base=T0)
    assert now.start == T0 + 999


@pytest.mark.parametrize(
    ("kind", "eligible"),
    [
        ("door_open", {"trm_fridge_0", "trm_fridge_1", "trm_freezer_0", "trm_freezer_1"}),
        ("compressor", {"trm_fridge_0", "trm_fridge_1", "trm_freezer_0", "trm_freezer_1"}),
        ("sensor_off", {"trm_fridge_0", "trm_fridge_1", "trm_freezer_0", "trm_freezer_1"}),
        ("crowd_surge", {"trm_gate_0", "trm_gate_1"}),
        ("refund_spree", {"trm_till_0_1", "trm_till_0_2", "trm_till_1_1", "trm_till_1_2"}),
    ],
)
def test_auto_picks_a_terminal_the_fault_makes_sense_for(kind: str, eligible: set[str]) -> None:
    chosen = set()
    for seed in range(20):
        [terminal] = FaultBook(city(), seed).add(parse_spec(kind), now=T0, base=T0).terminals
        chosen.add(terminal)
    assert chosen <= eligible and len(chosen) > 1


def test_auto_follows_the_seed() -> None:
    def picks(seed: int) -> list[str]:
        book = FaultBook(city(), seed)
        return [book.add(parse_spec(k), now=T0, base=T0).terminals[0] for k in ["door_open"] * 5]

    assert picks(3) == picks(3)


def test_market_all_and_explicit_terminals() -> None:
    book = FaultBook(city(), seed=1)
    everywhere = book.add(parse_spec("sensor_off:terminal=all,market=mkt_1"), now=T0, base=T0)
    assert set(everywhere.terminals) == {
        "trm_gate_1",
        "trm_fridge_1",
        "trm_freezer_1",
        "trm_till_1_1",
        "trm_till_1_2",
    }
    one = book.add(parse_spec("door_open:terminal=trm_freezer_0"), now=T0, base=T0)
    assert one.terminals == ("trm_freezer_0",)
    with pytest.raises(FaultError, match="needs a footfall terminal"):
        book.add(parse_spec("crowd_surge:terminal=trm_fridge_0"), now=T0, base=T0)
    with pytest.raises(FaultError, match="no terminal"):
        book.add(parse_spec("door_open:terminal=trm_nope"), now=T0, base=T0)
    with pytest.raises(FaultError, match="no footfall terminal in market mkt_9"):
        book.add(parse_spec("crowd_surge:market=mkt_9"), now=T0, base=T0)


def test_forgers_impersonate_a_terminal_of_another_market() -> None:
    book = FaultBook(city(), seed=2)
    fault = book.add(parse_spec("forge:terminal=all,market=mkt_0"), now=T0, base=T0)
    assert fault.mode == "mixed"
    assert set(fault.victims) == set(fault.terminals)
    assert all(victim.endswith("_1") or "_1_" in victim for victim in fault.victims.values())
    tamper = book.add(parse_spec("forge:mode=tamper"), now=T0, base=T0)
    assert tamper.victims == {}


def test_windows_activity_and_the_start_stop_log_in_event_time() -> None:
    book = FaultBook(city(), seed=1)
    fault = book.add(
        parse_spec("door_open@+10m:terminal=trm_fridge_0,duration=20m"), now=T0, base=T0
    )
    assert book.windows("trm_fridge_0") == (Window("door_open", T0 + 600, T0 + 1800),)
    assert book.windows("trm_fridge_1") == ()
    assert book.advance(T0 + 599) == [] and fault.state == "scheduled"
    assert book.acting("trm_fridge_0", T0 + 599) == []
    assert book.advance(T0 + 600) == [("fault_started", fault)] and fault.state == "active"
    assert book.acting("trm_fridge_0", T0 + 1000) == [fault]
    assert book.advance(T0 + 1000) == []
    assert book.advance(T0 + 1800) == [("fault_stopped", fault)] and fault.state == "stopped"
    assert book.acting("trm_fridge_0", T0 + 1800) == []


def test_a_fault_that_starts_and_ends_between_two_readings_is_still_logged_both_ways() -> None:
    book = FaultBook(city(), seed=1)
    fault = book.add(parse_spec("replay@+1m:duration=10s"), now=T0, base=T0)
    assert book.advance(T0 + 120) == [("fault_started", fault), ("fault_stopped", fault)]


def test_stopping_a_fault_ends_it_now() -> None:
    book = FaultBook(city(), seed=1)
    fault = book.add(parse_spec("crowd_surge:terminal=trm_gate_0"), now=T0, base=T0)
    book.advance(T0)
    book.stop(fault.id, T0 + 60)
    assert fault.end == T0 + 60
    assert book.windows("trm_gate_0") == (Window("crowd_surge", T0, T0 + 60),)
    assert book.advance(T0 + 60) == [("fault_stopped", fault)]
    described = fault.describe()
    assert described["state"] == "stopped" and described["duration"] == "1m"
    assert described["start"] == "2026-05-04T02:00:00Z"
    with pytest.raises(FaultError):
        book.stop("f99", T0)
