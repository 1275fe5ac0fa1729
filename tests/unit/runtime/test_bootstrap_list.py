"""A cluster's KAFKA_BOOTSTRAP_SERVERS (`host:port,host:port`, docs/local-stack.md) reaches
FastStream as a list: given the string, it took it for one host and no service could start on
the three-broker stack."""

from __future__ import annotations

from services.runtime import messaging
from services.runtime.metrics import Metrics


def test_a_comma_separated_list_is_split_and_one_address_stays_one() -> None:
    assert messaging.bootstrap_list("127.0.0.1:23092, 127.0.0.1:23094,127.0.0.1:23096") == [
        "127.0.0.1:23092",
        "127.0.0.1:23094",
        "127.0.0.1:23096",
    ]
    assert messaging.bootstrap_list("kafka:9092") == ["kafka:9092"]
    assert messaging.bootstrap_list("kafka:9092,") == ["kafka:9092"]


def test_the_faststream_broker_gets_every_address() -> None:
    bus = messaging.Messaging(
        "unit", "127.0.0.1:1,127.0.0.1:2", Metrics("unit"), group_id="g", kafka_options={}
    )
    assert bus.broker._connection_kwargs["bootstrap_servers"] == ["127.0.0.1:1", "127.0.0.1:2"]
