"""Suggestions (意见建议) as immutable values: a citizen's suggestion about a market or the city's
campaign, and a handler's answer. Pure: the service passes `now` and the market's district.

    s = receive_suggestion(about="market", market_id=..., district=market.district, text=...,
                           name=None, phone=None, publish_answer=True, now=now,
                           project_id=None)   # or a renovation plan open for comment
    s = answer_suggestion(s, answer="已责成市场整改", by=handler, now=now)   # once; then 409
    s.public_status()   # the tracking page: nothing personal
    s.public_view()     # the public list: text and answer, only when the author agreed

Who sees and answers them (`may_read`, `may_answer`): a market's suggestion belongs to the
market's district — its handlers answer, its handlers and leaders read; city-wide staff (`*`
tokens, admin) read and answer every one. A campaign suggestion is the whole city's: every
handler (any district) reads and answers it, every leader reads it, so none waits for a
city-level handler the city may not have.

A suggestion may name a renovation plan open for comment (`project_id`, 征求群众意见): the
campaign service, which owns the plans, attaches it to the plan's consultation when that is
open; here it is only kept and passed on (at most 64 characters).

The author's name and phone are optional; kept in clear in the service's database for staff
who call back, published only masked (`mask_name`, `mask_phone`) and never shown publicly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from contracts.people import Actor, actor_dict
from contracts.suggestions import ANSWER_MAX_CHARS, NAME_MAX_CHARS, SUGGESTION_MAX_CHARS
from services.complaints.domain.errors import InvalidComplaint
from services.complaints.domain.model import (
    _ts,
    mask_name,
    mask_phone,
    new_tracking_code,
    parse_phone,
)
from services.runtime.clock import aware
from services.runtime.failures import Conflict

ABOUTS: Final = ("market", "campaign")
ALL_DISTRICTS: Final = "*"
_READERS: Final = frozenset({"handler", "leader"})
_ANSWERERS: Final = frozenset({"admin", "handler"})
PROJECT_ID_MAX_CHARS: Final = 64


def new_suggestion_id(uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """`sug_<16 hex>`, the services' id shape."""
    return f"sug_{uuid_factory().hex[:16]}"


class AlreadyAnswered(Conflict):
    """A suggestion is answered once; a second answer is a 409."""

    def __init__(self, suggestion_id: str) -> None:
        reason = f"suggestion {suggestion_id} is already answered"
        super().__init__(reason, field="state")


@dataclass(frozen=True, slots=True)
class Suggestion:
    suggestion_id: str
    tracking_code: str
    about: str
    market_id: str | None
    district: str | None  # the market's; None for the campaign
    text: str
    name: str | None
    phone: str | None  # canonical (`parse_phone`)
    publish_answer: bool
    received_at: datetime
    state: str = "received"
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: Actor | None = None
    version: int = 1
    # A renovation plan open for comment this suggestion comments on (the campaign's project);
    # absent from suggestions stored before plans were open for comment.
    project_id: str | None = None

    # -- who may see it ------------------------------------------------------------------------
    # A person may when any of the roles they hold may (not only the one their token names first).
    def may_read(self, roles: AbstractSet[str], district: str) -> bool:
        if "admin" in roles or district == ALL_DISTRICTS:
            return True
        if not roles & _READERS:
            return False
        return self.about == "campaign" or district == self.district

    def may_answer(self, roles: AbstractSet[str], district: str) -> bool:
        return bool(roles & _ANSWERERS) and self.may_read(roles, district)

    # -- views -----------------------------------------------------------------------------------
    def masked_author(self) -> dict[str, str | None]:
        return {
            "name": None if self.name is None else mask_name(self.name),
            "phone": None if self.phone is None else mask_phone(self.phone),
        }

    def public_status(self) -> dict[str, Any]:
        """The tracking page: what it is about, whether answered, the answer — nothing personal."""
        return {
            "about": self.about,
            "market_id": self.market_id,
            "status": self.state,
            "answer": self.answer,
            "answered_at": _ts(self.answered_at),
        }

    @property
    def public(self) -> bool:
        """Shown on the public list: answered, and the author agreed."""
        return self.state == "answered" and self.publish_answer

    def public_view(self) -> dict[str, Any]:
        """The public list's entry: the text and the answer as written; never name or phone."""
        return {
            "id": self.suggestion_id,
            "about": self.about,
            "market_id": self.market_id,
            "text": self.text,
            "answer": self.answer,
            "answered_at": _ts(self.answered_at),
        }

    def staff_view(self) -> dict[str, Any]:
        """What staff see: everything, the author's contact details too (to call back)."""
        return {
            "id": self.suggestion_id,
            "tracking_code": self.tracking_code,
            "about": self.about,
            "market_id": self.market_id,
            "district": self.district,
            "project_id": self.project_id,
            "text": self.text,
            "author": {"name": self.name, "phone": self.phone},
            "publish_answer": self.publish_answer,
            "state": self.state,
            "received_at": _ts(self.received_at),
            "answer": self.answer,
            "answered_at": _ts(self.answered_at),
            "answered_by": actor_dict(self.answered_by),
            "version": self.version,
        }


def about_problems(
    about: str | None, market_id: str | None, district: str | None
) -> list[tuple[str, str]]:
    """What is wrong with what a suggestion is about: `about` is one of `ABOUTS`, and a market
    (its `district` when registered, else None) is named for a market and only then. With
    `about` unknown (None: a form's checks run on the fields that fitted the request), only
    whether a market named is registered."""
    unregistered = ("market_id", f"no market {market_id!r} is registered")
    if about is None:
        return [unregistered] if market_id and not district else []
    if about not in ABOUTS:
        return [("about", f"must be one of {', '.join(ABOUTS)}")]
    if about == "market" and not market_id:
        return [("market_id", "is required when about is market")]
    if about == "campaign" and market_id:
        return [("market_id", "only for about=market; leave it out for the campaign")]
    if about == "market" and not district:
        return [unregistered]
    return []


def receive_suggestion(
    *,
    about: str,
    market_id: str | None,
    district: str | None,
    text: str,
    name: str | None,
    phone: str | None,
    publish_answer: bool,
    now: datetime,
    suggestion_id: str | None = None,
    tracking_code: str | None = None,
    project_id: str | None = None,
) -> Suggestion:
    """A new suggestion; InvalidComplaint (422) names every offending field at once."""
    problems = about_problems(about, market_id, district)
    text = text.strip()
    if not text:
        problems.append(("text", "must not be blank"))
    elif len(text) > SUGGESTION_MAX_CHARS:
        problems.append(("text", f"at most {SUGGESTION_MAX_CHARS} characters"))
    name = (name or "").strip() or None
    if name is not None and len(name) > NAME_MAX_CHARS:
        problems.append(("name", f"at most {NAME_MAX_CHARS} characters"))
    project_id = (project_id or "").strip() or None
    if project_id is not None and len(project_id) > PROJECT_ID_MAX_CHARS:
        problems.append(("project_id", f"at most {PROJECT_ID_MAX_CHARS} characters"))
    canonical: str | None = None
    if phone is not None and phone.strip():
        try:
            canonical = parse_phone(phone)
        except ValueError as exc:
            problems.append(("phone", str(exc)))
    InvalidComplaint.raise_any(problems)
    return Suggestion(
        suggestion_id=suggestion_id or new_suggestion_id(),
        tracking_code=tracking_code or new_tracking_code(),
        about=about,
        market_id=market_id if about == "market" else None,
        district=district if about == "market" else None,
        text=text,
        name=name,
        phone=canonical,
        publish_answer=publish_answer,
        received_at=aware(now),
        project_id=project_id,
    )


def answer_suggestion(s: Suggestion, *, answer: str, by: Actor, now: datetime) -> Suggestion:
    """The handler's answer, once: answering an answered suggestion is a 409."""
    if s.state == "answered":
        raise AlreadyAnswered(s.suggestion_id)
    answer = answer.strip()
    if not answer:
        raise InvalidComplaint([("answer", "must not be blank")])
    if len(answer) > ANSWER_MAX_CHARS:
        raise InvalidComplaint([("answer", f"at most {ANSWER_MAX_CHARS} characters")])
    return replace(
        s,
        state="answered",
        answer=answer,
        answered_at=aware(now),
        answered_by=by,
        version=s.version + 1,
    )
