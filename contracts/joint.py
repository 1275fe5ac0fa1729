"""Joint work contracts: joint meetings of the departments (联席会议) with their action items, and
joint enforcement cases (联合执法).

- `campaign.meetings.v1`, key = subject = **meeting id**: `campaign.meeting.recorded` (the
  departments present, minutes and decisions, each decision an action item owned by a department
  with a deadline), `campaign.action_item.done` when the owning department reports it done, and
  `campaign.action_item.late` once for an item whose deadline passed undone.
- `campaign.enforcement.v1`, key = subject = **case id**: `campaign.enforcement.opened` (from a
  critical finding or a complaint referred for a case), `campaign.enforcement.decided` (warning,
  fine in fen, or suspension) and `campaign.enforcement.closed`. The credit service turns a
  decided case into an adjustment of the merchant's score through its policy file.

Each enforcement event's `data` is the whole case after the change (`version` grows by one).
Envelope: a case opened from a finding or a complaint carries that chain (`correlationid` of the
risk or complaint at its root when known, else the case's own event id).
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.campaign import Fen, Instant
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
MEETING_RECORDED: Final = "campaign.meeting.recorded"
ACTION_ITEM_DONE: Final = "campaign.action_item.done"
ACTION_ITEM_LATE: Final = "campaign.action_item.late"
ENFORCEMENT_OPENED: Final = "campaign.enforcement.opened"
ENFORCEMENT_DECIDED: Final = "campaign.enforcement.decided"
ENFORCEMENT_CLOSED: Final = "campaign.enforcement.closed"

Department = str
ActionItemState = Literal["open", "done"]
CaseSource = Literal["finding", "complaint"]
CASE_SOURCES: Final[tuple[CaseSource, ...]] = ("finding", "complaint")
CaseState = Literal["open", "decided", "closed"]
CASE_STATES: Final[tuple[CaseState, ...]] = ("open", "decided", "closed")
Sanction = Literal["warning", "fine", "suspension"]
SANCTIONS: Final[tuple[Sanction, ...]] = ("warning", "fine", "suspension")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- joint meetings --------------------------------------------------------------------------


class ActionItem(_Frozen):
    item_id: str = Field(min_length=1)
    decision: str = Field(min_length=1, description="what was decided, as minuted")
    department: Department = Field(min_length=1, description="the department that owns it")
    deadline: date = Field(description="the last day (city time) on which it is on time")
    state: ActionItemState
    done_on: date | None = None
    done_note: str | None = None
    late_flagged_at: Instant | None = Field(default=None, description="set once")


class MeetingRecorded(_Frozen):
    """`campaign.meeting.recorded` on `campaign.meetings.v1`, key = subject = meeting_id."""

    meeting_id: str = Field(min_length=1)
    district: str = Field(description="the district that convened it, or `city`")
    title: str = Field(min_length=1)
    held_on: date
    departments: list[Department] = Field(min_length=1, description="the departments present")
    minutes: str = Field(min_length=1)
    action_items: list[ActionItem]
    recorded_at: Instant
    actor: Actor | None = None


class ActionItemDone(_Frozen):
    """`campaign.action_item.done` on `campaign.meetings.v1`, key = subject = meeting_id."""

    meeting_id: str
    district: str
    item: ActionItem
    on_time: bool
    actor: Actor | None = None


class ActionItemLate(_Frozen):
    """`campaign.action_item.late` on `campaign.meetings.v1`, key = subject = meeting_id.

    An action item's deadline passed undone: flagged once."""

    meeting_id: str
    district: str
    item: ActionItem
    flagged_at: Instant


# -- joint enforcement -----------------------------------------------------------------------


class CaseOrigin(_Frozen):
    kind: CaseSource = Field(description="a critical inspection finding or a referred complaint")
    id: str = Field(min_length=1, description="the inspection task id or the complaint id")


class Decision(_Frozen):
    sanction: Sanction
    fine_fen: Fen | None = Field(default=None, description="fine: the amount in fen (分)")
    suspension_days: int | None = Field(default=None, ge=1, le=365)
    reasoning: str = Field(min_length=1, description="the facts and the legal basis")
    decided_on: date

    @model_validator(mode="after")
    def _sanction_has_its_amount(self) -> Decision:
        if (self.sanction == "fine") != (self.fine_fen is not None and self.fine_fen > 0):
            raise ValueError("a fine, and only a fine, has a positive fine_fen")
        if (self.sanction == "suspension") != (self.suspension_days is not None):
            raise ValueError("a suspension, and only a suspension, has suspension_days")
        return self


class EnforcementCase(_Frozen):
    case_id: str = Field(min_length=1)
    version: int = Field(ge=1)
    state: CaseState
    district: str
    market_id: str
    merchant_id: str | None = Field(description="null for a case against the market's operator")
    origin: CaseOrigin
    departments: list[Department] = Field(min_length=1, description="the departments involved")
    facts: str = Field(min_length=1)
    decision: Decision | None
    closing_note: str | None
    opened_at: Instant
    decided_at: Instant | None
    closed_at: Instant | None
    actor: Actor | None = Field(default=None, description="who made this change")


class EnforcementOpened(EnforcementCase):
    """`campaign.enforcement.opened` on `campaign.enforcement.v1`, key = subject = case_id."""

    state: Literal["open"]


class EnforcementDecided(EnforcementCase):
    """`campaign.enforcement.decided` on `campaign.enforcement.v1`, key = subject = case_id.

    The departments decided the case; credit adjusts the merchant's score by the sanction."""

    state: Literal["decided"]
    decision: Decision
    decided_at: Instant


class EnforcementClosed(EnforcementCase):
    """`campaign.enforcement.closed` on `campaign.enforcement.v1`, key = subject = case_id.

    The decision was carried out (the fine paid, the suspension served)."""

    state: Literal["closed"]
    decision: Decision
    closing_note: str
    closed_at: Instant
