"""Score changes, assessments, the honour and warning list and objections as the events on
`credit.scores.v1`, `credit.assessments.v1`, `credit.honours.v1` and `credit.objections.v1` carry
them: each built with `services.runtime.outbox.outgoing` (version and topic from the catalog)."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts import credit as c
from contracts import honours as h
from contracts import objections as ob
from contracts.credit import ASSESSMENT_PUBLISHED, SCORE_CHANGED
from contracts.honours import HONOUR_DELISTED, HONOUR_LISTED
from contracts.people import Actor, actor_from
from services.credit.domain import Assessment, Entry, Place, ScoreChange
from services.credit.domain.objections import Objection
from services.credit.store import Drawing
from services.runtime import serial
from services.runtime.outbox import Item, outgoing

SERVICE = "credit"


def score_changed(change: ScoreChange, place: Place, version: int, now: datetime) -> Item:
    a = change.adjustment
    adjustment = None if a is None else serial.into(c.Adjustment, a, cause=serial.into(c.Cause, a))
    data = serial.into(
        c.ScoreChanged,
        change,
        market_id=place.market_id,
        district=place.district,
        version=version,
        adjustment=adjustment,
        changed_at=change.at,
    )
    return outgoing(
        SERVICE,
        SCORE_CHANGED,
        change.merchant_id,
        data,
        # The chain of what moved the score; a fade-out starts its own.
        correlation_id=a.correlation_id if a is not None else None,
        causation_id=a.event_id if a is not None else None,
        time=now,
    )


def assessment_id(a: Assessment) -> str:
    """The same assessment (scope, subject, period, policy) always gets the same id."""
    name = f"{a.key}|{a.period.start.isoformat()}|{a.period.end.isoformat()}|{a.policy_version}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sentinel:credit:assessment:{name}"))


def assessment_data(a: Assessment, now: datetime, by: Actor | None = None) -> c.AssessmentPublished:
    """The published form: the period as its two instants, with the assessment's id, the
    moment it was computed and the person who had it published (None: the schedule)."""
    return serial.into(
        c.AssessmentPublished,
        a,
        period_from=a.period.start,
        period_to=a.period.end,
        grades=dict(a.grades),
        assessment_id=assessment_id(a),
        computed_at=now,
        actor=by,
    )


def assessment_published(a: Assessment, now: datetime, by: Actor | None = None) -> Item:
    return outgoing(SERVICE, ASSESSMENT_PUBLISHED, a.key, assessment_data(a, now, by), time=now)


def _listing(
    event_type: str,
    model: type[h.HonourListed | h.HonourDelisted],
    entry: Entry,
    drawing: Drawing,
) -> Item:
    data = serial.into(
        model,
        entry,
        list=entry.kind,
        drawing_id=drawing.drawing_id,
        month=drawing.month,
        policy_version=drawing.policy_version,
        drawn_at=drawing.drawn_at,
        actor=actor_from(drawing.drawn_by),
    )
    # One month's drawing is one chain: every entry of it shares the drawing's id.
    return outgoing(
        SERVICE,
        event_type,
        entry.entity_id,
        data,
        correlation_id=drawing.drawing_id,
        time=drawing.drawn_at,
    )


def honour_listed(entry: Entry, drawing: Drawing) -> Item:
    """`credit.honour.listed`: the entity is on the month's list of `drawing`, with the rules it
    met."""
    return _listing(HONOUR_LISTED, h.HonourListed, entry, drawing)


def honour_delisted(entry: Entry, drawing: Drawing) -> Item:
    """`credit.honour.delisted`: the entity was on the last list drawn and is not on the month's
    of `drawing` (`entry` is its entry on that last list)."""
    return _listing(HONOUR_DELISTED, h.HonourDelisted, entry, drawing)


def _objection(
    event_type: str,
    model: type[ob.ObjectionFiled | ob.ObjectionDecided | ob.ObjectionWithdrawn],
    o: Objection,
    **more: object,
) -> Item:
    data = serial.into(model, o, disputed=serial.into(ob.Disputed, o), **more)
    # The disputed entry's chain: an objection is part of the story of what it disputes.
    at = o.decided_at if o.decided_at is not None else o.filed_at
    return outgoing(
        SERVICE,
        event_type,
        o.merchant_id,
        data,
        correlation_id=o.correlation_id,
        causation_id=o.event_id,
        time=at,
    )


def objection_filed(o: Objection) -> Item:
    """`credit.objection.filed`: the objection as the district recorded it."""
    return _objection(ob.OBJECTION_FILED, ob.ObjectionFiled, o, actor=o.filed_by)


def objection_decided(o: Objection) -> Item:
    """`credit.objection.decided`: corrected or upheld, and why. Credit reads it back from the
    topic into the ledger (a correction)."""
    return _objection(
        ob.OBJECTION_DECIDED, ob.ObjectionDecided, o, decision=o.state, actor=o.decided_by
    )


def objection_withdrawn(o: Objection) -> Item:
    """`credit.objection.withdrawn`: closed without a decision, and why."""
    return _objection(
        ob.OBJECTION_WITHDRAWN,
        ob.ObjectionWithdrawn,
        o,
        reason=o.reasoning,
        withdrawn_at=o.decided_at,
        actor=o.decided_by,
    )
