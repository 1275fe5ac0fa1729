"""Money: yuan as typed, integer fen as kept; never through a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from services.runtime.failures import InvalidInput

MAX_FEN: Final = 10**14  # one trillion yuan: more is a typing error


def decimal_yuan(amount: object) -> Decimal | None:
    """An amount of yuan as typed (a number, or a string such as "2000.50") as a decimal, never
    through a float's binary value; None when it is no number (a flag, a list, "abc")."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | str | int | float):
        return None
    try:
        return amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        return None


def whole_fen(yuan: Decimal) -> int | None:
    """Yuan as integer fen when it has at most two decimal places (fen is the smallest unit)."""
    fen = yuan * 100
    return int(fen) if fen == fen.to_integral_value() else None


def fen_of(amount: Decimal | str | int) -> tuple[int | None, str | None]:
    """Yuan (a decimal with at most two places) as integer fen, never through a float; or why
    it is not an amount."""
    value = decimal_yuan(amount)
    if value is None:
        return None, "must be a decimal amount in yuan"
    if not value.is_finite() or value < 0:
        return None, "must be a finite amount of at least 0"
    fen = whole_fen(value)
    if fen is None:
        return None, "has more than two decimal places (fen is the smallest unit)"
    if fen > MAX_FEN:
        return None, "is implausibly large"
    return fen, None


def yuan_to_fen(amount: Decimal | str | int, field_name: str = "amount_yuan") -> int:
    """Yuan as integer fen; InvalidInput naming `field_name` when it is no amount."""
    fen, reason = fen_of(amount)
    if fen is None:
        raise InvalidInput(field_name, reason or "must be a decimal amount in yuan")
    return fen


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
