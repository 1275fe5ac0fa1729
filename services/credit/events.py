"""Score changes, assessments and the honour and warning list as the events on
`credit.scores.v1`, `credit.assessments.v1` and `credit.honours.v1` carry them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts import credit as c
from contracts import honours as h
from contracts import topics
from contracts.envelope import Envelope, make_event
from contracts.events import spec
from services.credit.domain import Assessment, Entry, ScoreChange

Item = tuple[str, Envelope[Any], str]


def score_changed(
    change: ScoreChange, *, market_id: str, district: str, version: int, now: datetime
) -> Item:
    a = change.adjustment
    adjustment = None
    if a is not None:
        adjustment = c.Adjustment(
            kind=a.kind,
            delta=a.delta,
            reason=a.reason,
            policy_version=a.policy_version,
            occurred_at=a.occurred_at,
            fades_at=a.fades_at,
            cause=c.Cause(
                event_id=a.event_id,
                event_type=a.event_type,
                topic=a.topic,
                partition=a.partition,
                offset=a.offset,
                correlation_id=a.correlation_id,
            ),
        )
    data = c.ScoreChanged(
        merchant_id=change.merchant_id,
        market_id=market_id,
        district=district,
        version=version,
        score=change.score,
        grade=change.grade,
        previous_score=change.previous_score,
        previous_grade=change.previous_grade,
        policy_version=change.policy_version,
        reason=change.reason,
        adjustment=adjustment,
        faded=change.faded,
        changed_at=change.at,
    )
    event = make_event(
        service="credit",
        event_type="credit.score.changed",
        version=1,
        subject=change.merchant_id,
        data=data,
        # The chain of what moved the score; a fade-out starts its own.
        correlation_id=a.correlation_id if a is not None else None,
        causation_id=a.event_id if a is not None else None,
        time=now,
    )
    return (topics.CREDIT_SCORES.name, event, change.merchant_id)


def assessment_id(a: Assessment) -> str:
    """The same assessment (scope, subject, period, policy) always gets the same id."""
    name = f"{a.key}|{a.period.start.isoformat()}|{a.period.end.isoformat()}|{a.policy_version}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sentinel:credit:assessment:{name}"))


def assessment_data(a: Assessment, now: datetime) -> c.AssessmentPublished:
    return c.AssessmentPublished.model_validate(
        a.to_dict() | {"assessment_id": assessment_id(a), "computed_at": now}
    )


def assessment_published(a: Assessment, now: datetime) -> Item:
    data = assessment_data(a, now)
    event = make_event(
        service="credit",
        event_type="credit.assessment.published",
        version=1,
        subject=a.key,
        data=data,
        time=now,
    )
    return (topics.CREDIT_ASSESSMENTS.name, event, a.key)


def _honour(
    event_type: str,
    data: h.HonourListed | h.HonourDelisted,
    entry: Entry,
    drawing_id: str,
    now: datetime,
) -> Item:
    event = make_event(
        service="credit",
        event_type=event_type,
        version=spec(event_type).version,
        subject=entry.entity_id,
        data=data,
        # One month's drawing is one chain: every entry of it shares the drawing's id.
        correlation_id=drawing_id,
        time=now,
    )
    return (topics.CREDIT_HONOURS.name, event, entry.entity_id)


def _common(
    entry: Entry, *, drawing_id: str, month: str, policy_version: str, drawn_at: datetime
) -> dict[str, Any]:
    return {
        "drawing_id": drawing_id,
        "month": month,
        "list": entry.kind,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "name": entry.name,
        "market_id": entry.market_id,
        "district": entry.district,
        "policy_version": policy_version,
        "drawn_at": drawn_at,
    }


def honour_listed(
    entry: Entry, *, drawing_id: str, month: str, policy_version: str, drawn_at: datetime
) -> Item:
    """`credit.honour.listed`: the entity is on the month's list, with the rules it met."""
    common = _common(
        entry, drawing_id=drawing_id, month=month, policy_version=policy_version, drawn_at=drawn_at
    )
    data = h.HonourListed.model_validate(common | {"reasons": list(entry.reasons)})
    return _honour("credit.honour.listed", data, entry, drawing_id, drawn_at)


def honour_delisted(
    entry: Entry, *, drawing_id: str, month: str, policy_version: str, drawn_at: datetime
) -> Item:
    """`credit.honour.delisted`: the entity was on the last list drawn and is not on `month`'s
    (`entry` is its entry on that last list)."""
    common = _common(
        entry, drawing_id=drawing_id, month=month, policy_version=policy_version, drawn_at=drawn_at
    )
    data = h.HonourDelisted.model_validate(common)
    return _honour("credit.honour.delisted", data, entry, drawing_id, drawn_at)
