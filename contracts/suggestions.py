"""Suggestions (意见建议): what citizens suggest about a market or the city's campaign, and the
answers staff give.

One topic (contracts/README.md, "Topics"): `complaints.suggestions.v1`, key = subject =
suggestion id, produced by the complaints service, which owns suggestions:

- `complaints.suggestion.received`: a citizen sent a suggestion (public `POST /suggestions`);
- `complaints.suggestion.answered`: a handler answered it, with the `actor` who did.

Each event's `data` is the whole suggestion after the change (`version` grows by one per
change). The author's name and phone are optional and appear **masked** (`张*`,
`138****5678`), as complaints' complainants do: the clear values never leave the complaints
service. `publish_answer` says whether the author agreed to the answer being shown publicly.

Envelope: `subject` = `correlationid` = the suggestion id; `causationid` null (a person sent or
answered it).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.complaints import PHONE_PATTERN, Instant, Text, compact_phone
from contracts.people import Actor

# The event types of this module's models, as they travel (the catalog: contracts/events.py).
SUGGESTION_RECEIVED: Final = "complaints.suggestion.received"
SUGGESTION_ANSWERED: Final = "complaints.suggestion.answered"

About = Literal["market", "campaign"]
ABOUTS: Final[tuple[About, ...]] = ("market", "campaign")
SuggestionState = Literal["received", "answered"]
SUGGESTION_STATES: Final[tuple[SuggestionState, ...]] = ("received", "answered")
SUGGESTION_MAX_CHARS: Final = 2000
ANSWER_MAX_CHARS: Final = 2000
NAME_MAX_CHARS: Final = 50


def _blank_is_none(value: object) -> object:
    # A form posts an empty field for "not given".
    if isinstance(value, str) and not value.strip():
        return None
    return value


class SuggestionSubmission(BaseModel):
    """`POST /suggestions` (public): a suggestion about a market or the city's campaign."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    about: About = Field(description="a market (give `market_id`) or the city's campaign")
    market_id: str | None = Field(
        default=None,
        max_length=64,
        description="the market it is about: required when about=market, absent otherwise",
    )
    project_id: str | None = Field(
        default=None,
        max_length=64,
        description="a renovation plan open for comment (征求群众意见) that it comments on",
    )
    text: Text = Field(max_length=SUGGESTION_MAX_CHARS, description="the suggestion, 1-2000")
    name: Text | None = Field(default=None, max_length=NAME_MAX_CHARS, description="optional")
    phone: str | None = Field(
        default=None,
        pattern=PHONE_PATTERN,
        description="optional; a mainland mobile or a landline with area code, as complaints",
    )
    publish_answer: bool = Field(
        default=False, description="the author agrees to the suggestion and its answer being public"
    )

    @field_validator("market_id", "project_id", "name", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_is_none(value)

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> object:
        return compact_phone(_blank_is_none(value))


class MaskedAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(description="first character and a mask, e.g. 张*; null if not given")
    phone: str | None = Field(description="e.g. 138****5678; null if not given")


class _Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    suggestion_id: str = Field(min_length=1)
    version: int = Field(ge=1, description="grows by one with every change")
    tracking_code: str = Field(description="what the author follows the suggestion with")
    about: About
    market_id: str | None
    district: str | None = Field(description="the market's district code; null for the campaign")
    project_id: str | None = Field(
        default=None, description="the renovation plan open for comment it comments on"
    )
    text: str
    author: MaskedAuthor
    publish_answer: bool = Field(description="the author agreed to the answer being public")
    state: SuggestionState
    received_at: Instant
    answer: str | None
    answered_at: Instant | None


class SuggestionReceived(_Suggestion):
    """`complaints.suggestion.received` on `complaints.suggestions.v1`, key = suggestion id.

    A citizen sent a suggestion; staff of the market's district (the city for the campaign)
    answer it."""

    state: Literal["received"]


class SuggestionAnswered(_Suggestion):
    """`complaints.suggestion.answered` on `complaints.suggestions.v1`, key = suggestion id.

    A handler answered; shown publicly with the suggestion when `publish_answer` is true."""

    state: Literal["answered"]
    answer: str
    answered_at: Instant
    actor: Actor | None = Field(
        default=None, description="the handler who answered (subject and name)"
    )
