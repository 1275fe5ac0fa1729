"""A record becomes the very Delivery the dataclass would build, though `_delivery` fills the
frozen object with one dict update (the batch path runs it once per record)."""

from __future__ import annotations

import dataclasses

import pytest
from aiokafka.structs import ConsumerRecord

from services.runtime.messaging import Delivery, _delivery


def test_a_record_is_the_same_frozen_delivery_the_dataclass_builds() -> None:
    for headers, value in (((), b"{}"), ((("h", b"1"),), None)):
        record = ConsumerRecord(
            "telemetry.readings.v1", 3, 42, 1700, 0, b"trm", value, None, 3, 2, headers
        )
        fast = _delivery(record)
        built = Delivery(
            topic="telemetry.readings.v1",
            partition=3,
            offset=42,
            key=b"trm",
            value=value or b"",
            headers=tuple(headers),
            timestamp_ms=1700,
        )
        assert isinstance(fast, Delivery)
        assert fast == built and hash(fast) == hash(built) and repr(fast) == repr(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.offset = 43  # type: ignore[misc]
