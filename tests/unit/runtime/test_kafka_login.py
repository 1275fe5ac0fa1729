"""services/runtime/kafka_login.py: the CLI's, the simulator's and the example consumer's Kafka
login, from the variables the services read and through the services' own mapping."""

from __future__ import annotations

import pytest

from services.runtime.kafka_login import (
    INTEGRATOR,
    TERMINALS,
    KafkaLoginError,
    client_options,
    describe,
    explain_failure,
)
from services.runtime.settings import KafkaClientSettings

SECURE = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "TERMINALS_KAFKA_SASL_USERNAME": "terminals",
    "TERMINALS_KAFKA_SASL_PASSWORD": "t-pw",
    "INTEGRATOR_KAFKA_SASL_USERNAME": "integrator",
    "INTEGRATOR_KAFKA_SASL_PASSWORD": "i-pw",
}


def test_each_principal_logs_in_with_its_own_prefixed_variables() -> None:
    assert client_options(TERMINALS, SECURE) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "terminals",
        "sasl_plain_password": "t-pw",
    }
    assert client_options(INTEGRATOR, SECURE)["sasl_plain_username"] == "integrator"


def test_it_is_the_services_mapping() -> None:
    expected = KafkaClientSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="integrator",
        kafka_sasl_password="i-pw",
    ).kafka_client_options()
    assert client_options(INTEGRATOR, SECURE) == expected


def test_unprefixed_names_fill_in_and_nothing_means_plaintext() -> None:
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_SASL_USERNAME": "someone",
        "KAFKA_SASL_PASSWORD": "pw",
    }
    options = client_options(INTEGRATOR, env)
    assert options["sasl_plain_username"] == "someone"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert client_options(INTEGRATOR, {}) == {}
    assert client_options(INTEGRATOR, {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}) == {}


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECURE.items():
        monkeypatch.setenv(name, value)
    assert client_options(TERMINALS)["sasl_plain_password"] == "t-pw"


def test_a_mapping_given_is_all_that_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    assert client_options(INTEGRATOR, {}) == {}


def test_sasl_without_a_login_names_the_variables_to_set() -> None:
    with pytest.raises(KafkaLoginError) as caught:
        client_options(TERMINALS, {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    message = str(caught.value)
    assert "TERMINALS_KAFKA_SASL_USERNAME" in message
    assert "TERMINALS_KAFKA_SASL_PASSWORD" in message
    with pytest.raises(KafkaLoginError, match="KAFKA_SECURITY_PROTOCOL"):
        client_options(TERMINALS, {"KAFKA_SECURITY_PROTOCOL": "SSL"})


def test_descriptions_never_show_the_password() -> None:
    text = describe(client_options(INTEGRATOR, SECURE))
    assert text == "as integrator (SASL_PLAINTEXT, SCRAM-SHA-512)" and "i-pw" not in text
    assert describe({}) == "without a login (PLAINTEXT)"


async def test_a_failure_without_a_login_suggests_one() -> None:
    why = await explain_failure("127.0.0.1:1", {}, INTEGRATOR)
    assert "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" in why
    assert "INTEGRATOR_KAFKA_SASL_USERNAME" in why


async def test_a_failure_with_a_login_says_what_happened_when_connecting() -> None:
    why = await explain_failure("127.0.0.1:1", client_options(INTEGRATOR, SECURE), INTEGRATOR)
    assert why.startswith("cannot connect as integrator") and "i-pw" not in why
