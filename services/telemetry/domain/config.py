"""Every threshold of the telemetry rules (defaults in docs/rules.md), and what a rule knows of a
terminal.

`Thresholds` is one immutable value for the whole service (or per terminal, if a registry ever
carries overrides); `TerminalContext` joins it with one terminal's registry facts. Both are built
when the registry projection changes, not per reading, so the hot path only reads attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import PlainSerializer

from contracts.telemetry import EVIDENCE_READINGS_MAX, READING_KINDS

HOUR = 3600.0
DAY = 86_400.0
WEEK = 7 * DAY


def _limits() -> Mapping[str, float]:
    # Chilled food at most 8 °C (target band 0–5 °C); frozen food at most −18 °C, with the +3 °C
    # display tolerance commonly allowed, hence −15 °C.
    return MappingProxyType({"chilled": 8.0, "frozen": -15.0})


@dataclass(frozen=True, slots=True)
class ColdChainThresholds:
    # Read-only here; written as a plain object (services/runtime/serial.py).
    limits_c: Annotated[Mapping[str, float], PlainSerializer(dict)] = field(default_factory=_limits)
    default_profile: str = "chilled"
    raise_after_s: float = 15 * 60
    instant_excess_c: float = 6.0
    major_degree_minutes: float = 60.0
    critical_degree_minutes: float = 240.0
    critical_excess_c: float = 12.0
    clear_hysteresis_c: float = 1.0
    clear_hold_s: float = 10 * 60
    cumulative_window_s: float = DAY
    cumulative_limit_s: float = 60 * 60
    # Without a margin the 24 h total, sliding by minutes, would clear and re-raise
    # the cumulative risk at every short burst near the limit.
    cumulative_clear_margin_s: float = 15 * 60
    # Bounds the state; beyond it the two closest intervals merge (counting the gap between
    # them as out of range, the cautious error for food safety).
    cumulative_max_intervals: int = 48
    # The points of the temperature curve a cold-chain risk's evidence carries
    # (`readings`), downsampled to at most this many whatever the window's length.
    trace_max_points: int = 120

    def __post_init__(self) -> None:
        if not 3 <= self.trace_max_points <= EVIDENCE_READINGS_MAX:
            raise ValueError(f"trace_max_points must be 3 to {EVIDENCE_READINGS_MAX}")


@dataclass(frozen=True, slots=True)
class GapThresholds:
    default_interval_s: float = 60.0
    silent_intervals: float = 3.0
    major_after_s: float = 60 * 60
    kinds: tuple[str, ...] = ("cold_chain",)
    # Silence is measured in opening-hours seconds; looking further back than this changes no
    # outcome (major is reached long before) and bounds the calendar arithmetic.
    max_lookback_s: float = 8 * DAY


@dataclass(frozen=True, slots=True)
class CrowdingThresholds:
    raise_ratio: float = 0.90
    raise_after_s: float = 5 * 60
    major_ratio: float = 1.00
    # Clearing needs occupancy back at or under 80 % for 5 min, so a crowd that
    # hovers around 90 % keeps one risk instead of raising one per surge.
    clear_ratio: float = 0.80
    clear_hold_s: float = 5 * 60


@dataclass(frozen=True, slots=True)
class TransactionThresholds:
    mad_multiplier: float = 5.0
    # A quiet stall's counts (0, 0, 1, 0…) have MAD 0, which would make any sale
    # an anomaly; the deviation allowed is at least multiplier × this floor.
    mad_floor: float = 1.0
    detect_low: bool = True
    min_weeks: int = 4
    # Baseline samples kept per hour-of-week slot and week: the first reading of each quarter
    # hour, which spreads them across the hour while bounding the state.
    samples_per_slot_hour: int = 4
    recent_window_s: float = 7 * DAY
    recent_samples_per_hour: int = 2
    min_recent_samples: int = 24
    minor_after_intervals: int = 3
    # An anomaly clears after this many normal intervals in a row.
    clear_after_intervals: int = 3
    refund_share: float = 0.30
    # One refund out of two payments is not a spree.
    refund_min: int = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number the rules use, with the defaults of docs/rules.md. Override with `from_dict`
    (a parser: it names unknown sections and thresholds); `serial.dump` writes it."""

    cold_chain: ColdChainThresholds = field(default_factory=ColdChainThresholds)
    gap: GapThresholds = field(default_factory=GapThresholds)
    crowding: CrowdingThresholds = field(default_factory=CrowdingThresholds)
    transactions: TransactionThresholds = field(default_factory=TransactionThresholds)

    SECTIONS: ClassVar[Mapping[str, type]] = {
        "cold_chain": ColdChainThresholds,
        "gap": GapThresholds,
        "crowding": CrowdingThresholds,
        "transactions": TransactionThresholds,
    }

    @classmethod
    def from_dict(cls, overrides: Mapping[str, Mapping[str, Any]]) -> Thresholds:
        """Defaults with `overrides` applied, e.g. `{"cold_chain": {"raise_after_s": 600}}`.

        Unknown sections or names raise ValueError naming them, so a typo in configuration
        fails at start-up instead of silently keeping a default.
        """
        sections: dict[str, Any] = {}
        for section, values in overrides.items():
            kind = cls.SECTIONS.get(section)
            if kind is None:
                raise ValueError(f"unknown thresholds section {section!r}")
            known = {f.name: f for f in dataclasses.fields(kind)}
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ValueError(f"unknown thresholds in {section}: {', '.join(unknown)}")
            converted: dict[str, Any] = {}
            for name, value in values.items():
                if name == "limits_c":
                    converted[name] = MappingProxyType({**_limits(), **dict(value)})
                elif name == "kinds":
                    converted[name] = tuple(value)
                else:
                    converted[name] = value
            sections[section] = kind(**converted)
        return cls(**sections)


DEFAULT_THRESHOLDS = Thresholds()


def named(section: object, *names: str) -> dict[str, Any]:
    """Thresholds of a section by name, as a risk's evidence shows them."""
    return {name: getattr(section, name) for name in names}


def _clock(value: str, name: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be HH:MM, got {value!r}") from None
    return parsed


@dataclass(frozen=True, slots=True)
class TerminalContext:
    """What the rules need to know of one terminal, from the registry projection.

    `capacity`, `opens`/`closes` and `timezone` are the terminal's market's. `interval_s` is the
    reporting interval the registry provisioned (a gap is 3 of them). A cold-chain terminal
    without a profile is treated as `chilled`.
    """

    kind: str
    profile: str | None = None
    interval_s: float | None = None
    capacity: int | None = None
    opens: str = "06:00"
    closes: str = "19:00"
    timezone: str = "Asia/Shanghai"
    thresholds: Thresholds = DEFAULT_THRESHOLDS

    # Derived once, read per reading.
    limit_c: float = field(init=False, default=0.0)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    open_time: time = field(init=False, repr=False, compare=False)
    close_time: time = field(init=False, repr=False, compare=False)
    reporting_interval_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in READING_KINDS:
            raise ValueError(f"kind must be one of {', '.join(READING_KINDS)}, got {self.kind!r}")
        cold = self.thresholds.cold_chain
        profile = self.profile or cold.default_profile
        if self.kind == "cold_chain" and profile not in cold.limits_c:
            raise ValueError(f"unknown cold-chain profile {profile!r}")
        if self.interval_s is not None and self.interval_s <= 0:
            raise ValueError("interval_s must be positive")
        set_ = object.__setattr__
        set_(self, "limit_c", cold.limits_c.get(profile, 0.0))
        set_(self, "zone", ZoneInfo(self.timezone))
        set_(self, "open_time", _clock(self.opens, "opens"))
        set_(self, "close_time", _clock(self.closes, "closes"))
        set_(
            self, "reporting_interval_s", self.interval_s or self.thresholds.gap.default_interval_s
        )

    @property
    def effective_profile(self) -> str:
        return self.profile or self.thresholds.cold_chain.default_profile

    @property
    def always_open(self) -> bool:
        return self.open_time == self.close_time
