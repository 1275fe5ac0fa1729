"""Credit contracts: merchant scores and grades, market and district assessments (考核).

- `credit.scores.v1` (compacted, key = subject = merchant id): `credit.score.changed`, the
  merchant's current score and grade with the previous grade and what moved it — an adjustment
  and the event that caused it, or adjustments fading out after the policy's window. The latest
  record per merchant is its current grade: inspection plans routine patrols from it.
  `correlationid` is the causing event's chain (the risk or complaint at its root); a fade-out
  starts its own chain.
- `credit.assessments.v1` (key = market id, or `district:<code>` for a district's roll-up):
  `credit.assessment.published`, one market's or one district's assessment for a period: a
  market ranked within its district, a district across the city.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
SCORE_CHANGED: Final = "credit.score.changed"
ASSESSMENT_PUBLISHED: Final = "credit.assessment.published"

Grade = Literal["A", "B", "C", "D"]
GRADES: Final[tuple[Grade, ...]] = ("A", "B", "C", "D")
ChangeReason = Literal["adjustment", "fade"]
Scope = Literal["market", "district"]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC)")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]


def district_key(district: str) -> str:
    """The Kafka key of a district's assessment on `credit.assessments.v1`."""
    return f"district:{district}"


class Cause(BaseModel):
    """The event behind an adjustment, with where it was read (topic, partition, offset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    event_type: str
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    correlation_id: str = Field(description="the chain: the risk or complaint at its root")


class Adjustment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(
        description="the policy's name for what happened, e.g. inspection.finding.major"
    )
    delta: int
    reason: str = Field(description="a readable explanation")
    policy_version: str
    occurred_at: Instant = Field(description="when the causing event happened")
    fades_at: Instant = Field(description="when it stops counting")
    cause: Cause


class ScoreChanged(BaseModel):
    """`credit.score.changed` on `credit.scores.v1` (compacted), key = subject = merchant_id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    merchant_id: str
    market_id: str
    district: str
    version: int = Field(ge=1, description="grows by one with every change of the score")
    score: int = Field(ge=0, le=100)
    grade: Grade
    previous_score: int | None = Field(description="null the first time a merchant is scored")
    previous_grade: Grade | None
    policy_version: str = Field(description="the policy the score is computed under")
    reason: ChangeReason
    adjustment: Adjustment | None = Field(description="what moved it (reason `adjustment`)")
    faded: int = Field(
        default=0, ge=0, description="how many adjustments stopped counting (reason `fade`)"
    )
    changed_at: Instant


class AssessmentPublished(BaseModel):
    """`credit.assessment.published` on `credit.assessments.v1`; key = market_id for a market,
    `district:<code>` for a district's roll-up.

    Rates are between 0 and 1, or null when there was nothing to rate in the period.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    assessment_id: str
    scope: Scope
    market_id: str | None = Field(description="null for a district roll-up")
    market_name: str | None
    district: str
    period_from: Instant
    period_to: Instant
    merchants: int = Field(ge=0)
    grades: dict[Grade, int] = Field(description="merchants per grade")
    share_ab: float | None = Field(ge=0, le=1, description="share of merchants graded A or B")
    inspection_pass_rate: float | None = Field(ge=0, le=1)
    rectification_on_time_rate: float | None = Field(ge=0, le=1)
    complaints_within_limit_rate: float | None = Field(ge=0, le=1)
    open_risks: int = Field(ge=0)
    self_inspection_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="the operator's daily self-inspections done / opening days (campaign)",
    )
    report_on_time_rate: float | None = Field(
        default=None, ge=0, le=1, description="the task force's progress reports on time / due"
    )
    certified_share: float | None = Field(
        default=None, ge=0, le=1, description="the market's managers with a valid certificate"
    )
    score: float = Field(ge=0, le=100, description="the weighted composite")
    rank: int | None = Field(ge=1, description="rank within the district (markets only)")
    ranked: int | None = Field(ge=1, description="how many markets the district ranks")
    city_rank: int | None = Field(
        default=None,
        ge=1,
        description="a district's rank among the city's districts by score (districts only; "
        "equal scores share a rank)",
    )
    city_ranked: int | None = Field(
        default=None, ge=1, description="how many districts the city ranks (districts only)"
    )
    policy_version: str
    computed_at: Instant
    actor: Actor | None = Field(
        default=None,
        description="who had it published (an admin's POST /assessments); null when the "
        "schedule published it",
    )
