"""The official identifiers events carry, and their check characters: what a producer (the
registry, the simulator, a demo city) needs to make a valid one and a consumer to check one.

GB 32100-2015: 统一社会信用代码 (`credit_code` in registry.merchants.v1) — 18 characters from a
31-symbol alphabet (no I, O, Z, S, V); the 18th is a check character over the first 17 with these
weights, modulo 31.
"""

from __future__ import annotations

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_ALPHABET)}


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a credit code whose first 17 are `first17`."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]
