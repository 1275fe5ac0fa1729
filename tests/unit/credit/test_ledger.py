"""The ledger and the score: each rule, versions by date, fade-out, bounds, rebuild = live."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.credit.domain import (
    Adjustment,
    MerchantCredit,
    Policy,
    PolicyBook,
    StaleCredit,
    adjust,
    apply,
    rebuild,
    rebuild_all,
    refade,
    regrade,
    score,
)
from services.runtime import serial
from tests.support.credit_ledger import BOOK, T0, entry, fact

D = timedelta(days=1)
YEAR = 365 * D
POLICY = BOOK.latest


def apply_all(entries: list[Adjustment], at: datetime, book: PolicyBook = BOOK) -> MerchantCredit:
    credit: MerchantCredit | None = None
    for e in entries:
        credit, _ = apply(credit, e, at, book)
    assert credit is not None
    return credit


# -- adjustments ---------------------------------------------------------------------------------


def test_an_adjustment_names_its_cause_policy_and_fade_date() -> None:
    f = fact("inspection.finding.major", detail="task tsk_1: major (CCH-01)")
    made = adjust(f, BOOK)
    assert made is not None
    assert (made.merchant_id, made.market_id, made.district) == ("mer_1", "mkt_1", "zhifu")
    assert (made.kind, made.delta, made.policy_version) == (
        "inspection.finding.major",
        -15,
        "2026-01",
    )
    assert (made.event_id, made.event_type, made.topic, made.partition, made.offset) == (
        f.event_id,
        "inspection.task.completed",
        "inspection.events.v1",
        1,
        f.offset,
    )
    assert made.correlation_id == "risk_1"
    assert (made.occurred_at, made.fades_at) == (T0, T0 + YEAR)
    assert made.reason == (
        "inspection found major problems (task tsk_1: major (CCH-01)): -15 under policy 2026-01"
    )
    assert made.key == (f.event_id, "inspection.finding.major")
    assert serial.load(Adjustment, serial.dump(made)) == made


def test_registration_is_recorded_at_zero_and_an_unscored_kind_not_at_all() -> None:
    assert entry("merchant.registered").delta == 0
    lean = PolicyBook.of(Policy("lean", T0 - YEAR, adjustments={"inspection.pass": 1}))
    assert adjust(fact("complaint.substantiated"), lean) is None


@pytest.mark.parametrize(
    ("kind", "delta"),
    [
        ("inspection.pass", 2),
        ("inspection.finding.minor", -5),
        ("inspection.finding.major", -15),
        ("inspection.finding.critical", -30),
        ("rectification.on_time", 3),
        ("rectification.overdue", -10),
        ("complaint.substantiated", -5),
        ("food_safety_risk.confirmed", -10),
        ("licence.expired", -20),
        ("merchant.suspended", -10),
        ("merchant.registered", 0),
    ],
)
def test_each_rule_moves_the_score_by_its_delta(kind: str, delta: int) -> None:
    # Below the top first, so a reward is not lost to the upper bound.
    ledger = [entry("merchant.registered"), entry("inspection.finding.critical"), entry(kind)]
    assert score(ledger, T0 + D, POLICY) == 100 - 30 + delta


# -- versions ------------------------------------------------------------------------------------

JULY = datetime(2026, 7, 1, tzinfo=UTC)
STRICTER = Policy(
    "2026-07",
    JULY,
    adjustments={**POLICY.adjustments, "inspection.finding.major": -20},
    bands={"A": 95, "B": 80, "C": 65},
)
TWO = PolicyBook.of(POLICY, STRICTER)


def test_an_event_is_adjusted_by_the_policy_in_force_when_it_happened() -> None:
    before = entry("inspection.finding.major", JULY - timedelta(seconds=1), book=TWO)
    after = entry("inspection.finding.major", JULY, book=TWO)
    assert (before.delta, before.policy_version) == (-15, "2026-01")
    assert (after.delta, after.policy_version) == (-20, "2026-07")
    # Scored after the switch, the old entry keeps its old delta: the ledger is not rewritten.
    assert score([before, after], JULY + D, STRICTER) == 100 - 15 - 20


def test_a_new_version_regrades_from_its_effective_date() -> None:
    minor = "inspection.finding.minor"
    ledger = [
        entry("merchant.registered", book=TWO),
        entry(minor, book=TWO),
        entry(minor, book=TWO),
    ]
    credit = apply_all(ledger, T0, TWO)
    assert (credit.score, credit.grade, credit.policy_version) == (90, "A", "2026-01")
    assert not credit.due(JULY - timedelta(seconds=1), TWO)
    assert credit.due(JULY, TWO)
    after, change = refade(credit, ledger, JULY, TWO)
    assert (after.score, after.grade, after.policy_version) == (90, "B", "2026-07")
    assert change is not None
    assert (change.reason, change.previous_grade, change.grade, change.faded) == (
        "fade",
        "A",
        "B",
        0,
    )


# -- fade-out ------------------------------------------------------------------------------------


def test_an_adjustment_fades_out_at_exactly_twelve_months() -> None:
    major = entry("inspection.finding.major")
    assert major.fades_at == T0 + 365 * D
    assert score([major], T0 + YEAR - timedelta(microseconds=1), POLICY) == 85
    assert score([major], T0 + YEAR, POLICY) == 100


def test_refade_publishes_the_fade_when_due() -> None:
    ledger = [entry("merchant.registered"), entry("inspection.finding.major", T0 + D)]
    credit = apply_all(ledger, T0 + D)
    assert (credit.score, credit.grade, credit.next_fade_at) == (85, "B", T0 + D + YEAR)
    assert not credit.due(T0 + D + YEAR - timedelta(microseconds=1), BOOK)
    assert credit.due(T0 + D + YEAR, BOOK)
    after, change = refade(credit, ledger, T0 + D + YEAR, BOOK)
    assert (after.score, after.grade, after.next_fade_at, after.balance) == (100, "A", None, 0)
    assert change is not None
    assert (change.previous_score, change.score, change.reason, change.faded) == (
        85,
        100,
        "fade",
        1,
    )
    # Nothing more to fade: a second call changes nothing.
    again, none = refade(after, ledger, T0 + 2 * YEAR, BOOK)
    assert none is None and again.score == 100


def test_applying_to_a_credit_with_faded_entries_asks_for_a_refade() -> None:
    credit = apply_all([entry("inspection.finding.minor")], T0)
    with pytest.raises(StaleCredit, match="refade it with its ledger first"):
        apply(credit, entry("inspection.pass", T0 + YEAR), T0 + YEAR, BOOK)


def test_an_event_older_than_the_window_is_recorded_but_counts_for_nothing() -> None:
    old = entry("licence.expired", T0 - 2 * YEAR)
    credit, change = apply(None, old, T0, BOOK)
    assert (credit.score, credit.balance, credit.next_fade_at) == (100, 0, None)
    assert change is not None and change.previous_score is None  # first sight is published


# -- bounds --------------------------------------------------------------------------------------


def test_the_score_is_clamped_to_the_bounds() -> None:
    assert score([entry("inspection.finding.critical") for _ in range(5)], T0, POLICY) == 0
    assert score([entry("inspection.pass") for _ in range(5)], T0, POLICY) == 100


def test_only_the_final_sum_is_clamped() -> None:
    # +2 at 100 is not lost: the later −5 leaves 97, in whichever order they came.
    ledger = [entry("inspection.pass"), entry("complaint.substantiated")]
    assert apply_all(ledger, T0).score == apply_all(ledger[::-1], T0).score == 97


# -- apply -----------------------------------------------------------------------------------------


def test_apply_publishes_a_change_only_when_the_score_moves() -> None:
    registered = entry("merchant.registered")
    credit, first = apply(None, registered, T0, BOOK)
    assert (credit.score, credit.grade, credit.policy_version) == (100, "A", "2026-01")
    assert first is not None and (first.previous_score, first.previous_grade) == (None, None)
    assert first.adjustment == registered and first.reason == "adjustment"

    same, none = apply(credit, entry("inspection.pass", T0 + D), T0 + D, BOOK)
    assert none is None and same.score == 100 and same.balance == 2

    major = entry("inspection.finding.major", T0 + 2 * D)
    after, change = apply(same, major, T0 + 2 * D, BOOK)
    assert change is not None
    assert (change.previous_score, change.previous_grade, change.score, change.grade) == (
        100,
        "A",
        87,
        "B",
    )
    assert change.adjustment == major and change.at == T0 + 2 * D
    assert after.next_fade_at == T0 + D + YEAR  # the earliest non-zero entry


def test_apply_never_runs_time_back_and_an_entry_of_the_subject_stays_the_merchants() -> None:
    credit = apply_all([entry("merchant.registered", T0 + D)], T0 + D)
    later, _ = apply(credit, entry("inspection.pass", T0), T0, BOOK)
    assert later.as_of == T0 + D
    # Another registration of the same credit subject: it counts, and the credit stays mer_1's.
    other = entry("inspection.finding.minor", T0 + D, merchant_id="mer_2")
    moved, change = apply(credit, other, T0 + D, BOOK)
    assert (moved.merchant_id, moved.score) == ("mer_1", 95)
    assert change is not None and change.merchant_id == "mer_1" and change.adjustment == other


def test_regrade_counts_the_whole_subject_and_says_what_moved_it() -> None:
    mine = entry("merchant.registered", T0 + 2 * D, merchant_id="mer_2", event_id="ev_reg")
    left_behind = entry("inspection.finding.major", T0, event_id="ev_major")  # mer_1's: -15
    first, change = regrade(None, "mer_2", [left_behind, mine], mine, T0 + 2 * D, BOOK)
    assert (first.merchant_id, first.score, first.grade) == ("mer_2", 85, "B")
    assert change is not None and (change.previous_score, change.adjustment) == (None, mine)
    assert first.next_fade_at == T0 + YEAR
    same, none = regrade(first, "mer_2", [left_behind, mine], mine, T0 + 3 * D, BOOK)
    assert none is None and same.score == 85


def test_credit_reads_back_from_json() -> None:
    credit = apply_all([entry("merchant.registered"), entry("inspection.finding.minor")], T0)
    assert serial.load(MerchantCredit, serial.dump(credit)) == credit


# -- rebuild -------------------------------------------------------------------------------------


def test_rebuild_counts_a_redelivered_event_once() -> None:
    major = entry("inspection.finding.major")
    assert rebuild([major, major, major], T0, BOOK) == rebuild([major], T0, BOOK)
    assert rebuild([], T0, BOOK) is None


def test_rebuild_refuses_two_different_entries_for_one_cause() -> None:
    major = entry("inspection.finding.major")
    tampered = serial.load(Adjustment, {**serial.dump(major), "delta": -1})
    with pytest.raises(ValueError, match="two different adjustments"):
        rebuild([major, tampered], T0, BOOK)


def test_rebuild_all_splits_by_merchant_and_joins_the_registrations_of_one_subject() -> None:
    one, two = entry("inspection.finding.minor"), entry("licence.expired", merchant_id="mer_2")
    third = entry("merchant.registered", merchant_id="mer_3")
    credits = rebuild_all([one, two, third], T0, BOOK)
    assert {m: c.score for m, c in credits.items()} == {"mer_1": 95, "mer_2": 80, "mer_3": 100}
    # mer_1 and mer_3 are one business (统一社会信用代码): each counts the other's entries.
    joined = rebuild_all([one, two, third], T0, BOOK, {"mer_1": "C1", "mer_3": "C1", "mer_2": "C2"})
    assert {m: c.score for m, c in joined.items()} == {"mer_1": 95, "mer_2": 80, "mer_3": 95}


# -- properties ----------------------------------------------------------------------------------

KINDS = st.sampled_from(tuple(POLICY.adjustments))  # the kinds both versions score
OFFSETS = st.integers(min_value=0, max_value=900)  # days after T0: the window is 365


@st.composite
def ledgers(draw: st.DrawFn, max_size: int = 25) -> list[Adjustment]:
    """A merchant's ledger under two policy versions, over more than two fade windows."""
    steps = draw(st.lists(st.tuples(KINDS, OFFSETS), max_size=max_size))
    return [entry(kind, T0 + day * D, book=TWO) for kind, day in steps]


@settings(max_examples=150, deadline=None)
@given(ledger=ledgers(), seed=st.randoms(use_true_random=False), day=OFFSETS)
def test_any_order_gives_the_same_credit_as_rebuild(
    ledger: list[Adjustment], seed: random.Random, day: int
) -> None:
    at = T0 + day * D
    if not ledger:
        assert rebuild(ledger, at, TWO) is None
        return
    shuffled = ledger[:]
    seed.shuffle(shuffled)
    assert apply_all(ledger, at, TWO) == apply_all(shuffled, at, TWO) == rebuild(ledger, at, TWO)


@settings(max_examples=150, deadline=None)
@given(ledger=ledgers(), lag=st.integers(0, 48), end=st.integers(0, 800))
def test_live_with_refades_equals_rebuild(ledger: list[Adjustment], lag: int, end: int) -> None:
    """The live service: each event applied as it arrives (a little late), refading when due;
    at the end a rebuild from the ledger gives the same credit."""
    credit: MerchantCredit | None = None
    seen: list[Adjustment] = []
    now = T0
    for e in sorted(ledger, key=lambda a: a.occurred_at):
        now = max(now, e.occurred_at + lag * timedelta(hours=1))
        if credit is not None and credit.due(now, TWO):
            credit, _ = refade(credit, seen, now, TWO)
        seen.append(e)
        credit, _ = apply(credit, e, now, TWO)
        assert credit.score == score(seen, now, TWO.in_force(now))
    if credit is None:
        return
    final = max(now, T0 + end * D)
    credit, _ = refade(credit, seen, final, TWO)
    assert credit == rebuild(ledger, final, TWO)


@settings(max_examples=150, deadline=None)
@given(deltas=st.lists(st.integers(-200, 200), max_size=30), day=OFFSETS)
def test_the_score_is_always_within_bounds(deltas: list[int], day: int) -> None:
    template = serial.dump(entry("inspection.pass"))
    ledger = [
        serial.load(Adjustment, {**template, "event_id": f"ev_{i}", "delta": delta})
        for i, delta in enumerate(deltas)
    ]
    value = score(ledger, T0 + day * D, POLICY)
    assert POLICY.lower <= value <= POLICY.upper
    if ledger:
        credit = rebuild(ledger, T0 + day * D, BOOK)
        assert credit is not None and credit.score == value
        assert credit.grade == POLICY.grade(value)


@settings(max_examples=100, deadline=None)
@given(ledger=ledgers(), repeats=st.lists(st.integers(0, 24), max_size=10))
def test_redelivery_changes_nothing(ledger: list[Adjustment], repeats: list[int]) -> None:
    again = [ledger[i % len(ledger)] for i in repeats] if ledger else []
    at = T0 + 400 * D
    assert rebuild(ledger + again, at, TWO) == rebuild(ledger, at, TWO)
