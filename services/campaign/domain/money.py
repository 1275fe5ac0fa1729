"""Money: yuan as typed, integer fen as kept; never through a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from services.runtime.failures import InvalidInput

MAX_FEN: Final = 10**14  # one trillion yuan: more is a typing error


def yuan_to_fen(amount: Decimal | str | int, field_name: str = "amount_yuan") -> int:
    """Yuan (a decimal with at most two places) to integer fen; never through a float."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput(field_name, "must be a decimal amount in yuan") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(field_name, "must be a finite amount of at least 0")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise InvalidInput(
            field_name, "has more than two decimal places (fen is the smallest unit)"
        )
    if fen > MAX_FEN:
        raise InvalidInput(field_name, "is implausibly large")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
