"""Complaint cases as immutable values: vocabularies, ids and tracking codes, the complainant with
the masked forms that may leave the service.

Every change makes a new value with `version` one higher; the service stores the latest (state,
deadlines, overdue marks, merchant and category as columns to query by, the whole value as jsonb
in the form `services.runtime.serial` writes) and the events of the change in the same
transaction.

The complainant's name and phone stay inside the service (in clear only in its database):
events carry `Complainant.masked()`, the tracking page `Complaint.public_status()`.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal

from contracts.complaints import compact_phone
from contracts.people import Actor
from services.runtime.failures import InvalidInput

CATEGORIES: Final = ("food_safety", "short_weight", "price", "hygiene", "service", "other")
CHANNELS: Final = ("web", "hotline_12345", "platform_12315", "walk_in", "other")
STATES: Final = ("received", "accepted", "rejected", "closed")
OPEN_STATES: Final = ("received", "accepted")
OUTCOMES: Final = ("mediated", "refunded", "referred_to_case", "unfounded", "withdrawn")
# Outcomes that say the complaint was not borne out: closing with one of them and
# `substantiated: true` is refused (422), never silently corrected.
UNSUBSTANTIATED_OUTCOMES: Final = ("unfounded", "withdrawn")

FACTS_MAX_CHARS: Final = 2000
REQUEST_MAX_CHARS: Final = 1000
REASON_MAX_CHARS: Final = 1000
NAME_MAX_CHARS: Final = 50
ID_MAX_CHARS: Final = 64

Clock = Literal["acceptance", "mediation"]

# Fixed namespace: derived ids come out the same on every replica and every redelivery.
NAMESPACE: Final = uuid.UUID("5d0e7c3a-91b4-5f26-8c1e-2a7b9d4f6e13")


# -- ids and tracking codes ----------------------------------------------------------------------


def new_complaint_id(uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """`cmp_<16 hex>`, the registry's id shape, from a random UUID (pass a factory in tests)."""
    return f"cmp_{uuid_factory().hex[:16]}"


def derive_complaint_id(*parts: str) -> str:
    """`cmp_<16 hex>` from a UUIDv5 of `parts`, e.g. the intake message's channel and id, so a
    redelivered intake message names the same complaint and its second insert collides."""
    if not parts:
        raise ValueError("derive_complaint_id needs at least one part")
    return f"cmp_{uuid.uuid5(NAMESPACE, '|'.join(parts)).hex[:16]}"


# No 0/O, 1/I: a code read out on the 12345 hotline or copied from a receipt is not misread.
TRACKING_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH: Final = 10  # 32^10 = 2^50 codes
_TRACKING = re.compile(f"[{TRACKING_ALPHABET}]{{{TRACKING_CODE_LENGTH}}}")


def new_tracking_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh tracking code: 10 characters of `TRACKING_ALPHABET` drawn with `secrets`.

    The code is the only key to the public status page, so it must not be guessable; pass a
    deterministic `choice` in tests only.
    """
    return "".join(choice(TRACKING_ALPHABET) for _ in range(TRACKING_CODE_LENGTH))


def parse_tracking_code(text: str) -> str:
    """A code as typed (any case, spaces or dashes) in canonical form; InvalidInput otherwise."""
    code = re.sub(r"[\s-]", "", text).upper()
    if not _TRACKING.fullmatch(code):
        raise InvalidInput(
            "tracking_code",
            f"must be {TRACKING_CODE_LENGTH} characters of {TRACKING_ALPHABET}",
        )
    return code


# -- phone numbers and names ---------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Area codes: 010 and 02x have three digits, every other (03xx-09xx) four; so the split of an
# undashed number is not a guess. The local number has 7 or 8 digits.
_LANDLINE = re.compile(r"(010|02[0-9]|0[3-9][0-9]{2})-?([0-9]{7,8})")


def parse_phone(text: str) -> str:
    """A mainland mobile (`13812345678`, `+86 138 1234 5678`) or landline (`0535-1234567`,
    `05351234567`) in canonical form: 11 digits, or `<area>-<local>`. ValueError says why not."""
    if not isinstance(text, str):
        raise ValueError("must be text")
    # The contract's compaction: a mobile comes back as its 11 digits, anything else unspaced.
    compact = str(compact_phone(text))
    if _MOBILE.fullmatch(compact):
        return compact
    landline = _LANDLINE.fullmatch(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise ValueError(
        "must be a mainland mobile number (11 digits starting 13-19) "
        "or a landline with its area code, e.g. 0535-1234567"
    )


def mask_phone(phone: str) -> str:
    """`138****5678`; a landline keeps its area code: `0535-***4567`."""
    if "-" in phone:
        area, local = phone.split("-", 1)
        return f"{area}-{'*' * max(len(local) - 4, 1)}{local[-4:]}"
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def _cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY"))


def mask_name(name: str) -> str:
    """`张*`, `欧阳**`-style for Chinese names (the surname's first character, a star per other
    character); `J***` for others (the first letter and three stars, whatever the length)."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if _cjk(name[0]):
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "***"


@dataclass(frozen=True, slots=True)
class Complainant:
    """Who complained: kept in clear in the service's database, published only masked."""

    name: str
    phone: str  # canonical form (`parse_phone`)

    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def masked_name(self) -> str:
        return mask_name(self.name)

    def masked(self) -> dict[str, str]:
        """The form events and handlers' lists show: `{"name": "张*", "phone": "138****5678"}`."""
        return {"name": self.masked_name(), "phone": self.masked_phone()}


# -- the case ------------------------------------------------------------------------------------


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class Transfer:
    """A received complaint moved to the market it is really about (移送): from where, to where,
    why, by whom and when. `overdue_at` keeps the acceptance clock's overdue mark of the district
    it left, which the move clears for the receiving district's own clock."""

    from_market_id: str
    from_district: str
    to_market_id: str
    to_district: str
    reason: str
    actor: Actor
    at: datetime
    overdue_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint case.

        received ──accept──► accepted ──close──► closed
          │ ▲  └───reject──► rejected
          └─┘ transfer (移送: to another market, the acceptance clock restarted)

    The running clock is acceptance while `received` (deadline `acceptance_deadline`) and
    mediation while `accepted` (`mediation_deadline`); each may be marked overdue once
    (`acceptance_overdue_at`, `mediation_overdue_at`) without changing the state. A duplicate
    names its root in `duplicate_of`; the root lists its duplicates.
    """

    complaint_id: str
    tracking_code: str
    complainant: Complainant
    market_id: str
    district: str
    merchant_id: str | None
    stall_no: str | None
    category: str
    facts: str
    request: str
    channel: str
    occurred_at: datetime | None
    received_at: datetime
    acceptance_deadline: datetime
    state: str = "received"
    accepted_at: datetime | None = None
    mediation_deadline: datetime | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    substantiated: bool | None = None
    satisfaction: int | None = None
    acceptance_overdue_at: datetime | None = None
    mediation_overdue_at: datetime | None = None
    duplicate_of: str | None = None
    duplicates: tuple[str, ...] = ()
    handled_by: str | None = None
    # The handlers who decided on it, as the identity provider named them (`handled_by` keeps
    # the bare subject of the latest, as the events have always carried it).
    accepted_actor: Actor | None = None
    rejected_actor: Actor | None = None
    closed_actor: Actor | None = None
    transfers: tuple[Transfer, ...] = ()
    version: int = 1

    # -- questions ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Received or accepted: a clock runs."""
        return self.state in OPEN_STATES

    @property
    def running_clock(self) -> Clock | None:
        """Which clock runs: acceptance while received, mediation while accepted, else none."""
        if self.state == "received":
            return "acceptance"
        if self.state == "accepted":
            return "mediation"
        return None

    def _running(self) -> tuple[datetime | None, datetime | None]:
        """The running clock's deadline and overdue mark; (None, None) when no clock runs."""
        if self.state == "received":
            return self.acceptance_deadline, self.acceptance_overdue_at
        if self.state == "accepted":
            return self.mediation_deadline, self.mediation_overdue_at
        return None, None

    @property
    def current_deadline(self) -> datetime | None:
        """The running clock's deadline (None once decided and closed, or rejected)."""
        return self._running()[0]

    @property
    def overdue_marked_at(self) -> datetime | None:
        """When the running clock was marked overdue, if it was."""
        return self._running()[1]

    @property
    def decided_at(self) -> datetime | None:
        return self.accepted_at or self.rejected_at

    @property
    def decided_in_time(self) -> bool | None:
        """Accepted or rejected by the acceptance deadline; None while undecided."""
        decided = self.decided_at
        return None if decided is None else decided <= self.acceptance_deadline

    @property
    def closed_in_time(self) -> bool | None:
        """Closed by the mediation deadline; None while not closed."""
        if self.closed_at is None or self.mediation_deadline is None:
            return None
        return self.closed_at <= self.mediation_deadline

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None

    @property
    def counts_for_credit(self) -> bool:
        """Whether this complaint costs the merchant credit: closed, substantiated, and not a
        duplicate of an earlier complaint (that one counts instead, if it is substantiated)."""
        return self.state == "closed" and self.substantiated is True and self.duplicate_of is None

    def next(self, **changes: Any) -> Complaint:
        """The complaint after a change: `version` one higher."""
        return replace(self, version=self.version + 1, **changes)

    # -- views -------------------------------------------------------------------------------

    def public_status(self) -> dict[str, Any]:
        """What `GET /complaints/track/{code}` may show: status and deadlines, nothing personal
        (no name, phone, facts or request, which may name people)."""
        return {
            "tracking_code": self.tracking_code,
            "state": self.state,
            "category": self.category,
            "channel": self.channel,
            "received_at": _ts(self.received_at),
            "acceptance_deadline": _ts(self.acceptance_deadline),
            "accepted_at": _ts(self.accepted_at),
            "mediation_deadline": _ts(self.mediation_deadline),
            "rejected_at": _ts(self.rejected_at),
            "rejection_reason": self.rejection_reason,
            "closed_at": _ts(self.closed_at),
            "outcome": self.outcome,
            "overdue": self.overdue_marked_at is not None,
            # The market handling it (public, as the market is) and when it was last moved
            # there: a citizen who named the wrong market sees where the case went.
            "market_id": self.market_id,
            "transferred_at": _ts(self.transfers[-1].at) if self.transfers else None,
        }
