"""Complaints contracts: what integrators submit, and the life of a complaint case.

Two topics (contracts/README.md, "Topics"):

- `complaints.intake.v1` (key: any; the integrator's case number is a good one): complaints from
  integrators' channels — a 12345 hotline bridge, the 12315 platform — as
  `complaints.intake.submitted` events. They carry the same fields as the public
  `POST /complaints` body and get the same validation. The envelope's `source` names the
  integrator (`/integrators/<name>`, see `IntakeEnvelope`); its `id` makes a resubmission
  idempotent. A submission that fails validation is parked on `complaints.intake.v1.dlq` with
  the field and the reason; nothing is stored.
- `complaints.events.v1` (key = subject = complaint id): `complaints.complaint.received`,
  `.accepted`, `.rejected`, `.closed`, `.overdue`. Each event's `data` is the whole public case
  as it is after the change (`version` grows by one per change), so a consumer can build its
  view from any one event. The complainant appears **masked** (`张*`, `138****5678`): the name
  and phone are stored by the complaints service only, never published.

Envelope: `subject` = `correlationid` = the complaint id — a complaint starts its own chain, and
the inspection task it leads to carries it as correlation. `causationid`: the intake event for a
complaint received from the topic; otherwise null (a person or the clock caused it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Final, Generic, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from contracts.envelope import D, Envelope
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
INTAKE_SUBMITTED: Final = "complaints.intake.submitted"
COMPLAINT_RECEIVED: Final = "complaints.complaint.received"
COMPLAINT_ACCEPTED: Final = "complaints.complaint.accepted"
COMPLAINT_REJECTED: Final = "complaints.complaint.rejected"
COMPLAINT_TRANSFERRED: Final = "complaints.complaint.transferred"
COMPLAINT_CLOSED: Final = "complaints.complaint.closed"
COMPLAINT_OVERDUE: Final = "complaints.complaint.overdue"

# -- vocabulary ------------------------------------------------------------------------------

Category = Literal["food_safety", "short_weight", "price", "hygiene", "service", "other"]
CATEGORIES: Final[tuple[Category, ...]] = (
    "food_safety",
    "short_weight",
    "price",
    "hygiene",
    "service",
    "other",
)
Channel = Literal["web", "hotline_12345", "platform_12315", "walk_in", "other"]
CHANNELS: Final[tuple[Channel, ...]] = (
    "web",
    "hotline_12345",
    "platform_12315",
    "walk_in",
    "other",
)
ComplaintState = Literal["received", "accepted", "rejected", "closed"]
STATES: Final[tuple[ComplaintState, ...]] = ("received", "accepted", "rejected", "closed")
CloseOutcome = Literal["mediated", "refunded", "referred_to_case", "unfounded", "withdrawn"]
CLOSE_OUTCOMES: Final[tuple[CloseOutcome, ...]] = (
    "mediated",
    "refunded",
    "referred_to_case",
    "unfounded",
    "withdrawn",
)
Clock = Literal["acceptance", "mediation"]

# A mainland mobile number, or a landline with its area code (dash optional).
PHONE_PATTERN: Final = r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"
_MOBILE = re.compile(r"1[3-9]\d{9}")


def compact_phone(value: object) -> object:
    """A phone as people type it, in the form `PHONE_PATTERN` checks: spaces dropped, and a
    mobile's +86 and dashes (`+86 138-1234-5678` is 13812345678) — as the complaints service's
    own `parse_phone` reads it. Anything else is left for the pattern to refuse."""
    if not isinstance(value, str):
        return value
    compact = re.sub(r"\s", "", value)
    mobile = compact.replace("-", "").removeprefix("+86")
    return mobile if _MOBILE.fullmatch(mobile) else compact


FACTS_MAX_CHARS: Final = 2000
TEXT_MAX_CHARS: Final = 1000
INTEGRATOR_SOURCE_PATTERN: Final = r"^/(sentinel|integrators)/[a-z0-9][a-z0-9_-]*$"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC)")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Text = Annotated[str, AfterValidator(_not_blank)]


# -- intake ------------------------------------------------------------------------------------


class Complainant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text = Field(max_length=50)
    phone: str = Field(
        pattern=PHONE_PATTERN,
        description="a mainland mobile (13812345678) or a landline with area code (0535-1234567)",
    )

    @field_validator("phone", mode="before")
    @classmethod
    def _compact(cls, value: object) -> object:
        return compact_phone(value)


class ComplaintSubmission(BaseModel):
    """A complaint as the public endpoint and integrators submit it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complainant: Complainant
    market_id: str = Field(min_length=1, description="must be a registered market")
    merchant_id: str | None = Field(
        default=None, description="the merchant complained about; must be in that market"
    )
    stall_no: str | None = Field(
        default=None,
        max_length=20,
        description="a stall of that market; resolves the merchant when merchant_id is absent",
    )
    category: Category
    facts: Text = Field(max_length=FACTS_MAX_CHARS, description="what happened")
    request: Text = Field(max_length=TEXT_MAX_CHARS, description="what the complainant asks for")
    channel: Channel = "web"
    occurred_at: Instant | None = Field(default=None, description="when it happened; not future")
    external_ref: str | None = Field(
        default=None, max_length=64, description="the integrator's own case number"
    )


class ComplaintSubmitted(ComplaintSubmission):
    """`complaints.intake.submitted` on `complaints.intake.v1`, from an integrator's channel.

    Key: any (the integrator's case number is a good one). The envelope's `id` makes a
    resubmission idempotent; a submission that fails validation is parked on the DLQ with the
    field and the reason, and nothing is stored.
    """


class IntakeEnvelope(Envelope[D], Generic[D]):
    """The envelope of `complaints.intake.v1`: its `source` is the integrator, not a service."""

    source: str = Field(
        pattern=INTEGRATOR_SOURCE_PATTERN,
        description="/integrators/<name> (e.g. /integrators/hotline-12345) or /sentinel/<service>",
    )


# -- the case ---------------------------------------------------------------------------------


class MaskedComplainant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="first character and a mask, e.g. 张*")
    phone: str = Field(description="first three and last four digits, e.g. 138****5678")


class _Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    complaint_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change of the case")
    tracking_code: str = Field(description="what the complainant tracks the case with")
    state: ComplaintState
    complainant: MaskedComplainant
    market_id: str
    district: str = Field(description="district code of the market")
    merchant_id: str | None
    stall_no: str | None
    category: Category
    facts: str
    request: str
    channel: Channel
    occurred_at: Instant | None
    received_at: Instant
    acceptance_deadline: Instant = Field(description="end of the 7th working day after receipt")
    accepted_at: Instant | None
    mediation_deadline: Instant | None = Field(
        description="end of the 45th working day after acceptance"
    )
    rejected_at: Instant | None
    reject_reason: str | None
    closed_at: Instant | None
    outcome: CloseOutcome | None
    substantiated: bool | None
    satisfaction: int | None = Field(
        ge=1,
        le=5,
        description="the complainant's satisfaction at closing, 1-5; null before closing, or "
        "when they could not be reached for it",
    )
    duplicate_of: str | None = Field(
        description="the earlier complaint this one duplicates (same merchant and category "
        "within 48 h, similar facts); a duplicate never counts for credit"
    )
    duplicates: list[str] = Field(description="later complaints linked to this one")
    acceptance_overdue_at: Instant | None
    mediation_overdue_at: Instant | None
    handled_by: str | None = Field(description="the handler who last decided on the case")
    external_ref: str | None


class ComplaintReceived(_Case):
    """`complaints.complaint.received` on `complaints.events.v1`, key = subject = complaint_id.

    A complaint was registered; acceptance must be decided by `acceptance_deadline`.
    """

    state: Literal["received"]


class ComplaintAccepted(_Case):
    """`complaints.complaint.accepted` on `complaints.events.v1`, key = subject = complaint_id.

    The complaint is accepted for handling; mediation must end by `mediation_deadline`.
    Inspection opens a task (food safety due in 24 h, other categories in 72 h).
    """

    state: Literal["accepted"]
    accepted_at: Instant
    mediation_deadline: Instant
    actor: Actor | None = Field(
        default=None, description="the handler who accepted it (subject and name)"
    )


class ComplaintRejected(_Case):
    """`complaints.complaint.rejected` on `complaints.events.v1`, key = subject = complaint_id."""

    state: Literal["rejected"]
    rejected_at: Instant
    reject_reason: str
    actor: Actor | None = Field(
        default=None, description="the handler who rejected it (subject and name)"
    )


class ComplaintTransferred(_Case):
    """`complaints.complaint.transferred` on `complaints.events.v1`, key = subject = complaint_id.

    A received complaint was moved (移送) to the market it is really about: `market_id` and
    `district` are the new ones, `from_market_id` and `from_district` those it left. The
    acceptance clock restarted at `transferred_at` for the receiving district
    (`acceptance_deadline`). What the complaint counts for follows it: a reader keyed by market
    takes the new one from here on.
    """

    state: Literal["received"]
    transferred_at: Instant
    from_market_id: str
    from_district: str = Field(description="district code of the market it left")
    reason: str = Field(description="why it was moved, as the handler wrote it")
    actor: Actor | None = Field(
        default=None, description="the handler who moved it (subject and name)"
    )


class ComplaintClosed(_Case):
    """`complaints.complaint.closed` on `complaints.events.v1`, key = subject = complaint_id.

    Credit counts it when `substantiated` is true and `duplicate_of` is null.
    """

    state: Literal["closed"]
    closed_at: Instant
    outcome: CloseOutcome
    substantiated: bool
    within_limit: bool = Field(description="closed by the mediation deadline")
    actor: Actor | None = Field(
        default=None, description="the handler who closed it (subject and name)"
    )


class ComplaintOverdue(_Case):
    """`complaints.complaint.overdue` on `complaints.events.v1`, key = subject = complaint_id.

    A clock ran out: acceptance undecided 7 working days after receipt, or mediation still open
    45 working days after acceptance. Published once per clock.
    """

    state: Literal["received", "accepted"]
    clock: Clock
    deadline: Instant
    overdue_at: Instant
