"""The monthly honour and warning list (红黑榜): months in city time, the rules of the policy
file and their boundaries, a warning over an honour, delisting, the schedule's month."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.credit.domain import (
    Entry,
    HonourRules,
    MarketRecord,
    MerchantRecord,
    Month,
    delisted,
    draw,
    due_month,
)
from services.credit.domain.honours import market_entry, merchant_entry
from services.credit.policy_files import POLICY_DIR, default_book, read_book
from services.runtime import serial
from tests.unit.credit.policy_data import edited

CITY = ZoneInfo("Asia/Shanghai")
NOVEMBER = Month(2026, 11)
START = NOVEMBER.start(CITY)  # 2026-10-31T16:00Z
END = NOVEMBER.end(CITY)  # 2026-11-30T16:00Z
SIX = Month(2026, 6).start(CITY)  # the first moment of the six months ending with November
RULES = HonourRules()
CRITICAL = "inspection.finding.critical"
US = timedelta(microseconds=1)


# -- months ----------------------------------------------------------------------------------


def test_a_month_is_the_citys() -> None:
    assert str(NOVEMBER) == "2026-11" and Month.parse(" 2026-11 ") == NOVEMBER
    assert NOVEMBER.start(CITY) == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert NOVEMBER.end(CITY) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert Month(2026, 12).end(CITY) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert NOVEMBER.shift(-5) == Month(2026, 6) and NOVEMBER.shift(2) == Month(2027, 1)
    # 1 December 00:30 in the city is still 30 November in UTC.
    assert Month.of(datetime(2026, 11, 30, 16, 30, tzinfo=UTC), CITY) == Month(2026, 12)
    assert Month.of(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), CITY) == NOVEMBER
    assert Month(2026, 2) < Month(2026, 11) < Month(2027, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026-1", "1999-12", "", "x"])
def test_a_month_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"month|year"):
        Month.parse(text)


def test_the_schedule_draws_the_month_before_once() -> None:
    first_of_december = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 city time
    assert due_month(first_of_december, CITY, None) == NOVEMBER
    assert due_month(first_of_december - US, CITY, None) == Month(2026, 10)
    assert due_month(first_of_december, CITY, NOVEMBER) is None
    assert due_month(first_of_december, CITY, Month(2026, 9)) == NOVEMBER
    # Down over the 1st: the first check after the restart draws it.
    assert due_month(first_of_december + timedelta(days=4), CITY, Month(2026, 10)) == NOVEMBER


# -- merchants -------------------------------------------------------------------------------


def merchant(grade: str | None = "A", *facts: tuple[str, datetime]) -> MerchantRecord:
    return MerchantRecord("mer_1", "放心肉铺", "mkt_1", "zhifu", grade, tuple(facts))


def listed(record: MerchantRecord, rules: HonourRules = RULES) -> Entry | None:
    return merchant_entry(record, NOVEMBER, rules, CITY)


PASS_IN_NOVEMBER = ("inspection.pass", START + timedelta(days=3))


def test_grade_a_inspected_and_clean_for_six_months_is_honoured() -> None:
    entry = listed(merchant("A", PASS_IN_NOVEMBER))
    assert entry is not None
    assert (entry.kind, entry.entity, entry.entity_id, entry.name) == (
        "honour",
        "merchant",
        "mer_1",
        "放心肉铺",
    )
    assert entry.reasons == (
        "grade: A",
        "no_findings: none in 2026-06..2026-11",
        "inspections: 1 in 2026-06..2026-11",
    )


def test_a_merchant_nobody_inspected_is_not_honoured_unless_the_policy_says_so() -> None:
    assert listed(merchant("A")) is None
    lenient = replace(RULES, min_inspections=0)
    entry = listed(merchant("A"), lenient)
    assert entry is not None and entry.reasons == (
        "grade: A",
        "no_findings: none in 2026-06..2026-11",
    )
    assert listed(merchant("B", PASS_IN_NOVEMBER)) is None  # only A is honoured


@pytest.mark.parametrize(
    ("at", "clean"),
    [
        (SIX - US, True),  # before the six months
        (SIX, False),  # their first moment
        (END - US, False),  # the month's last moment
        (END, True),  # after the month: not this list's business
    ],
)
def test_a_finding_within_six_months_takes_the_honour(at: datetime, clean: bool) -> None:
    entry = listed(merchant("A", PASS_IN_NOVEMBER, ("inspection.finding.minor", at)))
    assert (entry is not None) == clean


@pytest.mark.parametrize(
    ("facts", "warned"),
    [
        (((CRITICAL, SIX), (CRITICAL, END - US)), True),
        (((CRITICAL, SIX - US), (CRITICAL, START)), False),  # one before the six months
        (((CRITICAL, START),), False),
    ],
)
def test_two_critical_findings_within_six_months_warn(
    facts: tuple[tuple[str, datetime], ...], warned: bool
) -> None:
    entry = listed(merchant("C", *facts))
    if warned:
        assert entry is not None and entry.kind == "warning"
        assert entry.reasons == ("critical_findings: 2 in 2026-06..2026-11",)
    else:
        assert entry is None


@pytest.mark.parametrize(
    ("at", "warned"), [(START - US, False), (START, True), (END - US, True), (END, False)]
)
def test_an_overdue_rectification_in_the_month_warns(at: datetime, warned: bool) -> None:
    entry = listed(merchant("B", ("rectification.overdue", at)))
    assert (entry is not None and entry.kind == "warning") == warned
    if warned:
        assert entry is not None and entry.reasons == ("overdue_rectifications: 1 in 2026-11",)


def test_grade_d_warns_and_every_rule_met_is_named() -> None:
    entry = listed(
        merchant(
            "D",
            ("rectification.overdue", START),
            ("inspection.finding.critical", START),
            ("inspection.finding.critical", START + timedelta(days=1)),
        )
    )
    assert entry is not None and entry.kind == "warning"
    assert entry.reasons == (
        "grade: D",
        "overdue_rectifications: 1 in 2026-11",
        "critical_findings: 2 in 2026-06..2026-11",
    )
    assert listed(merchant(None)) is None  # never graded: on no list


def test_a_warning_wins_over_the_honour_and_rules_switch_off() -> None:
    # Grade A (say the findings faded at once under a lenient policy) yet an overdue order.
    record = merchant("A", PASS_IN_NOVEMBER, ("rectification.overdue", START))
    entry = listed(record)
    assert entry is not None and entry.kind == "warning"
    off = replace(RULES, overdue_rectifications=None)
    entry = listed(record, off)
    assert entry is not None and entry.kind == "honour"
    criticals = merchant(
        "C", ("inspection.finding.critical", START), ("inspection.finding.critical", START)
    )
    assert listed(criticals, replace(RULES, critical_findings=None)) is None
    assert listed(criticals, replace(RULES, critical_findings=3)) is None
    assert listed(criticals, replace(RULES, critical_months=1)) is not None


# -- markets ---------------------------------------------------------------------------------


def market(
    score: float = 92.0, rank: int | None = 1, *, graded: int = 10, overdue: int = 0
) -> MarketRecord:
    return MarketRecord("mkt_1", "只楚农贸市场", "zhifu", graded, score, rank, 5, overdue)


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (market(90.0, 3), "honour"),
        (market(89.99, 1), None),
        (market(100.0, 4), None),
        (market(60.0, 5), None),
        (market(59.99, 5), "warning"),
        (market(75.0, 4, overdue=3), "warning"),
        (market(75.0, 4, overdue=2), None),
        (market(95.0, 1, overdue=3), "warning"),  # a warning wins
        (market(100.0, 1, graded=0), None),  # credit knows none of its merchants
        (market(10.0, 5, graded=0), None),
    ],
)
def test_market_rules_and_their_edges(record: MarketRecord, kind: str | None) -> None:
    entry = market_entry(record, NOVEMBER, RULES)
    assert (entry.kind if entry else None) == kind


def test_a_market_entry_names_score_and_rank() -> None:
    entry = market_entry(market(92.5, 2), NOVEMBER, RULES)
    assert entry is not None
    assert (entry.entity, entry.entity_id, entry.market_id) == ("market", "mkt_1", "mkt_1")
    assert entry.reasons == ("score: 92.5 at least 90", "rank: 2 of 5 in the district")
    warned = market_entry(market(41.0, 5, overdue=4), NOVEMBER, RULES)
    assert warned is not None
    assert warned.reasons == ("score: 41 below 60", "overdue_rectifications: 4 in 2026-11")


# -- the month's lists -----------------------------------------------------------------------


def test_the_lists_are_ordered_and_delisting_compares_with_the_last_list() -> None:
    good = merchant("A", PASS_IN_NOVEMBER)
    bad = replace(merchant("D"), merchant_id="mer_2", name="问题摊")
    entries = draw(NOVEMBER, RULES, [bad, good], [market(95.0, 1)], CITY)
    assert [(e.kind, e.entity, e.entity_id) for e in entries] == [
        ("honour", "market", "mkt_1"),
        ("honour", "merchant", "mer_1"),
        ("warning", "merchant", "mer_2"),
    ]
    assert serial.load_many(Entry, serial.dump_many(entries)) == entries
    with pytest.raises(ValueError, match="listed twice"):
        draw(NOVEMBER, RULES, [good, good], [], CITY)

    # December: mer_1 moved to the warning list, mer_2 left it, the market stayed.
    december = [
        entries[0],
        replace(entries[1], kind="warning", reasons=("grade: D",)),
    ]
    gone = delisted(entries, december)
    assert [(e.kind, e.entity_id) for e in gone] == [("honour", "mer_1"), ("warning", "mer_2")]
    assert delisted(entries, entries) == []
    assert delisted([], entries) == []


# -- the policy file -------------------------------------------------------------------------


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((POLICY_DIR / "2026-12.yaml").read_text("utf-8"))
    return data


def test_the_shipped_rules_are_issue_17s() -> None:
    policy = default_book().get("2026-12")
    assert policy.honours == HonourRules()
    assert policy.honours is not None and policy.honours.lookback == 6
    # The list for November is drawn under the version in force at its end: 2026-12.
    assert default_book().in_force(END).version == "2026-12"
    assert default_book().in_force(END - US).honours is None


def _with(path: str, value: Any) -> dict[str, Any]:
    return edited(shipped(), path, value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with("honours/merchants/honour/grades", ["E"]), "honours.merchants.honour.grades"),
        (_with("honours/merchants/honour/grades", "A"), "must be a list of grades"),
        (_with("honours/merchants/warning/grades", ["A", "D"]), "cannot be both honoured"),
        (_with("honours/merchants/warning/critical_findings", 0), "must be at least 1"),
        (_with("honours/merchants/warning/critical_months", None), "must be an integer"),
        (_with("honours/merchants/honour/min_inspections", -1), "must not be negative"),
        (_with("honours/markets/honour/min_score", 120), "min_score must be within 0..100"),
        (_with("honours/markets/warning/below_score", 95), "below_score must be within"),
        (_with("honours/markets/warning/mood", 1), "honours.markets.warning.mood: unknown key"),
        (_with("honours/markets", {"honour": {}}), "honours.markets: missing"),
        (_with("honours", []), "honours: must be a mapping"),
    ],
)
def test_bad_honour_rules_name_the_file_and_the_key(
    tmp_path: Path, data: Any, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml") as raised:
        read_book(path)
    assert message in str(raised.value)


def test_a_rule_switched_off_reads_back(tmp_path: Path) -> None:
    data = _with("honours/markets/warning/overdue_rectifications", None)
    path = tmp_path / "off.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    [policy] = read_book(path)
    assert policy.honours is not None and policy.honours.market_overdue_rectifications is None
    assert policy.to_dict()["honours"]["markets"]["warning"]["overdue_rectifications"] is None
