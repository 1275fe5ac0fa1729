"""曝光整改 and 征求意见 as the console words them (issue 17): where the campaign service's field
errors land, deadlines in words, and the service's reasons in Chinese."""

from __future__ import annotations

from datetime import date

from services.console import labels
from services.console.backend import ApiError
from services.console.views.exposures import days_left, errors_of
from services.console.views.renovations import consultation_summary


def test_a_refused_exposure_lands_beside_its_fields() -> None:
    sent = {
        "market_id": "m1",
        "source": "",
        "reference": "日报",
        "title": "积水",
        "details": "a\n ",
        "rectify_by": "2020-01-01",
    }
    refusal = ApiError(
        422,
        "invalid",
        [
            {"field": "source", "reason": "Input should be 'press', 'public' or 'supervision'"},
            {"field": "details.1", "reason": "must not be blank"},
            {"field": "rectify_by", "reason": "2020-01-01 is before today (2026-06-01)"},
            {"field": "unknown", "reason": "whatever"},
        ],
    )
    assert errors_of(refusal, sent) == {
        "source": "必填",
        "details": "必填",
        "rectify_by": "不得早于今天（2026-06-01）",
        "form": "whatever",
    }
    note = ApiError(
        422, "x", [{"field": "note", "reason": "a problem not fixed needs a note of what is"}]
    )
    assert errors_of(note, {"fixed": "no", "note": "x"}, "dsc_1-") == {
        "dsc_1-note": "未整改到位须写明仍存在的问题"
    }


def test_deadlines_in_words() -> None:
    on = date(2026, 6, 1)
    assert days_left("2026-06-04", on) == "剩余 3 天"
    assert days_left("2026-06-01", on) == "今天到期"
    assert days_left("2026-05-30", on) == "逾期 2 天"


def test_the_consultations_reasons_in_chinese() -> None:
    assert (
        labels.reason_zh(
            "the consultation is open until 2026-06-10; the project moves to approved once it "
            "has closed"
        )
        == "征求意见至 2026-06-10 结束，结束后才能推进"
    )
    assert (
        labels.reason_zh(
            "2 comment(s) of the consultation are not answered; answer every comment before "
            "construction"
        )
        == "还有 2 条意见未答复，全部答复后才能开工"
    )
    assert labels.reason_zh("a consultation is open already, until 2026-06-10") == (
        "正在征求意见（至 2026-06-10）"
    )
    assert labels.label(labels.EXPOSURE_SOURCE, "supervision") == "督查"
    assert labels.label(labels.DISCLOSURE_KIND, "exposure") == "曝光"


def test_a_consultation_in_a_list() -> None:
    assert consultation_summary({"consultation": None}) == "未征求意见"
    c = {"open": True, "closed": False, "opens_on": "2026-06-01", "closes_on": "2026-06-10"}
    assert consultation_summary({"consultation": c}) == "征求意见中（至 2026-06-10）"
    assert consultation_summary({"consultation": c | {"open": False, "closed": True}}) == (
        "征求意见已结束"
    )


def test_a_text_too_long_says_how_long_it_may_be() -> None:
    # The campaign's one text rule (services/campaign/domain/text.py) and pydantic's own.
    assert labels.reason_zh("must be at most 200 characters") == "最多 200 个字"
    assert labels.reason_zh("String should have at most 64 characters") == "最多 64 个字"
