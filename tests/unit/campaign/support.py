"""What the campaign's use-case tests share."""

from __future__ import annotations

from datetime import datetime


class Clock:
    """The use cases' clock, at the instant a test sets (`clock.at = ...`)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at
