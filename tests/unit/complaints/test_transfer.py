"""移送: a received complaint moved to the market it is really about."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.people import Actor
from services.complaints.domain import (
    IllegalTransition,
    InvalidComplaint,
    LinkedDuplicate,
    Transfer,
    mark_overdue,
    reject,
    transfer,
)
from services.complaints.domain.model import Complaint
from services.runtime.errors import status_of
from tests.unit.complaints.test_lifecycle import CAL, HANDLER, POLICY, T0, accepted, local, new

WANG = Actor.of("handler-wang", "王处理员")
# Thursday 12 March 2026, 15:00: the receiving district's 7 working days end Monday 23 March.
MOVED_AT = local(2026, 3, 12, 15, 0)


def moved(case: Complaint | None = None, **overrides: Any) -> Complaint:
    fields: dict[str, Any] = {
        "by": WANG,
        "market_id": "mkt_2",
        "district": "laishan",
        "reason": "投诉对象在幸福市场",
        "now": MOVED_AT,
        "policy": POLICY,
        "calendar": CAL,
    }
    fields.update(overrides)
    return transfer(case or new(), **fields)


def test_a_transfer_moves_the_case_and_restarts_the_acceptance_clock() -> None:
    before = new()
    after = moved(before, merchant_id="mer_9", stall_no="B-03")
    assert (after.market_id, after.district) == ("mkt_2", "laishan")
    assert (after.merchant_id, after.stall_no) == ("mer_9", "B-03")
    assert (after.state, after.version, after.handled_by) == ("received", 2, "handler-wang")
    # The receiving district's own 7 working days from the transfer: 13, 16-20 (6), 23 March.
    assert after.acceptance_deadline == local(2026, 3, 23, 23, 59, 59, 999_999)
    assert after.acceptance_deadline > before.acceptance_deadline
    # What the complainant filed stays as filed.
    assert (after.received_at, after.facts, after.tracking_code) == (
        before.received_at,
        before.facts,
        before.tracking_code,
    )
    assert after.transfers == (
        Transfer("mkt_1", "zhifu", "mkt_2", "laishan", "投诉对象在幸福市场", WANG, MOVED_AT),
    )


def test_the_merchant_and_stall_of_the_old_market_do_not_follow_the_case() -> None:
    after = moved()
    assert (after.merchant_id, after.stall_no) == (None, None)


def test_an_overdue_acceptance_is_kept_in_the_record_and_the_new_clock_is_unmarked() -> None:
    late = mark_overdue(new(), local(2026, 3, 19, 9, 0))
    assert late is not None and late.acceptance_overdue_at is not None
    after = moved(late, now=local(2026, 3, 19, 10, 0))
    assert after.acceptance_overdue_at is None and after.overdue_marked_at is None
    assert after.transfers[0].overdue_at == late.acceptance_overdue_at
    # The new clock can run out and be marked in its turn.
    assert mark_overdue(after, local(2026, 3, 20, 9, 0)) is None
    assert mark_overdue(after, after.acceptance_deadline + timedelta(seconds=1)) is not None


def test_a_case_moved_twice_keeps_both_moves_in_order() -> None:
    twice = moved(moved(), market_id="mkt_3", district="zhifu", now=MOVED_AT + timedelta(hours=1))
    assert [(t.from_market_id, t.to_market_id) for t in twice.transfers] == [
        ("mkt_1", "mkt_2"),
        ("mkt_2", "mkt_3"),
    ]
    assert twice.version == 3


def test_the_public_status_says_where_the_case_went_and_when() -> None:
    assert new().public_status()["transferred_at"] is None
    status = moved().public_status()
    assert status["market_id"] == "mkt_2"
    assert datetime.fromisoformat(status["transferred_at"]) == MOVED_AT
    assert "reason" not in status and "handler-wang" not in str(status)


def test_every_problem_is_named_at_once_and_nothing_changes() -> None:
    case = new()
    with pytest.raises(InvalidComplaint) as err:
        moved(case, market_id="mkt_1", reason="  ")
    assert [(e["field"], e["reason"]) for e in err.value.errors] == [
        ("market_id", "is already the market of this complaint"),
        ("reason", "must not be empty"),
    ]
    assert status_of(err.value) == 422
    assert case.version == 1 and case.transfers == ()


def test_what_the_service_found_wrong_with_the_market_comes_first_and_once() -> None:
    with pytest.raises(InvalidComplaint) as err:
        moved(market_id="mkt_404", district="", found=[("market_id", "no market is registered")])
    assert [e["field"] for e in err.value.errors] == ["market_id"]
    assert err.value.errors[0]["reason"] == "no market is registered"


def test_a_blank_market_is_named() -> None:
    with pytest.raises(InvalidComplaint) as err:
        moved(market_id=" ", district="")
    assert [(e["field"], e["reason"]) for e in err.value.errors] == [
        ("market_id", "must not be empty")
    ]


@pytest.mark.parametrize(
    "decided",
    [
        lambda: accepted(),
        lambda: reject(new(), by=HANDLER, reason="不属于本部门管辖", now=T0),
    ],
    ids=["accepted", "rejected"],
)
def test_only_an_undecided_case_moves(decided: Any) -> None:
    case = decided()
    with pytest.raises(IllegalTransition) as err:
        moved(case)
    assert err.value.state == case.state and status_of(err.value) == 409


@pytest.mark.parametrize(
    "linked",
    [{"duplicate_of": "cmp_0"}, {"duplicates": ("cmp_2",)}],
    ids=["a duplicate", "an original"],
)
def test_a_case_linked_as_a_duplicate_stays(linked: dict[str, Any]) -> None:
    with pytest.raises(LinkedDuplicate) as err:
        moved(replace(new(), **linked))
    assert err.value.errors == [{"field": "duplicate_of", "reason": str(err.value)}]
    assert status_of(err.value) == 409


def test_the_receiving_district_must_be_named() -> None:
    with pytest.raises(ValueError, match="district"):
        moved(district=" ")
