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
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.telemetry.domain import Sample
from services.telemetry.signing import Signer
from services.telemetry.verification import (
    Accepted,
    Rejected,
    TerminalsAndClock,
    _accepted,
    check,
    decode_typed,
    full_check,
)
from tests.support.bent_readings import (
    DIRECTORY,
    FIELDS,
    KINDS,
    MUTATED,
    NOW,
    NUMBERS,
    ODD_VALUES,
    Mutated,
    carried_values,
    genuine,
    raw_json,
    signed,
    spelled,
    typed_verdict,
)


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
        _accepted(body, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300)),
        full_check(body, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300)),
    )


@pytest.mark.parametrize("tid", list(KINDS))
def test_a_genuine_reading_of_each_kind_takes_the_fast_path(tid: str) -> None:
    fast, full = _both(genuine(tid))
    assert fast is not None
    _same(fast, full)


def test_an_integer_for_a_float_is_taken_as_a_float_as_the_contract_takes_it() -> None:
    body = genuine("trm_cc") | {"temp_c": 4}
    fast, full = _both(signed(body))
    assert fast is not None and isinstance(fast.sample().temp_c, float)
    _same(fast, full)


@settings(max_examples=1500, deadline=None)
@given(mutated=MUTATED)
def test_the_fast_path_never_accepts_what_the_full_checks_reject(mutated: Mutated) -> None:
    body, last = mutated.body(), mutated.last
    fast, full = _both(body, last)
    if fast is not None:
        _same(fast, full)
    verdict = check(body, TerminalsAndClock(DIRECTORY, lambda _: last, NOW, 300))
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
    body = signed(genuine(tid) | {name: value})
    fast, full = _both(body, last=-1)
    if isinstance(full, Accepted):
        assert fast is not None, "a plausible reading the contract accepts takes the fast path"
        _same(fast, full)
    else:
        assert fast is None
        assert check(body, TerminalsAndClock(DIRECTORY, lambda _: -1, NOW, 300)) == full
    raw = orjson.dumps(body)
    typed = typed_verdict(raw, -1)
    assert (typed is None) == (fast is None)
    _alike(raw, -1)


# -- the typed path (raw bytes, msgspec) against the dict path ------------------------------------


def _alike(raw: bytes, last: int, *, exact: bool = True) -> None:
    """The typed path on the bytes decides as `_accepted` on orjson's dict of them, and `check`
    of the bytes gives the verdict `check` of the dict gives. Not `exact`: the typed path may
    leave to the dict path what the dict path accepts, never accept what it does not."""

    def last_seq(_: str) -> int:
        return last

    typed = typed_verdict(raw, last)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        assert typed is None
        return
    fast = (
        _accepted(body, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300))
        if isinstance(body, dict)
        else None
    )
    if exact or typed is not None:
        assert (typed is None) == (fast is None), f"typed {typed}, dict {fast}: {raw!r}"
    if typed is not None and fast is not None:
        assert typed.terminal is fast.terminal and typed.ts == fast.ts
        assert typed.kind == fast.kind and typed.seq == fast.seq
        assert typed.sample(1.5) == fast.sample(1.5)
        assert typed.reading == fast.reading
        _same(typed, full_check(body, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300)))
    verdict = check(raw, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300))
    decoded = decode_typed(raw)
    again = check(
        raw, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300), typed=decoded
    )  # decoded by the caller
    assert type(again) is type(verdict)
    if isinstance(verdict, Rejected):
        assert again == verdict
    if decoded is not None:
        assert decoded == decode_typed(raw), "check leaves the caller's struct as it was"
    if isinstance(body, dict):
        expected = check(body, TerminalsAndClock(DIRECTORY, last_seq, NOW, 300))
        if isinstance(expected, Rejected):
            assert verdict == expected
        else:
            assert isinstance(verdict, Accepted) and verdict.ts == expected.ts
            assert verdict.sample(2.5) == expected.sample(2.5)


@pytest.mark.parametrize("tid", list(KINDS))
def test_a_genuine_reading_of_each_kind_takes_the_typed_path(tid: str) -> None:
    raw = orjson.dumps(genuine(tid))
    assert typed_verdict(raw, 2) is not None
    _alike(raw, 2)


def test_an_explicit_null_interval_is_signed_and_kept_as_sent() -> None:
    raw = orjson.dumps(signed(genuine("trm_cc") | {"interval_s": None}))
    accepted = typed_verdict(raw, 2)
    assert accepted is not None and accepted.sample().interval_s is None
    _alike(raw, 2)


@settings(max_examples=1500, deadline=None)
@given(mutated=MUTATED)
def test_the_typed_path_accepts_exactly_what_the_dict_path_accepts(mutated: Mutated) -> None:
    raw = raw_json(mutated.body())
    if raw is not None:
        _alike(raw, mutated.last)


@settings(max_examples=1000, deadline=None)
@given(**NUMBERS)
def test_numbers_of_every_spelling_decide_alike(tid: str, values: dict[str, Any], seq: int) -> None:
    body = signed(genuine(tid) | carried_values(tid, values) | {"seq": seq})
    raw = raw_json(body)
    assert raw is not None
    _alike(raw, 2)


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
