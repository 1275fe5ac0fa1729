"""A use case's clock in a unit test: it reads the instant the test sets (`clock.at = ...`)."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Clock(Generic[T]):
    def __init__(self, at: T) -> None:
        self.at = at

    def __call__(self) -> T:
        return self.at
