"""People in the events: the actor of a change a person made.

Every state change a person makes through a service's API carries its `actor` in the event's
`data` — the person's stable `subject` at the identity provider (the access token's `sub`) and
the `name` shown for them (the token's `name`, or `preferred_username`, or the subject when the
token has neither). A change the clock or another event caused has `actor: null`; events from
producers older than the field have none at all, which reads the same.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

SUBJECT_MAX_CHARS: Final = 255
NAME_MAX_CHARS: Final = 200


class Actor(BaseModel):
    """A person (or a machine client) who made a change: who, as the identity provider says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(
        min_length=1,
        max_length=SUBJECT_MAX_CHARS,
        description="the identity provider's stable id of the person (the token's `sub`)",
    )
    name: str = Field(
        min_length=1,
        max_length=NAME_MAX_CHARS,
        description="the person's display name when the change was made (the subject if none)",
    )

    @classmethod
    def of(cls, subject: str, name: str | None = None) -> Actor:
        """The actor `subject`, shown as `name`: blank falls back to the subject, and a name
        longer than the bound is cut (a name is for people to read; the subject identifies)."""
        subject = subject.strip()
        shown = (name or "").strip() or subject
        return cls(subject=subject, name=shown[:NAME_MAX_CHARS])

    def to_dict(self) -> dict[str, str]:
        """`{"subject": ..., "name": ...}`: how records store and APIs show an actor."""
        return {"subject": self.subject, "name": self.name}


def actor_from(value: object) -> Actor | None:
    """An actor read back from a record: a stored `{"subject", "name"}` object, or None."""
    if value is None:
        return None
    return Actor.model_validate(value)


def actor_dict(actor: Actor | None) -> dict[str, str] | None:
    return None if actor is None else actor.to_dict()
