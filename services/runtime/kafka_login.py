"""How a Kafka client that is not a service logs in: the `sentinel` CLI, the terminal simulator,
an integrator's consumer (examples/consumer.py).

The same variables and the same mapping to aiokafka's options as the services
(`settings.KafkaClientSettings`), under the principal's prefix: `KAFKA_SECURITY_PROTOCOL`,
`KAFKA_SASL_MECHANISM`, `<PRINCIPAL>_KAFKA_SASL_USERNAME` / `<PRINCIPAL>_KAFKA_SASL_PASSWORD`,
each falling back to the unprefixed `KAFKA_*` name. The secure stack's `.run/secure/env` and
compose's `.env` set them for `TERMINALS_` (the simulator) and `INTEGRATOR_` (the CLI, the
example). PLAINTEXT when nothing says otherwise.

Kept light (pydantic-settings and aiokafka only) so that tools can import it without the
services' dependencies being started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from services.runtime.settings import KafkaClientSettings

TERMINALS = "terminals"
INTEGRATOR = "integrator"


class KafkaLoginError(ValueError):
    """The login settings are incomplete or wrong; the message says which variable to set."""


def settings_var(principal: str, name: str) -> str:
    """`INTEGRATOR_KAFKA_SASL_USERNAME` for ("integrator", "kafka_sasl_username")."""
    return f"{principal.upper()}_{name.upper()}"


def client_options(principal: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments (producer, consumer, admin) to log in as `principal`; {} for
    PLAINTEXT. `environ` defaults to the process environment. Raises KafkaLoginError naming the
    variables to set when SASL is asked for without a username and password."""
    source = os.environ if environ is None else environ
    try:
        settings = KafkaClientSettings.from_environ(source, _env_prefix=f"{principal.upper()}_")
    except ValidationError as exc:
        protocol = source.get("KAFKA_SECURITY_PROTOCOL", "")
        first = exc.errors()[0]
        if first["type"] == "value_error":
            raise KafkaLoginError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs a login: set "
                f"{settings_var(principal, 'kafka_sasl_username')} and "
                f"{settings_var(principal, 'kafka_sasl_password')} (or KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD)"
            ) from None
        where = ".".join(str(p) for p in first["loc"]).upper()
        raise KafkaLoginError(f"{where}: {first['msg']}") from None
    return settings.kafka_client_options()


def describe(options: Mapping[str, Any]) -> str:
    """How the client logs in, for messages: `as integrator (SASL_PLAINTEXT, SCRAM-SHA-512)`."""
    if not options:
        return "without a login (PLAINTEXT)"
    return (
        f"as {options['sasl_plain_username']} "
        f"({options['security_protocol']}, {options['sasl_mechanism']})"
    )


async def explain_failure(
    bootstrap: str, options: Mapping[str, Any], principal: str, timeout_s: float = 10.0
) -> str:
    """Why a client could not connect, in one sentence: aiokafka reports a refused login as
    `Unable to bootstrap`, so this connects once more to the first bootstrap server and names
    what the broker said (a refused login), or what may be missing (a login at all)."""
    from aiokafka.conn import create_conn
    from aiokafka.errors import SaslAuthenticationFailed, UnsupportedSaslMechanismError

    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    user_var = settings_var(principal, "kafka_sasl_username")
    password_var = settings_var(principal, "kafka_sasl_password")
    if not options:
        mechanisms = await _sasl_mechanisms(host, int(port), timeout_s)
        if mechanisms:
            return (
                f"authentication required: the broker accepts only SASL logins "
                f"({', '.join(mechanisms)}) and none is configured: set "
                f"KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT, {user_var} and {password_var}"
            )
        return (
            f"the broker dropped the connection, or is not there: if it requires a login "
            f"(SASL/SCRAM), set KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT, {user_var} and "
            f"{password_var}"
        )
    try:
        conn = await asyncio.wait_for(
            create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000), **options),
            timeout_s,
        )
    except SaslAuthenticationFailed as exc:
        return (
            f"authentication failed: the broker refused the login {describe(options)} "
            f"({' '.join(str(exc).split())}); check {user_var} and {password_var}"
        )
    except UnsupportedSaslMechanismError as exc:
        return f"authentication failed: {exc}; check KAFKA_SASL_MECHANISM"
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"cannot connect {describe(options)}: {reason}"
    except Exception as exc:  # whatever else aiokafka raises while logging in
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"cannot log in {describe(options)}: {type(exc).__name__}: {reason}"
    with contextlib.suppress(Exception):
        conn.close()
    return f"the login {describe(options)} works, but the client could not start"


async def _sasl_mechanisms(host: str, port: int, timeout_s: float) -> list[str]:
    """The SASL mechanisms a listener asks for ([] when it is not a SASL listener or does not
    answer): a SaslHandshake request, which a SASL listener answers before any login and a
    PLAINTEXT one refuses (ILLEGAL_SASL_STATE)."""
    from aiokafka.conn import create_conn
    from aiokafka.protocol.admin import SaslHandShakeRequest

    illegal_sasl_state = 34
    conn = None
    try:
        conn = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(timeout_s * 1000)), timeout_s
        )
        response = await asyncio.wait_for(
            conn.send(SaslHandShakeRequest("SCRAM-SHA-512")), timeout_s
        )
    except Exception:
        return []
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
    if response.error_code == illegal_sasl_state:
        return []
    return [str(m) for m in response.enabled_mechanisms]
