"""The records of a telemetry batch are the very Delivery objects the per-record path builds."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from services.runtime.messaging import Delivery, _batch_delivery, _delivery


def test_a_batch_record_is_the_same_frozen_delivery() -> None:
    for headers, value in (((), b"{}"), ((("h", b"1"),), None)):
        record = ConsumerRecord(
            "telemetry.readings.v1", 3, 42, 1700, 0, b"trm", value, None, 3, 2, headers
        )
        fast, slow = _batch_delivery(record), _delivery(record)
        assert isinstance(fast, Delivery)
        assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
        assert fast.value == (value or b"") and fast.headers == tuple(headers)
