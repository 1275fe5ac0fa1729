"""The ids the services give what they create: a prefix naming the kind of record, then 16 hex
digits of a random UUID (`cmp_3f9c…`, `pho_…`), short enough to read out and to put in a path,
with 64 random bits so that no two collide in practice."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
