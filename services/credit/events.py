"""Score changes and assessments as the events on `credit.scores.v1` and
`credit.assessments.v1` carry them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts import credit as c
from contracts import topics
from contracts.envelope import Envelope, make_event
from services.credit.domain import Assessment, ScoreChange

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
