"""Checks that a public response carries nothing personal: no phone number, no given name."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A mainland mobile or a landline with its area code, not inside a longer id or number.
PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86)?(?:1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8})(?![0-9A-Za-z])"
)


def assert_nothing_personal(text: str, names: Iterable[str] = (), *, where: str = "") -> None:
    found = PHONE.findall(text)
    assert not found, f"{where}: a phone number in a public response: {found}"
    for name in names:
        assert name not in text, f"{where}: the name {name!r} in a public response"
