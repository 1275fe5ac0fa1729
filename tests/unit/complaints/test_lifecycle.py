"""Receive, accept, reject, close, the overdue marks and the nearing flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.complaints.domain import (
    IllegalTransition,
    InvalidComplaint,
    Policy,
    accept,
    close,
    mark_overdue,
    nearing,
    receive,
    reject,
    working_days_left,
)
from services.complaints.domain.lifecycle import closing_problems
from services.complaints.domain.model import Complaint
from services.runtime.data_files import default_calendar
from services.runtime.errors import Conflict, InvalidInput, status_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = default_calendar()
POLICY = Policy()
HANDLER = "handler-wang"
# Monday 9 March 2026, 10:00 in Yantai. Acceptance deadline: end of Wed 18 March (7th working day).
T0 = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
END_OF_18_MARCH = datetime(2026, 3, 18, 23, 59, 59, 999_999, tzinfo=SHANGHAI)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=SHANGHAI)


def new(**overrides: Any) -> Complaint:
    fields: dict[str, Any] = {
        "name": "张三",
        "phone": "13812345678",
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": "mer_1",
        "stall_no": "A-12",
        "category": "short_weight",
        "facts": "买了一斤虾，回家称只有八两。",
        "request": "退还差价",
        "channel": "web",
        "now": T0,
        "policy": POLICY,
        "calendar": CAL,
        "complaint_id": "cmp_1",
        "tracking_code": "ABCDEFGHJK",
    }
    fields.update(overrides)
    return receive(**fields)


def accepted(at: datetime = T0 + timedelta(hours=2)) -> Complaint:
    return accept(new(), by=HANDLER, now=at, policy=POLICY, calendar=CAL)


def closed(**overrides: Any) -> Complaint:
    fields: dict[str, Any] = {
        "by": HANDLER,
        "outcome": "refunded",
        "substantiated": True,
        "satisfaction": 5,
        "now": T0 + timedelta(days=3),
    }
    fields.update(overrides)
    return close(accepted(), **fields)


def rejected() -> Complaint:
    return reject(new(), by=HANDLER, reason="不属于本部门管辖", now=T0 + timedelta(hours=1))


# -- receive -------------------------------------------------------------------------------------


def test_a_received_complaint_starts_the_acceptance_clock() -> None:
    c = new()
    assert (c.state, c.version, c.running_clock) == ("received", 1, "acceptance")
    assert c.received_at == T0 and c.received_at.tzinfo is UTC
    assert c.acceptance_deadline == END_OF_18_MARCH
    assert c.current_deadline == END_OF_18_MARCH
    assert c.mediation_deadline is None
    assert c.complainant.phone == "13812345678" and c.complainant.name == "张三"
    assert (c.complaint_id, c.tracking_code) == ("cmp_1", "ABCDEFGHJK")
    assert c.is_open and not c.counts_for_credit and not c.is_duplicate


def test_receive_draws_ids_and_trims_text() -> None:
    c = new(
        complaint_id=None,
        tracking_code=None,
        name="  张三 ",
        facts="  缺斤短两 \n",
        merchant_id=" ",
        stall_no="",
        request="   ",
        phone="0535 1234567",
    )
    assert c.complaint_id.startswith("cmp_") and len(c.tracking_code) == 10
    assert (c.complainant.name, c.facts, c.request) == ("张三", "缺斤短两", "")
    assert (c.merchant_id, c.stall_no) == (None, None)
    assert c.complainant.phone == "0535-1234567"


def test_received_during_a_holiday_counts_from_after_it() -> None:
    c = new(now=local(2026, 10, 2, 9, 0))  # National Day
    # 8 Oct (1), 9 (2), Sat 10 (3, make-up), 12-15 (7) → Thu 15 Oct.
    assert c.acceptance_deadline == local(2026, 10, 15, 23, 59, 59, 999_999)


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(InvalidComplaint) as err:
        new(
            name=" ",
            phone="12345",
            market_id="",
            category="smell",
            channel="fax",
            facts="",
            request="x" * 1001,
            occurred_at=T0 + timedelta(hours=1),
            stall_no="S" * 33,
        )
    fields = [field for field, _ in err.value.problems]
    assert fields == [
        "complainant.name",
        "complainant.phone",
        "market_id",
        "stall_no",
        "category",
        "channel",
        "facts",
        "request",
        "occurred_at",
    ]
    assert isinstance(err.value, InvalidInput) and status_of(err.value) == 422
    assert err.value.field == "complainant.name"
    assert {e["field"] for e in err.value.errors} == set(fields)


def test_facts_up_to_2000_characters() -> None:
    assert len(new(facts="短" * 2000).facts) == 2000
    with pytest.raises(InvalidComplaint, match="facts: at most 2000 characters, got 2001"):
        new(facts="短" * 2001)


def test_occurred_at_must_be_aware_and_not_in_the_future() -> None:
    assert new(occurred_at=T0 - timedelta(days=2)).occurred_at == T0 - timedelta(days=2)
    assert new(occurred_at=T0 + timedelta(minutes=4)).occurred_at is not None  # clock skew
    with pytest.raises(InvalidComplaint, match="occurred_at: must not be in the future"):
        new(occurred_at=T0 + timedelta(minutes=6))
    with pytest.raises(InvalidComplaint, match="occurred_at: must carry a timezone"):
        new(occurred_at=datetime(2026, 3, 8, 9, 0))


@pytest.mark.parametrize(
    "category", ["food_safety", "short_weight", "price", "hygiene", "service", "other"]
)
def test_every_category(category: str) -> None:
    assert new(category=category).category == category


@pytest.mark.parametrize("channel", ["web", "hotline_12345", "platform_12315", "walk_in", "other"])
def test_every_channel(channel: str) -> None:
    assert new(channel=channel).channel == channel


def test_callers_bugs_are_value_errors() -> None:
    with pytest.raises(ValueError, match="now must carry a timezone"):
        new(now=datetime(2026, 3, 9, 10, 0))
    with pytest.raises(ValueError, match="district"):
        new(district=" ")
    with pytest.raises(ValueError, match="complaint_id"):
        new(complaint_id=" ")
    with pytest.raises(ValueError, match="tracking_code must be canonical"):
        new(tracking_code="abcdefghjk")


# -- the state machine ---------------------------------------------------------------------------


def test_accept_starts_the_mediation_clock() -> None:
    c = accepted(at=local(2026, 3, 10, 9, 0))
    assert (c.state, c.version, c.handled_by) == ("accepted", 2, HANDLER)
    assert c.accepted_at == local(2026, 3, 10, 9, 0)
    # Tue 10 Mar + 45 working days: 11-13 Mar (3), three full weeks to 3 Apr (18), Mon 6 Apr
    # off (清明), 7-10 Apr (22), two full weeks to 24 Apr (32), 27-30 Apr (36), 1-5 May off,
    # 6-8 May (39), Sat 9 May (40, make-up), 11-15 May (45) → Fri 15 May.
    assert c.mediation_deadline == local(2026, 5, 15, 23, 59, 59, 999_999)
    assert c.running_clock == "mediation" and c.current_deadline == c.mediation_deadline
    assert c.decided_in_time is True


def test_reject_records_the_reason() -> None:
    c = rejected()
    assert (c.state, c.version, c.rejection_reason) == ("rejected", 2, "不属于本部门管辖")
    assert c.running_clock is None and not c.is_open and c.decided_in_time is True


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(reason: str) -> None:
    with pytest.raises(InvalidComplaint) as err:
        reject(new(), by=HANDLER, reason=reason, now=T0)
    assert err.value.field == "reason"


def test_close_records_outcome_substantiation_and_satisfaction() -> None:
    c = closed()
    assert (c.state, c.version, c.outcome) == ("closed", 3, "refunded")
    assert (c.substantiated, c.satisfaction) == (True, 5)
    assert c.closed_in_time is True and c.running_clock is None
    assert c.counts_for_credit


@pytest.mark.parametrize("outcome", ["mediated", "refunded", "referred_to_case"])
def test_outcomes_that_allow_either_substantiation(outcome: str) -> None:
    assert closed(outcome=outcome, substantiated=True).counts_for_credit
    assert not closed(outcome=outcome, substantiated=False).counts_for_credit


@pytest.mark.parametrize("outcome", ["unfounded", "withdrawn"])
def test_unfounded_and_withdrawn_cannot_be_substantiated(outcome: str) -> None:
    assert closed(outcome=outcome, substantiated=False).substantiated is False
    with pytest.raises(InvalidComplaint, match=f"closed as {outcome} cannot be substantiated"):
        closed(outcome=outcome, substantiated=True)


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"outcome": "settled"}, ["outcome"]),
        ({"satisfaction": 0}, ["satisfaction"]),
        ({"satisfaction": 6}, ["satisfaction"]),
        ({"satisfaction": True}, ["satisfaction"]),
        ({"satisfaction": 4.5}, ["satisfaction"]),
        ({"substantiated": "yes"}, ["substantiated"]),
        (
            {"outcome": "x", "satisfaction": 9, "substantiated": None},
            ["outcome", "substantiated", "satisfaction"],
        ),
    ],
)
def test_bad_closings_are_refused(overrides: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(InvalidComplaint) as err:
        closed(**overrides)
    assert [f for f, _ in err.value.problems] == fields


@pytest.mark.parametrize("satisfaction", [1, 2, 3, 4, 5])
def test_every_satisfaction(satisfaction: int) -> None:
    assert closed(satisfaction=satisfaction).satisfaction == satisfaction


def _accept(c: Complaint) -> Complaint:
    return accept(c, by=HANDLER, now=T0, policy=POLICY, calendar=CAL)


def _reject(c: Complaint) -> Complaint:
    return reject(c, by=HANDLER, reason="重复投诉", now=T0)


def _close(c: Complaint) -> Complaint:
    return close(c, by=HANDLER, outcome="mediated", substantiated=False, satisfaction=3, now=T0)


ACTIONS = {"accept": _accept, "reject": _reject, "close": _close}
LEGAL = {("received", "accept"), ("received", "reject"), ("accepted", "close")}
STATES = {"received": new, "accepted": accepted, "rejected": rejected, "closed": closed}


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_transition(state: str, action: str) -> None:
    before = STATES[state]()
    if (state, action) in LEGAL:
        after = ACTIONS[action](before)
        assert after.version == before.version + 1
        return
    with pytest.raises(IllegalTransition) as err:
        ACTIONS[action](before)
    assert isinstance(err.value, Conflict) and status_of(err.value) == 409
    assert (err.value.state, err.value.action, err.value.complaint_id) == (state, action, "cmp_1")
    assert err.value.errors == [
        {"field": "state", "reason": f"complaint cmp_1 is {state}; cannot {action}"}
    ]


def test_the_state_is_checked_before_the_input() -> None:
    with pytest.raises(IllegalTransition):
        reject(accepted(), by=HANDLER, reason="", now=T0)
    with pytest.raises(IllegalTransition):
        close(new(), by=HANDLER, outcome="nonsense", substantiated=True, satisfaction=0, now=T0)


def test_a_blank_handler_is_a_bug() -> None:
    with pytest.raises(ValueError, match="by must name the handler"):
        accept(new(), by=" ", now=T0, policy=POLICY, calendar=CAL)


# -- overdue -------------------------------------------------------------------------------------


def test_acceptance_overdue_is_marked_once() -> None:
    c = new()
    assert mark_overdue(c, END_OF_18_MARCH) is None  # the 7th working day is still in time
    late = END_OF_18_MARCH + timedelta(microseconds=1)
    marked = mark_overdue(c, late)
    assert marked is not None
    assert marked.acceptance_overdue_at == late and marked.version == 2
    assert (marked.state, marked.running_clock) == ("received", "acceptance")
    assert marked.public_status()["overdue"] is True
    assert mark_overdue(marked, late + timedelta(days=3)) is None


def test_a_late_decision_is_allowed_and_remembered() -> None:
    marked = mark_overdue(new(), local(2026, 3, 20, 9, 0))
    assert marked is not None
    c = accept(marked, by=HANDLER, now=local(2026, 3, 20, 10, 0), policy=POLICY, calendar=CAL)
    assert c.decided_in_time is False
    assert c.acceptance_overdue_at == local(2026, 3, 20, 9, 0)
    assert c.mediation_overdue_at is None and c.overdue_marked_at is None
    assert mark_overdue(c, local(2026, 3, 20, 11, 0)) is None  # mediation clock is fresh


def test_mediation_overdue_is_marked_once_and_then_closing_is_late() -> None:
    c = accepted()
    assert c.mediation_deadline is not None
    assert mark_overdue(c, c.mediation_deadline) is None
    after = c.mediation_deadline + timedelta(hours=1)
    marked = mark_overdue(c, after)
    assert marked is not None
    assert marked.mediation_overdue_at == after and marked.acceptance_overdue_at is None
    assert marked.running_clock == "mediation"
    assert mark_overdue(marked, after + timedelta(days=10)) is None
    done = close(
        marked,
        by=HANDLER,
        outcome="mediated",
        substantiated=True,
        satisfaction=2,
        now=after + timedelta(days=1),
    )
    assert done.closed_in_time is False


def test_finished_complaints_are_never_overdue() -> None:
    far = datetime(2027, 12, 31, tzinfo=UTC)
    assert mark_overdue(rejected(), far) is None
    assert mark_overdue(closed(), far) is None


# -- nearing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "left", "is_nearing"),
    [
        (local(2026, 3, 9, 10, 0), 7, False),
        (local(2026, 3, 13, 17, 0), 3, False),  # Fri: 16, 17, 18 remain
        (local(2026, 3, 14, 12, 0), 3, False),  # Sat: the same three
        (local(2026, 3, 16, 8, 0), 2, True),  # Mon: 17, 18
        (local(2026, 3, 17, 8, 0), 1, True),
        (local(2026, 3, 18, 23, 59), 0, True),  # the deadline's own day
        (local(2026, 3, 19, 0, 0), -1, False),  # past it: overdue, not nearing
    ],
)
def test_nearing_when_two_working_days_or_fewer_remain(
    now: datetime, left: int, is_nearing: bool
) -> None:
    c = new()
    assert working_days_left(c, now, POLICY, CAL) == left
    assert nearing(c, now, POLICY, CAL) is is_nearing


def test_nearing_follows_the_policy_and_the_running_clock() -> None:
    c = new()
    monday = local(2026, 3, 16, 8, 0)
    assert not nearing(c, monday, Policy(nearing_working_days=1), CAL)
    assert nearing(c, local(2026, 3, 13, 8, 0), Policy(nearing_working_days=3), CAL)
    assert working_days_left(rejected(), monday, POLICY, CAL) is None
    assert not nearing(rejected(), monday, POLICY, CAL)
    assert not nearing(accepted(), monday, POLICY, CAL)  # 45 working days ahead


def test_a_complainant_not_reached_leaves_the_satisfaction_unrated() -> None:
    # 未能回访: the case closes on time with no rating rather than a made-up one.
    c = closed(satisfaction=None)
    assert (c.state, c.satisfaction, c.substantiated) == ("closed", None, True)
    assert c.counts_for_credit
    assert closing_problems({"satisfaction": None}) == []
