"""A fresh 统一社会信用代码 for each merchant a test registers: credit counts the entries of every
registration of one code as one business's (信用主体, services/credit/domain/ledger.py), so two
merchants that are not meant to be one business must not share a code."""

from __future__ import annotations

import secrets

from contracts.identifiers import credit_code_check_char


def fresh_credit_code(division: str = "440300") -> str:
    """Well-formed (GB 32100-2015): 工商 (9), 企业 (1), the division, a random organisation part
    and the check character."""
    first17 = f"91{division}{secrets.randbelow(10**9):09d}"
    return first17 + credit_code_check_char(first17)
