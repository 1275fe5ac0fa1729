"""SASL/SCRAM on the broker: its listener properties, the principals' credentials, the client
options, shared by the local stack's `secure` profile and docker-compose.

- Clients (services, terminals, integrators) authenticate with SCRAM-SHA-512 on SASL_PLAINTEXT
  listeners; their credentials are created when the storage is formatted
  (`kafka-storage format --add-scram 'SCRAM-SHA-512=[name=...,password=...]'`).
- The broker talks to itself (inter-broker) as `admin`, with SCRAM too.
- The controller listener uses SASL PLAIN with a static `admin` entry: KRaft controllers cannot
  check SCRAM (the credentials live in the metadata log they serve), and a PLAINTEXT controller
  listener would let anyone reaching the port act as ANONYMOUS.
- StandardAuthorizer (KRaft's) with `admin` as the only super user; everything else needs an
  ACL (deploy/kafka/acls.py), and no ACL means denied.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from deploy.kafka.acls import ADMIN, PRINCIPALS, SUPER_USERS

MECHANISM = "SCRAM-SHA-512"
CONTROLLER_MECHANISM = "PLAIN"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def env_prefix(principal: str) -> str:
    """`REGISTRY_`, `TERMINALS_`, ...: a service's settings prefix (services/*/settings.py)."""
    return f"{principal.upper()}_"


def username_var(principal: str) -> str:
    return f"{env_prefix(principal)}KAFKA_SASL_USERNAME"


def password_var(principal: str) -> str:
    return f"{env_prefix(principal)}KAFKA_SASL_PASSWORD"


def new_password() -> str:
    # Hex only: the value goes inside `--add-scram '...=[name=x,password=...]'` and a JAAS
    # string, where `,`, `]`, `"` or `;` would need quoting.
    return secrets.token_hex(24)


def complete_credentials(existing: Mapping[str, str]) -> tuple[dict[str, str], bool]:
    """A password per principal, keeping those already generated; True when one was added."""
    values = {p: existing[p] for p in PRINCIPALS if existing.get(p)}
    added = [p for p in PRINCIPALS if p not in values]
    for principal in added:
        values[principal] = new_password()
    return {p: values[p] for p in PRINCIPALS}, bool(added)


def scram_format_args(credentials: Mapping[str, str]) -> list[str]:
    """The `kafka-storage format` arguments that create every principal's SCRAM credential."""
    args: list[str] = []
    for principal in PRINCIPALS:
        password = credentials[principal]
        _check_password(password)
        args += ["--add-scram", f"{MECHANISM}=[name={principal},password={password}]"]
    return args


def _check_password(password: str) -> None:
    if not password or any(c in password for c in ',]"\\;= \n'):
        raise ValueError('a Kafka password must be non-empty and free of , ] " \\ ; = and spaces')


def scram_jaas(username: str | None = None, password: str | None = None) -> str:
    """The SCRAM login module; with credentials, the broker's own (inter-broker) identity."""
    if username is None:
        return f"{SCRAM_MODULE} required;"
    assert password is not None
    _check_password(password)
    return f'{SCRAM_MODULE} required username="{username}" password="{password}";'


def plain_controller_jaas(admin_password: str) -> str:
    """PLAIN on the controller listener: the broker logs in as admin, the only user there."""
    _check_password(admin_password)
    return (
        f'{PLAIN_MODULE} required username="{ADMIN}" password="{admin_password}" '
        f'user_{ADMIN}="{admin_password}";'
    )


def broker_security_properties(
    *,
    client_listeners: Sequence[str],
    inter_broker_listener: str,
    controller_listener: str = "CONTROLLER",
    admin_password: str | None,
) -> dict[str, str]:
    """The server.properties entries that turn on SASL and the authorizer.

    `client_listeners` are the SASL_PLAINTEXT listener names (the inter-broker one among them).
    Without `admin_password` the two JAAS entries that carry it are left out (docker-compose's
    start script appends them from the environment: deploy/kafka/compose/start.sh).
    """
    if inter_broker_listener not in client_listeners:
        raise ValueError("the inter-broker listener must be one of the client listeners")
    props = {
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "sasl.mechanism.controller.protocol": CONTROLLER_MECHANISM,
        f"listener.name.{controller_listener.lower()}.sasl.enabled.mechanisms": (
            CONTROLLER_MECHANISM
        ),
    }
    for listener in client_listeners:
        if listener != inter_broker_listener:
            props[jaas_property(listener)] = scram_jaas()
    if admin_password is not None:
        props[jaas_property(inter_broker_listener)] = scram_jaas(ADMIN, admin_password)
        props[controller_jaas_property(controller_listener)] = plain_controller_jaas(admin_password)
    props |= {
        "authorizer.class.name": AUTHORIZER,
        "super.users": ";".join(f"User:{user}" for user in SUPER_USERS),
        "allow.everyone.if.no.acl.found": "false",
    }
    return props


def jaas_property(listener: str) -> str:
    return f"listener.name.{listener.lower()}.{MECHANISM.lower()}.sasl.jaas.config"


def controller_jaas_property(listener: str = "CONTROLLER") -> str:
    return f"listener.name.{listener.lower()}.{CONTROLLER_MECHANISM.lower()}.sasl.jaas.config"


def client_options(username: str, password: str) -> dict[str, Any]:
    """aiokafka keyword arguments for a SCRAM client (as ServiceSettings.kafka_client_options)."""
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }


def client_options_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """aiokafka options from `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`,
    `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD` (the unprefixed names ServiceSettings reads);
    {} when no protocol or PLAINTEXT is set."""
    protocol = environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") or "PLAINTEXT"
    if protocol == "PLAINTEXT":
        return {}
    if protocol != "SASL_PLAINTEXT":
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol}: only SASL_PLAINTEXT is supported")
    username = environ.get("KAFKA_SASL_USERNAME", "")
    password = environ.get("KAFKA_SASL_PASSWORD", "")
    if not (username and password):
        raise ValueError("SASL_PLAINTEXT needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    return {
        "security_protocol": protocol,
        "sasl_mechanism": environ.get("KAFKA_SASL_MECHANISM", MECHANISM) or MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }


def client_env(credentials: Mapping[str, str]) -> dict[str, str]:
    """What the stack's env file says about Kafka security: the protocol and mechanism for
    everyone, and each non-admin principal's own username and password under its prefix.

    The admin password stays in the state folder's credentials file; nothing a service sources
    carries it.
    """
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": MECHANISM}
    for principal in PRINCIPALS:
        if principal in SUPER_USERS:
            continue
        env[username_var(principal)] = principal
        env[password_var(principal)] = credentials[principal]
    return env
