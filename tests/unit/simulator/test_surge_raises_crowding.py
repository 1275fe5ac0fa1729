"""A commanded crowd surge, fed reading by reading to telemetry's crowding rule (docs/rules.md),
raises its risk within minutes at any hour: the rule judges occupancy whether the market is open
or not, so a surge at 04:00 must crowd the gate as surely as one at 10:00."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest

from contracts.telemetry import parse_reading
from services.telemetry.domain import CROWDING, Sample, TerminalContext, TerminalState, evaluate
from simulator.clock import MINUTE
from simulator.engine import Engine
from simulator.faults import parse_spec
from tests.support.simulator_cities import city

CAPACITY = 800
AT_04 = datetime(2026, 5, 4, 4, 0, tzinfo=UTC).timestamp() - 8 * 3600  # Shanghai: closed, empty
AT_10 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC).timestamp() - 8 * 3600  # Shanghai: trading


def crowding_after_a_surge(
    start: float, seed: int, said: list[str] | None = None
) -> list[tuple[str, str, float]]:
    """(action, severity, minutes after the command) of the crowding decisions on mkt_0's gate;
    what the command answered of the fault goes to `said`."""
    engine = Engine(city(capacity=CAPACITY), seed=seed, start=start)
    while engine.next_time() < start + 10 * MINUTE:  # the run has been going a while
        engine.step()
    fault = engine.add_fault(parse_spec("crowd_surge:market=mkt_0"))
    if said is not None:
        said.append(fault.describe()["effect"])
    ctx = TerminalContext("footfall", capacity=CAPACITY, interval_s=60)
    state = TerminalState("trm_gate_0")
    out: list[tuple[str, str, float]] = []
    while engine.next_time() < fault.end:
        for emission in engine.step():
            if emission.terminal_id != "trm_gate_0":
                continue
            sample = Sample.from_reading(parse_reading(orjson.loads(emission.value)))
            for decision in evaluate(state, sample, ctx):
                if decision.rule == CROWDING:
                    minutes = (sample.ts - fault.start) / MINUTE
                    out.append((decision.action, decision.severity, minutes))
    return out


@pytest.mark.parametrize("start", [AT_04, AT_10], ids=["04:00", "10:00"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_surge_raises_crowding_within_10_minutes_at_any_hour(start: float, seed: int) -> None:
    decisions = crowding_after_a_surge(start, seed)
    assert decisions and decisions[0][2] <= 10, decisions
    # First just over 90 % of capacity (minor), then over 100 % (major), as the fault promises.
    assert [(action, severity) for action, severity, _ in decisions] == [
        ("raise", "minor"),
        ("escalate", "major"),
    ]
    (_, _, raised), (_, _, escalated) = decisions
    assert raised <= 10 and escalated <= 10


def test_the_command_says_when_the_risk_appears_and_the_surge_keeps_to_it() -> None:
    # What `make fault` prints of a fault is its description: a user at 04:00 reads when to look.
    said: list[str] = []
    decisions = crowding_after_a_surge(AT_04, seed=4, said=said)
    promised = re.search(r"minor about (\d+) min .* major about (\d+) min", said[0])
    assert promised is not None and "any hour" in said[0], said
    (_, _, raised), (_, _, escalated) = decisions
    assert abs(raised - int(promised.group(1))) <= 2
    assert abs(escalated - int(promised.group(2))) <= 2
