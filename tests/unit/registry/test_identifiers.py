from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry.domain.identifiers import (
    CREDIT_CODE_ALPHABET,
    validate_credit_code,
    validate_food_licence,
)
from services.runtime.errors import InvalidInput

# Published codes of well-known companies (business licences are public in China).
REAL_CODES = [
    "914403001922038216",
    "9144030071526726XG",
    "91330100716105852F",
    "91110000100006485K",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_published_credit_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_credit_code(" 9144030071526726xg ") == "9144030071526726XG"


@given(st.sampled_from(REAL_CODES), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_any_other_check_character_is_refused_with_the_expected_one(code: str, ch: str) -> None:
    forged = code[:17] + ch
    if ch == code[17]:
        assert validate_credit_code(forged) == code
        return
    with pytest.raises(InvalidInput) as err:
        validate_credit_code(forged)
    assert err.value.field == "credit_code"
    assert f"gives {code[17]!r}" in err.value.reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300192203821", "must be 18 characters"),
        ("9144030019220382I6", "not allowed"),  # I is not in the alphabet
        ("0144030019220382I6", "not allowed"),
        ("Z14403001922038216", "not allowed"),
        ("C14403001922038216", "registration authority"),
        ("91A403001922038216", "administrative division"),
    ],
)
def test_malformed_credit_codes_name_the_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_credit_code(code)
    assert reason in err.value.reason


def test_food_licence_is_jy_and_fourteen_digits() -> None:
    assert validate_food_licence("jy13706020012345") == "JY13706020012345"
    for bad in ("JY1370602001234", "JX13706020012345", "JY1370602001234A", ""):
        with pytest.raises(InvalidInput) as err:
            validate_food_licence(bad)
        assert err.value.field == "food_licence"
