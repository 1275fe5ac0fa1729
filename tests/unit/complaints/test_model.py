"""Phone numbers and names, their masks, ids and tracking codes, and the stored form."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.complaints.domain import (
    TRACKING_ALPHABET,
    Complainant,
    Complaint,
    Policy,
    accept,
    close,
    derive_complaint_id,
    mark_overdue,
    mask_name,
    mask_phone,
    new_complaint_id,
    new_tracking_code,
    parse_phone,
    parse_tracking_code,
    receive,
)
from services.runtime import serial
from services.runtime.data_files import default_calendar
from services.runtime.errors import InvalidInput

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Yantai

# -- phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0535-1234567", "0535-1234567"),
        ("05351234567", "0535-1234567"),
        ("0535-12345678", "0535-12345678"),
        ("010-12345678", "010-12345678"),
        ("02112345678", "021-12345678"),
        ("0535 1234567", "0535-1234567"),
    ],
)
def test_mainland_mobiles_and_landlines_are_accepted_in_canonical_form(
    text: str, canonical: str
) -> None:
    assert parse_phone(text) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12812345678",  # no mobile range starts 12
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "23812345678",
        "0535-123456",  # local part too short
        "0535-123456789",  # too long
        "010-1234567-8",
        "0035-1234567",  # no area code starts 00
        "053-51234567",  # 05xx needs four digits
        "+1 212 555 0100",
        "1381234567x",
        "１３８１２３４５６７８",  # full-width digits are not ASCII digits
        "138１２３４５６７８",
        "13812345678\n0",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="mainland mobile number"):
        parse_phone(text)


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0535-1234567") == "0535-***4567"
    assert mask_phone("010-12345678") == "010-****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name(" 李 ") == "*"
    assert mask_name("John") == "J***"
    assert mask_name("Jo Smith-Wesson") == "J***"
    assert mask_name("") == "*"
    person = Complainant("张三", "13812345678")
    assert person.masked_phone() == "138****5678" and person.masked_name() == "张*"
    assert person.masked() == {"name": "张*", "phone": "138****5678"}


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_masked_mobile_hides_the_middle_four(phone: str) -> None:
    masked = mask_phone(parse_phone(phone))
    assert masked == phone[:3] + "****" + phone[-4:]


# -- ids and tracking codes ----------------------------------------------------------------------


def test_tracking_codes_use_the_unambiguous_alphabet() -> None:
    assert not set("0O1I") & set(TRACKING_ALPHABET)
    assert len(TRACKING_ALPHABET) == 32
    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(f"[{TRACKING_ALPHABET}]{{10}}", c) for c in codes)


def test_a_tracking_code_is_deterministic_with_a_given_choice() -> None:
    picks = iter("ABCDEFGHJK")
    assert new_tracking_code(lambda _alphabet: next(picks)) == "ABCDEFGHJK"


def test_typed_tracking_codes_are_normalised_or_refused() -> None:
    assert parse_tracking_code(" abcd-efgh-jk ") == "ABCDEFGHJK"
    for bad in ("ABCDEFGHJ", "ABCDEFGHJKL", "ABCDEFGH0K", "ABCDEFGHIK"):
        with pytest.raises(InvalidInput) as err:
            parse_tracking_code(bad)
        assert err.value.field == "tracking_code"


def test_complaint_ids() -> None:
    fixed = uuid.UUID("12345678123456781234567812345678")
    assert new_complaint_id(lambda: fixed) == "cmp_1234567812345678"
    assert re.fullmatch(r"cmp_[0-9a-f]{16}", new_complaint_id())
    assert new_complaint_id() != new_complaint_id()
    assert derive_complaint_id("intake", "msg-1") == derive_complaint_id("intake", "msg-1")
    assert derive_complaint_id("intake", "msg-1") != derive_complaint_id("intake", "msg-2")
    with pytest.raises(ValueError, match="at least one part"):
        derive_complaint_id()


# -- stored and public forms ---------------------------------------------------------------------


def _case() -> Complaint:
    cal, policy = default_calendar(), Policy()
    c = receive(
        name="张三",
        phone="13812345678",
        market_id="mkt_1",
        district="zhifu",
        merchant_id="mer_1",
        stall_no="A-12",
        category="short_weight",
        facts="买了一斤虾，回家称只有八两。",
        request="退还差价",
        channel="hotline_12345",
        occurred_at=T0.replace(hour=0),
        now=T0,
        policy=policy,
        calendar=cal,
        complaint_id="cmp_1",
        tracking_code="ABCDEFGHJK",
    )
    c = accept(c, by="handler-wang", now=T0, policy=policy, calendar=cal)
    marked = mark_overdue(c, datetime(2026, 6, 1, tzinfo=UTC))
    assert marked is not None
    return close(
        marked,
        by="handler-wang",
        outcome="refunded",
        substantiated=True,
        satisfaction=4,
        now=datetime(2026, 6, 2, tzinfo=UTC),
    )


def test_to_dict_is_json_and_reads_back() -> None:
    case = _case()
    data = json.loads(json.dumps(serial.dump(case), ensure_ascii=False))
    assert serial.load(Complaint, data) == case
    assert data["complainant"] == {"name": "张三", "phone": "13812345678"}


def test_the_public_status_shows_nothing_personal() -> None:
    case = _case()
    status = case.public_status()
    text = json.dumps(status, ensure_ascii=False)
    for secret in ("张三", "13812345678", "5678", "虾", "退还", "mer_1"):
        assert secret not in text
    assert status["tracking_code"] == "ABCDEFGHJK"
    assert status["state"] == "closed" and status["outcome"] == "refunded"
    assert status["acceptance_deadline"] == case.acceptance_deadline.isoformat()
