"""The order people read lists in: names of markets and merchants by pinyin, stall numbers
naturally. One mechanism for every in-memory sort (fakes, the registry view, the console), kept
in step with the stores' SQL order (`name_order`, `stall_order`), so that a list reads the same
whichever side ordered it.

Python has no pinyin collation of its own, and `locale.strxfrm` would depend on the host having
a zh_CN locale (the slim images do not): the readings come from pypinyin's dictionary instead.

Where the two sides may still differ: characters of one reading (洪 and 红, both hong2) are
ordered by code point here and by ICU's own table there (fewest strokes first, it seems); a few
polyphonic characters take another first reading in ICU (谁 shei/shui, 地 de/di); and ICU reads
重庆 as chong, whole. Lists of names that differ in such characters only may read differently
in the console than in the registry's answer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

# A stall number is read as a prefix, a number and whatever follows ("A-12", "东区3", "12"):
# the same three parts as the stores' SQL expression, so both give one order.
_STALL = re.compile(r"([^0-9]*)([0-9]*)(.*)", re.DOTALL)

# ICU's zh collation puts spaces, punctuation and digits first, then Chinese characters by
# pinyin, then the letters of other scripts (Latin, Greek, Cyrillic).
_MARK, _HAN, _LETTER = 0, 1, 2


def name_key(text: str) -> tuple[Any, ...]:
    """A sort key putting Chinese names in pinyin order (安平, 北门, 东山, 西湖, 中心), character
    by character, as PostgreSQL's `zh-x-icu` collation does; ties (the same readings) broken by
    the text itself, so the order is always the same."""
    # Case matters last, lower before upper ("aa" before "AA"), as in ICU.
    return tuple(_char_key(c) for c in text), text.swapcase(), text


def stall_key(text: str) -> tuple[Any, ...]:
    """A sort key putting stall numbers in natural order: by their letters, then by the number
    that follows them by value (3, 12, A2, A10, B01, B2), then by the rest; ties ("B1", "B01")
    broken by the text itself."""
    match = _STALL.fullmatch(text)
    assert match is not None  # every string fits: each part may be empty
    prefix, digits, rest = match.groups()
    return prefix, int(digits) if digits else -1, rest, text


# The same orders in SQL, for a store's listing (a page of it must be the page of the order):
# names by ICU's pinyin collation (in Debian's PostgreSQL 15 and the postgres:15 image of
# docker-compose.yml), stall numbers by `stall_key`'s three parts, compared as Python compares
# them (the "C" collation compares code points; the number by value, none first).
NAME_COLLATION = '"zh-x-icu"'


def name_order(column: str) -> str:
    """`ORDER BY` terms putting `column` in `name_key`'s order."""
    return f'{column} COLLATE {NAME_COLLATION}, {column} COLLATE "C"'


def stall_order(column: str) -> str:
    """`ORDER BY` terms putting `column` in `stall_key`'s order."""
    return (
        f"substring({column} from '^[^0-9]*') COLLATE \"C\", "
        f"substring({column} from '^[^0-9]*([0-9]+)')::numeric NULLS FIRST, "
        f"substring({column} from '^[^0-9]*[0-9]*(.*)$') COLLATE \"C\", "
        f'{column} COLLATE "C"'
    )


@cache
def _char_key(char: str) -> tuple[int, str, int, int, str]:
    reading = _reading(char)
    if reading is None:
        # Case is the last thing ICU looks at ("aa" before "Ab"): the whole text's, in name_key.
        kind = _LETTER if unicodedata.category(char).startswith("L") else _MARK
        return kind, char.casefold(), 0, 0, ""
    syllable, tone = reading[:-1], int(reading[-1])
    # ü counts as u, and after it (lu, lü, luan, lüe, lun), as in ICU's order.
    return _HAN, syllable.replace("ü", "u"), int("ü" in syllable), tone, char


def _reading(char: str) -> str | None:
    """The character's most common reading with its tone as a digit ("zhong4"; 5 for the
    neutral tone), None when it has none (not a Chinese character). One character at a time and
    without its neighbours, as ICU reads it: a polyphonic character (行, 长) always takes its
    first reading, whatever word it is in."""
    # Imported on first use: pypinyin loads its phrase dictionary too (about 60 MB and a quarter
    # of a second), which only a process that sorts names should pay for.
    from pypinyin import Style, lazy_pinyin

    readings = lazy_pinyin(
        char, style=Style.TONE3, neutral_tone_with_five=True, v_to_u=True, errors=lambda _: ""
    )
    return readings[0] if readings and readings[0] else None
