"""Duplicate complaints: similarity of facts, the 48 h window, linking to the root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.complaints.domain import (
    Policy,
    accept,
    bigrams,
    close,
    find_duplicate,
    link,
    normalise,
    receive,
    reject,
    similarity,
)
from services.complaints.domain.model import Complaint
from services.runtime.data_files import default_calendar

POLICY = Policy()
CAL = default_calendar()
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
SHRIMP = "在A-12摊位买了一斤虾，回家用电子秤称只有八两，缺斤短两。"
SHRIMP_AGAIN = "A-12摊位卖虾缺斤短两，买了一斤虾回家称只有八两！"
PRICE = "猪肉标价每斤十五元，结账时按二十元收费，价格欺诈。"


def complaint(
    complaint_id: str, at: datetime = T0, facts: str = SHRIMP, **overrides: Any
) -> Complaint:
    fields: dict[str, Any] = {
        "name": "李四",
        "phone": "13912345678",
        "market_id": "mkt_1",
        "district": "zhifu",
        "merchant_id": "mer_1",
        "category": "short_weight",
        "facts": facts,
        "channel": "web",
        "now": at,
        "policy": POLICY,
        "calendar": CAL,
        "complaint_id": complaint_id,
    }
    fields.update(overrides)
    return receive(**fields)


# -- similarity ----------------------------------------------------------------------------------


def test_normalising_drops_case_spacing_and_punctuation_full_or_half_width() -> None:
    assert normalise(" Short  WEIGHT, again! ") == "shortweightagain"
    assert normalise("缺斤短两，（八两）！") == "缺斤短两八两"
    assert normalise("ＡＢＣ１２３") == "abc123"  # full-width to half-width
    assert bigrams("缺斤短两") == {"缺斤", "斤短", "短两"}
    assert bigrams("虾") == {"虾"}
    assert bigrams("，。") == frozenset()


def test_chinese_retellings_are_similar_and_other_grievances_are_not() -> None:
    assert similarity(SHRIMP, SHRIMP) == 1.0
    assert similarity(SHRIMP, SHRIMP_AGAIN) >= 0.5
    assert similarity(SHRIMP, PRICE) < 0.1
    assert similarity(SHRIMP, "") == 0.0


def test_english_works_the_same_way() -> None:
    a = "The scale at stall A-12 showed 1 kg of shrimp, at home it weighed only 800 g."
    b = "Stall A-12: the scale showed 1 kg of shrimp but at home it weighed only 800 g!"
    c = "The pork was priced 15 yuan per jin but I was charged 20 yuan at the till."
    assert similarity(a, b) >= 0.5
    assert similarity(a, c) < 0.5
    assert similarity("SHORT WEIGHT", "short-weight") == 1.0


@given(st.text(max_size=60), st.text(max_size=60))
def test_similarity_is_a_symmetric_fraction(a: str, b: str) -> None:
    s = similarity(a, b)
    assert 0.0 <= s <= 1.0
    assert s == similarity(b, a)
    if bigrams(a):
        assert similarity(a, a) == 1.0


# -- finding the original ------------------------------------------------------------------------


def test_a_similar_complaint_within_48_hours_is_a_duplicate() -> None:
    first = complaint("cmp_a")
    second = complaint("cmp_b", T0 + 30 * H, SHRIMP_AGAIN)
    assert find_duplicate(second, [first], POLICY) == "cmp_a"


def test_the_window_includes_exactly_48_hours_and_not_a_moment_more() -> None:
    first = complaint("cmp_a")
    assert find_duplicate(complaint("cmp_b", T0 + 48 * H), [first], POLICY) == "cmp_a"
    late = complaint("cmp_c", T0 + 48 * H + timedelta(microseconds=1))
    assert find_duplicate(late, [first], POLICY) is None
    wider = Policy(duplicate_window=timedelta(hours=72))
    assert find_duplicate(late, [first], wider) == "cmp_a"


def test_only_earlier_complaints_are_originals() -> None:
    later = complaint("cmp_a", T0 + H)
    assert find_duplicate(complaint("cmp_b"), [later], POLICY) is None
    # At the same instant the smaller id is the earlier: the two never point at each other.
    a, b = complaint("cmp_a"), complaint("cmp_b")
    assert find_duplicate(b, [a], POLICY) == "cmp_a"
    assert find_duplicate(a, [b], POLICY) is None
    assert find_duplicate(a, [a], POLICY) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"merchant_id": "mer_2"},
        {"merchant_id": None},
        {"category": "price"},
        {"facts": PRICE},
    ],
)
def test_another_merchant_category_or_grievance_is_no_duplicate(
    overrides: dict[str, Any],
) -> None:
    first = complaint("cmp_a")
    assert find_duplicate(complaint("cmp_b", T0 + H, **overrides), [first], POLICY) is None


def test_complaints_naming_no_merchant_are_never_duplicates() -> None:
    first = complaint("cmp_a", merchant_id=None)
    assert find_duplicate(complaint("cmp_b", T0 + H, merchant_id=None), [first], POLICY) is None


def test_a_stricter_threshold_separates_retellings() -> None:
    first = complaint("cmp_a")
    second = complaint("cmp_b", T0 + H, SHRIMP_AGAIN)
    assert find_duplicate(second, [first], Policy(similarity_threshold=0.95)) is None
    assert find_duplicate(complaint("cmp_c", T0 + H), [first], Policy(similarity_threshold=1)) == (
        "cmp_a"
    )


def test_a_rejected_complaint_is_no_original_but_a_closed_one_is() -> None:
    turned_down = reject(complaint("cmp_a"), by="h", reason="不属于本部门管辖", now=T0 + H)
    assert find_duplicate(complaint("cmp_b", T0 + 2 * H), [turned_down], POLICY) is None
    handled = close(
        accept(complaint("cmp_a"), by="h", now=T0, policy=POLICY, calendar=CAL),
        by="h",
        outcome="refunded",
        substantiated=True,
        satisfaction=5,
        now=T0 + H,
    )
    assert find_duplicate(complaint("cmp_b", T0 + 2 * H), [handled], POLICY) == "cmp_a"


def test_the_earliest_match_wins_and_a_chain_leads_to_its_root() -> None:
    root = complaint("cmp_root", T0)
    second = complaint("cmp_2", T0 + 40 * H, SHRIMP_AGAIN)
    root, second = link(root, second)
    third = complaint("cmp_3", T0 + 50 * H)
    # The root is outside third's window; the match is second, a duplicate: link to its root.
    assert find_duplicate(third, [second], POLICY) == "cmp_root"
    # With both in reach, the earliest wins.
    fourth = complaint("cmp_4", T0 + 45 * H)
    assert find_duplicate(fourth, [second, root], POLICY) == "cmp_root"


# -- linking -------------------------------------------------------------------------------------


def test_link_shows_the_link_on_both_and_bumps_versions() -> None:
    original, duplicate = complaint("cmp_a"), complaint("cmp_b", T0 + H)
    linked_original, linked_duplicate = link(original, duplicate)
    assert linked_original.duplicates == ("cmp_b",)
    assert linked_duplicate.duplicate_of == "cmp_a"
    assert (linked_original.version, linked_duplicate.version) == (2, 2)
    assert linked_duplicate.is_duplicate and not linked_original.is_duplicate

    third = complaint("cmp_c", T0 + 2 * H)
    again_original, linked_third = link(linked_original, third)
    assert again_original.duplicates == ("cmp_b", "cmp_c")
    assert (again_original.version, linked_third.duplicate_of) == (3, "cmp_a")


def test_linking_again_changes_nothing_and_a_half_link_is_completed() -> None:
    original, duplicate = link(complaint("cmp_a"), complaint("cmp_b", T0 + H))
    assert link(original, duplicate) == (original, duplicate)
    half = complaint("cmp_a")  # the original as stored before the link
    repaired, same = link(half, duplicate)
    assert repaired.duplicates == ("cmp_b",) and same is duplicate


def test_impossible_links_are_bugs() -> None:
    a, b = link(complaint("cmp_a"), complaint("cmp_b", T0 + H))
    c = complaint("cmp_c", T0 + 2 * H)
    with pytest.raises(ValueError, match="cannot duplicate itself"):
        link(c, c)
    with pytest.raises(ValueError, match="cmp_b is a duplicate of cmp_a; link to the root"):
        link(b, c)
    with pytest.raises(ValueError, match="cmp_b is already a duplicate of cmp_a"):
        link(c, b)
    with pytest.raises(ValueError, match="cmp_a has duplicates of its own"):
        link(c, a)


def test_a_duplicate_does_not_count_for_credit_but_its_root_does() -> None:
    root, dup = link(complaint("cmp_a"), complaint("cmp_b", T0 + H))

    def settle(c: Complaint) -> Complaint:
        c = accept(c, by="h", now=T0 + 2 * H, policy=POLICY, calendar=CAL)
        return close(
            c, by="h", outcome="refunded", substantiated=True, satisfaction=4, now=T0 + 3 * H
        )

    assert settle(root).counts_for_credit
    assert not settle(dup).counts_for_credit
