"""Telemetry contracts: the compact signed reading, rejected readings, and the risk lifecycle.

Readings (`telemetry.readings.v1`, key = terminal id) are the one message without a CloudEvents
envelope: terminals send a compact JSON object, signed with HMAC-SHA256 over its canonical form
(contracts/README.md, "Readings"):

    canonical = every field but `sig`, json.dumps(sort_keys=True, separators=(",", ":"),
                ensure_ascii=False), UTF-8
    sig       = lowercase hex HMAC-SHA256(terminal key, canonical)

The canonical form is computed from the JSON object *as received*, parsed into a dict, never
from a validated model: the model would turn an integer `8` into `8.0` and break the signature,
while the parsed dict prints every number back as it was written. Terminals should write numbers
in plain decimal notation (`-18.5`, `8`, `12.75`), which every common JSON library prints back
identically; exponent forms (`1e-7`) differ between languages and are best avoided.

The order of checks in the service (it decides the reason when several things are wrong): parse
and validate the model (`malformed`; a missing or non-hex `sig` is malformed too), look the
terminal up (`unknown_terminal`), verify `sig` (`signature`), then the kind against the
terminal's and seq against `SEQ_MAX` (`malformed`), seq against the last accepted (`replay`), ts
(`future_ts`) and the physical ranges below (`out_of_range`). A well-formed but
physically impossible value is a faulty or forged sensor, not a malformed message, hence its own
reason.

Risk events (`telemetry.risks.v1`, key = terminal id) travel in the envelope with
`subject` = `correlationid` = the risk id, so every event of one risk, and every inspection event
it causes, share one chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from contracts.people import Actor
from contracts.registry import ColdChainProfile

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
READING_REJECTED: Final = "telemetry.reading.rejected"
RISK_RAISED: Final = "telemetry.risk.raised"
RISK_ESCALATED: Final = "telemetry.risk.escalated"
RISK_ACKNOWLEDGED: Final = "telemetry.risk.acknowledged"
RISK_CLEARED: Final = "telemetry.risk.cleared"

# -- vocabulary ------------------------------------------------------------------------------

ReadingKind = Literal["cold_chain", "footfall", "payment"]
READING_KINDS: Final[tuple[ReadingKind, ...]] = ("cold_chain", "footfall", "payment")

# Terminals number readings with a signed 64-bit counter; the service keeps it as a bigint. A
# larger seq is a malformed reading (rejected, field `seq`), judged after its signature.
SEQ_MAX: Final = 2**63 - 1

RejectReason = Literal[
    "signature", "unknown_terminal", "replay", "future_ts", "out_of_range", "malformed"
]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = (
    "signature",
    "unknown_terminal",
    "replay",
    "future_ts",
    "out_of_range",
    "malformed",
)

RiskRule = Literal[
    "cold_chain_excursion",
    "cold_chain_cumulative",
    "monitoring_gap",
    "crowding",
    "transaction_anomaly",
]
RISK_RULES: Final[tuple[RiskRule, ...]] = (
    "cold_chain_excursion",
    "cold_chain_cumulative",
    "monitoring_gap",
    "crowding",
    "transaction_anomaly",
)
RiskCategory = Literal["food_safety", "market_order"]
CATEGORY_OF_RULE: Final[Mapping[RiskRule, RiskCategory]] = {
    "cold_chain_excursion": "food_safety",
    "cold_chain_cumulative": "food_safety",
    "monitoring_gap": "food_safety",
    "crowding": "market_order",
    "transaction_anomaly": "market_order",
}

Severity = Literal["warning", "minor", "major", "critical"]
# Ascending: the index of a severity is its rank.
SEVERITIES: Final[tuple[Severity, ...]] = ("warning", "minor", "major", "critical")
_RANK: Final[Mapping[str, int]] = {name: rank for rank, name in enumerate(SEVERITIES)}

RiskState = Literal["open", "cleared"]

# Bounds of a rejected reading's text fields: rejected input may be hostile, and huge.
RAW_MAX_CHARS: Final = 2048
DETAIL_MAX_CHARS: Final = 500


def severity_rank(severity: str) -> int:
    """0 for `warning` up to 3 for `critical`; KeyError for anything else."""
    return _RANK[severity]


def max_severity(first: Severity, *others: Severity) -> Severity:
    return max((first, *others), key=severity_rank)


def at_least(severity: str, floor: str) -> bool:
    """Whether `severity` is `floor` or worse, e.g. `at_least(s, "major")` for inspection."""
    return _RANK[severity] >= _RANK[floor]


# -- the reading -----------------------------------------------------------------------------

SIG_PATTERN = r"^[0-9a-f]{64}$"
# RFC 3339 date-time: `T` (or `t`) between date and time and an explicit offset. Python's parser
# alone would also take `2026-05-01 08:00`, a naive time or a Unix number.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> datetime:
    # Parsed here, not by pydantic: in strict mode pydantic takes no string for a datetime.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-05-01T08:00:00Z")
    return datetime.fromisoformat(value.upper())


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC)")
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339)]
Count = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Reading(BaseModel):
    # Strict: a terminal that sends `"5"` or `true` for a count is broken, not to be guessed at.
    # Closed: an unknown field is signed like the others but nobody would read it.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    terminal_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=0, description="increases by at least one with every reading of a terminal")
    ts: Timestamp = Field(
        description="event time, RFC 3339 in UTC (an offset is accepted and normalised)",
        examples=["2026-05-01T08:00:00Z"],
    )
    interval_s: int | None = Field(
        default=None, gt=0, description="the reporting interval this reading covers, seconds"
    )
    sig: str = Field(
        pattern=SIG_PATTERN,
        description="lowercase hex HMAC-SHA256 of the canonical form (every field but sig)",
    )

    @field_validator("ts", mode="after")
    @classmethod
    def _ts_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class ColdChainReading(_Reading):
    """A cold-chain sensor in a stall's fridge or freezer."""

    kind: Literal["cold_chain"]
    temp_c: Number = Field(description="temperature, °C")


class FootfallReading(_Reading):
    """A footfall counter at a market gate."""

    kind: Literal["footfall"]
    entries: Count = Field(description="people who came in during the interval")
    exits: Count = Field(description="people who left during the interval")
    occupancy: Count = Field(description="people in the market at `ts`, as the counter reckons")


class PaymentReading(_Reading):
    """An e-payment terminal at a stall."""

    kind: Literal["payment"]
    tx_count: Count = Field(description="payments during the interval")
    tx_amount: Number = Field(description="their total, yuan")
    refunds: Count = Field(description="refunds during the interval")


AnyReading = ColdChainReading | FootfallReading | PaymentReading
Reading = Annotated[AnyReading, Field(discriminator="kind")]
"""One reading, discriminated on `kind`. Validate a parsed dict with `READING.validate_python`."""
READING: Final[TypeAdapter[AnyReading]] = TypeAdapter(Reading)


def parse_reading(reading: Mapping[str, Any]) -> AnyReading:
    """The model of a parsed reading; pydantic's ValidationError names the offending field."""
    return READING.validate_python(reading)


def describe_invalid(error: ValidationError) -> tuple[str | None, str]:
    """`(field, detail)` for a reading that failed `parse_reading`, for reason `malformed`.

    The discriminator's tag (the kind) that pydantic puts first in an error's location is left
    out, so the field is named as the terminal wrote it: `temp_c`, not `cold_chain.temp_c`.
    """
    problems: list[str] = []
    first_field: str | None = None
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        if loc and loc[0] in READING_KINDS:
            loc = loc[1:]
        name = ".".join(loc) or None
        if item["type"] in ("union_tag_not_found", "union_tag_invalid"):
            name = "kind"
        first_field = first_field or name
        problems.append(f"{name or 'reading'}: {item['msg']}")
    return first_field, "; ".join(problems)[:DETAIL_MAX_CHARS]


# -- physical ranges (reason `out_of_range`) -------------------------------------------------

# Inclusive bounds of what a working sensor can report. A value outside is not a risk: it is a
# broken or forged terminal, rejected so that it cannot raise (or mask) a risk.
PHYSICAL_RANGES: Final[Mapping[str, Mapping[str, tuple[float, float]]]] = {
    "cold_chain": {"temp_c": (-60.0, 80.0)},
    "footfall": {
        "entries": (0, 100_000),
        "exits": (0, 100_000),
        "occupancy": (0, 1_000_000),
    },
    "payment": {
        "tx_count": (0, 100_000),
        "tx_amount": (0.0, 100_000_000.0),
        "refunds": (0, 100_000),
    },
}
INTERVAL_RANGE_S: Final[tuple[int, int]] = (1, 86_400)
UNITS: Final[Mapping[str, str]] = {"temp_c": " °C", "tx_amount": " yuan", "interval_s": " s"}


def range_violation(reading: AnyReading) -> tuple[str, str] | None:
    """`(field, detail)` for the first value outside its physical range, else None."""
    checks: list[tuple[str, float | None, tuple[float, float]]] = [
        (name, getattr(reading, name), bounds)
        for name, bounds in PHYSICAL_RANGES[reading.kind].items()
    ]
    checks.append(("interval_s", reading.interval_s, INTERVAL_RANGE_S))
    for name, value, (low, high) in checks:
        if value is not None and not low <= value <= high:
            unit = UNITS.get(name, "")
            return name, (
                f"{name} {value:g}{unit} is outside the physical range {low:g}..{high:g}{unit} "
                f"of a {reading.kind} terminal"
            )
    return None


# -- signature ---------------------------------------------------------------------------------


def canonical_bytes(reading: Mapping[str, Any]) -> bytes:
    """Every field but `sig`, as compact sorted-key UTF-8 JSON: the bytes the HMAC covers.

    Pass the dict parsed from the message as received (not a model dump), so numbers keep the
    form they were signed in.
    """
    body = {key: value for key, value in reading.items() if key != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(reading: Mapping[str, Any], key: bytes) -> str:
    """The lowercase hex HMAC-SHA256 a terminal holding `key` puts in `sig`."""
    return hmac.new(key, canonical_bytes(reading), hashlib.sha256).hexdigest()


# The contracts need only pydantic; orjson speeds verification up where it is installed.
_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - integrators without orjson
    _orjson = None


def _canonical_fast(reading: Mapping[str, Any]) -> bytes:
    # orjson writes the same compact sorted form as `canonical_bytes` for every value a reading
    # holds in practice, at a fraction of the cost; the two differ only in how some extreme
    # floats are spelled (1e+16 vs 1e16), which `verify` covers by falling back.
    if _orjson is None:
        return canonical_bytes(reading)
    body = {key: value for key, value in reading.items() if key != "sig"}
    result: bytes = _orjson.dumps(body, option=_orjson.OPT_SORT_KEYS)
    return result


def verify(reading: Mapping[str, Any], key: bytes) -> bool:
    """Whether `reading["sig"]` is the signature of the reading under `key` (constant time)."""
    claimed = reading.get("sig")
    if not isinstance(claimed, str) or not claimed.isascii():
        return False
    try:
        fast = hmac.new(key, _canonical_fast(reading), hashlib.sha256).hexdigest()
    except TypeError:  # a value orjson will not write (an int beyond 64 bits): the slow path
        fast = ""
    if hmac.compare_digest(fast, claimed):
        return True
    return hmac.compare_digest(sign(reading, key), claimed)


# -- telemetry.reading.rejected ----------------------------------------------------------------


def truncate_raw(payload: bytes | str, limit: int = RAW_MAX_CHARS) -> tuple[str, bool]:
    """The payload as text (undecodable bytes replaced) cut to `limit` characters, and whether
    it was cut. Rejected readings may be hostile, so their size on the topic is bounded."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    if len(text) <= limit:
        return text, False
    return text[:limit], True


class ReadingRejected(BaseModel):
    """`telemetry.reading.rejected` on `telemetry.rejected.v1`, key = terminal_id (or none).

    A reading that failed verification, with its raw payload and the reason; it raised no risk.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    terminal_id: str | None = Field(
        description="the terminal the reading claims to come from; null when it cannot be read"
    )
    reason: RejectReason
    detail: str = Field(
        max_length=DETAIL_MAX_CHARS,
        description="what is wrong, in words, naming the offending field",
    )
    field: str | None = Field(default=None, description="the offending field, when there is one")
    seq: int | None = Field(default=None, description="the reading's seq, when it could be read")
    raw: str = Field(
        max_length=RAW_MAX_CHARS,
        description="the payload as received (UTF-8, undecodable bytes replaced), truncated",
    )
    raw_truncated: bool = False
    channel: Literal["kafka", "ingest"] | None = Field(
        default=None, description="kafka: telemetry.readings.v1; ingest: POST /ingest"
    )
    received_at: datetime

    @field_validator("received_at")
    @classmethod
    def _received_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @classmethod
    def of(
        cls,
        *,
        payload: bytes | str,
        reason: RejectReason,
        detail: str,
        received_at: datetime,
        terminal_id: str | None = None,
        field: str | None = None,
        seq: int | None = None,
        channel: Literal["kafka", "ingest"] | None = None,
    ) -> ReadingRejected:
        """Build the event from an arbitrary payload, bounding `raw` and `detail`."""
        raw, truncated = truncate_raw(payload)
        return cls(
            terminal_id=terminal_id,
            reason=reason,
            detail=detail[:DETAIL_MAX_CHARS],
            field=field,
            seq=seq,
            raw=raw,
            raw_truncated=truncated,
            channel=channel,
            received_at=received_at,
        )


# -- risks -------------------------------------------------------------------------------------

TransactionSignal = Literal["count_high", "count_low", "refund_share"]


class TransactionBaseline(BaseModel):
    """The robust baseline a payment terminal's count per interval was judged against."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: Literal["hour_of_week", "last_7_days"]
    median: float
    mad: float = Field(ge=0, description="median absolute deviation (unscaled)")
    samples: int = Field(ge=0)


# The most points of a cold-chain risk's temperature curve (`RiskEvidence.readings`); the
# service keeps fewer (120 by default), downsampled.
EVIDENCE_READINGS_MAX: Final = 1000


class EvidenceReading(BaseModel):
    """One point of a cold-chain risk's temperature curve."""

    model_config = ConfigDict(extra="allow", frozen=True)

    ts: datetime = Field(description="event time of the reading")
    temp_c: float = Field(allow_inf_nan=False, description="its temperature, °C")

    @field_validator("ts")
    @classmethod
    def _ts_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class RiskEvidence(BaseModel):
    """What the rule saw: thresholds in force and the window of readings behind the risk."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rule: RiskRule
    thresholds: dict[str, Any] = Field(description="every threshold the rule applied, by name")
    first_ts: datetime = Field(description="event time the window starts")
    last_ts: datetime = Field(description="event time of the latest reading (or check) in it")
    peak: float | None = Field(
        description="worst value: °C, occupancy, payments per interval; null for a gap"
    )
    duration_s: float = Field(ge=0, description="how long the condition held, seconds")
    degree_minutes: float | None = Field(
        description="cold chain: ∫ (temperature − limit) dt over the time above the limit, °C·min"
    )
    readings_count: int = Field(ge=0, description="readings in the window that met the condition")
    profile: ColdChainProfile | None = Field(default=None, description="cold-chain rules")
    silence_s: float | None = Field(
        default=None, description="monitoring gap: wall-clock seconds since the terminal was heard"
    )
    capacity: int | None = Field(default=None, description="crowding: registered capacity")
    peak_ratio: float | None = Field(default=None, description="crowding: peak occupancy/capacity")
    signals: list[TransactionSignal] | None = Field(
        default=None, description="transaction anomaly: which tests failed"
    )
    baseline: TransactionBaseline | None = Field(
        default=None, description="transaction anomaly: the baseline in force"
    )
    refund_share: float | None = Field(
        default=None, description="transaction anomaly: highest refunds/transactions seen"
    )
    readings: list[EvidenceReading] | None = Field(
        default=None,
        max_length=EVIDENCE_READINGS_MAX,
        description="cold chain: the temperature curve of the window, in time order, from the "
        "reading before the first one above the limit; downsampled (each stretch of readings "
        "keeps its lowest and highest) to a bounded number of points",
    )

    @field_validator("first_ts", "last_ts")
    @classmethod
    def _window_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class _Risk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    risk_id: str = Field(min_length=1, description="stable id of the risk (UUID)")
    rule: RiskRule
    category: RiskCategory
    severity: Severity = Field(description="warning < minor < major < critical")
    state: RiskState
    terminal_id: str
    market_id: str
    merchant_id: str | None
    stall_no: str | None
    district: str = Field(description="district code")
    raised_at: datetime = Field(
        description="event time of the reading that raised the risk (monitoring gap: the clock "
        "time of the silence check)"
    )
    evidence: RiskEvidence

    @field_validator("raised_at")
    @classmethod
    def _raised_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> _Risk:
        if self.category != CATEGORY_OF_RULE[self.rule]:
            raise ValueError(f"category of {self.rule} is {CATEGORY_OF_RULE[self.rule]}")
        if self.evidence.rule != self.rule:
            raise ValueError(f"evidence.rule {self.evidence.rule} differs from rule {self.rule}")
        return self


class RiskRaised(_Risk):
    """`telemetry.risk.raised` on `telemetry.risks.v1`, key = terminal_id, subject = risk_id.

    A rule tripped: a new risk, the only open one for its (terminal, rule).
    """

    state: Literal["open"]


class RiskEscalated(_Risk):
    """`telemetry.risk.escalated` on `telemetry.risks.v1`, key = terminal_id, subject = risk_id.

    An open risk got worse; its severity only ever grows while it is open.
    """

    state: Literal["open"]
    previous_severity: Severity

    @model_validator(mode="after")
    def _worse(self) -> RiskEscalated:
        if severity_rank(self.severity) <= severity_rank(self.previous_severity):
            raise ValueError(
                f"escalation must raise the severity, not {self.previous_severity} → "
                f"{self.severity}"
            )
        return self


class RiskAcknowledged(_Risk):
    """`telemetry.risk.acknowledged` on `telemetry.risks.v1`, key = terminal_id.

    A person has seen the risk (POST /risks/{id}/acknowledge); it stays in its state.
    """

    acknowledged_by: str = Field(min_length=1, description="who acknowledged (token subject)")
    acknowledged_at: datetime
    note: str | None = Field(default=None, max_length=1000)
    actor: Actor | None = Field(default=None, description="who acknowledged (subject and name)")

    @field_validator("acknowledged_at")
    @classmethod
    def _acknowledged_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class RiskCleared(_Risk):
    """`telemetry.risk.cleared` on `telemetry.risks.v1`, key = terminal_id, subject = risk_id.

    The condition is over (for cold chain: back inside the hysteresis band for the hold time).
    """

    state: Literal["cleared"]
    cleared_at: datetime = Field(description="event time of the reading (or check) that cleared")

    @field_validator("cleared_at")
    @classmethod
    def _cleared_utc(cls, value: datetime) -> datetime:
        return _utc(value)
