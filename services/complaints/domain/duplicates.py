"""Duplicate complaints: the same grievance sent twice (web form and 12345 hotline, two family
members...) is linked to the first one, shown on both, and counted once.

A new complaint duplicates an earlier one when both name the same merchant, the category is the
same, the earlier one was received at most `policy.duplicate_window` (48 h, edge included) before,
and the facts are similar: character-bigram Jaccard similarity of the normalised texts at least
`policy.similarity_threshold`. Bigrams need no word segmentation, so Chinese and English compare
alike. Links always point at the root (the first complaint of the grievance), never at another
duplicate, so a chain is one step deep.

Rejected complaints are no candidates: linking to one would keep a substantiated repeat from
counting while the rejected original never counts either.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import timedelta

from services.complaints.domain.model import Complaint
from services.complaints.domain.policy import Policy

# Unicode categories dropped before comparing: punctuation, symbols, separators, controls.
_DROPPED = ("P", "S", "Z", "C")


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), case folded, without whitespace or punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(_DROPPED))


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of the normalised text (a one-character text: that character)."""
    norm = normalise(text)
    if len(norm) < 2:
        return frozenset({norm}) if norm else frozenset()
    return frozenset(norm[i : i + 2] for i in range(len(norm) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' bigram sets, 0.0 to 1.0 (0.0 if either is empty)."""
    first, second = bigrams(a), bigrams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def is_candidate(new: Complaint, earlier: Complaint, policy: Policy) -> bool:
    """Whether `new` duplicates `earlier` (merchant, category, window and facts all match)."""
    if earlier.complaint_id == new.complaint_id or earlier.state == "rejected":
        return False
    if new.merchant_id is None or earlier.merchant_id != new.merchant_id:
        return False
    if earlier.category != new.category:
        return False
    gap = new.received_at - earlier.received_at
    if gap < timedelta(0) or gap > policy.duplicate_window:
        return False
    # Received at the same instant: the smaller id is the earlier, so two never link each other.
    if gap == timedelta(0) and earlier.complaint_id > new.complaint_id:
        return False
    return similarity(new.facts, earlier.facts) >= policy.similarity_threshold


def find_duplicate(new: Complaint, candidates: Iterable[Complaint], policy: Policy) -> str | None:
    """The id of the root complaint `new` duplicates, or None.

    `candidates` are the merchant's recent complaints as the service loaded them (any extra
    ones are filtered out here). The earliest match wins; when it is itself a duplicate, its
    root is returned, so links never form a chain.
    """
    matches = [c for c in candidates if is_candidate(new, c, policy)]
    if not matches:
        return None
    first = min(matches, key=lambda c: (c.received_at, c.complaint_id))
    return first.duplicate_of or first.complaint_id


def link(original: Complaint, duplicate: Complaint) -> tuple[Complaint, Complaint]:
    """Both complaints after linking `duplicate` to `original` (a root), versions one higher.

    Linking again (a redelivered intake message) returns both unchanged; a half-made link is
    completed. Linking to a duplicate, a complaint to itself, or a complaint already linked
    elsewhere or having duplicates of its own is the caller's bug: ValueError.
    """
    if original.complaint_id == duplicate.complaint_id:
        raise ValueError("a complaint cannot duplicate itself")
    if original.duplicate_of is not None:
        raise ValueError(
            f"{original.complaint_id} is a duplicate of {original.duplicate_of}; link to the root"
        )
    already = duplicate.duplicate_of == original.complaint_id
    if duplicate.duplicate_of is not None and not already:
        raise ValueError(
            f"{duplicate.complaint_id} is already a duplicate of {duplicate.duplicate_of}"
        )
    if duplicate.duplicates:
        raise ValueError(f"{duplicate.complaint_id} has duplicates of its own; it is a root")
    if duplicate.complaint_id not in original.duplicates:
        original = original.next(duplicates=(*original.duplicates, duplicate.complaint_id))
    if not already:
        duplicate = duplicate.next(duplicate_of=original.complaint_id)
    return original, duplicate
