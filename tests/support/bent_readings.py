"""Readings for holding telemetry's verification paths to one another (the full checks, the
fast path, the typed path, the native one): a directory of its own with an active terminal of each
kind and a retired one, genuine readings of each kind signed with its keys, and, as Hypothesis
strategies, the ways a broken or forged terminal bends them: odd values in any field, fields
dropped, re-signed or not, replays and readings from the future, numbers and raw JSON of every
spelling."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import strategies as st

from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.projections import Directory, TerminalInfo
from services.telemetry.verification import (
    Accepted,
    TerminalsAndClock,
    _typed_accepted,
    decode_typed,
)

MASTER = b"f" * 32
NOW = time.time()
KINDS = {"trm_cc": "cold_chain", "trm_ff": "footfall", "trm_pay": "payment"}


def new_directory() -> Directory:
    d = Directory(MASTER)
    for tid, kind in KINDS.items():
        d.terminals[tid] = TerminalInfo(
            tid, kind, "mkt", "zhifu", None, None, "chilled", 60, 1, "active", 1
        )
    d.terminals["trm_off"] = TerminalInfo(
        "trm_off", "cold_chain", "mkt", "zhifu", None, None, "chilled", 60, 1, "retired", 1
    )
    return d


DIRECTORY = new_directory()


def _ts(minutes: float) -> str:
    return (
        (datetime.fromtimestamp(NOW, UTC) + timedelta(minutes=minutes))
        .isoformat()
        .replace("+00:00", "Z")
    )


def genuine(tid: str, seq: int = 5, minutes: float = -1.0) -> dict[str, Any]:
    kind = KINDS.get(tid, "cold_chain")
    body: dict[str, Any] = {"terminal_id": tid, "seq": seq, "ts": _ts(minutes), "kind": kind}
    body |= {
        "cold_chain": {"temp_c": 3.5, "interval_s": 60},
        "footfall": {"entries": 12, "exits": 9, "occupancy": 140},
        "payment": {"tx_count": 7, "tx_amount": 312.5, "refunds": 0, "interval_s": 900},
    }[kind]
    return signed(body)


def signed(body: dict[str, Any], tid: str | None = None) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k != "sig"}
    body["sig"] = sign(body, derive_key(MASTER, tid or str(body.get("terminal_id")), 1))
    return body


# Values a terminal could put in a field, of every JSON type and a few Python-only ones that
# /ingest can hand over (the stdlib json parser reads NaN and Infinity).
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 60, 86_400, 86_401, 100_000, 100_001, 10**6, 10**6 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-60.0, 80.0, 80.0001, -60.5, 1e16, 1e-7, 3.0]),
    st.text(max_size=5),
    st.sampled_from(
        [
            "",
            "x" * 129,
            "cold_chain",
            "footfall",
            "payment",
            "trm_cc",
            "trm_off",
            "trm_ghost",
            "2026-05-01T08:00:00Z",
            "2026-05-01t08:00:00z",
            "2026-05-01 08:00:00Z",
            "2026-05-01T08:00:00",
            "2026-05-01T08:00:00.123456789+08:00",
            "2026-13-01T08:00:00Z",
            "0" * 64,
            "F" * 64,
            "é" * 64,
        ]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
FIELDS = [
    "terminal_id",
    "seq",
    "ts",
    "kind",
    "sig",
    "interval_s",
    "temp_c",
    "entries",
    "exits",
    "occupancy",
    "tx_count",
    "tx_amount",
    "refunds",
    "extra",
]


@dataclass
class Mutated:
    """A genuine reading with some fields changed to odd values or dropped, re-signed or not,
    judged against a `last` seq and a clock that may make it a replay or from the future."""

    tid: str
    changes: dict[str, Any]
    dropped: set[str]
    resign: bool
    last: int
    minutes: float

    def body(self) -> dict[str, Any]:
        body = genuine(self.tid, minutes=self.minutes) | self.changes
        for name in self.dropped:
            body.pop(name, None)
        if self.resign:  # a genuine terminal that sends a broken reading signs it all the same
            body = signed(body, self.tid)
        return body


MUTATED = st.builds(
    Mutated,
    tid=st.sampled_from([*KINDS, "trm_off", "trm_ghost"]),
    changes=st.dictionaries(st.sampled_from(FIELDS), ODD_VALUES, max_size=3),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
    resign=st.booleans(),
    last=st.sampled_from([0, 4, 5, 9]),
    minutes=st.sampled_from([-600.0, -1.0, 4.0, 6.0]),
)


def raw_json(body: dict[str, Any]) -> bytes | None:
    """The reading as JSON bytes, or None for a value JSON cannot carry."""
    try:
        return orjson.dumps(body)
    except TypeError:  # a value JSON cannot carry (an int beyond 64 bits); not a message
        return None


def typed_verdict(raw: bytes, last: int) -> Accepted | None:
    """What the typed path (msgspec) makes of `raw` against DIRECTORY, the terminal's last seq
    being `last`: accepted, or None where it leaves the reading to the dict path."""
    decoded = decode_typed(raw)
    if decoded is None:
        return None
    return _typed_accepted(decoded, raw, TerminalsAndClock(DIRECTORY, lambda _: last, NOW, 300))


# Every number a plausible reading can hold, and a little beyond: the canonical forms that
# msgspec and orjson write must agree wherever a reading is accepted.
IN_RANGE = {
    "temp_c": st.one_of(st.floats(-61, 81), st.integers(-61, 81)),
    "tx_amount": st.one_of(st.floats(-1, 100_000_001), st.integers(-1, 100_000_001)),
    "entries": st.integers(-1, 100_001),
    "occupancy": st.integers(-1, 100_001),
    "interval_s": st.one_of(st.none(), st.integers(0, 86_401)),
}
# A genuine reading of each kind with some of IN_RANGE and a seq of every size in it.
NUMBERS = {
    "tid": st.sampled_from(list(KINDS)),
    "values": st.fixed_dictionaries({}, optional=IN_RANGE),
    "seq": st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([2**63 - 1, 2**63])),
}


def carried_values(tid: str, values: dict[str, Any]) -> dict[str, Any]:
    """Those of `values` that a reading of `tid`'s kind carries."""
    wanted = {"cold_chain": {"temp_c"}, "payment": {"tx_amount"}, "footfall": set()}[KINDS[tid]]
    wanted |= {"interval_s"} | ({"entries", "occupancy"} if KINDS[tid] == "footfall" else set())
    return {k: v for k, v in values.items() if k in wanted}


def _spell(value: Any, style: int) -> str:
    """Another JSON spelling of the same value (as a terminal's own JSON writer may choose)."""
    if type(value) is float and style == 1:
        return repr(value).replace("e+", "E")  # 1e+16 as 1E16, 3.5 as 3.5
    if type(value) is float and style == 2 and value == int(value) and abs(value) < 1e15:
        return f"{int(value)}.000"
    if type(value) is str and style == 1:
        return orjson.dumps(value).decode().replace("_", "\\u005f").replace("-", "\\u002D")
    # the stdlib writes ints beyond 64 bits (JSON has no limit) and NaN (which no reader takes)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def spelled(
    tid: str, styles: list[int], duplicate: str | None, shadow: Any, spaces: str, temp: float
) -> bytes:
    """A genuine reading of `tid` written by hand: each value in the spelling `styles` picks,
    `spaces` around the members, `duplicate` first with the value `shadow` when given."""
    body = genuine(tid)
    if KINDS[tid] == "cold_chain":
        body = signed(body | {"temp_c": temp})
    items = [
        f"{spaces}{orjson.dumps(k).decode()}:{spaces}{_spell(v, styles[i])}"
        for i, (k, v) in enumerate(body.items())
    ]
    if duplicate is not None:
        items.insert(0, f"{orjson.dumps(duplicate).decode()}:{_spell(shadow, 0)}")
    return ("{" + ",".join(items) + spaces + "}").encode()
