"""Money: yuan as typed, integer fen as kept; never through a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from services.runtime.failures import InvalidInput

MAX_FEN: Final = 10**14  # one trillion yuan: more is a typing error


def fen_of(amount: Decimal | str | int) -> tuple[int | None, str | None]:
    """Yuan (a decimal with at most two places) as integer fen, never through a float; or why
    it is not an amount."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return None, "must be a decimal amount in yuan"
    if not value.is_finite() or value < 0:
        return None, "must be a finite amount of at least 0"
    fen = value * 100
    if fen != fen.to_integral_value():
        return None, "has more than two decimal places (fen is the smallest unit)"
    if fen > MAX_FEN:
        return None, "is implausibly large"
    return int(fen), None


def yuan_to_fen(amount: Decimal | str | int, field_name: str = "amount_yuan") -> int:
    """Yuan as integer fen; InvalidInput naming `field_name` when it is no amount."""
    fen, reason = fen_of(amount)
    if fen is None:
        raise InvalidInput(field_name, reason or "must be a decimal amount in yuan")
    return fen


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
