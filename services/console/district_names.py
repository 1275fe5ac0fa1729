"""District names for the staff pages' header and home (docs/console.md: names, not ids): the
registry's public list of districts, kept for `ttl_s` and read again after that; a registry that
does not answer leaves the names held (or, before any, the codes) until the next try."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.console.backend import ApiError, Backend

EVERY_DISTRICT = "*"


class DistrictNames:
    def __init__(self, ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._names: dict[str, str] = {}
        self._read_at: float | None = None

    def name(self, code: str) -> str:
        """The district's name; 全市 for the city (a city-wide person); the code when unknown."""
        if code == EVERY_DISTRICT:
            return "全市"
        return self._names.get(code, code)

    async def refresh(self, services: Backend) -> None:
        """Read the names again when they are older than `ttl_s` (or never read)."""
        now = self.clock()
        if self._read_at is not None and now - self._read_at < self.ttl_s:
            return
        self._read_at = now  # one try per period, answered or not
        try:
            listed = await services.get("registry", "/public/districts", "")
        except ApiError:
            return
        self._names = {d["code"]: d.get("name") or d["code"] for d in listed}
