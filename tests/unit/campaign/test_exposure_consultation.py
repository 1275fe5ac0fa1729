"""The pure rules of public exposure with deadline rectification (曝光, 限期整改) and of the public
consultation on a renovation plan (征求群众意见)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.people import Actor
from services.campaign.domain.campaign import end_of_day
from services.campaign.domain.disclosures import (
    Disclosure,
    ExposureReport,
    PlaceNames,
    disclose_exposure,
    flag_late_exposure,
    verify_exposure,
)
from services.campaign.domain.renovations import (
    ConsultationConflict,
    RenovationProject,
    StageConflict,
    advance_project,
    answer_comment,
    consultation_allows,
    open_consultation,
    receive_comment,
)
from services.runtime.errors import Conflict, InvalidInput, NotFound, status_of
from tests.support.campaign_builders import NOW, TODAY, project

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor.of("u-clerk", "钱登记")


# -- exposure --------------------------------------------------------------------------------


def report(**changes: object) -> ExposureReport:
    r = ExposureReport(
        source="press",
        reference="烟台日报 2026-05-30 第 4 版",
        title=" 水产区污水横流 ",
        rectify_by=TODAY + timedelta(days=10),
        details=("排水沟堵塞", "地面积水"),
    )
    return replace(r, **changes)  # type: ignore[arg-type]


def exposed(**changes: object) -> Disclosure:
    return disclose_exposure(
        report(**changes),
        disclosure_id="dsc_1",
        district="zhifu",
        market_id="m1",
        tz=SHANGHAI,
        today=TODAY,
        now=NOW,
        by=CLERK,
        names=PlaceNames("芝罘区", "幸福农贸市场"),
    )


def test_an_exposure_is_open_and_public_with_its_deadline_source_and_reference() -> None:
    d = exposed()
    assert (d.kind, d.state, d.source_id, d.version) == ("exposure", "open", "dsc_1", 1)
    assert d.title == "幸福农贸市场：水产区污水横流"
    assert "the press" in d.title_en and "2026-06-11" in d.title_en
    assert d.details == ("排水沟堵塞", "地面积水")
    assert (d.exposure_source, d.exposure_reference) == ("press", "烟台日报 2026-05-30 第 4 版")
    assert d.deadline_date == date(2026, 6, 11)
    assert d.deadline == end_of_day(date(2026, 6, 11), SHANGHAI)
    assert d.recorded_by == CLERK and d.late_flagged_at is None
    # Late from the day after the deadline day, not on it.
    assert not d.overdue(d.deadline - timedelta(seconds=1))
    assert d.overdue(d.deadline)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source": "radio"}, "source"),
        ({"reference": "  "}, "reference"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"details": ("ok", " ")}, "details.1"),
        ({"details": tuple("x" * 51)}, "details"),
        ({"rectify_by": TODAY - timedelta(days=1)}, "rectify_by"),
        ({"rectify_by": TODAY + timedelta(days=366)}, "rectify_by"),
    ],
)
def test_a_bad_exposure_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        exposed(**changes)
    assert err.value.field == field


def test_the_deadline_may_be_today() -> None:
    assert exposed(rectify_by=TODAY).deadline_date == TODAY


def test_a_late_exposure_is_flagged_once_and_says_so() -> None:
    d = exposed()
    assert flag_late_exposure(d, d.deadline - timedelta(minutes=1)) is None
    later = d.deadline + timedelta(hours=3)
    late = flag_late_exposure(d, later)
    assert late is not None
    assert (late.late_flagged_at, late.version, late.state) == (later, 2, "open")
    assert late.details[-1] == "整改期限2026-06-11已过，尚未整改到位"
    assert flag_late_exposure(late, later + timedelta(days=1)) is None  # once


def test_a_resolved_or_other_disclosure_is_not_flagged() -> None:
    d = exposed()
    fixed = verify_exposure(d, fixed=True, note=None, by=CLERK, today=TODAY, now=NOW)
    assert flag_late_exposure(fixed, d.deadline + timedelta(days=1)) is None
    other = replace(d, kind="failed_check")
    assert flag_late_exposure(other, d.deadline + timedelta(days=1)) is None


def test_verified_fixed_resolves_it_and_not_fixed_keeps_it_open() -> None:
    d = exposed()
    later = NOW + timedelta(days=3)
    kept = verify_exposure(d, fixed=False, note="排水沟仍未疏通", by=CLERK, today=TODAY, now=later)
    assert (kept.state, kept.resolved_at, kept.version) == ("open", None, 2)
    assert kept.details[-1] == "2026-06-01复查：未整改到位（排水沟仍未疏通）"
    assert [(v.fixed, v.note, v.by) for v in kept.verifications] == [
        (False, "排水沟仍未疏通", CLERK)
    ]
    done = verify_exposure(kept, fixed=True, note="已疏通", by=CLERK, today=TODAY, now=later)
    assert (done.state, done.resolved_at, done.version) == ("resolved", later, 3)
    assert done.details[-1] == "2026-06-01复查：已整改到位（已疏通）"
    assert len(done.verifications) == 2
    with pytest.raises(Conflict) as err:
        verify_exposure(done, fixed=True, note=None, by=CLERK, today=TODAY, now=later)
    assert err.value.errors[0]["field"] == "state"


def test_not_fixed_needs_a_note_and_notes_are_bounded() -> None:
    d = exposed()
    for note in (None, "  "):
        with pytest.raises(InvalidInput) as err:
            verify_exposure(d, fixed=False, note=note, by=CLERK, today=TODAY, now=NOW)
        assert err.value.field == "note"
    with pytest.raises(InvalidInput) as err:
        verify_exposure(d, fixed=True, note="x" * 1001, by=CLERK, today=TODAY, now=NOW)
    assert err.value.field == "note"
    with pytest.raises(NotFound):
        verify_exposure(
            replace(d, kind="late_milestone"), fixed=True, note=None, by=CLERK, today=TODAY, now=NOW
        )


# -- consultation ----------------------------------------------------------------------------


def consulting(days: int = 10, p: RenovationProject | None = None) -> RenovationProject:
    return open_consultation(p or project(), days=days, today=TODAY, now=NOW, by=CLERK)


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock city time on `day`, in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def comment(p: RenovationProject, sid: str, day: date, **more: object) -> RenovationProject | None:
    return receive_comment(
        p,
        suggestion_id=sid,
        text=str(more.get("text", " 建议增加停车位 ")),
        received_at=at(day, int(str(more.get("hour", 10)))),
        market_id=more.get("market_id", "m1"),  # type: ignore[arg-type]
        tz=SHANGHAI,
        now=NOW,
    )


def test_a_consultation_opens_today_for_n_days_while_planned() -> None:
    p = consulting(10)
    c = p.consultation
    assert c is not None and p.version == 2
    assert (c.opens_on, c.closes_on, c.comments, c.opened_by) == (
        TODAY,
        TODAY + timedelta(days=9),
        (),
        CLERK,
    )
    assert c.is_open(TODAY) and c.is_open(TODAY + timedelta(days=9))
    assert not c.is_open(TODAY + timedelta(days=10)) and c.closed(TODAY + timedelta(days=10))
    one_day = consulting(1).consultation
    assert one_day is not None and one_day.closes_on == TODAY


@pytest.mark.parametrize("days", [0, 61, -3])
def test_days_are_1_to_60(days: int) -> None:
    with pytest.raises(InvalidInput) as err:
        consulting(days)
    assert err.value.field == "days"


def test_only_a_planned_project_is_opened_for_comment_and_only_once_at_a_time() -> None:
    with pytest.raises(StageConflict):
        consulting(p=project(stage="approved"))
    p = consulting(5)
    with pytest.raises(ConsultationConflict) as err:
        consulting(5, p)
    assert err.value.errors[0]["field"] == "consultation"
    assert err.value.body()["consultation"]["closes_on"] == (TODAY + timedelta(days=4)).isoformat()
    # A new round once the first has closed; its comments carry over.
    taken = comment(p, "sug_1", TODAY)
    assert taken is not None
    again = open_consultation(
        taken, days=3, today=TODAY + timedelta(days=5), now=NOW, by=CLERK
    ).consultation
    assert again is not None
    assert (again.opens_on, [c.suggestion_id for c in again.comments]) == (
        TODAY + timedelta(days=5),
        ["sug_1"],
    )


def test_a_suggestion_received_while_open_is_a_comment_once() -> None:
    p = consulting(3)
    first = comment(p, "sug_1", TODAY)
    assert first is not None and first.consultation is not None
    assert first.version == p.version + 1
    [c] = first.consultation.comments
    assert (c.suggestion_id, c.text, c.answer) == ("sug_1", "建议增加停车位", None)
    assert first.consultation.unanswered == 1
    assert comment(first, "sug_1", TODAY) is None  # redelivered: nothing new
    # The last day counts, by the city's clock (23:30 city time is still that day).
    last = comment(first, "sug_2", TODAY + timedelta(days=2), hour=23)
    assert last is not None and last.consultation is not None
    assert [x.suggestion_id for x in last.consultation.comments] == ["sug_1", "sug_2"]


def test_suggestions_outside_the_window_or_about_another_market_are_ignored() -> None:
    p = consulting(3)
    assert comment(p, "sug_1", TODAY - timedelta(days=1)) is None
    assert comment(p, "sug_1", TODAY + timedelta(days=3)) is None
    assert comment(p, "sug_1", TODAY, market_id="m2") is None
    assert comment(p, "sug_1", TODAY, market_id=None) is not None  # names only the plan
    assert comment(project(), "sug_1", TODAY) is None  # never opened for comment


def test_a_comment_is_answered_and_an_answer_can_be_corrected_before_construction() -> None:
    p = comment(consulting(3), "sug_1", TODAY)
    assert p is not None
    later = NOW + timedelta(days=1)
    answered = answer_comment(p, "sug_1", answer=" 已采纳，增设 20 个车位 ", by=CLERK, now=later)
    assert answered.consultation is not None
    [c] = answered.consultation.comments
    assert (c.answer, c.answered_at, c.answered_by) == ("已采纳，增设 20 个车位", later, CLERK)
    assert answered.consultation.unanswered == 0
    again = answer_comment(answered, "sug_1", answer="已采纳，增设 25 个车位", by=CLERK, now=later)
    assert again.consultation is not None
    assert again.consultation.comments[0].answer == "已采纳，增设 25 个车位"
    with pytest.raises(InvalidInput) as err:
        answer_comment(p, "sug_1", answer="  ", by=CLERK, now=later)
    assert err.value.field == "answer"
    with pytest.raises(NotFound):
        answer_comment(p, "sug_9", answer="好", by=CLERK, now=later)
    with pytest.raises(StageConflict):
        answer_comment(
            replace(answered, stage="under_construction"), "sug_1", answer="好", by=CLERK, now=later
        )


def _advance(p: RenovationProject, to: str, today: date) -> RenovationProject:
    return advance_project(p, to, reached_on=today, by="c", today=today, now=NOW)


def test_approval_waits_for_the_window_and_construction_for_every_answer() -> None:
    p = comment(consulting(3), "sug_1", TODAY)
    assert p is not None
    # Approval while comments are still taken: refused, naming the consultation.
    with pytest.raises(ConsultationConflict) as err:
        _advance(p, "approved", TODAY + timedelta(days=2))
    assert status_of(err.value) == 409
    assert err.value.errors[0]["field"] == "consultation"
    body = err.value.body()
    assert (body["current_stage"], body["consultation"]["unanswered"]) == ("planned", 1)
    after = TODAY + timedelta(days=3)
    approved = _advance(p, "approved", after)  # closed: approved even with a comment unanswered
    with pytest.raises(ConsultationConflict) as err:
        _advance(approved, "under_construction", after)
    assert "not answered" in err.value.errors[0]["reason"]
    answered = answer_comment(approved, "sug_1", answer="已采纳", by=CLERK, now=NOW)
    built = _advance(answered, "under_construction", after)
    assert built.stage == "under_construction"


def test_a_project_never_consulted_moves_as_before() -> None:
    p = project()
    consultation_allows(p, "under_construction", TODAY)  # nothing to hold it back
    assert _advance(_advance(p, "approved", TODAY), "under_construction", TODAY).stage == (
        "under_construction"
    )
