"""A new record's id: its kind's prefix, then 16 hex digits, never the same twice."""

from __future__ import annotations

import re

from services.runtime.ids import new_id


def test_an_id_is_its_prefix_and_sixteen_hex_digits_and_each_is_new() -> None:
    ids = {new_id("cmp") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"cmp_[0-9a-f]{16}", i) for i in ids)
