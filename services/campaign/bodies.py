"""What the campaign's request bodies share (api.py, duties/api.py, joint/api.py).

A body checks the JSON types only: every value rule (a text not blank and not too long, a choice
from its list, a day in order) is the domain's, which names every field that breaks one in one
422 (docs/campaign.md, "Refusals"), so that a form is corrected in one go. A schema refusal
would answer alone and hide the rules' until the next try. What the rules allow is still
published in the API's schema (minLength, maxLength, enum), for clients to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field


def text(most: int, **kwargs: Any) -> Any:
    """A text the domain requires: not blank, at most `most` characters."""
    return Field(json_schema_extra={"minLength": 1, "maxLength": most}, **kwargs)


def choice(among: Iterable[str], **kwargs: Any) -> Any:
    """A code the domain checks is one of `among`."""
    return Field(json_schema_extra={"enum": list(among)}, **kwargs)
