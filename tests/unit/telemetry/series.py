"""Helpers that feed synthetic reading series to the rules on event time, without sleeping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.telemetry.domain import (
    Decision,
    Sample,
    TerminalContext,
    TerminalState,
    check_silence,
    evaluate,
)

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
WEEK = 7 * DAY

# Monday 2026-05-04 10:00 in Shanghai (02:00 UTC): inside the default opening hours 06:00–19:00.
MONDAY_10_SHANGHAI = datetime(2026, 5, 4, 2, 0, tzinfo=UTC).timestamp()


def shanghai(day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of 2026-05-<day> <hour>:<minute> in Shanghai (UTC+8, no DST)."""
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC).timestamp() - 8 * HOUR


@dataclass
class Feed:
    """One terminal: a context, its state, a clock `t` (event time) and the decisions so far.

    `send` puts one reading at `t` and moves `t` on by `step`; `hold` sends readings with one
    value spanning `minutes` (first reading at `t`, last at `t + minutes`).
    """

    ctx: TerminalContext
    t: float = MONDAY_10_SHANGHAI
    step: float = MINUTE
    terminal_id: str = "trm_1"
    state: TerminalState = field(init=False)
    seq: int = 0
    decisions: list[Decision] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = TerminalState(self.terminal_id)

    def sample(self, **values: Any) -> Sample:
        self.seq += 1
        return Sample(self.seq, self.t, self.ctx.kind, **values)

    def send(self, **values: Any) -> list[Decision]:
        decided = evaluate(self.state, self.sample(**values), self.ctx)
        self.decisions += decided
        self.t += self.step
        return decided

    def temp(self, value: float) -> list[Decision]:
        return self.send(temp_c=value)

    def hold(self, minutes: float, **values: Any) -> list[Decision]:
        """Readings every `step` from `t` to `t + minutes` inclusive, all with `values`."""
        count = round(minutes * MINUTE / self.step) + 1
        decided: list[Decision] = []
        for _ in range(count):
            decided += self.send(**values)
        return decided

    def temps(self, values: Iterable[float]) -> list[Decision]:
        decided: list[Decision] = []
        for value in values:
            decided += self.temp(value)
        return decided

    def silence(self, now: float, feed_since: float | None = None) -> list[Decision]:
        decided = check_silence(self.state, now, self.ctx, feed_since)
        self.decisions += decided
        return decided

    def actions(self, rule: str | None = None) -> list[tuple[str, str]]:
        return [(d.action, d.severity) for d in self.decisions if rule is None or d.rule == rule]


def actions(decisions: Iterable[Decision]) -> list[tuple[str, str, str]]:
    return [(d.action, d.rule, d.severity) for d in decisions]


def cold(profile: str = "chilled", **kwargs: Any) -> Feed:
    return Feed(TerminalContext("cold_chain", profile=profile, interval_s=60, **kwargs))
