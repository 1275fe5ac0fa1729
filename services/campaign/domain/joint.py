"""What joint meetings (联席会议) and joint enforcement (联合执法) share: the catalogue of
departments, the city's calendar day, and the errors their rules raise.

Pure: the catalogue is parsed from a mapping (the adapter reads `departments.yaml`); the errors
name the request field and the reason, and the adapters turn them into HTTP answers (422 for a
broken rule, 409 for a state that does not allow the action, 404 for an unknown part).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from services.campaign.domain import text

# A department's code: lowercase words joined by underscores (`market_regulation`).
_CODE: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# How long free text may be: a title, a decision, a note; minutes and facts are longer.
SHORT_TEXT: Final = 500
LONG_TEXT: Final = 20_000


def city_day(now: datetime, tz: ZoneInfo) -> date:
    """The calendar day it is in the city at `now`."""
    return now.astimezone(tz).date()


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The instant `day` ends in the city: midnight at the start of the next day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


# -- errors -----------------------------------------------------------------------------------


class JointRuleError(Exception):
    """A joint meeting or enforcement rule refused a change; nothing changed."""


class Invalid(JointRuleError):
    """Input broke a rule: every offending field (as the request names it) with its reason."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError("Invalid needs at least one problem")
        self.problems = list(problems)
        self.field, self.reason = self.problems[0]
        super().__init__("; ".join(f"{f}: {r}" for f, r in self.problems))


class WrongState(JointRuleError):
    """The thing is not in a state that allows the action (a closed case cannot be decided)."""

    def __init__(self, what: str, ident: str, state: str, action: str) -> None:
        self.what, self.ident, self.state, self.action = what, ident, state, action
        super().__init__(f"{what} {ident} is {state}; cannot {action}")


class AlreadyOpen(JointRuleError):
    """One case per origin: a case for it is still open (or decided and not yet closed)."""

    def __init__(self, kind: str, origin_id: str, case_id: str) -> None:
        self.kind, self.origin_id, self.case_id = kind, origin_id, case_id
        super().__init__(f"case {case_id} for {kind} {origin_id} is not closed yet")


class Unknown(JointRuleError):
    """A part the request names does not exist (an action item not in the meeting)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


class Problems(text.Problems):
    """A joint rule's problems, raised as `Invalid` (http_error in joint/service.py makes the
    422); a text is a short one unless said."""

    error = Invalid

    def text(self, field: str, value: str, *, limit: int = SHORT_TEXT) -> str:
        return super().text(field, value, limit=limit)


# -- departments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Departments:
    """The departments that take part in joint work, in the order the file lists them."""

    items: tuple[Department, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.items)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def get(self, code: str) -> Department | None:
        return next((d for d in self.items if d.code == code), None)

    def known(self) -> str:
        return ", ".join(self.codes)

    def check(self, codes: Iterable[str], field: str, problems: Problems) -> tuple[str, ...]:
        """The codes, each once, in the order given; an unknown one is a problem of `field.i`.
        None at all is a problem of `field`."""
        kept: list[str] = []
        listed = list(codes)
        for index, raw in enumerate(listed):
            code = raw.strip()
            if code not in self:
                reason = f"unknown department {code!r}; known: {self.known()}"
                problems.add(f"{field}.{index}", reason)
            elif code not in kept:
                kept.append(code)
        if not listed:
            problems.add(field, "name at least one department")
        return tuple(kept)

    @staticmethod
    def parse(data: Any, where: str = "departments") -> Departments:
        """`{"departments": [{"code", "name_zh", "name_en"}, ...]}`; ValueError naming the entry
        that is wrong (a bad file must stop the service at start, not at the first request)."""
        entries = data.get("departments") if isinstance(data, Mapping) else None
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{where}: a non-empty list `departments` is needed")
        found: list[Department] = []
        for index, entry in enumerate(entries):
            at = f"{where}: departments[{index}]"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{at}: an object with code, name_zh and name_en is needed")
            code, zh, en = (entry.get(k) for k in ("code", "name_zh", "name_en"))
            if not isinstance(code, str) or not _CODE.match(code):
                raise ValueError(f"{at}: code must be lowercase words joined by underscores")
            if not isinstance(zh, str) or not zh.strip() or not isinstance(en, str) or not en:
                raise ValueError(f"{at}: name_zh and name_en must be non-empty text")
            if any(d.code == code for d in found):
                raise ValueError(f"{at}: code {code!r} is listed twice")
            found.append(Department(code, zh.strip(), en.strip()))
        return Departments(tuple(found))
