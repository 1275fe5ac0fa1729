"""The native fast path (services/telemetry/native.py, native/) never decides differently from
Python's checks.

It may only say "accepted", and only for a reading that `check` accepts with the same terminal,
event time and sample; it is held to `_typed_accepted` too (it accepts a subset of what the
typed path accepts), and to accepting the plain genuine readings, so that it is not a path that
merely never accepts. Readings are those of tests/support/bent_readings.py (as in
test_fast_verification.py): genuine ones bent the ways a broken or forged terminal bends them,
every spelling of numbers and raw JSON, and odd event times here.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import orjson
import pytest
import sentinel_native
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.telemetry import INTERVAL_RANGE_S, PHYSICAL_RANGES, sign
from services.runtime.terminal_keys import derive_key
from services.telemetry.domain import Sample
from services.telemetry.native import NativeVerifier, available
from services.telemetry.verification import (
    Accepted,
    Rejected,
    TerminalsAndClock,
    _event_time,
    check,
)
from tests.support.bent_readings import (
    DIRECTORY,
    FIELDS,
    KINDS,
    MASTER,
    MUTATED,
    NOW,
    NUMBERS,
    ODD_VALUES,
    Mutated,
    carried_values,
    genuine,
    new_directory,
    raw_json,
    signed,
    spelled,
    typed_verdict,
)

# `make setup` builds the extension, so a venv without it fails here rather than skipping.
assert available(), "sentinel_native is not built: make setup"
NATIVE = NativeVerifier(DIRECTORY)


def _native(raw: bytes, last: int) -> Accepted | None:
    return NATIVE.accepted(raw, lambda _: last, NOW, 300)


def _narrower(raw: bytes, last: int) -> Accepted | None:
    """The native verdict on `raw`, asserted to be no wider than Python's and equal where both
    accept."""
    native = _native(raw, last)
    if native is None:
        return None
    full = check(raw, TerminalsAndClock(DIRECTORY, lambda _: last, NOW, 300))
    assert isinstance(full, Accepted), f"native accepted what check rejects ({full}): {raw!r}"
    typed = typed_verdict(raw, last)
    assert typed is not None, f"native accepted what the typed path leaves: {raw!r}"
    assert native.terminal is full.terminal is typed.terminal
    assert native.ts == full.ts == typed.ts
    assert native.kind == full.kind and native.seq == full.seq
    assert native.sample(1.5) == full.sample(1.5) == typed.sample(1.5)
    assert native.reading == full.reading  # the model, built from the bytes when asked
    return native


@pytest.mark.parametrize("tid", list(KINDS))
def test_a_genuine_reading_of_each_kind_takes_the_native_path(tid: str) -> None:
    for body in (genuine(tid), signed(genuine(tid) | {"interval_s": None})):
        assert _narrower(orjson.dumps(body), 2) is not None


def test_a_replayed_seq_is_left_to_python() -> None:
    raw = orjson.dumps(genuine("trm_cc", seq=5))
    assert _narrower(raw, 4) is not None
    assert _narrower(raw, 5) is None and _narrower(raw, 9) is None


@settings(max_examples=1500, deadline=None)
@given(mutated=MUTATED)
def test_the_native_path_never_accepts_what_python_rejects(mutated: Mutated) -> None:
    raw = raw_json(mutated.body())
    if raw is not None:
        _narrower(raw, mutated.last)


@settings(max_examples=1000, deadline=None)
@given(**NUMBERS)
def test_numbers_of_every_value_decide_alike(tid: str, values: dict[str, Any], seq: int) -> None:
    carried = carried_values(tid, values)
    body = signed(genuine(tid) | carried | {"seq": seq})
    raw = raw_json(body)
    assert raw is not None
    native = _narrower(raw, 2)
    # Plain values are not left to Python: every int, and floats down to a thousandth.
    plain = all(type(v) is not float or v == 0 or abs(v) >= 1e-3 for v in carried.values())
    if plain and isinstance(
        check(raw, TerminalsAndClock(DIRECTORY, lambda _: 2, NOW, 300)), Accepted
    ):
        assert native is not None, raw


@settings(max_examples=600, deadline=None)
@given(
    tid=st.sampled_from(list(KINDS)),
    styles=st.lists(st.integers(0, 2), min_size=10, max_size=10),
    duplicate=st.sampled_from([None, *FIELDS]),
    shadow=ODD_VALUES,
    spaces=st.sampled_from(["", " ", "\n  ", "\t\r"]),
    temp=st.floats(-60, 80),
)
def test_raw_json_of_every_spelling_is_never_accepted_wrongly(
    tid: str,
    styles: list[int],
    duplicate: str | None,
    shadow: Any,
    spaces: str,
    temp: float,
) -> None:
    raw = spelled(tid, styles, duplicate, shadow, spaces, temp)
    _narrower(raw, 2)
    _narrower(raw + b"x", 2)  # trailing bytes
    _narrower(raw[:-1], 2)  # cut short


def _time(year: int, month: int, day: int, clock: str, fraction: str, offset: str) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}{clock}{fraction}{offset}"


# Event times near and beyond what the contract takes: every separator, offset and fraction
# length, impossible dates and times, years far from ours.
ODD_TIMES = st.builds(
    _time,
    year=st.sampled_from([1, 1899, 1900, 1969, 1970, 2024, 2025, 2026, 2200, 2201, 9999]),
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    clock=st.builds(
        lambda sep, h, m, s: f"{sep}{h:02d}:{m:02d}:{s:02d}",
        st.sampled_from(["T", "t", " ", "_"]),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ),
    fraction=st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,11}", fullmatch=True)),
    offset=st.sampled_from(
        [
            *("Z", "z", "", "+08:00", "-00:00", "+23:59", "-23:59", "+24:00", "+00:60"),
            *("-05:30", "+0800", "+08", "Z\n", "ZZ", "+8:00", "\u0660"),
        ]
    ),
)


@settings(max_examples=2000, deadline=None)
@given(tid=st.sampled_from(list(KINDS)), ts=ODD_TIMES)
def test_event_times_are_read_as_python_reads_them(tid: str, ts: str) -> None:
    raw = orjson.dumps(signed(genuine(tid) | {"ts": ts}))
    native = _narrower(raw, -1)
    epoch = _event_time(ts)
    if native is not None:
        assert native.ts == epoch
    elif epoch is not None and 1900 <= int(ts[:4]) <= 2200 and ts[-6:-3] not in ("+24", "-24"):
        # What Python takes in these years, the native path takes too (an offset of 60
        # minutes aside), unless the reading is from the future.
        assert epoch > NOW + 300 or ts.endswith(":60"), ts


def test_the_directory_is_read_at_every_judgement() -> None:
    directory = new_directory()
    verifier = NativeVerifier(directory)
    raw = orjson.dumps(genuine("trm_cc"))
    first = verifier.accepted(raw, lambda _: 2, NOW, 300)
    assert first is not None and first.terminal is directory.terminals["trm_cc"]
    # Retired: no verdict (Python names the reason).
    directory.terminals["trm_cc"] = replace(directory.terminals["trm_cc"], status="retired")
    assert verifier.accepted(raw, lambda _: 2, NOW, 300) is None
    # A new key: the old signature no longer passes, a reading signed with the new key does.
    rotated = replace(directory.terminals["trm_cc"], status="active", key_version=2)
    directory.terminals["trm_cc"] = rotated
    assert verifier.accepted(raw, lambda _: 2, NOW, 300) is None
    body = {k: v for k, v in orjson.loads(raw).items() if k != "sig"}
    body["sig"] = sign(body, derive_key(MASTER, "trm_cc", 2))
    again = verifier.accepted(orjson.dumps(body), lambda _: 2, NOW, 300)
    assert again is not None and again.terminal is rotated
    del directory.terminals["trm_cc"]
    assert verifier.accepted(orjson.dumps(body), lambda _: 2, NOW, 300) is None


def test_a_batch_is_judged_reading_by_reading_in_one_call() -> None:
    raws = [orjson.dumps(genuine("trm_cc", seq=s)) for s in (5, 6)] + [b"{", b"[]"]
    verdicts = NativeVerifier(DIRECTORY).judge_batch(raws, NOW, 300)
    assert [v is not None for v in verdicts] == [True, True, False, False]
    assert [v[2].seq for v in verdicts if v is not None] == [5, 6]
    assert all(v is None or v[0] is DIRECTORY.terminals["trm_cc"] for v in verdicts)


def test_a_native_sample_is_a_sample_left_to_reference_counting() -> None:
    """The extension fills `Sample`'s slots itself; the class must still have exactly them, and
    an instance holds no container, so the cyclic collector need not track it."""
    [fast] = NATIVE.judge_batch([orjson.dumps(genuine("trm_pay"))], NOW, 300)
    assert fast is not None
    terminal, ts, sample = fast
    assert terminal is DIRECTORY.terminals["trm_pay"]
    assert type(sample) is Sample and not gc.is_tracked(sample)
    assert sample == Sample(5, ts, "payment", None, None, None, None, 7, 312.5, 0, 900)
    with pytest.raises(TypeError, match="slots"):
        sentinel_native.Verifier(DIRECTORY.terminals, DIRECTORY.key, Accepted)


# The extension keeps its own copy of the contract's bounds (native/src/reading.rs): each one is
# held here to PHYSICAL_RANGES and INTERVAL_RANGE_S, at the bound and one step beyond it.
_BOUNDS = [
    (kind, name, bounds)
    for kind, names in PHYSICAL_RANGES.items()
    for name, bounds in names.items()
] + [(kind, "interval_s", INTERVAL_RANGE_S) for kind in PHYSICAL_RANGES]


@pytest.mark.parametrize(("kind", "name", "bounds"), _BOUNDS)
def test_the_native_bounds_are_the_contracts(
    kind: str, name: str, bounds: tuple[float, float]
) -> None:
    tid = next(t for t, k in KINDS.items() if k == kind)
    low, high = bounds
    step = 1 if type(low) is int else 0.5
    for value, inside in ((low, True), (high, True), (low - step, False), (high + step, False)):
        raw = orjson.dumps(signed(genuine(tid) | {name: value}))
        native = _narrower(raw, 2)
        assert (native is not None) is inside, (name, value)
        if not inside:
            verdict = check(raw, TerminalsAndClock(DIRECTORY, lambda _: 2, NOW, 300))
            assert isinstance(verdict, Rejected) and verdict.field == name, verdict
