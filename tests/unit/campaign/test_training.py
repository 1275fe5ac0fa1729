"""Training of market managers: courses, sessions, attendance, certificates and their validity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.people import Actor
from services.campaign.domain import training as tr
from services.runtime.errors import Conflict, InvalidInput
from services.runtime.failures import InvalidInputs

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 20)
CLERK = Actor.of("sub-clerk", "李登记")
COURSE = tr.new_course(
    course_id="crs_1", title="  食品安全管理培训 ", validity_months=24, actor=CLERK, now=NOW
)
SESSION = tr.new_session(
    COURSE, session_id="ses_1", held_on=date(2026, 3, 10), place="区局会议室", actor=CLERK, now=NOW
)
MANAGER = tr.new_trainee(
    trainee_id="trn_1",
    market_id="m1",
    district="zhifu",
    name="张经理",
    position="市场管理员",
    actor=CLERK,
    now=NOW,
)


def attend(passed: bool = True, **changes: object) -> tr.Attended:
    kwargs: dict[str, object] = {
        "passed": passed,
        "already_recorded": False,
        "certificate_id": "crt_1",
        "actor": CLERK,
        "today": TODAY,
        "now": NOW,
    }
    kwargs.update(changes)
    session = kwargs.pop("session", SESSION)
    return tr.attend(COURSE, session, MANAGER, **kwargs)  # type: ignore[arg-type]


def cert(
    trainee: str, valid_until: date, course: str = "crs_1", issued_on: date | None = None
) -> tr.Certificate:
    return tr.Certificate(
        f"crt_{trainee}_{valid_until}",
        trainee,
        "m1",
        "zhifu",
        course,
        "ses_1",
        issued_on or valid_until - timedelta(days=700),
        valid_until,
        NOW,
    )


# -- months ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held_on", "months", "last_day"),
    [
        (date(2026, 3, 10), 24, date(2028, 3, 9)),
        (date(2026, 3, 10), 1, date(2026, 4, 9)),
        (date(2026, 1, 31), 1, date(2026, 2, 27)),  # to 28 Feb, the day before is the last
        (date(2027, 12, 15), 12, date(2028, 12, 14)),
        (date(2026, 3, 1), 12, date(2027, 2, 28)),
    ],
)
def test_valid_until_is_the_day_before_the_same_day_months_later(
    held_on: date, months: int, last_day: date
) -> None:
    assert tr.valid_until(held_on, months) == last_day


def test_add_months_clamps_to_the_month_end() -> None:
    assert tr.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert tr.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


# -- courses, sessions, trainees -------------------------------------------------------------


def test_a_course_is_trimmed_and_keeps_who_created_it() -> None:
    assert COURSE.title == "食品安全管理培训" and COURSE.actor == CLERK


@pytest.mark.parametrize("months", [0, -1, 121])
def test_a_course_validity_is_1_to_120_months(months: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        tr.new_course(course_id="c", title="t", validity_months=months, actor=None, now=NOW)
    assert refused.value.field == "validity_months"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: tr.new_course(
                course_id="c", title=" ", validity_months=1, actor=None, now=NOW
            ),
            "title",
        ),
        (
            lambda: tr.new_session(
                COURSE, session_id="s", held_on=TODAY, place="", actor=None, now=NOW
            ),
            "place",
        ),
        (
            lambda: tr.new_trainee(
                trainee_id="t", market_id="m", district="d", name=" ", position="p",
                actor=None, now=NOW,
            ),
            "name",
        ),
        (
            lambda: tr.new_trainee(
                trainee_id="t", market_id="m", district="d", name="n", position="x" * 101,
                actor=None, now=NOW,
            ),
            "position",
        ),
    ],
)  # fmt: skip
def test_blank_or_long_text_is_refused(build: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        build()  # type: ignore[operator]
    assert refused.value.field == field


# -- attendance and certificates -------------------------------------------------------------


def test_a_pass_issues_a_certificate_from_the_session_day() -> None:
    attended = attend()
    assert attended.attendance.passed and attended.attendance.actor == CLERK
    certificate = attended.certificate
    assert certificate is not None
    assert certificate.issued_on == date(2026, 3, 10)
    assert certificate.valid_until == date(2028, 3, 9)
    assert (certificate.market_id, certificate.district) == ("m1", "zhifu")
    assert certificate.valid_on(TODAY) and not certificate.valid_on(date(2028, 3, 10))


def test_a_fail_issues_no_certificate() -> None:
    attended = attend(passed=False)
    assert attended.certificate is None and attended.attendance.passed is False


def test_attendance_at_a_session_still_to_come_is_refused() -> None:
    later = replace(SESSION, held_on=TODAY + timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        attend(session=later)
    assert refused.value.errors[0]["field"] == "session_id"


def test_a_person_is_recorded_once_per_session() -> None:
    with pytest.raises(Conflict) as refused:
        attend(already_recorded=True)
    assert refused.value.errors[0]["field"] == "trainee_id"


def test_a_session_of_another_course_is_a_bug() -> None:
    other = replace(SESSION, course_id="crs_other")
    with pytest.raises(ValueError):
        attend(session=other)


def test_status_none_valid_expiring_expired() -> None:
    assert tr.certificate_status([], TODAY, 30) == "none"
    assert tr.certificate_status([cert("a", TODAY + timedelta(days=31))], TODAY, 30) == "valid"
    assert tr.certificate_status([cert("a", TODAY + timedelta(days=30))], TODAY, 30) == "expiring"
    assert tr.certificate_status([cert("a", TODAY)], TODAY, 30) == "expiring"
    assert tr.certificate_status([cert("a", TODAY - timedelta(days=1))], TODAY, 30) == "expired"


def test_the_longest_valid_certificate_counts() -> None:
    old, new = cert("a", TODAY + timedelta(days=5)), cert("a", TODAY + timedelta(days=500))
    assert tr.valid_certificate([old, new], TODAY) == new
    assert tr.certificate_status([old, new], TODAY, 30) == "valid"


def test_expiring_lists_only_those_not_renewed_soonest_first() -> None:
    soon = cert("a", TODAY + timedelta(days=10))
    later = cert("b", TODAY + timedelta(days=3))
    renewed_old = cert("c", TODAY + timedelta(days=5))
    renewed_new = cert("c", TODAY + timedelta(days=700), issued_on=TODAY)
    other_course = cert("d", TODAY + timedelta(days=5))
    far = cert("e", TODAY + timedelta(days=31))
    lapsed = cert("f", TODAY - timedelta(days=1))
    found = tr.expiring(
        [soon, later, renewed_old, renewed_new, other_course, far, lapsed], TODAY, 30
    )
    assert found == [later, other_course, soon]


def test_expiring_within_negative_days_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        tr.expiring([], TODAY, -1)
    assert refused.value.field == "expiring_within_days"


def test_certified_counts_managers_with_a_certificate_valid_today() -> None:
    other = replace(MANAGER, trainee_id="trn_2")
    third = replace(MANAGER, trainee_id="trn_3")
    certs = [
        cert("trn_1", TODAY + timedelta(days=1)),
        cert("trn_1", TODAY + timedelta(days=100)),  # two count as one person
        cert("trn_2", TODAY - timedelta(days=1)),  # lapsed
        cert("trn_9", TODAY + timedelta(days=100)),  # not a manager of these
    ]
    assert tr.certified([MANAGER, other, third], certs, TODAY) == 1


def test_every_problem_of_a_course_a_session_and_a_manager_is_named_at_once() -> None:
    with pytest.raises(InvalidInputs) as course:
        tr.new_course(course_id="crs_2", title=" ", validity_months=0, actor=CLERK, now=NOW)
    assert course.value.problems == [
        ("title", "must not be blank"),
        ("validity_months", "must be 1 to 120 months"),
    ]
    with pytest.raises(InvalidInputs) as session:
        tr.new_session(COURSE, session_id="ses_2", held_on=None, place="", actor=CLERK, now=NOW)
    assert session.value.problems == [
        ("held_on", "a date (YYYY-MM-DD) is needed"),
        ("place", "must not be blank"),
    ]
    with pytest.raises(InvalidInputs) as manager:
        tr.new_trainee(
            trainee_id="trn_2",
            market_id="m1",
            district="zhifu",
            name="",
            position=" ",
            actor=CLERK,
            now=NOW,
        )
    assert [field for field, _ in manager.value.problems] == ["name", "position"]
