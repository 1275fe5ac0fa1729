"""The fast paths of verification never decide differently from the full checks.

`check` tries `_accepted` first and falls back to `full_check`; the fast path may only say
"accepted", and only for a reading the full checks accept with the same terminal, event time,
sample and model. Readings here are genuine ones of each kind, then bent in the ways a broken or
forged terminal would bend them.

For raw bytes `check` tries the typed path first (`_typed_accepted`: msgspec decodes into a
struct per kind and writes the canonical form); it accepts exactly what `_accepted` accepts on
the dict orjson reads from the same bytes, with the same terminal, time and sample.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.telemetry import sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.domain import Sample
from services.telemetry.projections import Directory, TerminalInfo
from services.telemetry.signing import Signer
from services.telemetry.verification import (
    Accepted,
    Rejected,
    _accepted,
    _typed_accepted,
    check,
    decode_typed,
    full_check,
)

MASTER = b"f" * 32
NOW = time.time()
KINDS = {"trm_cc": "cold_chain", "trm_ff": "footfall", "trm_pay": "payment"}


def _directory() -> Directory:
    d = Directory(MASTER)
    for tid, kind in KINDS.items():
        d.terminals[tid] = TerminalInfo(
            tid, kind, "mkt", "zhifu", None, None, "chilled", 60, 1, "active", 1
        )
    d.terminals["trm_off"] = TerminalInfo(
        "trm_off", "cold_chain", "mkt", "zhifu", None, None, "chilled", 60, 1, "retired", 1
    )
    return d


DIRECTORY = _directory()


def _ts(minutes: float) -> str:
    return (
        (datetime.fromtimestamp(NOW, UTC) + timedelta(minutes=minutes))
        .isoformat()
        .replace("+00:00", "Z")
    )


def _genuine(tid: str, seq: int = 5, minutes: float = -1.0) -> dict[str, Any]:
    kind = KINDS.get(tid, "cold_chain")
    body: dict[str, Any] = {"terminal_id": tid, "seq": seq, "ts": _ts(minutes), "kind": kind}
    body |= {
        "cold_chain": {"temp_c": 3.5, "interval_s": 60},
        "footfall": {"entries": 12, "exits": 9, "occupancy": 140},
        "payment": {"tx_count": 7, "tx_amount": 312.5, "refunds": 0, "interval_s": 900},
    }[kind]
    return _signed(body)


def _signed(body: dict[str, Any], tid: str | None = None) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k != "sig"}
    body["sig"] = sign(body, derive_key(MASTER, tid or str(body.get("terminal_id")), 1))
    return body


def _same(fast: Accepted, full: Accepted | Rejected) -> None:
    assert isinstance(full, Accepted), f"fast path accepted what the full checks reject: {full}"
    assert fast.terminal is full.terminal
    assert fast.ts == full.ts
    assert fast.kind == full.kind and fast.seq == full.seq
    assert fast.sample(12.5) == full.sample(12.5) == Sample.from_reading(full.reading, 12.5)
    assert fast.reading == full.reading


def _both(body: dict[str, Any], last: int = 2) -> tuple[Accepted | None, Accepted | Rejected]:
    def last_seq(_: str) -> int:
        return last

    return (
        _accepted(body, DIRECTORY, last_seq, NOW, 300),
        full_check(body, DIRECTORY, last_seq, NOW, 300),
    )


@pytest.mark.parametrize("tid", list(KINDS))
def test_a_genuine_reading_of_each_kind_takes_the_fast_path(tid: str) -> None:
    fast, full = _both(_genuine(tid))
    assert fast is not None
    _same(fast, full)


def test_an_integer_for_a_float_is_taken_as_a_float_as_the_contract_takes_it() -> None:
    body = _genuine("trm_cc") | {"temp_c": 4}
    fast, full = _both(_signed(body))
    assert fast is not None and isinstance(fast.sample().temp_c, float)
    _same(fast, full)


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
        body = _genuine(self.tid, minutes=self.minutes) | self.changes
        for name in self.dropped:
            body.pop(name, None)
        if self.resign:  # a genuine terminal that sends a broken reading signs it all the same
            body = _signed(body, self.tid)
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


@settings(max_examples=1500, deadline=None)
@given(mutated=MUTATED)
def test_the_fast_path_never_accepts_what_the_full_checks_reject(mutated: Mutated) -> None:
    body, last = mutated.body(), mutated.last
    fast, full = _both(body, last)
    if fast is not None:
        _same(fast, full)
    verdict = check(body, DIRECTORY, lambda _: last, NOW, 300)
    if isinstance(full, Rejected):
        assert verdict == full  # the same reason, field, detail, seq and kind
    else:
        assert isinstance(verdict, Accepted) and verdict.ts == full.ts


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_a_signer_is_hmac_sha256(key: bytes, message: bytes) -> None:
    signer = Signer(key)
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert signer.hexdigest(message) == expected
    assert signer.hexdigest(message) == expected  # the prepared hashes are not consumed


BOUNDARY = [
    -61,
    -60,
    -60.0,
    -59.99,
    0,
    0.0,
    -0.0,
    1,
    59,
    60,
    79.99,
    80,
    80.0,
    80.01,
    86_400,
    86_401,
    100_000,
    100_001,
    100_000_000.0,
    100_000_001.0,
    10**6,
    10**6 + 1,
    None,
    True,
    False,
    "5",
]


@pytest.mark.parametrize("value", BOUNDARY, ids=repr)
@pytest.mark.parametrize(
    ("tid", "name"),
    [
        ("trm_cc", "temp_c"),
        ("trm_cc", "interval_s"),
        ("trm_cc", "seq"),
        ("trm_ff", "entries"),
        ("trm_ff", "exits"),
        ("trm_ff", "occupancy"),
        ("trm_pay", "tx_count"),
        ("trm_pay", "tx_amount"),
        ("trm_pay", "refunds"),
        ("trm_pay", "interval_s"),
    ],
)
def test_values_at_and_beyond_their_bounds_decide_alike(tid: str, name: str, value: Any) -> None:
    body = _signed(_genuine(tid) | {name: value})
    fast, full = _both(body, last=-1)
    if isinstance(full, Accepted):
        assert fast is not None, "a plausible reading the contract accepts takes the fast path"
        _same(fast, full)
    else:
        assert fast is None
        assert check(body, DIRECTORY, lambda _: -1, NOW, 300) == full
    raw = orjson.dumps(body)
    typed = _typed(raw, -1)
    assert (typed is None) == (fast is None)
    _alike(raw, -1)


# -- the typed path (raw bytes, msgspec) against the dict path ------------------------------------


def _raw(body: dict[str, Any]) -> bytes | None:
    try:
        return orjson.dumps(body)
    except TypeError:  # a value JSON cannot carry (an int beyond 64 bits); not a message
        return None


def _typed(raw: bytes, last: int) -> Accepted | None:
    decoded = decode_typed(raw)
    if decoded is None:
        return None
    return _typed_accepted(decoded, raw, DIRECTORY, lambda _: last, NOW, 300)


def _alike(raw: bytes, last: int, *, exact: bool = True) -> None:
    """The typed path on the bytes decides as `_accepted` on orjson's dict of them, and `check`
    of the bytes gives the verdict `check` of the dict gives. Not `exact`: the typed path may
    leave to the dict path what the dict path accepts, never accept what it does not."""

    def last_seq(_: str) -> int:
        return last

    typed = _typed(raw, last)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        assert typed is None
        return
    fast = _accepted(body, DIRECTORY, last_seq, NOW, 300) if isinstance(body, dict) else None
    if exact or typed is not None:
        assert (typed is None) == (fast is None), f"typed {typed}, dict {fast}: {raw!r}"
    if typed is not None and fast is not None:
        assert typed.terminal is fast.terminal and typed.ts == fast.ts
        assert typed.kind == fast.kind and typed.seq == fast.seq
        assert typed.sample(1.5) == fast.sample(1.5)
        assert typed.reading == fast.reading
        _same(typed, full_check(body, DIRECTORY, last_seq, NOW, 300))
    verdict = check(raw, DIRECTORY, last_seq, NOW, 300)
    decoded = decode_typed(raw)
    again = check(raw, DIRECTORY, last_seq, NOW, 300, typed=decoded)  # decoded by the caller
    assert type(again) is type(verdict)
    if isinstance(verdict, Rejected):
        assert again == verdict
    if decoded is not None:
        assert decoded == decode_typed(raw), "check leaves the caller's struct as it was"
    if isinstance(body, dict):
        expected = check(body, DIRECTORY, last_seq, NOW, 300)
        if isinstance(expected, Rejected):
            assert verdict == expected
        else:
            assert isinstance(verdict, Accepted) and verdict.ts == expected.ts
            assert verdict.sample(2.5) == expected.sample(2.5)


@pytest.mark.parametrize("tid", list(KINDS))
def test_a_genuine_reading_of_each_kind_takes_the_typed_path(tid: str) -> None:
    raw = orjson.dumps(_genuine(tid))
    assert _typed(raw, 2) is not None
    _alike(raw, 2)


def test_an_explicit_null_interval_is_signed_and_kept_as_sent() -> None:
    raw = orjson.dumps(_signed(_genuine("trm_cc") | {"interval_s": None}))
    accepted = _typed(raw, 2)
    assert accepted is not None and accepted.sample().interval_s is None
    _alike(raw, 2)


@settings(max_examples=1500, deadline=None)
@given(mutated=MUTATED)
def test_the_typed_path_accepts_exactly_what_the_dict_path_accepts(mutated: Mutated) -> None:
    raw = _raw(mutated.body())
    if raw is not None:
        _alike(raw, mutated.last)


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


def _carried(tid: str, values: dict[str, Any]) -> dict[str, Any]:
    """Those of `values` that a reading of `tid`'s kind carries."""
    wanted = {"cold_chain": {"temp_c"}, "payment": {"tx_amount"}, "footfall": set()}[KINDS[tid]]
    wanted |= {"interval_s"} | ({"entries", "occupancy"} if KINDS[tid] == "footfall" else set())
    return {k: v for k, v in values.items() if k in wanted}


@settings(max_examples=1000, deadline=None)
@given(**NUMBERS)
def test_numbers_of_every_spelling_decide_alike(tid: str, values: dict[str, Any], seq: int) -> None:
    body = _signed(_genuine(tid) | _carried(tid, values) | {"seq": seq})
    raw = _raw(body)
    assert raw is not None
    _alike(raw, 2)


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


@settings(max_examples=600, deadline=None)
@given(
    tid=st.sampled_from(list(KINDS)),
    styles=st.lists(st.integers(0, 2), min_size=10, max_size=10),
    duplicate=st.sampled_from([None, *FIELDS]),
    shadow=ODD_VALUES,
    spaces=st.sampled_from(["", " ", "\n  "]),
    temp=st.floats(-60, 80),
)
def test_raw_json_of_every_spelling_decides_alike(
    tid: str,
    styles: list[int],
    duplicate: str | None,
    shadow: Any,
    spaces: str,
    temp: float,
) -> None:
    raw = spelled(tid, styles, duplicate, shadow, spaces, temp)
    # A key twice: both readers keep the last value (the signed one), but msgspec checks the
    # type of the first one too, so a shadowed value of the wrong type leaves the reading to the
    # dict path, which accepts it (`exact=False`).
    _alike(raw, 2, exact=duplicate is None)


def spelled(
    tid: str, styles: list[int], duplicate: str | None, shadow: Any, spaces: str, temp: float
) -> bytes:
    """A genuine reading of `tid` written by hand: each value in the spelling `styles` picks,
    `spaces` around the members, `duplicate` first with the value `shadow` when given."""
    body = _genuine(tid)
    if KINDS[tid] == "cold_chain":
        body = _signed(body | {"temp_c": temp})
    items = [
        f"{spaces}{orjson.dumps(k).decode()}:{spaces}{_spell(v, styles[i])}"
        for i, (k, v) in enumerate(body.items())
    ]
    if duplicate is not None:
        items.insert(0, f"{orjson.dumps(duplicate).decode()}:{_spell(shadow, 0)}")
    return ("{" + ",".join(items) + spaces + "}").encode()
