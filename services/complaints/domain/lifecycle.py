"""Receive, accept, reject, transfer and close complaints, and the working-day clocks.

    received ──accept──► accepted ──close──► closed
      │ ▲  └───reject──► rejected
      └─┘ transfer (移送) to the market the complaint is really about
    acceptance clock: from receipt, `policy.acceptance_working_days` (7) working days
    mediation clock:  from acceptance, `policy.mediation_working_days` (45) working days
    overdue mark:     a running clock past its deadline, once per clock (state unchanged)

A deadline is the end (23:59:59.999999, city time) of the n-th working day after the day the
clock started, so "within 7 working days" includes the 7th. A late decision is still allowed:
the overdue mark stays, and `decided_in_time` / `closed_in_time` say how it went.

Each function returns the changed complaint or raises `IllegalTransition` (409, carrying the
current state) or `InvalidComplaint` (422, naming every offending field) having changed nothing.
A blank `by` or a naive `now` is the caller's bug, not the user's: ValueError. `by` is the
handler as an `Actor` (subject and name), recorded as `accepted_actor`, `rejected_actor` or
`closed_actor`, its subject as `handled_by`; a bare subject is an actor named by it.

Transfer rule: only a received complaint moves (once accepted or rejected, its district has
decided on it), to another market, with a reason; the merchant and stall go with the old market
unless the new one's are named. The receiving district's handlers get their own acceptance clock,
started at the transfer; an overdue mark of the old clock stays in the transfer's record.

Closing rule: the outcomes `unfounded` and `withdrawn` say the complaint was not borne out, so
closing with one of them and `substantiated: true` is refused (422 on `substantiated`) rather
than silently corrected; `mediated`, `refunded` and `referred_to_case` take either value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from contracts.people import Actor
from services.complaints.domain.errors import IllegalTransition, InvalidComplaint, LinkedDuplicate
from services.complaints.domain.model import (
    CATEGORIES,
    CHANNELS,
    FACTS_MAX_CHARS,
    ID_MAX_CHARS,
    NAME_MAX_CHARS,
    OUTCOMES,
    REASON_MAX_CHARS,
    REQUEST_MAX_CHARS,
    TRACKING_ALPHABET,
    UNSUBSTANTIATED_OUTCOMES,
    Complainant,
    Complaint,
    Transfer,
    new_complaint_id,
    new_tracking_code,
    parse_phone,
    parse_tracking_code,
)
from services.complaints.domain.policy import Policy
from services.runtime.clock import aware
from services.runtime.work_calendar import WorkCalendar

# How far `occurred_at` may lie ahead of the service's clock: a complainant's phone may run a
# little fast; anything more is a mistake.
OCCURRED_AT_SKEW = timedelta(minutes=5)
STALL_NO_MAX_CHARS = 32
Problem = tuple[str, str]


def receive(
    *,
    name: str,
    phone: str,
    market_id: str,
    district: str,
    category: str,
    facts: str,
    channel: str,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    request: str = "",
    merchant_id: str | None = None,
    stall_no: str | None = None,
    occurred_at: datetime | None = None,
    complaint_id: str | None = None,
    tracking_code: str | None = None,
    found: Sequence[Problem] = (),
) -> Complaint:
    """A new complaint, `received`, its acceptance clock started at `now`.

    Checks every field at once (errors name the request body's fields: `complainant.name`,
    `complainant.phone`, `market_id`, `merchant_id`, `stall_no`, `category`, `facts`,
    `request`, `channel`, `occurred_at`). The market's existence and the merchant / stall are
    the service's to resolve first: what it `found` wrong with them is told with the fields' own
    problems, first (a field it names is not named twice), and `district` is the market's
    (blank only with such a problem). Text is trimmed; an empty optional id or stall counts as
    absent. `complaint_id` and `tracking_code` are drawn fresh unless given (a derived id for
    an intake message, fixed values in tests).
    """
    now = aware(now)
    problems: list[Problem] = []

    name = _text(name, "complainant.name", NAME_MAX_CHARS, problems, required=True)
    try:
        phone = parse_phone(phone)
    except ValueError as exc:
        problems.append(("complainant.phone", str(exc)))
    market_id = _text(market_id, "market_id", ID_MAX_CHARS, problems, required=True)
    merchant = _optional(merchant_id, "merchant_id", ID_MAX_CHARS, problems)
    stall = _optional(stall_no, "stall_no", STALL_NO_MAX_CHARS, problems)
    if category not in CATEGORIES:
        problems.append(("category", f"must be one of {', '.join(CATEGORIES)}"))
    if channel not in CHANNELS:
        problems.append(("channel", f"must be one of {', '.join(CHANNELS)}"))
    facts = _text(facts, "facts", FACTS_MAX_CHARS, problems, required=True)
    request = _text(request, "request", REQUEST_MAX_CHARS, problems, required=False)
    if occurred_at is not None:
        late = occurred_at_problem(occurred_at, now)
        if late is not None:
            problems.append(("occurred_at", late))
        else:
            occurred_at = aware(occurred_at, "occurred_at")
    named = {field for field, _ in found}
    problems = [*found, *(p for p in problems if p[0] not in named)]
    InvalidComplaint.raise_any(problems)
    if not district.strip():
        raise ValueError("district must name the market's district")

    if complaint_id is not None and not complaint_id.strip():
        raise ValueError("complaint_id must not be blank")
    if tracking_code is not None and parse_tracking_code(tracking_code) != tracking_code:
        raise ValueError(f"tracking_code must be canonical ({TRACKING_ALPHABET})")
    return Complaint(
        complaint_id=complaint_id or new_complaint_id(),
        tracking_code=tracking_code or new_tracking_code(),
        complainant=Complainant(name, phone),
        market_id=market_id,
        district=district,
        merchant_id=merchant,
        stall_no=stall,
        category=category,
        facts=facts,
        request=request,
        channel=channel,
        occurred_at=occurred_at,
        received_at=now,
        acceptance_deadline=_acceptance_deadline(now, policy, calendar),
    )


def occurred_at_problem(occurred_at: object, now: datetime) -> str | None:
    """Why a complaint's `occurred_at` is refused (None when it is not): it is a date and time
    with its timezone, and not ahead of `now` beyond a fast phone's clock."""
    if not isinstance(occurred_at, datetime):
        return "must be a date and time"
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        return "must carry a timezone"
    if aware(occurred_at, "occurred_at") > aware(now) + OCCURRED_AT_SKEW:
        return "must not be in the future"
    return None


def accept(
    complaint: Complaint,
    *,
    by: Actor | str,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
) -> Complaint:
    """Accept (受理) a received complaint and start the mediation clock at `now`."""
    now, actor = _deciding(complaint, by, now, "received", "accept")
    return complaint.next(
        state="accepted",
        accepted_at=now,
        mediation_deadline=calendar.deadline_at(
            now, policy.mediation_working_days, policy.timezone
        ),
        handled_by=actor.subject,
        accepted_actor=actor,
    )


def reject(complaint: Complaint, *, by: Actor | str, reason: str, now: datetime) -> Complaint:
    """Reject (不予受理) a received complaint; the reason is required and shown to the public."""
    now, actor = _deciding(complaint, by, now, "received", "reject")
    problems: list[tuple[str, str]] = []
    reason = _text(reason, "reason", REASON_MAX_CHARS, problems, required=True)
    InvalidComplaint.raise_any(problems)
    return complaint.next(
        state="rejected",
        rejected_at=now,
        rejection_reason=reason,
        handled_by=actor.subject,
        rejected_actor=actor,
    )


def transfer(
    complaint: Complaint,
    *,
    by: Actor | str,
    market_id: str,
    district: str,
    reason: str,
    now: datetime,
    policy: Policy,
    calendar: WorkCalendar,
    merchant_id: str | None = None,
    stall_no: str | None = None,
    found: Sequence[Problem] = (),
) -> Complaint:
    """Transfer (移送) a received complaint to the market it is really about, which the service
    has resolved to its `district` (and to the merchant at `stall_no`, if one was named): what it
    `found` wrong with them comes first, as in `receive`. The acceptance clock restarts at `now`
    for the receiving district; the move is recorded in `transfers`. Refused: another state
    (IllegalTransition), a complaint linked as a duplicate either way (LinkedDuplicate), the
    market it already names, or a blank reason (InvalidComplaint, every field at once)."""
    now, actor = _deciding(complaint, by, now, "received", "transfer")
    if complaint.duplicate_of is not None or complaint.duplicates:
        raise LinkedDuplicate(complaint.complaint_id, "transfer")
    problems: list[Problem] = []
    market_id = _text(market_id, "market_id", ID_MAX_CHARS, problems, required=True)
    if market_id and market_id == complaint.market_id:
        problems.append(("market_id", "is already the market of this complaint"))
    reason = _text(reason, "reason", REASON_MAX_CHARS, problems, required=True)
    named = {field for field, _ in found}
    problems = [*found, *(p for p in problems if p[0] not in named)]
    InvalidComplaint.raise_any(problems)
    if not district.strip():
        raise ValueError("district must name the market's district")
    moved = Transfer(
        from_market_id=complaint.market_id,
        from_district=complaint.district,
        to_market_id=market_id,
        to_district=district,
        reason=reason,
        actor=actor,
        at=now,
        overdue_at=complaint.acceptance_overdue_at,
    )
    return complaint.next(
        market_id=market_id,
        district=district,
        merchant_id=merchant_id,
        stall_no=stall_no,
        acceptance_deadline=_acceptance_deadline(now, policy, calendar),
        acceptance_overdue_at=None,
        handled_by=actor.subject,
        transfers=(*complaint.transfers, moved),
    )


def close(
    complaint: Complaint,
    *,
    by: Actor | str,
    outcome: str,
    substantiated: bool,
    satisfaction: int | None,
    now: datetime,
) -> Complaint:
    """Close an accepted complaint with its outcome, whether it was substantiated, and the
    complainant's satisfaction (1-5), None when they could not be reached for it (未能回访: a
    case is not held open past its limit for a rating nobody can give). `unfounded` and
    `withdrawn` refuse `substantiated: true`."""
    now, actor = _deciding(complaint, by, now, "accepted", "close")
    given = {"outcome": outcome, "substantiated": substantiated, "satisfaction": satisfaction}
    problems = closing_problems(given)
    InvalidComplaint.raise_any(problems)
    return complaint.next(
        state="closed",
        closed_at=now,
        outcome=outcome,
        substantiated=substantiated,
        satisfaction=satisfaction,
        handled_by=actor.subject,
        closed_actor=actor,
    )


def closing_problems(given: Mapping[str, object]) -> list[Problem]:
    """What is wrong with a closing's fields, of those `given` (`outcome`, `substantiated`,
    `satisfaction`, None for 未能回访; a form's checks run on the fields that fitted the
    request): whether it was substantiated is weighed against the outcome when both are given."""
    problems: list[Problem] = []
    outcome = given.get("outcome")
    if "outcome" in given and outcome not in OUTCOMES:
        problems.append(("outcome", f"must be one of {', '.join(OUTCOMES)}"))
    if "substantiated" in given:
        substantiated = given["substantiated"]
        if not isinstance(substantiated, bool):
            problems.append(("substantiated", "must be true or false"))
        elif substantiated and outcome in UNSUBSTANTIATED_OUTCOMES:
            problems.append(
                ("substantiated", f"a complaint closed as {outcome} cannot be substantiated")
            )
    if "satisfaction" in given and given["satisfaction"] is not None:
        satisfaction = given["satisfaction"]
        if isinstance(satisfaction, bool) or not isinstance(satisfaction, int):
            problems.append(("satisfaction", "must be an integer from 1 to 5"))
        elif not 1 <= satisfaction <= 5:
            problems.append(("satisfaction", f"must be from 1 to 5, got {satisfaction}"))
    return problems


# -- clocks --------------------------------------------------------------------------------------


def mark_overdue(complaint: Complaint, now: datetime) -> Complaint | None:
    """Mark the running clock overdue when `now` is past its deadline; None when it is not, or
    it is already marked. The scheduler may call this as often as it likes: each clock is
    marked (and published `overdue`) once. `complaint.running_clock` of the result says which."""
    now = aware(now)
    deadline = complaint.current_deadline
    if deadline is None or complaint.overdue_marked_at is not None or now <= deadline:
        return None
    if complaint.running_clock == "acceptance":
        return complaint.next(acceptance_overdue_at=now)
    return complaint.next(mediation_overdue_at=now)


def working_days_left(
    complaint: Complaint, now: datetime, policy: Policy, calendar: WorkCalendar
) -> int | None:
    """Working days after today (city time) up to the running clock's deadline day: 0 on the
    deadline's own day, negative once past it; None when no clock runs."""
    deadline = complaint.current_deadline
    if deadline is None:
        return None
    today = calendar.local_date(aware(now), policy.timezone)
    return calendar.working_days_between(today, calendar.local_date(deadline, policy.timezone))


def nearing(complaint: Complaint, now: datetime, policy: Policy, calendar: WorkCalendar) -> bool:
    """The running clock has not expired and at most `policy.nearing_working_days` working days
    remain after today. Past the deadline it is overdue instead, not nearing."""
    now = aware(now)
    deadline = complaint.current_deadline
    if deadline is None or now > deadline:
        return False
    left = working_days_left(complaint, now, policy, calendar)
    return left is not None and left <= policy.nearing_working_days


# -- helpers -------------------------------------------------------------------------------------


def _acceptance_deadline(start: datetime, policy: Policy, calendar: WorkCalendar) -> datetime:
    """The end of an acceptance clock started at `start`: a receipt's, or a transfer's."""
    return calendar.deadline_at(start, policy.acceptance_working_days, policy.timezone)


def _deciding(
    complaint: Complaint, by: Actor | str, now: datetime, state: str, action: str
) -> tuple[datetime, Actor]:
    """`now` in UTC and the handler deciding `action`, which only a complaint in `state` takes;
    IllegalTransition otherwise."""
    now = aware(now)
    actor = _actor(by)
    if complaint.state != state:
        raise IllegalTransition(complaint.complaint_id, complaint.state, action)
    return now, actor


def _actor(by: Actor | str) -> Actor:
    """The handler deciding: an `Actor`, or a bare subject that is its own name."""
    if isinstance(by, Actor):
        return by
    if not by.strip():
        raise ValueError("by must name the handler")
    return Actor.of(by)


def _text(
    value: object, field: str, limit: int, problems: list[tuple[str, str]], *, required: bool
) -> str:
    if not isinstance(value, str):
        problems.append((field, "must be text"))
        return ""
    text = value.strip()
    if required and not text:
        problems.append((field, "must not be empty"))
    elif len(text) > limit:
        problems.append((field, f"at most {limit} characters, got {len(text)}"))
    return text


def _optional(
    value: str | None, field: str, limit: int, problems: list[tuple[str, str]]
) -> str | None:
    if value is None:
        return None
    text = _text(value, field, limit, problems, required=False)
    return text or None
