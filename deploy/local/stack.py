"""The local stack without Docker: Kafka (KRaft, jars from Maven), PostgreSQL, Prometheus with
Alertmanager (Debian's packages, where installed) and the identity provider (Keycloak from
Maven, deploy/local/identity.py).

    python deploy/local/stack.py [--profile dev|test|secure|cluster|chaos|beside] up [--json] | down
    python deploy/local/stack.py [--profile ...] status
    python deploy/local/stack.py install-extras
    python deploy/local/stack.py provision [--bootstrap HOST:PORT] [--acls] [--replication-factor N]

Everything listens on loopback; each profile has its own ports and state folder (`.run/` for
dev, `.run/<profile>/` for the others) so a test run never fights a running demo. The `secure`
profile's broker takes SASL/SCRAM clients only, with an ACL per principal
(deploy/kafka/security.py, deploy/kafka/acls.py); it runs no identity provider.
The `cluster` profile runs three KRaft nodes (a controller quorum of three) with every topic at
replication factor 3 and min.insync.replicas 2, and no identity provider either. The `chaos`
profile is one broker and one PostgreSQL that tests/faults/test_chaos.py stops and starts again,
so it never restarts the test stack under the suite running beside it; the `beside` profile is
one broker and one PostgreSQL for the integration tests `make test` runs beside the rest, so the
two never share a topic. `up` writes `<state>/env` (shell-sourceable) and, with `--json`,
prints the same variables as one JSON line on stdout; progress goes to stderr. See
docs/local-stack.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # Run as a script, sys.path[0] is deploy/local; contracts/ and services/ live at the root.
    sys.path.insert(0, str(ROOT))

from deploy.local.slots import SLOT_STEP, SlotError, Slots, read_slot  # noqa: E402

KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = ROOT / "deploy" / "kafka" / "log4j2.yaml"
PROMETHEUS_TEMPLATE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
PROMETHEUS_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
# docker-compose mounts alerts.yml beside prometheus.yml in /etc/prometheus; Prometheus resolves
# a relative rule file against the config file's folder, so this is that mounted path (and the
# checked-in prometheus.yml also validates where it lies in the repository).
COMPOSE_RULES = "alerts.yml"
ALERTMANAGER_TEMPLATE = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
# The console's endpoint Alertmanager posts every notification to (services/console/alerts.py),
# with the bearer credential SENTINEL_ALERT_WEBHOOK_TOKEN read from a file beside its config.
ALERT_WEBHOOK_PATH = "/hooks/alertmanager"
COMPOSE_ALERTMANAGER = "alertmanager:9093"
COMPOSE_WEBHOOK_TOKEN_FILE = "/run/secrets/alert_webhook_token"  # noqa: S105 a path, not a secret
PG_BIN = Path(os.environ.get("SENTINEL_PG_BIN", "/usr/lib/postgresql/15/bin"))
ALERTMANAGER_BINARY = "prometheus-alertmanager"  # Debian's name; amtool beside it
PG_USER = "postgres"  # the OS account that owns the cluster when we run as root

SERVICE_PORTS: dict[str, int] = {  # docs/local-stack.md, "Profiles"
    "registry": 8101,
    "telemetry": 8102,
    "inspection": 8103,
    "complaints": 8104,
    "credit": 8105,
    "campaign": 8106,
}
CONSOLE_PORT = 8100  # the staff console: pages, not an API Prometheus scrapes
SCRAPE_INTERVAL = "5s"
READY_DEADLINE_S = 90.0
STOP_DEADLINE_S = 30.0


class StackError(RuntimeError):
    """A failure the user can act on; printed without a traceback."""


# --- profiles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    name: str
    state: Path
    kafka_port: int
    controller_port: int
    postgres_port: int
    prometheus_port: int | None
    # SASL_PLAINTEXT listener, SCRAM users, StandardAuthorizer and the catalog's ACLs.
    secure: bool = False
    # The identity provider (deploy/local/identity.py): HTTP and management (health) ports.
    keycloak_port: int | None = None
    keycloak_management_port: int | None = None
    # Alertmanager (docs/local-stack.md, "Alerts"): beside Prometheus, where Prometheus runs.
    alertmanager_port: int | None = None
    # The demo people (`admin`, `<role>.<district>`) in the provider: the dev profile's.
    demo_people: bool = False
    # None: fixed ports (dev, docs/local-stack.md). Else the port slot (deploy/local/slots.py) these
    # ports belong to: `up` claims one so two checkouts' stacks never share a port.
    slot: int | None = None
    # KRaft nodes, each broker and controller: node n listens on kafka_port + 2(n-1) and
    # controller_port + 2(n-1), so a slot's ten ports hold three nodes' six.
    brokers: int = 1
    kafka_heap: str = "512m"
    # A broker the tests start and stop again and again, under little load: see QUICK_START_JIT.
    quick_start: bool = False

    def at_slot(self, slot: int) -> Profile:
        """The same profile on another slot's ports."""
        if self.slot is None:
            raise ValueError(f"profile {self.name} has fixed ports")
        step = (slot - self.slot) * SLOT_STEP

        def shift(port: int | None) -> int | None:
            return None if port is None else port + step

        return replace(
            self,
            kafka_port=self.kafka_port + step,
            controller_port=self.controller_port + step,
            postgres_port=self.postgres_port + step,
            prometheus_port=shift(self.prometheus_port),
            keycloak_port=shift(self.keycloak_port),
            keycloak_management_port=shift(self.keycloak_management_port),
            alertmanager_port=shift(self.alertmanager_port),
            slot=slot,
        )

    def ports(self) -> list[int]:
        return [
            port
            for port in (
                *(self.broker_port(n) for n in self.nodes()),
                *(self.node_controller_port(n) for n in self.nodes()),
                self.postgres_port,
                self.prometheus_port,
                self.keycloak_port,
                self.keycloak_management_port,
                self.alertmanager_port,
            )
            if port is not None
        ]

    def nodes(self) -> list[int]:
        """The KRaft node ids, 1 to `brokers`."""
        return list(range(1, self.brokers + 1))

    def broker_port(self, node: int) -> int:
        return self.kafka_port + 2 * (node - 1)

    def node_controller_port(self, node: int) -> int:
        return self.controller_port + 2 * (node - 1)

    @property
    def quorum_voters(self) -> str:
        """`controller.quorum.voters`: every node votes (combined broker and controller)."""
        return ",".join(f"{n}@127.0.0.1:{self.node_controller_port(n)}" for n in self.nodes())

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.broker_port(n)}" for n in self.nodes())

    @property
    def replication_factor(self) -> int:
        """Of every topic, internal ones included: three where there are three brokers."""
        return min(self.brokers, 3)

    @property
    def min_insync_replicas(self) -> int:
        return min_insync_replicas(self.replication_factor)

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/postgres"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        """Where the demo launcher records the service processes it starts."""
        return self.state / "pids"


def min_insync_replicas(replication: int) -> int:
    """acks=all waits for this many copies: all but one, so one broker of three may be away
    without a write failing, and an acknowledged write survives losing any one more."""
    return max(1, replication - 1)


def profiles(root: Path = ROOT) -> dict[str, Profile]:
    """Every profile; the test and secure ones on the port slot their state folder records
    (slot 0's ports, below, until an `up` claimed another)."""
    run = root / ".run"
    fixed = {
        "dev": Profile(
            "dev",
            run,
            19092,
            19093,
            15432,
            19090,
            keycloak_port=8180,
            keycloak_management_port=19000,
            alertmanager_port=19091,  # 9093 + 10000 is Kafka's controller
            demo_people=True,
        ),
        # Nested under .run/ but every component keeps its data in its own subfolder, and the
        # dev profile never looks inside test/, so the two never share a file.
        "test": Profile(
            "test",
            run / "test",
            29092,
            29093,
            25432,
            None,
            keycloak_port=28180,
            keycloak_management_port=29000,
            slot=0,
            quick_start=True,
        ),
        # Kafka with SASL/SCRAM and ACLs (docs/local-stack.md); tests/integration/security.
        "secure": Profile(
            "secure",
            run / "secure",
            21092,
            21093,
            21432,
            None,
            secure=True,
            slot=0,
            quick_start=True,
        ),
        # Three KRaft nodes (23092/23093, 23094/23095, 23096/23097), RF 3, min ISR 2; no
        # identity provider (tests/faults/test_failover.py). Heaps kept small for 2 cores.
        "cluster": Profile(
            "cluster",
            run / "cluster",
            23092,
            23093,
            23432,
            None,
            slot=0,
            brokers=3,
            kafka_heap="320m",
            quick_start=True,
        ),
        # One broker and a PostgreSQL that tests/faults/test_chaos.py restarts: its own, so the
        # rest of the suite can run beside it on the test stack. No identity provider.
        "chaos": Profile(
            "chaos", run / "chaos", 24092, 24093, 24432, None, slot=0, quick_start=True
        ),
        # One broker and a PostgreSQL for the integration tests `make test` runs beside the rest
        # (the Makefile's BESIDE_APART): their services never read the rest's events, nor the
        # rest's theirs. No identity provider: they sign in at the test stack's.
        "beside": Profile(
            "beside", run / "beside", 22092, 22093, 22432, None, slot=0, quick_start=True
        ),
    }
    return {
        name: p if p.slot is None else p.at_slot(read_slot(p.state) or 0)
        for name, p in fixed.items()
    }


# --- pure configuration rendering -------------------------------------------------------------
def kafka_properties(
    profile: Profile, data_dir: Path, admin_password: str | None = None, node: int = 1
) -> dict[str, str]:
    props = _kafka_properties(profile, data_dir, node)
    if profile.secure:
        if admin_password is None:
            raise ValueError("the secure profile's broker needs the admin password")
        props |= secure_kafka_properties(profile, admin_password)
    return props


def secure_kafka_properties(profile: Profile, admin_password: str) -> dict[str, str]:
    """One SASL_PLAINTEXT listener for clients and the broker itself; SASL PLAIN controller."""
    from deploy.kafka.security import broker_security_properties

    broker = f"127.0.0.1:{profile.kafka_port}"
    controller = f"127.0.0.1:{profile.controller_port}"
    return {
        "listeners": f"SASL_PLAINTEXT://{broker},CONTROLLER://{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://{broker}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        **broker_security_properties(
            client_listeners=["SASL_PLAINTEXT"],
            inter_broker_listener="SASL_PLAINTEXT",
            admin_password=admin_password,
        ),
    }


def _kafka_properties(profile: Profile, data_dir: Path, node: int = 1) -> dict[str, str]:
    broker = f"127.0.0.1:{profile.broker_port(node)}"
    controller = f"127.0.0.1:{profile.node_controller_port(node)}"
    replicas, min_isr = str(profile.replication_factor), str(profile.min_insync_replicas)
    return {
        "node.id": str(node),
        "process.roles": "broker,controller",
        "controller.quorum.voters": profile.quorum_voters,
        "listeners": f"PLAINTEXT://{broker},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{broker}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        # 50 offsets partitions (the default) make the first consumer group of a fresh broker
        # wait seconds on a 2-core machine; a single-node dev broker needs few.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        # Topics come only from the catalog (contracts/topics.py); a typo must fail, not create.
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
    }


def render_properties(props: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in props.items():
        if "\n" in value or "\n" in key:
            raise ValueError(f"property {key!r} must be a single line")
        # Java properties treat backslashes as escapes; our values are paths and host lists.
        lines.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
    return "\n".join(lines) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        props[key.strip()] = value.strip().replace("\\\\", "\\")
    return props


def new_cluster_id() -> str:
    """A KRaft cluster id, as `kafka-storage.sh random-uuid` prints: URL-safe base64, no padding.

    Kafka redraws ids starting with '-' because they read as an option on a command line.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


# The JIT's first tier only. C2's compilations are half of what a broker's start costs (6 CPU
# seconds to ready without this flag, 3 with it, measured on the two-core machine), and `make
# test` starts some 25 brokers and format runs, beside the tests, on the same two cores. A
# long-lived broker under load (dev, a real deployment) wants C2's faster code instead.
QUICK_START_JIT = ("-XX:TieredStopAtLevel=1",)


def kafka_jvm_command(
    java: str,
    libs: Path,
    log4j: Path,
    logs_dir: Path,
    main: Sequence[str],
    heap: str = "512m",
    quick_start: bool = False,
) -> list[str]:
    """The JVM line kafka-run-class.sh builds, with the Maven-resolved classpath."""
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-server",
        *(QUICK_START_JIT if quick_start else ()),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
        *main,
    ]


def postgres_settings(profile: Profile, socket_dir: Path | None) -> dict[str, str]:
    return {
        "listen_addresses": "127.0.0.1",
        "port": str(profile.postgres_port),
        # An empty list disables Unix sockets; used when the path would exceed sun_path (107).
        "unix_socket_directories": str(socket_dir) if socket_dir else "",
        # Each test session opens its own pools per service; 100 runs out under the e2e suite.
        "max_connections": "200",
        "shared_buffers": "128MB",
        "timezone": "UTC",
        "log_timezone": "UTC",
        "log_line_prefix": "%m [%p] %q%u@%d ",
        "log_min_duration_statement": "1000",
    }


def render_pg_conf(settings: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in settings.items():
        if value.isdigit():
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'")
    return "\n".join(lines) + "\n"


def prometheus_config(
    target: Callable[[str, int], str],
    interval: str = SCRAPE_INTERVAL,
    rule_files: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    """One scrape job per service; `target(name, port)` says where that service answers.

    `rule_files` are the alert rule files Prometheus loads (deploy/prometheus/alerts.yml);
    `alertmanagers` the addresses (host:port) it sends their alerts to.
    """
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        **({"rule_files": list(rule_files)} if rule_files else {}),
        **({"alerting": alerting_config(alertmanagers)} if alertmanagers else {}),
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target(name, port)]}],
            }
            for name, port in SERVICE_PORTS.items()
        ],
    }


def alerting_config(alertmanagers: Sequence[str]) -> dict[str, Any]:
    """Prometheus' `alerting:`. Every alert leaves with a `service` label, the scrape job (the
    service's name) it is about: Alertmanager groups by it and the console shows it."""
    return {
        "alert_relabel_configs": [
            {"source_labels": ["job"], "regex": "(.+)", "target_label": "service"}
        ],
        "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}],
    }


@dataclass(frozen=True)
class Smtp:
    """Where e-mail alerts go; from SENTINEL_ALERT_SMTP_* at `up` (docs/operations.md)."""

    smarthost: str  # host:port
    sender: str
    to: str
    username: str = ""
    password: str = ""
    require_tls: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Smtp | None:
        """None unless SENTINEL_ALERT_SMTP_SMARTHOST, _FROM and _TO are all set."""
        get = {
            k: environ.get(f"SENTINEL_ALERT_SMTP_{k.upper()}", "")
            for k in ("smarthost", "from", "to")
        }
        if not all(get.values()):
            return None
        return cls(
            get["smarthost"],
            get["from"],
            get["to"],
            environ.get("SENTINEL_ALERT_SMTP_USERNAME", ""),
            environ.get("SENTINEL_ALERT_SMTP_PASSWORD", ""),
            environ.get("SENTINEL_ALERT_SMTP_REQUIRE_TLS", "true").lower() != "false",
        )


def alertmanager_config(
    webhook_url: str,
    token_file: str,
    smtp: Smtp | None = None,
    timing: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Alertmanager's routes and receivers: every notification, firing and resolved, to the
    console's webhook (`webhook_url`, a bearer credential read from `token_file`), grouped by
    alert and service; critical ones also by e-mail where `smtp` is given, else the `email`
    receiver has nowhere to send and stays silent. `timing` overrides the grouping intervals
    (the browser test's short ones)."""
    email: dict[str, Any] = {"name": "email"}
    if smtp:
        mail: dict[str, Any] = {
            "to": smtp.to,
            "from": smtp.sender,
            "smarthost": smtp.smarthost,
            "require_tls": smtp.require_tls,
            "send_resolved": True,
        }
        if smtp.username:
            mail |= {"auth_username": smtp.username, "auth_password": smtp.password}
        email["email_configs"] = [mail]
    return {
        "route": {
            "receiver": "console",
            "group_by": ["alertname", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            **(timing or {}),
            "routes": [
                {"receiver": "console", "continue": True},
                {"receiver": "email", "matchers": ['severity="critical"']},
            ],
        },
        "receivers": [
            {
                "name": "console",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": token_file}
                        },
                    }
                ],
            },
            email,
        ],
    }


def local_target(_name: str, port: int) -> str:
    return f"127.0.0.1:{port}"


def compose_target(name: str, port: int) -> str:
    """In docker-compose, services answer on their DNS name."""
    return f"{name}:{port}"


def render_prometheus(config: Mapping[str, Any], header: str = "") -> str:
    import yaml

    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "missing"


def service_urls() -> dict[str, str]:
    return {
        f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()
    } | {"CONSOLE_URL": f"http://127.0.0.1:{CONSOLE_PORT}"}


def stack_env(
    profile: Profile,
    secret_values: Mapping[str, str],
    prometheus_url: str | None,
    identity: Mapping[str, str] | None = None,
    alertmanager_url: str | None = None,
) -> dict[str, str]:
    """`identity` is what the provider's set-up returned (Keycloak.configure): OIDC_ISSUER,
    KEYCLOAK_URL, its administrator and SENTINEL_ADMIN_TOKEN; None where none runs. With
    `alertmanager_url`, the console finds Alertmanager and the credential its webhook expects."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": profile.bootstrap,
        "DATABASE_URL": profile.database_url,
        **service_urls(),
    }
    if prometheus_url:
        env["PROMETHEUS_URL"] = prometheus_url
    if alertmanager_url:
        env["ALERTMANAGER_URL"] = alertmanager_url
        env["SENTINEL_ALERT_WEBHOOK_TOKEN"] = secret_values["SENTINEL_ALERT_WEBHOOK_TOKEN"]
    token = ""
    if identity:
        token = identity["SENTINEL_ADMIN_TOKEN"]
        env |= {k: v for k, v in identity.items() if k != "SENTINEL_ADMIN_TOKEN"}
    env["SENTINEL_TERMINAL_MASTER_SECRET"] = secret_values["SENTINEL_TERMINAL_MASTER_SECRET"]
    if identity:
        env["SENTINEL_DEMO_PASSWORD"] = secret_values["SENTINEL_DEMO_PASSWORD"]
        env |= {name: secret_values[name] for name in client_secret_names()}
        env["SENTINEL_ADMIN_TOKEN"] = token
    return env


def render_env_file(env: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in env.items():
        if not key.isidentifier():
            raise ValueError(f"{key!r} is not a shell variable name")
        lines.append(f"export {key}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"


def parse_env_file(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            parts = shlex.split(value)
            env[key.strip()] = parts[0] if parts else ""
    return env


def client_secret_names() -> tuple[str, ...]:
    """The env names of the identity provider's machine clients' secrets (SENTINEL_OPS_…)."""
    from deploy.identity.keycloak import MACHINE_CLIENTS
    from sentinel_cli.identity import client_secret_name

    return tuple(client_secret_name(client) for client in MACHINE_CLIENTS)


def secret_names() -> tuple[str, ...]:
    return (
        "SENTINEL_TERMINAL_MASTER_SECRET",  # terminal keys derive from it
        "SENTINEL_DEMO_PASSWORD",  # every demo person's, in the identity provider
        *client_secret_names(),
        "SENTINEL_ALERT_WEBHOOK_TOKEN",  # Alertmanager's bearer credential at the console
    )


def new_secret(name: str) -> str:
    # People type the demo password into a sign-in form: shorter, still 96 random bits.
    return secrets.token_urlsafe(12) if name == "SENTINEL_DEMO_PASSWORD" else secrets.token_hex(32)


def complete_secrets(existing: Mapping[str, str]) -> tuple[dict[str, str], bool]:
    """Keep the secrets already generated (terminal keys derive from them; the provider holds
    the clients' secrets and the demo people's password); generate the missing ones."""
    names = secret_names()
    values = {k: existing[k] for k in names if existing.get(k)}
    missing = [k for k in names if k not in values]
    for key in missing:
        values[key] = new_secret(key)
    return {k: values[k] for k in names}, bool(missing)


# --- topic provisioning plan (pure) -----------------------------------------------------------
class TopicSpec(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> int: ...
    def config(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class ExistingTopic:
    partitions: int
    config: dict[str, str]


@dataclass
class TopicPlan:
    create: list[TopicSpec] = field(default_factory=list)
    alter: dict[str, dict[str, str]] = field(default_factory=dict)
    grow: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.create or self.alter or self.grow)


def topic_config(topic: TopicSpec, replication: int = 1) -> dict[str, str]:
    """The catalog's configs of a topic; with replicas, also its `min.insync.replicas`."""
    config = topic.config()
    if replication > 1:
        config["min.insync.replicas"] = str(min_insync_replicas(replication))
    return config


def plan_topics(
    desired: Iterable[TopicSpec], existing: Mapping[str, ExistingTopic], replication: int = 1
) -> TopicPlan:
    """What to do so every catalog topic exists with at least its partitions and its configs
    (`topic_config` at `replication`: the profile's replication factor).

    Partitions are never reduced (Kafka cannot); topics outside the catalog are left alone.
    """
    plan = TopicPlan()
    for topic in desired:
        have = existing.get(topic.name)
        if have is None:
            plan.create.append(topic)
            continue
        want = topic_config(topic, replication)
        if any(have.config.get(key) != value for key, value in want.items()):
            plan.alter[topic.name] = want
        if have.partitions < topic.partitions:
            plan.grow[topic.name] = topic.partitions
    return plan


# --- processes --------------------------------------------------------------------------------
def proc_state(pid: int) -> str | None:
    """The process state letter from /proc, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rpartition(")")[2].split()[0]


def alive(pid: int) -> bool:
    # kill(pid, 0) succeeds on zombies, and nothing may reap our detached children here.
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def cmdline_matches(args: Sequence[str], needles: Iterable[str]) -> bool:
    joined = " ".join(args)
    return bool(args) and all(needle in joined for needle in needles)


def start_ticks(pid: int) -> int | None:
    """When a process started, in clock ticks after boot (field 22 of /proc/<pid>/stat).

    Unlike a wall-clock time this never moves: a pid reused by another process has other
    ticks, and an NTP step or a resumed virtual machine changes nothing.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return int(fields[19])  # fields here start at field 3 (state)
    except (OSError, IndexError, ValueError):
        return None


def started_at(pid: int) -> float | None:
    """A process's start as a Unix time (boot time + start ticks): it moves when the wall
    clock steps, so it only serves pid files written before start ticks were recorded."""
    ticks = start_ticks(pid)
    try:
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, IndexError):
        return None
    return None if ticks is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PidRecord:
    """A pid file: the pid, and the start ticks recorded at launch (None in an older file)."""

    pid: int
    ticks: int | None


STARTTIME = "starttime="  # proc(5) calls field 22 `starttime`


def render_pid_file(pid: int, ticks: int | None) -> str:
    # The pid alone on the first line: read_pid (and `cat`) keep working.
    return f"{pid}\n" + (f"{STARTTIME}{ticks}\n" if ticks is not None else "")


def parse_pid_file(text: str) -> PidRecord | None:
    lines = text.strip().splitlines()
    if not lines or not lines[0].strip().isdigit():
        return None
    ticks = None
    for line in lines[1:]:
        value = line.strip().removeprefix(STARTTIME)
        if line.strip().startswith(STARTTIME) and value.isdigit():
            ticks = int(value)
    return PidRecord(int(lines[0]), ticks)


def write_pid_file(path: Path, pid: int) -> None:
    """Record a process just launched (or just found), with its start ticks."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_pid_file(pid, start_ticks(pid)))
    tmp.replace(path)


def read_pid_record(path: Path) -> PidRecord | None:
    try:
        return parse_pid_file(path.read_text())
    except OSError:
        return None


def read_pid(path: Path) -> int | None:
    record = read_pid_record(path)
    return record.pid if record else None


def same_process(
    record: PidRecord, ticks_now: int | None, started: float | None, written: float
) -> bool:
    """Whether the process now running as `record.pid` is the one the pid file recorded.

    With recorded ticks, only equal ticks vouch for it. An older pid file has none: it falls
    back to the old check, a process no younger than its pid file (5 s of slack), which a step
    of the wall clock can fool (both `started` and `written` are wall-clock times).
    """
    if record.ticks is not None:
        return ticks_now == record.ticks
    return started is None or started <= written + 5


def recorded_process(path: Path, needles: Sequence[str]) -> int | None:
    """The live process a pid file names, if (where the file recorded them) its start ticks
    match and its command line has every needle."""
    record = read_pid_record(path)
    if record is None or not alive(record.pid):
        return None
    if record.ticks is not None and start_ticks(record.pid) != record.ticks:
        return None
    args = cmdline(record.pid)
    # A process launched a moment ago may still be inside execve: the pipe Popen waits on closes
    # before the kernel publishes the new command line, which reads empty until then. Matching
    # start ticks say it is the process recorded (seen once in `make demo`: "prometheus exited
    # while starting" while it started).
    if not args and record.ticks is not None:
        return record.pid
    return record.pid if cmdline_matches(args, needles) else None


def find_process(needles: Sequence[str]) -> int | None:
    """Our process by its command line, for when its pid file is gone but it still runs."""
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and alive(pid) and cmdline_matches(cmdline(pid), needles):
            return pid
    return None


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def who_listens(port: int) -> str:
    if not shutil.which("ss"):
        return ""
    out = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip()


def ensure_port_free(component: str, port: int) -> None:
    if not port_free(port):
        holder = who_listens(port)
        raise StackError(
            f"{component}: 127.0.0.1:{port} is already in use by a process this stack did not "
            f"start{(': ' + holder) if holder else ''}. Stop it and run `up` again."
        )


def terminate(pid: int, needles: Sequence[str], deadline_s: float = STOP_DEADLINE_S) -> str:
    """SIGTERM, wait, then SIGKILL — only if the pid still runs the command we started."""
    if not alive(pid) or not cmdline_matches(cmdline(pid), needles):
        return "not running"
    os.kill(pid, signal.SIGTERM)
    # A process stopped by SIGSTOP (a hung service, docs/operations.md) takes the SIGTERM only
    # once continued: it then drains like any other instead of waiting out the SIGKILL.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not alive(pid):
            return "stopped"
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while alive(pid) and time.monotonic() < end + 10:
        time.sleep(0.1)
    return "killed after SIGTERM timed out"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; as root, run its tools as the postgres account."""
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def chown_to_pg_user(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    account = pwd.getpwnam(PG_USER)
    for path in paths:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def pg_account_home() -> Path:
    """Where clusters out of the checkout live: the postgres account's own home (Debian's
    /var/lib/postgresql: persistent, and no other account can write there)."""
    import pwd

    try:
        home = Path(pwd.getpwnam(PG_USER).pw_dir)
    except KeyError:
        raise StackError(
            "postgres: PostgreSQL refuses to run as root and there is no `postgres` account to "
            "run it as; create one (adduser --system --group postgres) or run as another user"
        ) from None
    if not home.is_dir():
        raise StackError(
            f"postgres: the postgres account cannot reach this checkout and its home {home} "
            "does not exist; create it (owned by postgres) or clone where it can reach"
        )
    return home


def pg_account_reaches(path: Path) -> bool:
    """Whether the postgres account can get through `path` (every folder on the way must let
    it search: a clone in root's mode-0700 home does not)."""
    probe = subprocess.run(
        ["runuser", "-u", PG_USER, "--", "test", "-x", str(path)], capture_output=True, check=False
    )
    return probe.returncode == 0


def outside_pg_home(state: Path, base: Path) -> Path:
    """The cluster folder of the profile whose state folder is `state`, when the postgres
    account cannot reach the checkout: one per state folder, named by a hash of its path."""
    digest = hashlib.sha256(str(state).encode()).hexdigest()[:16]
    return base / "market-sentinel" / f"{state.name}-{digest}"


STOPPED_BY_SIGNAL = "stopped by a signal"


def stopped_by_signal(pid: int | None) -> bool:
    """A live process SIGSTOPped (state T, or t under a tracer): it holds its ports and pid and
    answers nothing, which a frozen broker or database looks like from outside."""
    return pid is not None and proc_state(pid) in ("T", "t")


@dataclass
class Status:
    name: str
    running: bool
    pid: int | None
    address: str
    note: str = ""

    def __post_init__(self) -> None:
        # Said of every process `status` lists, not only the services (ServiceProcess.hung):
        # the alert rehearsal's frozen Kafka was listed as plainly running.
        if stopped_by_signal(self.pid) and STOPPED_BY_SIGNAL not in self.note:
            self.note = f"{STOPPED_BY_SIGNAL}; {self.note}" if self.note else STOPPED_BY_SIGNAL

    def line(self) -> str:
        state = "running" if self.running else "stopped"
        pid = f"pid {self.pid}" if self.pid else "-"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<12} {state:<8} {pid:<11} {self.address}{note}"


# --- components -------------------------------------------------------------------------------
class Kafka:
    """One KRaft node of the profile: `kafka` (in <state>/kafka), or `kafka-<node>` (in
    <state>/kafka-<node>) where the profile runs several."""

    def __init__(self, profile: Profile, node: int = 1) -> None:
        self.profile, self.node = profile, node
        self.name = "kafka" if profile.brokers == 1 else f"kafka-{node}"
        self.home = profile.state / self.name
        self.data = self.home / "data"
        self.properties = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self.log = profile.logs / f"{self.name}.log"
        # secure profile: every principal's SCRAM password (0600), created before formatting.
        self.credentials_file = self.home / "credentials.env"

    @property
    def needles(self) -> tuple[str, ...]:
        # The absolute properties path tells our broker apart from any other kafka.Kafka.
        return ("kafka.Kafka", str(self.properties))

    def pid(self) -> int | None:
        pid = recorded_process(self.pid_file, self.needles)
        if pid:
            return pid
        found = find_process(self.needles)
        if found:
            with contextlib.suppress(OSError):
                write_pid_file(self.pid_file, found)
        return found

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.profile.broker_port(self.node)}"

    def status(self) -> Status:
        pid = self.pid()
        return Status(self.name, pid is not None, pid, self.address)

    def ports(self) -> list[tuple[str, int]]:
        return [
            (self.name, self.profile.broker_port(self.node)),
            (f"{self.name} controller", self.profile.node_controller_port(self.node)),
        ]

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise StackError("kafka: no `java` found (Java 17+ is needed); set JAVA_HOME")
        return java

    def _command(self, main: Sequence[str]) -> list[str]:
        return kafka_jvm_command(
            self._java(),
            KAFKA_LIBS,
            KAFKA_LOG4J,
            self.profile.logs,
            main,
            self.profile.kafka_heap,
            self.profile.quick_start,
        )

    def start(self) -> bool:
        """Start unless running; True when a process was started."""
        if self.pid():
            return False
        self.pid_file.unlink(missing_ok=True)
        ensure_kafka_jars()
        for label, port in self.ports():
            ensure_port_free(label, port)
        self.data.mkdir(parents=True, exist_ok=True)
        self.profile.logs.mkdir(parents=True, exist_ok=True)
        header = (
            f"Generated by deploy/local/stack.py (profile {self.profile.name}); rewritten by up"
        )
        if self.profile.secure:
            from deploy.kafka.acls import ADMIN

            # It holds the broker's own password: readable by this account only.
            props = kafka_properties(self.profile, self.data, self.credentials()[ADMIN])
            write_private(self.properties, render_properties(props, header))
        else:
            props = kafka_properties(self.profile, self.data, node=self.node)
            self.properties.write_text(render_properties(props, header))
        if not (self.data / "meta.properties").exists():
            self._format()
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                self._command(["kafka.Kafka", str(self.properties)]),
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command; `down` stops it by pid
            )
        write_pid_file(self.pid_file, proc.pid)
        say(f"{self.name}: started (pid {proc.pid}) on {self.address}, log {rel(self.log)}")
        return True

    def cluster_id(self) -> str:
        """A new id for one node; the nodes of a cluster share one, kept in <state>."""
        if self.profile.brokers == 1:
            return new_cluster_id()
        path = self.profile.state / "kafka-cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def _format(self) -> None:
        cluster_id = self.cluster_id()
        say(f"{self.name}: formatting storage in {rel(self.data)} (cluster id {cluster_id})")
        main = ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.properties)]
        if self.profile.secure:
            from deploy.kafka.security import scram_format_args

            main += scram_format_args(self.credentials())
        run = subprocess.run(self._command(main), capture_output=True, text=True, check=False)
        with self.log.open("a") as log:
            if self.profile.secure:
                # The tool prints the SCRAM records (salts and keys): keep them out of the log.
                log.write(f"storage formatted with SCRAM users (exit {run.returncode})\n")
            else:
                log.write(run.stdout + run.stderr)
        if run.returncode != 0:
            raise StackError(f"{self.name}: storage format failed:\n{run.stdout}{run.stderr}")

    def credentials(self) -> dict[str, str]:
        """The secure profile's passwords per principal, generated once before formatting.

        The SCRAM users exist from the format on; a password generated later would not match.
        """
        from deploy.kafka.security import complete_credentials

        existing = (
            parse_env_file(self.credentials_file.read_text())
            if self.credentials_file.exists()
            else {}
        )
        values, added = complete_credentials(existing)
        if added:
            if (self.data / "meta.properties").exists():
                raise StackError(
                    f"kafka: {rel(self.credentials_file)} is missing passwords of a formatted "
                    f"broker; run `down` and delete {rel(self.home)} to start over"
                )
            self.home.mkdir(parents=True, exist_ok=True)
            header = "SCRAM passwords per principal; generated by deploy/local/stack.py, keep it."
            write_private(self.credentials_file, render_env_file(values, header))
        return values

    def admin_options(self) -> dict[str, Any]:
        """aiokafka options for the stack's own admin clients ({} unless secure)."""
        if not self.profile.secure:
            return {}
        from deploy.kafka.acls import ADMIN
        from deploy.kafka.security import client_options

        return client_options(ADMIN, self.credentials()[ADMIN])

    def exited(self) -> bool:
        return self.pid() is None

    def stop(self) -> str:
        pid = self.pid()
        result = terminate(pid, self.needles, deadline_s=60) if pid else "not running"
        self.pid_file.unlink(missing_ok=True)
        return result


class Postgres:
    name = "postgres"

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        # The cluster's folder, or a link to it where the postgres account cannot reach the
        # checkout (_place).
        self.link = profile.state / "postgres"

    @property
    def outside(self) -> bool:
        return self.link.is_symlink()

    @property
    def home(self) -> Path:
        return Path(os.readlink(self.link)) if self.outside else self.link

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log(self) -> Path:
        # pg_ctl, as the postgres account, writes it; out of the checkout it sits beside the
        # cluster, and <state>/logs/postgres.log links to it.
        return self.home / "postgres.log" if self.outside else self.profile.logs / "postgres.log"

    def _bin(self, tool: str) -> str:
        path = PG_BIN / tool
        if path.exists():
            return str(path)
        found = shutil.which(tool)
        if not found:
            raise StackError(f"postgres: {tool} not found in {PG_BIN} or on PATH")
        return found

    def pid(self) -> int | None:
        pid = read_pid(self.data / "postmaster.pid")
        if pid and alive(pid) and cmdline_matches(cmdline(pid), ("postgres", str(self.data))):
            return pid
        return None

    def status(self) -> Status:
        pid = self.pid()
        note = f"cluster in {self.home}" if self.outside else ""
        address = f"127.0.0.1:{self.profile.postgres_port}"
        return Status(self.name, pid is not None, pid, address, note)

    def ports(self) -> list[tuple[str, int]]:
        return [(self.name, self.profile.postgres_port)]

    def _place(self) -> None:
        """As root, PostgreSQL runs as the postgres account, which must reach its cluster. A
        checkout it cannot get into (a clone in root's mode-0700 home) gets its cluster in
        that account's home instead, linked from <state>/postgres."""
        if self.link.exists() or self.link.is_symlink() or os.geteuid() != 0:
            return  # an existing cluster (or link) stays where it is
        self.profile.state.mkdir(parents=True, exist_ok=True)
        base = pg_account_home()
        if pg_account_reaches(self.profile.state):
            return
        home = outside_pg_home(self.profile.state, base)
        if home.exists():
            # Left by an earlier checkout at this path (its .run/ is gone, as after `make clean`
            # or a new clone): this state folder starts over, like an in-checkout one would.
            running = read_pid(home / "data" / "postmaster.pid")
            if running and alive(running) and cmdline_matches(cmdline(running), (str(home),)):
                raise StackError(
                    f"postgres: a server of an earlier checkout at this path still runs on "
                    f"{home}/data (pid {running}); stop it (runuser -u {PG_USER} -- pg_ctl -D "
                    f"{home}/data stop) and run `up` again"
                )
            say(f"postgres: removing {home}, left by an earlier checkout at this path")
            shutil.rmtree(home)
        home.parent.mkdir(parents=True, exist_ok=True)
        home.mkdir(mode=0o700)
        (home / "origin").write_text(f"{self.profile.state}\n")  # whose cluster this is
        chown_to_pg_user(home, home / "origin")
        self.link.symlink_to(home)
        self.profile.logs.mkdir(parents=True, exist_ok=True)
        log_link = self.profile.logs / "postgres.log"
        log_link.unlink(missing_ok=True)
        log_link.symlink_to(home / "postgres.log")
        say(
            f"postgres: the postgres account cannot reach {self.profile.state}; the cluster "
            f"lives in {home} (linked from {rel(self.link)})"
        )

    def _socket_dir(self) -> Path | None:
        socket_path = self.socket_dir / f".s.PGSQL.{self.profile.postgres_port}"
        return self.socket_dir if len(str(socket_path)) < 100 else None

    def _run(self, cmd: list[str], what: str) -> None:
        run = subprocess.run(
            as_pg_user(cmd), cwd=self.home, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise StackError(f"postgres: {what} failed:\n{run.stdout}{run.stderr}")

    def start(self) -> bool:
        if self.pid():
            return False
        ensure_port_free(self.name, self.profile.postgres_port)
        self._place()
        self.home.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.profile.logs.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        chown_to_pg_user(self.home, self.socket_dir, self.log)
        if not (self.data / "PG_VERSION").exists():
            say(f"postgres: initdb in {rel(self.data)}")
            initdb = [self._bin("initdb"), "-D", str(self.data), "-U", "postgres"]
            # trust is fine on a loopback-only development server; nothing else can reach it.
            initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C"]
            self._run(initdb, "initdb")
        self._clear_stale_lock()
        self._write_conf()
        # pg_ctl -w polls until the server accepts connections (Kafka's JVM boots meanwhile).
        pg_ctl = [self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        self._run([*pg_ctl, "-w", "-t", str(int(READY_DEADLINE_S)), "start"], "pg_ctl start")
        say(f"postgres: started on 127.0.0.1:{self.profile.postgres_port}, log {rel(self.log)}")
        return True

    def _clear_stale_lock(self) -> None:
        """After a crash, postmaster.pid names a dead server; postgres copes with that itself.

        Two cases it does not: the dead postmaster is still a zombie (kill(pid, 0) succeeds, so
        postgres thinks it runs), and its pid now belongs to another process. The file is only
        removed in the second case: it also guards the data against orphaned backends.
        """
        lock = self.data / "postmaster.pid"
        pid = read_pid(lock)
        if pid is None:
            return
        end = time.monotonic() + 15
        while proc_state(pid) in ("Z", "X") and time.monotonic() < end:
            time.sleep(0.1)  # waiting for init to reap the crashed postmaster
        state = proc_state(pid)
        if state in ("Z", "X"):
            raise StackError(f"postgres: the crashed server (pid {pid}) is not reaped yet; retry")
        if state is not None and not cmdline_matches(cmdline(pid), ("postgres",)):
            say(f"postgres: postmaster.pid names pid {pid}, now another process; removing it")
            lock.unlink(missing_ok=True)

    def _write_conf(self) -> None:
        header = (
            f"Generated by deploy/local/stack.py (profile {self.profile.name}); rewritten by up"
        )
        conf = self.data / "sentinel.conf"
        conf.write_text(render_pg_conf(postgres_settings(self.profile, self._socket_dir()), header))
        chown_to_pg_user(conf)
        main_conf = self.data / "postgresql.conf"
        include = "include_if_exists = 'sentinel.conf'"
        if include not in main_conf.read_text():
            with main_conf.open("a") as f:
                f.write(f"\n# the local stack's settings\n{include}\n")

    def exited(self) -> bool:
        return self.pid() is None

    def stop(self) -> str:
        if not self.pid():
            return "not running"
        self._run(
            [self._bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "fast", "-w", "-t", "60"],
            "pg_ctl stop",
        )
        return "stopped"


class Prometheus:
    name = "prometheus"

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.home = profile.state / self.name
        self.config = self.home / f"{self.name}.yml"
        self.data = self.home / "data"
        self.pid_file = self.home / f"{self.name}.pid"
        self.log = profile.logs / f"{self.name}.log"

    @property
    def port(self) -> int | None:
        return self.profile.prometheus_port

    @property
    def enabled(self) -> bool:
        return self.port is not None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.name, f"--config.file={self.config}")

    def ports(self) -> list[tuple[str, int]]:
        port = self.port
        return [(self.name, port)] if port is not None and self.binary() else []

    @staticmethod
    def binary() -> str | None:
        return shutil.which("prometheus")

    def pid(self) -> int | None:
        pid = recorded_process(self.pid_file, self.needles)
        if pid:
            return pid
        found = find_process(self.needles) if self.enabled else None
        if found:
            with contextlib.suppress(OSError):
                write_pid_file(self.pid_file, found)
        return found

    def status(self) -> Status:
        pid = self.pid()
        note = "" if self.binary() else "not installed: make setup"
        return Status(self.name, pid is not None, pid, self.address, note)

    def _write_config(self) -> bool:
        header = (
            f"Generated by deploy/local/stack.py (profile {self.profile.name}) from the same\n"
            "jobs as deploy/prometheus/prometheus.yml, with the services on loopback.\n"
            # The rules' digest changes this file when they change, so `up` reloads them.
            f"Alert rules: {rel(PROMETHEUS_RULES)} (sha256 {_digest(PROMETHEUS_RULES)})"
        )
        alertmanager = Alertmanager(self.profile)
        config = prometheus_config(
            local_target,
            rule_files=[str(PROMETHEUS_RULES)],
            alertmanagers=[alertmanager.address] if alertmanager.usable else [],
        )
        text = render_prometheus(config, header)
        changed = not self.config.exists() or self.config.read_text() != text
        if changed:
            self.config.write_text(text)
        return changed

    def _command(self, binary: str) -> list[str]:
        return [
            binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.data}",
            "--storage.tsdb.retention.time=7d",
            f"--web.listen-address={self.address}",
        ]

    def start(self) -> bool:
        binary = self.binary()
        if not self.enabled or not binary:
            return False
        assert self.port is not None
        self.home.mkdir(parents=True, exist_ok=True)
        self.profile.logs.mkdir(parents=True, exist_ok=True)
        changed = self._write_config()
        running = self.pid()
        if running:
            if changed:
                os.kill(running, signal.SIGHUP)  # both reload their configuration on HUP
            return False
        self.pid_file.unlink(missing_ok=True)
        ensure_port_free(self.name, self.port)
        self.data.mkdir(exist_ok=True)
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                self._command(binary),
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid_file(self.pid_file, proc.pid)
        say(f"{self.name}: started (pid {proc.pid}) on {self.url}, log {rel(self.log)}")
        return True

    def exited(self) -> bool:
        return self.pid() is None

    def ready(self) -> bool:
        import urllib.error
        import urllib.request

        # No proxy: a loopback address must not go through one set in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> str:
        pid = self.pid()
        result = terminate(pid, self.needles) if pid else "not running"
        self.pid_file.unlink(missing_ok=True)
        return result


class Alertmanager(Prometheus):
    """Debian's prometheus-alertmanager beside Prometheus: routes deploy/alertmanager/
    alertmanager.yml's way, to the console's webhook with the stack's bearer credential (a file
    here, never in the repository) and, where SENTINEL_ALERT_SMTP_* are set at `up`, by e-mail."""

    name = "alertmanager"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.token_file = self.home / "webhook-token"

    @property
    def port(self) -> int | None:
        return self.profile.alertmanager_port

    @property
    def usable(self) -> bool:
        return self.enabled and self.binary() is not None

    @staticmethod
    def binary() -> str | None:
        return shutil.which(ALERTMANAGER_BINARY)

    def _write_config(self) -> bool:
        token = load_secrets(self.profile)["SENTINEL_ALERT_WEBHOOK_TOKEN"]
        if not self.token_file.exists() or self.token_file.read_text() != token:
            write_private(self.token_file, token)
        smtp = Smtp.from_env(os.environ)
        config = alertmanager_config(
            f"http://127.0.0.1:{CONSOLE_PORT}{ALERT_WEBHOOK_PATH}", str(self.token_file), smtp
        )
        header = (
            f"Generated by deploy/local/stack.py (profile {self.profile.name}) with the routes of\n"
            f"{rel(ALERTMANAGER_TEMPLATE)}, to the console on loopback; e-mail "
            + ("to " + smtp.to if smtp else "off (no SENTINEL_ALERT_SMTP_*)")
        )
        text = render_prometheus(config, header)
        changed = not self.config.exists() or self.config.read_text() != text
        if changed:
            write_private(self.config, text)  # it may hold the SMTP password
        return changed

    def _command(self, binary: str) -> list[str]:
        return [
            binary,
            f"--config.file={self.config}",
            f"--storage.path={self.data}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",  # one instance: no gossip port on 0.0.0.0:9094
        ]


# A service process older than this that does not answer /healthz within HEALTHZ_TIMEOUT_S is
# hung: a start (migrations, the broker's first answer) is well within it on the 2-core machine.
HUNG_AFTER_S = 120.0
HEALTHZ_TIMEOUT_S = 5.0


@dataclass
class ServiceProcess:
    """A process the demo launcher started and recorded in `<state>/pids/<name>.pid`."""

    pid_file: Path

    @property
    def name(self) -> str:
        return self.pid_file.stem

    @property
    def address(self) -> str:
        port = CONSOLE_PORT if self.name == "console" else SERVICE_PORTS.get(self.name)
        return f"http://127.0.0.1:{port}" if port else ""

    def pid(self) -> int | None:
        record = read_pid_record(self.pid_file)
        if not (
            record and alive(record.pid) and cmdline_matches(cmdline(record.pid), (self.name,))
        ):
            return None
        # Only the service's name vouches for these pids, so the start ticks the launcher
        # recorded must match too: other ticks are a pid reused after the service died.
        pid = record.pid
        try:
            written = self.pid_file.stat().st_mtime
        except OSError:
            return None
        if not same_process(record, start_ticks(pid), started_at(pid), written):
            return None
        if record.ticks is None:
            # An older pid file that passed the wall-clock check: record the ticks now, so
            # that a later step of the clock cannot make the service look stopped.
            with contextlib.suppress(OSError):
                write_pid_file(self.pid_file, pid)
        return pid

    def hung(self, pid: int) -> str:
        """Why the live process `pid` serves nothing, or "": stopped by a signal (SIGSTOP), or
        up for longer than a start takes and not answering its /healthz, which only needs the
        event loop (a wedged loop). A live pid alone is no service (docs/operations.md)."""
        if stopped_by_signal(pid):
            return STOPPED_BY_SIGNAL
        began = started_at(pid)
        if not self.address or began is None or time.time() - began < HUNG_AFTER_S:
            return ""
        url = f"{self.address}/healthz"  # http on loopback, the address the stack gave it
        try:
            with urllib.request.urlopen(url, timeout=HEALTHZ_TIMEOUT_S):  # noqa: S310
                return ""
        except (OSError, ValueError):
            return f"not answering {self.address}/healthz"

    def status(self) -> Status:
        pid = self.pid()
        note = self.hung(pid) if pid else ""
        return Status(self.name, pid is not None, pid, self.address, note)

    def stop(self) -> str:
        pid = self.pid()
        result = terminate(pid, (self.name,)) if pid else "not running"
        self.pid_file.unlink(missing_ok=True)
        return result


def services(profile: Profile) -> list[ServiceProcess]:
    return [ServiceProcess(p) for p in sorted(profile.pids.glob("*.pid"))]


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def state_lock(profile: Profile) -> Iterator[None]:
    """Two `up`s at once (say, two pytest sessions) must not both format or start a broker."""
    profile.state.mkdir(parents=True, exist_ok=True)
    with (profile.state / ".stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- Kafka jars -------------------------------------------------------------------------------
def ensure_kafka_jars() -> None:
    if (KAFKA_LIBS / ".complete").exists():
        return
    if not shutil.which("mvn"):
        raise StackError(
            f"kafka: the broker jars are missing from {rel(KAFKA_LIBS)}; run `make kafka-jars` "
            "(needs Maven)"
        )
    say("kafka: resolving the broker jars with Maven (same as `make kafka-jars`)")
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    run = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={KAFKA_LIBS}",
            "-DincludeScope=runtime",
        ],
        stdout=sys.stderr,
        check=False,
    )
    if run.returncode != 0:
        raise StackError("kafka: Maven could not resolve the broker jars; see its output above")
    (KAFKA_LIBS / ".complete").touch()


# --- readiness and provisioning ---------------------------------------------------------------
async def _poll(
    what: str,
    probe: Callable[[], Any],
    deadline: float,
    died: Callable[[], bool] = lambda: False,
    log: Path | None = None,
) -> None:
    last = ""
    while time.monotonic() < deadline:
        try:
            if await probe():
                return
        except Exception as exc:  # any failure to answer just means "not yet"
            last = f"{type(exc).__name__}: {exc}"
        if died():
            tail = f"\n--- {rel(log)} ---\n{log_tail(log)}" if log else ""
            raise StackError(f"{what} exited while starting{tail}")
        await asyncio.sleep(0.25)
    tail = f"\n--- {rel(log)} ---\n{log_tail(log)}" if log else ""
    raise StackError(f"{what} not ready in time (last error: {last or 'none'}){tail}")


async def kafka_answers(
    bootstrap: str, client: Mapping[str, Any] | None = None, brokers: int = 1
) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **(client or {})
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        # A metadata answer with the registered brokers and an elected controller means topics
        # can be created; before that CreateTopics fails with "0 brokers registered" (or, short
        # of `brokers`, with an invalid replication factor).
        registered = len(cluster.get("brokers") or ())
        return registered >= brokers and cluster.get("controller_id", -1) >= 0
    finally:
        await admin.close()


async def postgres_answers(url: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        return bool(await conn.fetchval("SELECT 1") == 1)
    finally:
        await conn.close()


def _raise_errors(what: str, errors: Iterable[Sequence[Any]]) -> list[str]:
    """Kafka answers per topic with (name, error code, message...); code 0 is success."""
    retriable = []
    for name, code, *rest in errors:
        if code == 0:
            continue
        message = rest[0] if rest else ""
        # 36 TOPIC_ALREADY_EXISTS: a concurrent provisioner won; fine.
        if code == 36:
            continue
        # 7 REQUEST_TIMED_OUT, 38 INVALID_REPLICATION_FACTOR (broker not yet registered),
        # 41 NOT_CONTROLLER: the broker is still settling.
        if code in (7, 38, 41):
            retriable.append(name)
            continue
        raise StackError(f"{what} {name}: Kafka error {code} {message}")
    return retriable


async def describe_existing(admin: Any, names: Sequence[str]) -> dict[str, ExistingTopic]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    present = {
        t["topic"]: len(t["partitions"])
        for t in await admin.describe_topics(list(names))
        if t["error_code"] == 0
    }
    if not present:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in present]
    )
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            entries = resource["config_entries"]
            configs[resource["resource_name"]] = {
                e["config_names"]: e["config_value"]
                for e in entries
                if e["config_value"] is not None
            }
    return {name: ExistingTopic(n, configs.get(name, {})) for name, n in present.items()}


async def provision_topics(
    bootstrap: str, deadline: float, client: Mapping[str, Any] | None = None, replication: int = 1
) -> TopicPlan:
    """Create or update the catalog's topics; new ones get `replication` replicas each."""
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from contracts.topics import all_topics

    catalog = {t.name: t for t in all_topics()}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **(client or {})
    )
    try:
        await admin.start()
        first: TopicPlan | None = None
        while True:
            existing = await describe_existing(admin, list(catalog))
            plan = plan_topics(catalog.values(), existing, replication)
            if first is None:
                first = plan
            if plan.empty:
                return first
            if time.monotonic() > deadline:
                raise StackError(f"topics: not provisioned in time: {plan}")
            retry: list[str] = []
            if plan.create:
                new = [
                    NewTopic(
                        t.name,
                        t.partitions,
                        replication,
                        topic_configs=topic_config(t, replication),
                    )
                    for t in plan.create
                ]
                response = await admin.create_topics(new)
                retry += _raise_errors("create topic", response.topic_errors)
            if plan.alter:
                # AlterConfigs replaces a topic's whole set of overrides: the catalog owns them.
                resources = [
                    ConfigResource(ConfigResourceType.TOPIC, name, configs=cfg)
                    for name, cfg in plan.alter.items()
                ]
                for response in await admin.alter_configs(resources):
                    errors = [
                        (r["resource_name"], r["error_code"], r["error_message"])
                        for r in response.to_object()["resources"]
                    ]
                    retry += _raise_errors("alter topic config", errors)
            if plan.grow:
                await admin.create_partitions(
                    {name: NewPartitions(total) for name, total in plan.grow.items()}
                )
            # Then look again: metadata lags a moment behind creation, and retriable errors
            # clear once the broker has settled.
            await asyncio.sleep(0.5 if retry else 0.1)
    finally:
        await admin.close()


async def provision_acls(bootstrap: str, deadline: float, client: Mapping[str, Any]) -> str:
    """Apply the catalog's ACLs (deploy/kafka/acls.py) as a super user; say what changed."""
    from aiokafka.admin import AIOKafkaAdminClient

    from deploy.kafka.acls import AclError, apply_acls, catalog_acls
    from deploy.kafka.acls import describe_plan as describe_acl_plan

    wanted = catalog_acls()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000, **client)
    try:
        await admin.start()
        try:
            plan = await apply_acls(admin, wanted, deadline)
        except AclError as exc:
            raise StackError(f"acls: {exc}") from exc
    finally:
        await admin.close()
    return describe_acl_plan(plan, len(wanted))


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def describe_plan(plan: TopicPlan, total: int, replication: int = 1) -> str:
    if plan.empty:
        return f"topics: all {total} catalog topics in place"
    if replication > 1:
        total_note = f"{total} in the catalog, {replication} replicas each"
    else:
        total_note = f"{total} in the catalog"
    parts = []
    if plan.create:
        parts.append(f"created {len(plan.create)}")
    if plan.alter:
        parts.append(f"reconfigured {', '.join(plan.alter)}")
    if plan.grow:
        parts.append(f"added partitions to {', '.join(plan.grow)}")
    return f"topics: {'; '.join(parts)} ({total_note})"


# --- secrets and env --------------------------------------------------------------------------
def load_secrets(profile: Profile) -> dict[str, str]:
    path = profile.state / "secrets.env"
    existing = parse_env_file(path.read_text()) if path.exists() else {}
    values, changed = complete_secrets(existing)
    if changed:
        # Created 0600 from the start: terminal keys derive from them, clients log in with them.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(render_env_file(values, "Generated once by deploy/local/stack.py; keep it."))
    return values


def write_env(
    profile: Profile,
    prometheus_url: str | None,
    identity: Mapping[str, str] | None = None,
    alertmanager_url: str | None = None,
) -> dict[str, str]:
    env = stack_env(profile, load_secrets(profile), prometheus_url, identity, alertmanager_url)
    if profile.secure:
        from deploy.kafka.security import client_env

        env |= client_env(Kafka(profile).credentials())
    header = (
        f"Market Sentinel local stack, profile {profile.name}; written by deploy/local/stack.py up"
        f"\nsource {rel(profile.state / 'env')}"
    )
    if identity:
        header += (
            "\nSENTINEL_ADMIN_TOKEN: the identity provider's token for client sentinel-ops (role"
            "\nadmin, district *); it lives 10 hours, and every `up` (make up, make demo) gets a"
            "\nnew one. Sign in as a demo person: make token USER=inspector.zhifu"
        )
    path = profile.state / "env"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render_env_file(env, header))
    tmp.replace(path)  # readers (the demo launcher, a shell) never see a half-written file
    return env


# --- commands ---------------------------------------------------------------------------------
def kafka_nodes(profile: Profile) -> list[Kafka]:
    return [Kafka(profile, node) for node in profile.nodes()]


async def _wait_ready(nodes: Sequence[Kafka], postgres: Postgres, deadline: float) -> None:
    profile = postgres.profile
    await asyncio.gather(
        *(
            # Every node answers, and each sees all of them registered.
            _poll(
                node.name,
                lambda node=node: kafka_answers(  # type: ignore[misc]
                    node.address, node.admin_options(), profile.brokers
                ),
                deadline,
                node.exited,
                node.log,
            )
            for node in nodes
        ),
        _poll(
            "postgres",
            lambda: postgres_answers(profile.database_url),
            deadline,
            postgres.exited,
            postgres.log,
        ),
    )


def preflight(components: Sequence[Any]) -> None:
    """Check every port (and the jars, the identity provider's build and its Java) first, so a
    clash or a missing piece never leaves half a stack running."""
    for component in components:
        if component.pid() is None:
            if isinstance(component, Kafka):
                ensure_kafka_jars()
            elif hasattr(component, "prepare"):
                component.prepare()
            for label, port in component.ports():
                ensure_port_free(label, port)


def identity_provider(profile: Profile) -> Any:
    """The profile's Keycloak (deploy/local/identity.py), or None (the secure profile)."""
    if profile.keycloak_port is None:
        return None
    from deploy.local.identity import Keycloak

    return Keycloak(profile)


def demo_people(profile: Profile) -> list[Any]:
    if not profile.demo_people:
        return []
    from deploy.local.demo import demo_people as people

    return people()


def components(profile: Profile) -> list[Any]:
    """The profile's infrastructure, in the order `down` stops it: the identity provider
    before PostgreSQL, its database."""
    keycloak = identity_provider(profile)
    return [
        Prometheus(profile),
        Alertmanager(profile),
        *([keycloak] if keycloak else []),
        *kafka_nodes(profile),
        Postgres(profile),
    ]


def claim_slot(profile: Profile, slots: Slots | None = None) -> Profile:
    """A slotted profile on the slot `up` claims for it (deploy/local/slots.py)."""
    if profile.slot is None:
        return profile
    running = any(component.pid() for component in components(profile))

    def usable(slot: int) -> bool:
        return all(port_free(port) for port in profile.at_slot(slot).ports())

    registry = slots or Slots(profile.name)
    try:
        slot = registry.claim(profile.state, read_slot(profile.state), usable, pinned=running)
    except SlotError as exc:
        raise StackError(f"{profile.name} stack: {exc}") from exc
    if slot != profile.slot:
        say(f"stack ({profile.name}): port slot {slot} (slot 0's ports + {slot * SLOT_STEP})")
    return profile.at_slot(slot)


@contextlib.contextmanager
def undo_on_failure(
    launched: Sequence[Any], then: Callable[[], None] = lambda: None
) -> Iterator[None]:
    """A start that fails (an error, Ctrl-C, SIGTERM) stops what it launched, so no half
    stack is left holding the ports, then runs `then`.

    `launched` are the components that did not run before this start, in stopping order:
    each that runs now is stopped. Components that already ran are left alone.
    """
    try:
        yield
    except BaseException:
        for component in launched:
            try:
                if component.pid():
                    say(f"{component.name}: {component.stop()} (the start failed)")
            except Exception as exc:  # stop the others all the same
                say(f"{component.name}: could not stop it: {exc}")
        then()
        raise


def release_slot(profile: Profile) -> None:
    """Give the profile's port slot back, once nothing of it runs."""
    if profile.slot is None or any(component.pid() for component in components(profile)):
        return
    slot = Slots(profile.name).release(profile.state)
    if slot is not None:
        say(f"stack ({profile.name}): port slot {slot} released")


def up(profile: Profile, as_json: bool) -> int:
    started = time.monotonic()
    with state_lock(profile):
        profile = claim_slot(profile)
        launched = [component for component in components(profile) if not component.pid()]
        with undo_on_failure(launched, lambda: release_slot(profile)):
            return _up(profile, as_json, started)


def _up(profile: Profile, as_json: bool, started: float) -> int:
    nodes, postgres, prometheus = kafka_nodes(profile), Postgres(profile), Prometheus(profile)
    alertmanager = Alertmanager(profile)
    keycloak = identity_provider(profile)
    preflight([*nodes, postgres, prometheus, alertmanager, *([keycloak] if keycloak else [])])
    deadline = time.monotonic() + READY_DEADLINE_S
    starting: list[Kafka | Postgres] = [*nodes, postgres]
    for component in starting:
        if not component.start():
            say(f"{component.name}: already running (pid {component.pid()})")
    if keycloak:
        # It needs only PostgreSQL: its ~20 s boot overlaps Kafka's and the topics.
        asyncio.run(
            _poll(
                "postgres",
                lambda: postgres_answers(profile.database_url),
                deadline,
                postgres.exited,
                postgres.log,
            )
        )
        if not keycloak.start():
            say(f"keycloak: already running (pid {keycloak.pid()})")
    asyncio.run(_wait_ready(nodes, postgres, deadline))
    say(f"kafka and postgres ready after {time.monotonic() - started:.1f}s")
    from contracts.topics import all_topics

    admin = nodes[0].admin_options()
    replicas = profile.replication_factor
    plan = asyncio.run(provision_topics(profile.bootstrap, deadline, admin, replicas))
    say(describe_plan(plan, len(all_topics()), replicas))
    if profile.secure:
        say(asyncio.run(provision_acls(profile.bootstrap, deadline, admin)))
    # Alertmanager first: Prometheus' rendered configuration sends to it where it runs.
    alertmanager_url = start_monitoring(alertmanager, deadline)
    prometheus_url = start_monitoring(prometheus, deadline)
    identity = None
    if keycloak:
        keycloak.wait_ready()
        identity = keycloak.configure(load_secrets(profile), demo_people(profile))
    env = write_env(profile, prometheus_url, identity, alertmanager_url)
    took = time.monotonic() - started
    say(f"stack ({profile.name}) up in {took:.1f}s; env in {rel(profile.state / 'env')}")
    if as_json:
        print(json.dumps(env), flush=True)
    return 0


def start_monitoring(component: Prometheus, deadline: float) -> str | None:
    """Start Prometheus or Alertmanager where the profile has it and it is installed, wait until
    it is ready; its URL, or None."""
    if not component.enabled:
        return None
    if not component.binary():
        say(f"{component.name}: not installed (`make setup` installs Debian's package); skipped")
        return None
    if not component.start():
        say(f"{component.name}: already running (pid {component.pid()})")
    asyncio.run(
        _poll(
            component.name,
            _as_async(component.ready),
            deadline,
            component.exited,
            component.log,
        )
    )
    return component.url


def _as_async(check: Callable[[], bool]) -> Callable[[], Any]:
    async def probe() -> bool:
        return await asyncio.to_thread(check)

    return probe


def down(profile: Profile) -> int:
    if not profile.state.exists():
        say(f"stack ({profile.name}): nothing to stop")
        return 0
    with state_lock(profile):
        for service in services(profile):
            say(f"{service.name}: {service.stop()}")
        for group in stop_groups(components(profile)):
            for component, result in zip(group, stop_together(group), strict=True):
                say(f"{component.name}: {result}")
        release_slot(profile)
    return 0


def stop_groups(components: Sequence[Any]) -> list[list[Any]]:
    """The components in their order, the Kafka nodes as one group: a KRaft node stopped after
    the others has lost its controller quorum and waits out its SIGTERM deadline to be killed,
    so the nodes are stopped together."""
    groups: list[list[Any]] = []
    for component in components:
        if isinstance(component, Kafka) and groups and isinstance(groups[-1][0], Kafka):
            groups[-1].append(component)
        else:
            groups.append([component])
    return groups


def stop_together(group: Sequence[Any]) -> list[str]:
    if len(group) == 1:
        return [group[0].stop()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(group)) as pool:
        return list(pool.map(lambda component: component.stop(), group))


def started_profiles(root: Path = ROOT) -> list[Profile]:
    """The profiles this checkout has started at some time (their state folder exists)."""
    return [p for p in profiles(root).values() if p.state.exists()]


def down_all(root: Path = ROOT) -> int:
    """`make down`: every profile of this checkout, not only dev (a test run's stack too)."""
    found = started_profiles(root)
    if not found:
        say("stack: nothing to stop")
    for profile in found:
        say(f"--- {profile.name}")
        down(profile)
    return 0


def running(profile: Profile) -> bool:
    return any(component.pid() for component in components(profile)) or any(
        service.pid() for service in services(profile)
    )


def status(profile: Profile) -> int:
    shown: list[Any] = [*kafka_nodes(profile), Postgres(profile)]
    if profile.prometheus_port is not None:
        shown.append(Prometheus(profile))
    if profile.alertmanager_port is not None:
        shown.append(Alertmanager(profile))
    keycloak = identity_provider(profile)
    if keycloak:
        shown.append(keycloak)
    shown += services(profile)
    slot = "" if profile.slot is None else f", port slot {profile.slot}"
    say(f"profile {profile.name}, state {rel(profile.state)}{slot}")
    for component in shown:
        try:
            print(component.status().line())
        except OSError as exc:
            print(f"{component.name:<12} unknown  ({exc})")
    return 0


def status_all(root: Path = ROOT) -> int:
    for profile in started_profiles(root) or [profiles(root)["dev"]]:
        status(profile)
    return 0


def provision(
    bootstrap: str,
    client: Mapping[str, Any] | None = None,
    acls: bool = False,
    replication: int = 1,
) -> int:
    """Topics (and with `acls`, the catalog's ACLs) on a running broker; `client` is how to log
    in (docker-compose passes the admin's SCRAM login in KAFKA_SASL_* variables). It waits for
    `replication` brokers, the replicas of each new topic."""
    from contracts.topics import all_topics

    deadline = time.monotonic() + READY_DEADLINE_S
    asyncio.run(
        _poll(
            f"kafka at {bootstrap}",
            lambda: kafka_answers(bootstrap, client, replication),
            deadline,
        )
    )
    plan = asyncio.run(provision_topics(bootstrap, deadline, client, replication))
    say(describe_plan(plan, len(all_topics()), replication))
    if acls:
        if not client:
            raise StackError("acls: the ACLs need a super user's SASL login (KAFKA_SASL_*)")
        say(asyncio.run(provision_acls(bootstrap, deadline, client)))
    return 0


def provision_login(profile: Profile, environ: Mapping[str, str]) -> dict[str, Any]:
    """The login `provision` uses: KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_* from the environment,
    else the secure profile's admin."""
    from deploy.kafka.security import client_options_from_env

    try:
        client = client_options_from_env(environ)
    except ValueError as exc:
        raise StackError(f"provision: {exc}") from exc
    return client or Kafka(profile).admin_options()


# The real-browser tests (tests/browser) drive Debian's Chromium with Playwright; a CJK font makes
# the zh-CN pages legible in their screenshots. Package -> a file it installs.
BROWSER_PACKAGES = {
    "chromium": Path("/usr/bin/chromium"),
    "chromium-driver": Path("/usr/bin/chromedriver"),
    "fonts-wqy-microhei": Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
}


def install_extras() -> int:
    """Best effort: Debian's prometheus and prometheus-alertmanager packages, and Chromium for
    the browser tests. Never fails the set-up (the browser tests say what is missing)."""
    install_browser()
    install_prometheus()
    return install_alertmanager()


def install_browser() -> None:
    missing = [name for name, path in BROWSER_PACKAGES.items() if not path.exists()]
    if not missing:
        say("chromium: installed")
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"chromium: {' '.join(missing)} missing and apt-get is not usable here")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    ok = _apt(["apt-get", "update", "-q"], env) and _apt(install, env)
    installed = all(path.exists() for path in BROWSER_PACKAGES.values())
    say("chromium: installed" if ok and installed else f"chromium: {' '.join(missing)} skipped")


def install_prometheus() -> int:
    return install_monitoring("prometheus", "prometheus")


def install_alertmanager() -> int:
    """prometheus-alertmanager; amtool (the tests' check-config) comes with it."""
    return install_monitoring("prometheus-alertmanager", ALERTMANAGER_BINARY)


def install_monitoring(package: str, binary: str) -> int:
    if shutil.which(binary):
        say(f"{package}: installed")
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"{package}: not installed and apt-get is not usable here; the stack runs without it")
        return 0
    before = set(_system_pids(binary))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # No recommends: prometheus-node-exporter would come along and start listening on 9100.
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    ok = _apt(install, env)
    if not ok:
        say(f"{package}: install failed; refreshing the package lists and retrying")
        ok = _apt(["apt-get", "update", "-q"], env) and _apt(install, env)
    # Where an init system runs, the package starts its own server on :9090 (:9093); the stack
    # runs its own on loopback and does not want that one.
    for pid in set(_system_pids(binary)) - before:
        say(f"{package}: stopping the server the package started (pid {pid})")
        with contextlib.suppress(OSError):
            subprocess.run(
                ["invoke-rc.d", package, "stop"], capture_output=True, check=False, timeout=30
            )
        terminate(pid, (binary,), deadline_s=10)
    say(f"{package}: installed" if ok and shutil.which(binary) else f"{package}: skipped")
    return 0


def _apt(cmd: list[str], env: dict[str, str]) -> bool:
    try:
        run = subprocess.run(cmd, env=env, stdout=sys.stderr, check=False, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"{' '.join(cmd)}: {exc}")
        return False
    return run.returncode == 0


def _system_pids(binary: str) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = cmdline(int(entry.name))
            # The package's server runs from /usr/bin; ours always carries a .run config path.
            if args and Path(args[0]).name == binary and "/.run/" not in " ".join(args):
                yield int(entry.name)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="stack.py",
        description=(
            "Market Sentinel's local stack (Kafka, PostgreSQL, Prometheus, Alertmanager, Keycloak)"
        ),
    )
    parser.add_argument("--profile", choices=list(profiles()), default="dev")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start, wait until ready, provision topics, write env")
    start.add_argument("--json", action="store_true", help="print the env as JSON on stdout")
    stop = commands.add_parser("down", help="stop everything this stack (and the demo) started")
    stop.add_argument(
        "--all", action="store_true", help="every profile this checkout started (make down)"
    )
    show = commands.add_parser("status", help="one line per component")
    show.add_argument(
        "--all", action="store_true", help="every profile this checkout started (make status)"
    )
    show.add_argument(
        "--running",
        action="store_true",
        help="print nothing; exit 0 if anything of the profile runs, else 3",
    )
    commands.add_parser(
        "install-extras",
        help="install Debian's prometheus, prometheus-alertmanager and chromium (needs apt)",
    )
    prov = commands.add_parser("provision", help="create or update the catalog topics only")
    prov.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the profile's)")
    prov.add_argument(
        "--acls",
        action="store_true",
        help="also apply the catalog's ACLs (deploy/kafka/acls.py; always on for --profile secure)",
    )
    prov.add_argument(
        "--replication-factor",
        type=int,
        help="replicas of each new topic, min.insync.replicas one fewer (default: the profile's)",
    )
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # aiokafka logs every refused connection while the broker boots; polling expects those.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    profile = profiles()[args.profile]
    try:
        if args.command == "up":
            # A start stopped from outside (a CI timeout, `kill`) cleans up like a failed one.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
            return up(profile, args.json)
        if args.command == "down":
            return down_all() if args.all else down(profile)
        if args.command == "status":
            if args.running:
                return 0 if running(profile) else 3
            return status_all() if args.all else status(profile)
        if args.command == "install-extras":
            return install_extras()
        return provision(
            args.bootstrap or profile.bootstrap,
            provision_login(profile, os.environ),
            acls=args.acls or profile.secure,
            replication=args.replication_factor or profile.replication_factor,
        )
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run as a script this is __main__; deploy/local/identity.py imports deploy.local.stack. Run
    # that one copy, so there is one StackError (and one of everything else).
    from deploy.local.stack import main as main_of_the_module

    raise SystemExit(main_of_the_module())
