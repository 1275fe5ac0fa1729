"""The suggestion rules (意见建议), pure: intake checks, one answer, who sees what, and views
that carry nothing personal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.people import Actor
from contracts.suggestions import SuggestionSubmission
from services.complaints.domain import InvalidComplaint
from services.complaints.domain.suggestions import (
    AlreadyAnswered,
    Suggestion,
    answer_suggestion,
    receive_suggestion,
)
from services.runtime import serial

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
HANDLER = Actor.of("sub-1", "处理员甲")


def received(**changes: Any) -> Suggestion:
    fields: dict[str, Any] = {
        "about": "market",
        "market_id": "mkt_1",
        "district": "zhifu",
        "text": "  建议增加公平秤  ",
        "name": "李建国",
        "phone": "+86 139 1234 5678",
        "publish_answer": True,
        "now": T0,
    }
    return receive_suggestion(**(fields | changes))


def test_a_suggestion_is_received_with_a_canonical_phone_and_trimmed_text() -> None:
    s = received()
    assert s.suggestion_id.startswith("sug_") and len(s.tracking_code) == 10
    assert (s.text, s.phone, s.state, s.version) == ("建议增加公平秤", "13912345678", "received", 1)
    assert s.masked_author() == {"name": "李**", "phone": "139****5678"}
    anonymous = received(name="  ", phone=None)
    assert anonymous.masked_author() == {"name": None, "phone": None}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"market_id": None}, "market_id"),
        ({"district": None}, "market_id"),  # an unknown market
        ({"about": "campaign"}, "market_id"),  # a market given for the campaign
        ({"about": "shop"}, "about"),
        ({"text": " "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"name": "名" * 51}, "name"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_a_bad_suggestion_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidComplaint) as caught:
        received(**changes)
    assert field in {e["field"] for e in caught.value.errors}


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidComplaint) as caught:
        received(market_id=None, text="", phone="1")
    assert {e["field"] for e in caught.value.errors} == {"market_id", "text", "phone"}


def test_a_campaign_suggestion_has_no_market_or_district() -> None:
    s = received(about="campaign", market_id=None, district="zhifu")
    assert (s.market_id, s.district) == (None, None)


def test_an_answer_is_given_once_with_its_actor() -> None:
    s = received()
    later = T0 + timedelta(days=1)
    answered = answer_suggestion(s, answer=" 已设置 ", by=HANDLER, now=later)
    assert (answered.state, answered.answer, answered.answered_at) == ("answered", "已设置", later)
    assert answered.answered_by == HANDLER and answered.version == 2
    with pytest.raises(AlreadyAnswered):
        answer_suggestion(answered, answer="again", by=HANDLER, now=later)
    with pytest.raises(InvalidComplaint):
        answer_suggestion(s, answer="  ", by=HANDLER, now=later)


def test_a_markets_suggestion_is_its_districts_a_campaign_one_the_citys() -> None:
    market, campaign = received(), received(about="campaign", market_id=None)
    assert market.may_read({"handler"}, "zhifu") and market.may_answer({"handler"}, "zhifu")
    assert market.may_read({"leader"}, "zhifu") and not market.may_answer({"leader"}, "zhifu")
    assert not market.may_read({"handler"}, "laishan")
    assert not market.may_read({"inspector"}, "zhifu")
    assert market.may_answer({"handler"}, "*") and market.may_answer({"admin"}, "zhifu")
    assert campaign.may_answer({"handler"}, "laishan") and campaign.may_read({"leader"}, "laishan")
    assert not campaign.may_answer({"leader"}, "*") and not campaign.may_read({"clerk"}, "zhifu")


def test_public_views_carry_nothing_personal() -> None:
    s = answer_suggestion(received(), answer="好", by=HANDLER, now=T0)
    for view in (s.public_status(), s.public_view()):
        text = str(view)
        assert "李建国" not in text and "13912345678" not in text and "处理员甲" not in text
    assert s.public_view() == {
        "id": s.suggestion_id,
        "about": "market",
        "market_id": "mkt_1",
        "text": "建议增加公平秤",
        "answer": "好",
        "answered_at": T0.isoformat(),
    }
    assert s.public and not received().public
    assert not answer_suggestion(
        received(publish_answer=False), answer="好", by=HANDLER, now=T0
    ).public


def test_the_stored_form_round_trips() -> None:
    s = answer_suggestion(received(), answer="好", by=HANDLER, now=T0)
    assert serial.load(Suggestion, serial.dump(s)) == s


def test_the_public_body_treats_blank_form_fields_as_not_given() -> None:
    body = SuggestionSubmission.model_validate(
        {"about": "campaign", "market_id": "", "text": "好", "name": " ", "phone": ""}
    )
    assert (body.market_id, body.name, body.phone, body.publish_answer) == (None, None, None, False)


def test_a_suggestion_may_name_a_renovation_plan_open_for_comment() -> None:
    s = received(project_id=" rnv_0123456789abcdef ")
    assert s.project_id == "rnv_0123456789abcdef"
    assert serial.load(Suggestion, serial.dump(s)) == s
    assert s.staff_view()["project_id"] == "rnv_0123456789abcdef"
    assert received(project_id="  ").project_id is None
    # Stored before plans could be named: none.
    legacy = {k: v for k, v in serial.dump(received()).items() if k != "project_id"}
    assert serial.load(Suggestion, legacy).project_id is None
    with pytest.raises(InvalidComplaint) as err:
        received(project_id="p" * 65)
    assert [f for f, _ in err.value.problems] == ["project_id"]
    body = SuggestionSubmission.model_validate(
        {"about": "market", "market_id": "mkt_1", "project_id": "", "text": "好"}
    )
    assert body.project_id is None
