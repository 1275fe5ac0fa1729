"""Score changes, assessments and the honour and warning list as the events on
`credit.scores.v1`, `credit.assessments.v1` and `credit.honours.v1` carry them: each built with
`services.runtime.outbox.outgoing` (version and topic from the catalog)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts import credit as c
from contracts import honours as h
from services.credit.domain import Assessment, Entry, ScoreChange
from services.runtime.outbox import Item, outgoing

SERVICE = "credit"


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
    return outgoing(
        SERVICE,
        "credit.score.changed",
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


def assessment_data(a: Assessment, now: datetime) -> c.AssessmentPublished:
    return c.AssessmentPublished.model_validate(
        a.to_dict() | {"assessment_id": assessment_id(a), "computed_at": now}
    )


def assessment_published(a: Assessment, now: datetime) -> Item:
    return outgoing(
        SERVICE, "credit.assessment.published", a.key, assessment_data(a, now), time=now
    )


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
    # One month's drawing is one chain: every entry of it shares the drawing's id.
    return outgoing(
        SERVICE, "credit.honour.listed", entry.entity_id, data, correlation_id=drawing_id,
        time=drawn_at,
    )  # fmt: skip


def honour_delisted(
    entry: Entry, *, drawing_id: str, month: str, policy_version: str, drawn_at: datetime
) -> Item:
    """`credit.honour.delisted`: the entity was on the last list drawn and is not on `month`'s
    (`entry` is its entry on that last list)."""
    common = _common(
        entry, drawing_id=drawing_id, month=month, policy_version=policy_version, drawn_at=drawn_at
    )
    data = h.HonourDelisted.model_validate(common)
    return outgoing(
        SERVICE, "credit.honour.delisted", entry.entity_id, data, correlation_id=drawing_id,
        time=drawn_at,
    )  # fmt: skip
