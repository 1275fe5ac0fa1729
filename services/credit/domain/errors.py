"""The errors the credit rules raise on purpose; they extend the shared HTTP errors."""

from __future__ import annotations

from datetime import datetime

from services.runtime.failures import Conflict, NotFound


class StaleCredit(Conflict):
    """An adjustment was applied to a credit some of whose adjustments have faded since.

    The incremental score cannot tell which ones: call `refade` with the merchant's ledger first
    (its change is published as a fade), then apply the adjustment.
    """

    def __init__(self, merchant_id: str, fade_at: datetime, at: datetime) -> None:
        reason = (
            f"credit of {merchant_id} has adjustments fading at {fade_at.isoformat()}, "
            f"before {at.isoformat()}: refade it with its ledger first"
        )
        super().__init__(reason, field="credit")
        self.merchant_id, self.fade_at, self.at = merchant_id, fade_at, at


class UnknownPolicyVersion(NotFound):
    """No policy of that version is in the book."""

    def __init__(self, version: str) -> None:
        super().__init__(f"no credit policy version {version!r}")
        self.version = version
