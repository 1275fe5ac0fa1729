"""Every reading is checked before any rule sees it (DESIGN §4, "implausible or forged").

Order matters: a reading is parsed, then placed (known, active terminal), then authenticated
(signature), and only an authentic reading is judged on its content (replayed seq, future
timestamp, physical range). So a forger learns nothing about a terminal's state, and a fault
in a genuine terminal is reported as what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from pydantic import ValidationError

from contracts.telemetry import (
    READING_KINDS,
    AnyReading,
    describe_invalid,
    parse_reading,
    range_violation,
    verify,
)
from services.telemetry.projections import Directory, TerminalInfo


@dataclass(frozen=True, slots=True)
class Accepted:
    reading: AnyReading
    terminal: TerminalInfo
    ts: float  # event time, epoch seconds


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # signature | unknown_terminal | replay | future_ts | out_of_range | malformed
    detail: str
    field: str | None = None
    terminal_id: str | None = None
    seq: int | None = None
    kind: str | None = None  # a known reading kind when the reading said one (metrics label)


def check(
    raw: bytes | dict[str, Any],
    directory: Directory,
    last_seq: Callable[[str], int],
    now: float,
    future_tolerance_s: float,
) -> Accepted | Rejected:
    """Judge one reading; `last_seq(terminal_id)` is the highest seq already accepted."""
    if isinstance(raw, dict):
        body: Any = raw
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return Rejected("malformed", f"not JSON: {exc}")
    if not isinstance(body, dict):
        return Rejected("malformed", f"a reading is a JSON object, not {type(body).__name__}")
    claimed_id = body.get("terminal_id") if isinstance(body.get("terminal_id"), str) else None
    try:
        reading = parse_reading(body)
    except ValidationError as exc:
        field, detail = describe_invalid(exc)
        kind = body.get("kind") if body.get("kind") in READING_KINDS else None
        return Rejected("malformed", detail, field, claimed_id, kind=kind)
    verdict = _judge(reading, body, directory, last_seq, now, future_tolerance_s)
    if isinstance(verdict, Rejected):
        return replace(verdict, kind=reading.kind)
    return verdict


def _judge(
    reading: AnyReading,
    body: dict[str, Any],
    directory: Directory,
    last_seq: Callable[[str], int],
    now: float,
    future_tolerance_s: float,
) -> Accepted | Rejected:

    terminal = directory.terminals.get(reading.terminal_id)
    if terminal is None:
        return Rejected(
            "unknown_terminal",
            "no such terminal in the registry",
            "terminal_id",
            reading.terminal_id,
            reading.seq,
        )
    if terminal.status != "active":
        return Rejected(
            "unknown_terminal",
            f"terminal is {terminal.status}",
            "terminal_id",
            reading.terminal_id,
            reading.seq,
        )
    if not verify(body, directory.key(terminal)):
        return Rejected(
            "signature",
            "signature does not match the terminal's current key",
            "sig",
            reading.terminal_id,
            reading.seq,
        )
    if reading.kind != terminal.kind:
        return Rejected(
            "malformed",
            f"a {terminal.kind} terminal sent a {reading.kind} reading",
            "kind",
            reading.terminal_id,
            reading.seq,
        )

    seen = last_seq(reading.terminal_id)
    if reading.seq <= seen:
        return Rejected(
            "replay",
            f"seq {reading.seq} is not above {seen}, already accepted",
            "seq",
            reading.terminal_id,
            reading.seq,
        )
    ts = reading.ts.timestamp()
    if ts > now + future_tolerance_s:
        return Rejected(
            "future_ts",
            f"ts is {ts - now:.0f}s ahead of the clock (tolerance {future_tolerance_s:.0f}s)",
            "ts",
            reading.terminal_id,
            reading.seq,
        )
    violation = range_violation(reading)
    if violation is not None:
        field, detail = violation
        return Rejected("out_of_range", detail, field, reading.terminal_id, reading.seq)
    return Accepted(reading, terminal, ts)
