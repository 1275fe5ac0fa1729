"""Joint enforcement cases: the pure rules, failure paths first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.joint import EnforcementClosed, EnforcementDecided, EnforcementOpened
from contracts.people import Actor
from services.campaign.domain.enforcement import (
    Case,
    Origin,
    close,
    decide,
    open_case,
    yuan_to_fen,
)
from services.campaign.domain.joint import AlreadyOpen, Invalid, Problems, WrongState
from services.campaign.joint.config import DEPARTMENTS_FILE
from services.campaign.joint.events import case_body
from services.campaign.joint.policy_files import load_departments

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 09:00 in the city
INSPECTOR = Actor.of("sub-insp", "王检查")
CATALOGUE = load_departments(DEPARTMENTS_FILE)


def finding(outcome: str = "critical", **changes: Any) -> Origin:
    base = Origin(
        kind="finding",
        origin_id="task_1",
        district="zhifu",
        market_id="mkt_1",
        merchant_id="mer_1",
        status=outcome,
        event_id="evt-1",
        correlation_id="risk-1",
        occurred_at=NOW - timedelta(hours=2),
    )
    return replace(base, **changes)


def complaint(status: str = "accepted") -> Origin:
    return finding(kind="complaint", origin_id="cmp_1", status=status)


def opened(origin: Origin | None = None, **changes: Any) -> Case:
    o = origin or finding()
    args: dict[str, Any] = {
        "kind": o.kind,
        "origin_id": o.origin_id,
        "origin": o,
        "departments": ["market_regulation", "health"],
        "facts": "冷链温度严重超标, 销售变质肉品",
        "active": None,
        "catalogue": CATALOGUE,
        "now": NOW,
        "actor": INSPECTOR,
    }
    args.update(changes)
    return open_case(**args)


def fields(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return dict(exc.value.problems)


def decided(case: Case | None = None, **changes: Any) -> Case:
    args: dict[str, Any] = {
        "sanction": "fine",
        "fine_yuan": "2000.50",
        "reasoning": "《食品安全法》第一百二十四条",
        "decided_on": None,
        "now": NOW + timedelta(days=1),
        "tz": TZ,
        "actor": INSPECTOR,
    }
    args.update(changes)
    return decide(case or opened(), **args)


# -- opening ---------------------------------------------------------------------------------


def test_a_case_opens_from_a_critical_finding_with_its_place() -> None:
    case = opened()
    assert case.state == "open" and case.version == 1
    assert (case.district, case.market_id, case.merchant_id) == ("zhifu", "mkt_1", "mer_1")
    assert (case.origin_kind, case.origin_id) == ("finding", "task_1")
    assert case.departments == ("market_regulation", "health")
    assert case.opened_actor == INSPECTOR and case.last_actor == INSPECTOR
    assert case.decision is None and case.opened_at == NOW
    EnforcementOpened.model_validate(case_body(case))  # the whole case, as the contract says


def test_a_case_opens_from_an_accepted_complaint() -> None:
    case = opened(complaint())
    assert (case.origin_kind, case.origin_id) == ("complaint", "cmp_1")


@pytest.mark.parametrize("outcome", ["pass", "minor", "major"])
def test_a_finding_that_is_not_critical_is_refused_naming_origin_id(outcome: str) -> None:
    with pytest.raises(Invalid) as exc:
        opened(finding(outcome))
    assert exc.value.field == "origin.id"
    assert f"outcome {outcome!r}" in exc.value.reason and "critical" in exc.value.reason


def test_a_complaint_not_accepted_is_refused_naming_origin_id() -> None:
    with pytest.raises(Invalid) as exc:
        opened(complaint("rejected"))
    assert exc.value.field == "origin.id" and "accepted complaint" in exc.value.reason


def test_an_unknown_origin_is_refused_naming_origin_id() -> None:
    with pytest.raises(Invalid) as exc:
        opened(origin=None, kind="finding", origin_id="task_x")
    assert fields(exc) == {"origin.id": "no completed inspection task 'task_x' is known"}
    with pytest.raises(Invalid) as other:
        opened(origin=None, kind="complaint", origin_id="cmp_x")
    assert fields(other) == {"origin.id": "no accepted complaint 'cmp_x' is known"}
    # An origin of another kind with the same id is not it.
    with pytest.raises(Invalid) as mismatched:
        opened(kind="complaint", origin_id="task_1")
    assert mismatched.value.field == "origin.id"


def test_a_bad_kind_blank_id_departments_and_facts_are_named_at_once() -> None:
    with pytest.raises(Invalid) as exc:
        opened(kind="rumour", departments=["tax"], facts=" ")
    found = fields(exc)
    assert "origin.kind" in found and "unknown department 'tax'" in found["departments.0"]
    assert found["facts"] == "must not be blank"
    with pytest.raises(Invalid) as blank:
        opened(origin_id=" ", departments=[])
    assert fields(blank) == {
        "origin.id": "must not be blank",
        "departments": "name at least one department",
    }


def test_one_case_per_origin_until_it_is_closed() -> None:
    first = opened()
    with pytest.raises(AlreadyOpen) as exc:
        opened(active=first)
    assert exc.value.case_id == first.case_id
    with pytest.raises(AlreadyOpen):
        opened(active=decided(first))
    # Once closed, the origin is free again.
    done = close(decided(first), note="罚款已缴纳", now=NOW + timedelta(days=2))
    assert opened(active=done).case_id != first.case_id


def test_input_errors_come_before_the_conflict() -> None:
    with pytest.raises(Invalid):
        opened(active=opened(), facts="")


# -- deciding --------------------------------------------------------------------------------


def test_a_fine_in_yuan_is_decided_in_fen() -> None:
    case = decided()
    assert case.state == "decided" and case.version == 2
    assert case.decision is not None
    assert case.decision.fine_fen == 200050 and case.decision.suspension_days is None
    assert case.decision.decided_on == date(2026, 5, 11)  # today in the city, by default
    assert case.decided_actor == INSPECTOR and case.decided_at == NOW + timedelta(days=1)
    EnforcementDecided.model_validate(case_body(case))


@pytest.mark.parametrize(
    ("value", "fen"),
    [("2000", 200000), (2000, 200000), (0.5, 50), ("1e3", 100000), (Decimal("0.01"), 1)],
)
def test_amounts_in_yuan(value: object, fen: int) -> None:
    problems = Problems()
    assert yuan_to_fen(value, "fine_yuan", problems) == fen and not problems.found


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "more than 0"),
        (-5, "more than 0"),
        ("0.001", "at most two decimals"),
        ("abc", "at most two decimals"),
        (True, "at most two decimals"),
        ([1], "at most two decimals"),
        ("NaN", "at most two decimals"),
        ("Infinity", "at most two decimals"),
        ("1e30", "at most"),
        (0.1 + 0.2, "at most two decimals"),
    ],
)
def test_bad_amounts_are_refused(value: object, says: str) -> None:
    problems = Problems()
    assert yuan_to_fen(value, "fine_yuan", problems) is None
    [(field, reason)] = problems.found
    assert field == "fine_yuan" and says in reason


def test_a_warning_and_a_suspension() -> None:
    warning = decided(sanction="warning", fine_yuan=None)
    assert warning.decision is not None and warning.decision.fine_fen is None
    suspension = decided(sanction="suspension", fine_yuan=None, suspension_days=15)
    assert suspension.decision is not None and suspension.decision.suspension_days == 15
    EnforcementDecided.model_validate(case_body(suspension))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sanction": "fine", "fine_yuan": None}, {"fine_yuan": "a fine needs its amount"}),
        ({"sanction": "warning"}, {"fine_yuan": "only a fine has an amount"}),
        (
            {"sanction": "suspension", "fine_yuan": None},
            {"suspension_days": "a suspension needs its number of days"},
        ),
        (
            {"sanction": "suspension", "fine_yuan": None, "suspension_days": 0},
            {"suspension_days": "must be a whole number of days, 1 to 365"},
        ),
        (
            {"sanction": "suspension", "fine_yuan": None, "suspension_days": True},
            {"suspension_days": "must be a whole number of days, 1 to 365"},
        ),
        ({"suspension_days": 3}, {"suspension_days": "only a suspension has days"}),
        ({"sanction": "jail", "fine_yuan": None}, {"sanction": "must be one of"}),
        ({"reasoning": ""}, {"reasoning": "must not be blank"}),
        ({"decided_on": date(2026, 5, 12)}, {"decided_on": "must not be after today"}),
        ({"decided_on": date(2026, 5, 9)}, {"decided_on": "before the case was opened"}),
    ],
)
def test_a_bad_decision_is_refused_naming_the_field(
    changes: dict[str, Any], expected: dict[str, str]
) -> None:
    with pytest.raises(Invalid) as exc:
        decided(**changes)
    found = fields(exc)
    assert set(found) == set(expected)
    for field, says in expected.items():
        assert says in found[field]


def test_the_day_of_opening_and_today_may_be_the_decision_day() -> None:
    assert decided(decided_on=date(2026, 5, 10)).decision.decided_on == date(2026, 5, 10)  # type: ignore[union-attr]
    assert decided(decided_on=date(2026, 5, 11)).decision.decided_on == date(2026, 5, 11)  # type: ignore[union-attr]


def test_only_an_open_case_is_decided() -> None:
    case = decided()
    with pytest.raises(WrongState) as exc:
        decided(case)
    assert exc.value.state == "decided"
    closed = close(case, note="done", now=NOW + timedelta(days=2))
    with pytest.raises(WrongState):
        decided(closed)


# -- closing ---------------------------------------------------------------------------------


def test_a_decided_case_closes_with_a_note() -> None:
    case = close(decided(), note=" 罚款已缴纳 ", now=NOW + timedelta(days=3), actor=INSPECTOR)
    assert case.state == "closed" and case.version == 3 and case.closing_note == "罚款已缴纳"
    assert case.closed_actor == INSPECTOR and case.closed_at == NOW + timedelta(days=3)
    assert case.decision is not None  # the decision stays
    EnforcementClosed.model_validate(case_body(case))


def test_an_open_or_closed_case_does_not_close_and_a_note_is_needed() -> None:
    with pytest.raises(WrongState) as exc:
        close(opened(), note="x", now=NOW)
    assert exc.value.state == "open" and "before it is decided" in str(exc.value)
    case = close(decided(), note="x", now=NOW)
    with pytest.raises(WrongState):
        close(case, note="again", now=NOW)
    with pytest.raises(Invalid) as blank:
        close(decided(), note="", now=NOW)
    assert fields(blank) == {"note": "must not be blank"}
