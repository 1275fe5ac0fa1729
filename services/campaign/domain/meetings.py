"""Joint meetings of the departments (联席会议) and their action items (议定事项): pure rules.

A meeting is convened by a district (or by the city, district `city`), on the day it was held,
with the departments present (at least one, each from the catalogue), its minutes, and the
decisions taken; each decision is an action item owned by a known department (present or not)
with a deadline no earlier than the meeting. The owning department reports an item done — on
time when done on or before its deadline day (city time). An item still open after its deadline
day is flagged late once by the clock.

No I/O: values in, values (or an `Invalid` naming the request's fields) out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Literal, TypedDict, Unpack
from zoneinfo import ZoneInfo

from contracts.people import Actor
from services.campaign.domain.joint import (
    LONG_TEXT,
    Departments,
    Problems,
    Unknown,
    WrongState,
    city_day,
)
from services.runtime.ids import new_id

CITY: Final = "city"
MAX_DECISIONS: Final = 100
ItemState = Literal["open", "done"]


@dataclass(frozen=True)
class DecisionInput:
    """A decision as the meeting minuted it: what, which department owns it, by when."""

    decision: str
    department: str
    deadline: date | None


@dataclass(frozen=True)
class ActionItem:
    item_id: str
    meeting_id: str
    position: int
    decision: str
    department: str
    deadline: date
    state: ItemState = "open"
    done_on: date | None = None
    done_note: str | None = None
    done_at: datetime | None = None
    done_actor: Actor | None = None
    late_flagged_at: datetime | None = None

    def past_deadline(self, today: date) -> bool:
        """Still open after its deadline day."""
        return self.state == "open" and today > self.deadline

    @property
    def on_time(self) -> bool | None:
        """Done by the deadline day; None while open."""
        if self.done_on is None:
            return None
        return self.done_on <= self.deadline


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    district: str
    title: str
    held_on: date
    departments: tuple[str, ...]
    minutes: str
    items: tuple[ActionItem, ...]
    recorded_at: datetime
    recorded_actor: Actor | None = None

    def item(self, item_id: str) -> ActionItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)


class Minuted(TypedDict):
    """A meeting as its minutes tell it: the convening district (or `city`), its title, the day
    it was held, the departments present, the minutes and the decisions taken."""

    district: str
    title: str
    held_on: date | None
    departments: Sequence[str]
    minutes: str
    decisions: Sequence[DecisionInput]


def record_meeting(
    *,
    catalogue: Departments,
    known_districts: Collection[str] | None,
    now: datetime,
    tz: ZoneInfo,
    actor: Actor | None = None,
    make_id: Callable[[str], str] = new_id,
    **minuted: Unpack[Minuted],
) -> Meeting:
    """A meeting held, with its action items; `Invalid` naming every offending field.

    `known_districts`: the districts the city has (None: not checked); `city` is always known.
    """
    problems = Problems()
    decisions = minuted["decisions"]
    district = minuted["district"].strip()
    if not district:
        problems.add("district", "must not be blank")
    elif district != CITY and known_districts is not None and district not in known_districts:
        problems.add("district", f"no district {district!r} is known (or use {CITY!r})")
    title = problems.text("title", minuted["title"])
    today = city_day(now, tz)
    held_on = problems.day("held_on", minuted["held_on"])
    if held_on and held_on > today:
        problems.add("held_on", f"a meeting is recorded once held: not after {today}")
    present = catalogue.check(minuted["departments"], "departments", problems)
    minutes = problems.text("minutes", minuted["minutes"], limit=LONG_TEXT)
    if len(decisions) > MAX_DECISIONS:
        problems.add("decisions", f"at most {MAX_DECISIONS} decisions per meeting")
    checked: list[tuple[str, str, date]] = []
    for index, d in enumerate(decisions[:MAX_DECISIONS]):
        at = f"decisions.{index}"
        text = problems.text(f"{at}.decision", d.decision)
        owner = d.department.strip()
        if owner not in catalogue:
            problems.add(
                f"{at}.department",
                f"unknown department {owner!r}; known: {catalogue.known()}",
            )
        deadline = problems.day(f"{at}.deadline", d.deadline)
        if deadline and held_on and deadline < held_on:
            problems.add(f"{at}.deadline", f"must not be before the meeting ({held_on})")
        elif deadline:
            checked.append((text, owner, deadline))
    problems.raise_any()
    assert held_on is not None
    meeting_id = make_id("mtg")
    items = tuple(
        ActionItem(
            item_id=make_id("item"),
            meeting_id=meeting_id,
            position=position,
            decision=text,
            department=owner,
            deadline=deadline,
        )
        for position, (text, owner, deadline) in enumerate(checked, start=1)
    )
    return Meeting(
        meeting_id=meeting_id,
        district=district,
        title=title,
        held_on=held_on,
        departments=present,
        minutes=minutes,
        items=items,
        recorded_at=now,
        recorded_actor=actor,
    )


def mark_done(
    meeting: Meeting,
    item_id: str,
    *,
    note: str,
    now: datetime,
    tz: ZoneInfo,
    actor: Actor | None = None,
) -> tuple[Meeting, ActionItem]:
    """The owning department reports the item done today (city time): on time by the deadline
    day, late after it. `Unknown` for an item not in the meeting, `WrongState` when done. Who
    may report it is the use case's to check first (ownership.may_report_done)."""
    item = meeting.item(item_id)
    if item is None:
        raise Unknown("item_id", f"meeting {meeting.meeting_id} has no action item {item_id!r}")
    if item.state == "done":
        raise WrongState("action item", item_id, "done", "mark it done again")
    problems = Problems()
    cleaned = problems.text("note", note, limit=LONG_TEXT)
    problems.raise_any()
    done = replace(
        item,
        state="done",
        done_on=city_day(now, tz),
        done_note=cleaned,
        done_at=now,
        done_actor=actor,
    )
    items = tuple(done if i.item_id == item_id else i for i in meeting.items)
    return replace(meeting, items=items), done


def flag_late(item: ActionItem, now: datetime, tz: ZoneInfo) -> ActionItem | None:
    """The item flagged late, once: open after its deadline day and not flagged before; None
    when there is nothing to flag."""
    if item.late_flagged_at is not None or not item.past_deadline(city_day(now, tz)):
        return None
    return replace(item, late_flagged_at=now)
