"""Pure complaint rules: intake, decisions, working-day clocks, duplicates. No I/O, no clock.

Every function takes the state the service loaded and `now` (an aware datetime from an
injectable clock) and returns the changed complaint; the service stores it with its events in
one transaction.

    policy = Policy.from_dict(overrides)              # the defaults, configurable
    calendar = WorkCalendar.from_dict(parsed)         # read by services/complaints/policy_files.py
    # POST /complaints and complaints.intake.v1 (the service resolves market and merchant first)
    new = receive(name=..., phone=..., market_id=..., district=market.district,
                  merchant_id=..., stall_no=..., category="short_weight", facts=..., request=...,
                  channel="web", now=now, policy=policy, calendar=calendar)
    root_id = find_duplicate(new, store.recent(new.merchant_id, new.category), policy)
    if root_id: root, new = link(store.get(root_id), new)
    # POST /complaints/{id}/accept, /reject, /close
    accept(c, by=handler, now=now, policy=policy, calendar=calendar)
    reject(c, by=handler, reason="不属于本部门管辖", now=now)
    # POST /complaints/{id}/transfer (the service resolves the new market's district first)
    transfer(c, by=handler, market_id=..., district=market.district, reason="投诉对象在幸福市场",
             now=now, policy=policy, calendar=calendar)
    close(c, by=handler, outcome="refunded", substantiated=True, satisfaction=5, now=now)
    # Scheduler: overdue marks (each clock published once) and the nearing list
    mark_overdue(c, now); nearing(c, now, policy, calendar)

Errors: `IllegalTransition` (a 409 carrying the current state) and `InvalidComplaint` (a 422
naming every offending field) extend the runtime's plain failures (services/runtime/failures.py).
"""

from services.complaints.domain.duplicates import (
    bigrams,
    find_duplicate,
    is_candidate,
    link,
    normalise,
    similarity,
)
from services.complaints.domain.errors import IllegalTransition, InvalidComplaint, LinkedDuplicate
from services.complaints.domain.lifecycle import (
    OCCURRED_AT_SKEW,
    accept,
    close,
    mark_overdue,
    nearing,
    receive,
    reject,
    transfer,
    working_days_left,
)
from services.complaints.domain.model import (
    CATEGORIES,
    CHANNELS,
    FACTS_MAX_CHARS,
    OPEN_STATES,
    OUTCOMES,
    REASON_MAX_CHARS,
    REQUEST_MAX_CHARS,
    STATES,
    TRACKING_ALPHABET,
    TRACKING_CODE_LENGTH,
    UNSUBSTANTIATED_OUTCOMES,
    Clock,
    Complainant,
    Complaint,
    Transfer,
    derive_complaint_id,
    mask_name,
    mask_phone,
    new_complaint_id,
    new_tracking_code,
    parse_phone,
    parse_tracking_code,
)
from services.complaints.domain.policy import DEFAULT_POLICY, Policy, parse_duration
from services.runtime.clock import aware
from services.runtime.work_calendar import (
    WorkCalendar,
    YearSchedule,
    resolve_timezone,
)

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_POLICY",
    "FACTS_MAX_CHARS",
    "OCCURRED_AT_SKEW",
    "OPEN_STATES",
    "OUTCOMES",
    "REASON_MAX_CHARS",
    "REQUEST_MAX_CHARS",
    "STATES",
    "TRACKING_ALPHABET",
    "TRACKING_CODE_LENGTH",
    "UNSUBSTANTIATED_OUTCOMES",
    "Clock",
    "Complainant",
    "Complaint",
    "IllegalTransition",
    "InvalidComplaint",
    "LinkedDuplicate",
    "Policy",
    "Transfer",
    "WorkCalendar",
    "YearSchedule",
    "accept",
    "aware",
    "bigrams",
    "close",
    "derive_complaint_id",
    "find_duplicate",
    "is_candidate",
    "link",
    "mark_overdue",
    "mask_name",
    "mask_phone",
    "nearing",
    "new_complaint_id",
    "new_tracking_code",
    "normalise",
    "parse_duration",
    "parse_phone",
    "parse_tracking_code",
    "receive",
    "reject",
    "resolve_timezone",
    "similarity",
    "transfer",
    "working_days_left",
]
