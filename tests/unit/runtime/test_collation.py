"""The order people read lists in (services/runtime/collation.py): Chinese names by pinyin, not
by code point, and stall numbers naturally, not as plain strings."""

from __future__ import annotations

import random

from services.runtime.collation import name_key, stall_key
from services.runtime.directory import RegistryMemory
from tests.support.registry import market

# By code point these read 东山, 中心, 北门, 安平, 西湖.
PINYIN = ["安平", "北门", "东山", "西湖", "中心"]


def shuffled(items: list[str]) -> list[str]:
    found = list(items)
    random.Random(7).shuffle(found)
    return found


def test_chinese_names_are_in_pinyin_order() -> None:
    assert sorted(shuffled(PINYIN), key=name_key) == PINYIN
    assert sorted(PINYIN) != PINYIN  # what the old order gave


def test_a_name_comes_before_a_longer_one_it_begins_and_syllables_before_longer_ones() -> None:
    names = ["安平市场", "安平", "昂扬市场", "暗门市场"]  # an1, an4, ang2
    assert sorted(names, key=name_key) == ["安平", "安平市场", "暗门市场", "昂扬市场"]


def test_a_polyphonic_character_takes_its_reading_alone_whatever_its_word() -> None:
    # 行 is xing2 alone and hang2 in 银行, 长 zhang3 alone and chang2 in 长江: ICU reads each
    # character alone, and so does the key (PostgreSQL gives this same order).
    names = ["长江市场", "银行市场", "张庄市场", "银星市场", "行业市场", "星光市场"]
    assert sorted(names, key=name_key) == [
        "星光市场",
        "行业市场",
        "银星市场",
        "银行市场",
        "张庄市场",
        "长江市场",
    ]


def test_lv_sorts_after_lu_and_before_luan() -> None:
    assert sorted(["乱", "驴", "路"], key=name_key) == ["路", "驴", "乱"]


def test_digits_come_first_then_chinese_then_latin_lower_case_first() -> None:
    names = ["Ab市场", "安平", "AA市场", "aa市场", "1号市场"]
    assert sorted(names, key=name_key) == ["1号市场", "安平", "aa市场", "AA市场", "Ab市场"]


def test_stall_numbers_are_in_natural_order() -> None:
    stalls = ["3", "12", "A", "A2", "A10", "B01", "B1", "B2", "东区3"]
    assert sorted(shuffled(stalls), key=stall_key) == stalls
    assert sorted(["A2", "A10", "12", "3"]) == ["12", "3", "A10", "A2"]  # the old order


def test_a_stall_number_is_read_as_letters_a_number_and_the_rest() -> None:
    stalls = ["A2", "A2-10", "A2-3", "A10", "A-01"]
    assert sorted(stalls, key=stall_key) == ["A2", "A2-10", "A2-3", "A10", "A-01"]


def test_ties_are_broken_by_the_text_itself() -> None:
    assert sorted(["B1", "B01"], key=stall_key) == ["B01", "B1"]
    assert sorted(["B01", "B1"], key=stall_key) == ["B01", "B1"]
    assert name_key("东山") != name_key("東山")  # one reading, two texts: still an order
    assert sorted(["東山", "东山"], key=name_key) == sorted(["东山", "東山"], key=name_key)


def test_the_registry_view_lists_markets_by_district_then_pinyin() -> None:
    view = RegistryMemory(
        *(market(f"mkt_{i}", "zhifu", name=name) for i, name in enumerate(shuffled(PINYIN))),
        market("mkt_x", "laishan", name="中心"),
    )
    assert [m.name for m in view.markets_in("zhifu")] == PINYIN
    assert [m.district for m in view.markets_in()] == ["laishan"] + ["zhifu"] * 5
