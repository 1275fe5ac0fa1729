"""The simulator's Kafka sink logs in as `terminals` from the services' variables; SASL without
a login stops it at once, naming the variables."""

from __future__ import annotations

import argparse

import pytest

from simulator.__main__ import _sinks
from simulator.sink import KafkaSink, SinkError

ARGS = argparse.Namespace(kafka="k:9092", topic="t", ingest_url=None, stdout=False)


def test_the_kafka_sink_logs_in_as_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("TERMINALS_KAFKA_SASL_USERNAME", "terminals")
    monkeypatch.setenv("TERMINALS_KAFKA_SASL_PASSWORD", "pw")
    (sink,) = _sinks(ARGS)
    assert isinstance(sink, KafkaSink)
    assert sink.login == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "terminals",
        "sasl_plain_password": "pw",
    }


def test_plaintext_needs_no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    (sink,) = _sinks(ARGS)
    assert isinstance(sink, KafkaSink) and sink.login == {}


def test_sasl_without_a_login_stops_with_the_variables_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    for name in (
        "TERMINALS_KAFKA_SASL_USERNAME",
        "TERMINALS_KAFKA_SASL_PASSWORD",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="TERMINALS_KAFKA_SASL_USERNAME"):
        _sinks(ARGS)


async def test_an_unreachable_broker_is_a_sink_error_not_a_hang() -> None:
    sink = KafkaSink("127.0.0.1:1", "t")
    with pytest.raises(SinkError, match="not reachable"):
        await sink.start()
    await sink.close()
