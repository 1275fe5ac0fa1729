"""Checks of the official identifiers a merchant registers with (the check character itself is
the contract's: contracts/identifiers.py)."""

from __future__ import annotations

import re

from contracts.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from services.runtime.failures import InvalidInput

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "credit_code_check_char",
    "validate_credit_code",
    "validate_food_licence",
]

_VALUE = set(CREDIT_CODE_ALPHABET)
_REGISTRATION_AUTHORITIES = set("123456789ANY")
_FOOD_LICENCE = re.compile(r"^JY\d{14}$")


def validate_credit_code(code: str, field: str = "credit_code") -> str:
    """Return the normalised (upper-case) code, or raise InvalidInput naming the reason."""
    code = code.strip().upper()
    if len(code) != 18:
        raise InvalidInput(field, f"must be 18 characters (GB 32100-2015), got {len(code)}")
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        raise InvalidInput(
            field, f"contains characters not allowed by GB 32100-2015: {''.join(bad)}"
        )
    if code[0] not in _REGISTRATION_AUTHORITIES:
        raise InvalidInput(field, f"registration authority code {code[0]!r} is not valid")
    if not code[2:8].isdigit():
        raise InvalidInput(field, "characters 3-8 must be an administrative division code")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidInput(
            field, f"check character is {code[17]!r}, GB 32100-2015 gives {expected!r}"
        )
    return code


def validate_food_licence(number: str, field: str = "food_licence") -> str:
    """食品经营许可证编号: JY followed by 14 digits."""
    number = number.strip().upper()
    if not _FOOD_LICENCE.match(number):
        raise InvalidInput(field, "must be 'JY' followed by 14 digits")
    return number
