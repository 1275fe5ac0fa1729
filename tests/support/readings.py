"""Signed readings for tests, exactly as a terminal would make them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from contracts.telemetry import sign


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Terminal:
    """A terminal with its key: makes signed readings with increasing seq."""

    def __init__(self, terminal_id: str, key_hex: str, kind: str = "cold_chain") -> None:
        self.id, self.key, self.kind = terminal_id, bytes.fromhex(key_hex), kind
        self.seq = 0

    def reading(self, ts: datetime, **values: Any) -> dict[str, Any]:
        self.seq += 1
        body: dict[str, Any] = {
            "terminal_id": self.id,
            "seq": self.seq,
            "ts": iso(ts),
            "kind": self.kind,
            **values,
        }
        body["sig"] = sign(body, self.key)
        return body

    def series(
        self, start: datetime, temps: list[float], every_s: int = 60
    ) -> list[dict[str, Any]]:
        return [
            self.reading(start + timedelta(seconds=i * every_s), temp_c=t)
            for i, t in enumerate(temps)
        ]


def encode(reading: dict[str, Any]) -> bytes:
    return orjson.dumps(reading)
