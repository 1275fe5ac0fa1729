"""Training of market managers (培训) and their certificates (合格证).

A course has a title and a validity in months; a session of it is held on a day at a place. The
trainees are a market's managers. Attendance at a session records whether its assessment passed
the person; a pass issues a certificate valid from the session day for the course's validity
(24 months from 2026-03-10 is valid to 2028-03-09, inclusive).

Days are calendar days in the city's time zone: the caller passes `today`, the city's date now.
No I/O: values in, values (or an error naming the field) out.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from contracts.people import Actor
from services.campaign.domain.text import Problems
from services.runtime.failures import Conflict, InvalidInput

MAX_VALIDITY_MONTHS: Final = 120
TITLE_MAX_CHARS: Final = 200
NAME_MAX_CHARS: Final = 100
CertificateStatus = Literal["valid", "expiring", "expired", "none"]


@dataclass(frozen=True, slots=True)
class Course:
    course_id: str
    title: str
    validity_months: int
    created_at: datetime
    actor: Actor | None = None


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    course_id: str
    held_on: date
    place: str
    created_at: datetime
    actor: Actor | None = None


@dataclass(frozen=True, slots=True)
class Trainee:
    """A manager of a market, registered for training."""

    trainee_id: str
    market_id: str
    district: str
    name: str
    position: str
    registered_at: datetime
    actor: Actor | None = None


@dataclass(frozen=True, slots=True)
class Attendance:
    session_id: str
    trainee_id: str
    passed: bool
    recorded_at: datetime
    actor: Actor | None = None


@dataclass(frozen=True, slots=True)
class Certificate:
    certificate_id: str
    trainee_id: str
    market_id: str
    district: str
    course_id: str
    session_id: str
    issued_on: date
    valid_until: date  # inclusive
    issued_at: datetime

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day <= self.valid_until


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; the 31st in a shorter month is its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def valid_until(held_on: date, validity_months: int) -> date:
    """The last day a certificate from a session on `held_on` is valid."""
    return add_months(held_on, validity_months) - timedelta(days=1)


def new_course(
    *, course_id: str, title: str, validity_months: int, actor: Actor | None, now: datetime
) -> Course:
    """A course; every problem of its title and validity named at once."""
    problems = Problems()
    cleaned = problems.text("title", title, limit=TITLE_MAX_CHARS)
    if not 1 <= validity_months <= MAX_VALIDITY_MONTHS:
        problems.add("validity_months", f"must be 1 to {MAX_VALIDITY_MONTHS} months")
    problems.raise_any()
    return Course(course_id, cleaned, validity_months, now, actor)


def new_session(
    course: Course,
    *,
    session_id: str,
    held_on: date | None,
    place: str,
    actor: Actor | None,
    now: datetime,
) -> Session:
    """A session of `course`; its day and its place both named when both are missing."""
    problems = Problems()
    day = problems.day("held_on", held_on)
    where = problems.text("place", place, limit=TITLE_MAX_CHARS)
    problems.raise_any()
    assert day is not None
    return Session(session_id, course.course_id, day, where, now, actor)


def new_trainee(
    *,
    trainee_id: str,
    market_id: str,
    district: str,
    name: str,
    position: str,
    actor: Actor | None,
    now: datetime,
) -> Trainee:
    problems = Problems()
    cleaned = problems.text("name", name, limit=NAME_MAX_CHARS)
    held = problems.text("position", position, limit=NAME_MAX_CHARS)
    problems.raise_any()
    return Trainee(trainee_id, market_id, district, cleaned, held, now, actor)


@dataclass(frozen=True, slots=True)
class Attended:
    attendance: Attendance
    certificate: Certificate | None


def attend(
    course: Course,
    session: Session,
    trainee: Trainee,
    *,
    passed: bool,
    already_recorded: bool,
    certificate_id: str,
    actor: Actor | None,
    today: date,
    now: datetime,
) -> Attended:
    """Record the trainee at the session; a pass issues a certificate from the session day.
    Refused for a session not held yet and for a person already recorded at it."""
    if session.course_id != course.course_id:
        raise ValueError(f"session {session.session_id} is not of course {course.course_id}")
    if session.held_on > today:
        reason = f"the session is held on {session.held_on.isoformat()}; record attendance then"
        raise Conflict(reason, field="session_id")
    if already_recorded:
        reason = f"trainee {trainee.trainee_id} is already recorded at this session"
        raise Conflict(reason, field="trainee_id")
    attendance = Attendance(session.session_id, trainee.trainee_id, passed, now, actor)
    certificate = None
    if passed:
        certificate = Certificate(
            certificate_id,
            trainee.trainee_id,
            trainee.market_id,
            trainee.district,
            course.course_id,
            session.session_id,
            session.held_on,
            valid_until(session.held_on, course.validity_months),
            now,
        )
    return Attended(attendance, certificate)


def valid_certificate(certificates: Iterable[Certificate], today: date) -> Certificate | None:
    """The trainee's certificate valid today that lasts longest, or None."""
    valid = [c for c in certificates if c.valid_on(today)]
    return max(valid, key=lambda c: (c.valid_until, c.issued_on), default=None)


def certificate_status(
    certificates: Iterable[Certificate], today: date, notice_days: int
) -> CertificateStatus:
    """valid; expiring (valid, but its last day is within `notice_days`); expired (had one, none
    valid now); none (never certified, or only from a session still to come)."""
    held = [c for c in certificates if c.issued_on <= today]
    if not held:
        return "none"
    best = valid_certificate(held, today)
    if best is None:
        return "expired"
    return "expiring" if best.valid_until <= today + timedelta(days=notice_days) else "valid"


def expiring(
    certificates: Iterable[Certificate], today: date, within_days: int
) -> list[Certificate]:
    """Certificates valid today whose last day is within `within_days`, leaving out those the
    person has already renewed (another certificate of the same course valid beyond it); soonest
    first."""
    if within_days < 0:
        raise InvalidInput("expiring_within_days", "must not be negative")
    every = list(certificates)
    horizon = today + timedelta(days=within_days)
    found = []
    for cert in every:
        if not (cert.valid_on(today) and cert.valid_until <= horizon):
            continue
        renewed = any(
            other.trainee_id == cert.trainee_id
            and other.course_id == cert.course_id
            and other.valid_until > cert.valid_until
            for other in every
        )
        if not renewed:
            found.append(cert)
    return sorted(found, key=lambda c: (c.valid_until, c.trainee_id))


def certified(trainees: Iterable[Trainee], certificates: Iterable[Certificate], today: date) -> int:
    """How many of `trainees` hold a certificate valid today."""
    ids = {t.trainee_id for t in trainees}
    return len({c.trainee_id for c in certificates if c.trainee_id in ids and c.valid_on(today)})
