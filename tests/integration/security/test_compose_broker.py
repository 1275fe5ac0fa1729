"""docker-compose's secured broker, run without Docker: deploy/kafka/docker/start.sh (the Kafka
container's entrypoint) with the Maven jars standing in for the image's /opt/kafka/bin scripts,
and the configuration it is given rewritten from the compose network's names to loopback ports.

It shows that what compose runs boots: the SCRAM users exist from the format, both SASL
listeners (inside: kafka:9092, host: 19092) take logins, the healthcheck's admin.properties
works, and the `topics` provisioner (`stack.py provision --acls`, logged in from KAFKA_SASL_*)
applies the catalog's ACLs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from contracts import topics
from deploy.kafka import compose, security
from deploy.kafka.acls import PRINCIPALS
from deploy.local import stack

ROOT = Path(__file__).resolve().parents[3]
# Loopback stand-ins for kafka:9092 (inside), kafka:9093 (controller), 127.0.0.1:19092 (host).
INSIDE, CONTROLLER, HOST = 21192, 21193, 21119
PASSWORDS = {p: security.new_password() for p in PRINCIPALS}

TOOL = """#!/usr/bin/env bash
# {name}: the image's script, with the local stack's jars
exec {java} -Xms256m -Xmx512m -Dkafka.logs.dir={logs} -Dlog4j2.configurationFile={log4j} \\
  -cp '{libs}/*' {main} "$@"
"""


@dataclass(frozen=True)
class ComposeBroker:
    work: Path
    log: Path

    @property
    def inside(self) -> str:
        return f"127.0.0.1:{INSIDE}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{HOST}"


def local_properties(data: Path) -> str:
    text = compose.render()
    for old, new in (
        ("kafka:9093", f"127.0.0.1:{CONTROLLER}"),
        ("kafka:9092", f"127.0.0.1:{INSIDE}"),
        ("127.0.0.1:19092", f"127.0.0.1:{HOST}"),
        ("://:9092", f"://127.0.0.1:{INSIDE}"),
        ("://:9093", f"://127.0.0.1:{CONTROLLER}"),
        ("://:19092", f"://127.0.0.1:{HOST}"),
        (compose.DATA_DIR, str(data)),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text


def answers(broker: ComposeBroker) -> bool:
    async def probe() -> bool:
        return await stack.kafka_answers(
            broker.host, security.client_options("admin", PASSWORDS["admin"])
        )

    try:
        return asyncio.run(probe())
    except Exception:
        return False


@pytest.fixture(scope="module")
def compose_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeBroker]:
    for port in (INSIDE, CONTROLLER, HOST):
        stack.ensure_port_free("compose broker test", port)
    stack.ensure_kafka_jars()
    base = tmp_path_factory.mktemp("compose-kafka")
    home, data, work = base / "opt-kafka", base / "data", base / "work"
    (home / "bin").mkdir(parents=True)
    java = stack.Kafka(stack.profiles()["test"])._java()
    for name, main in (
        ("kafka-storage.sh", "kafka.tools.StorageTool"),
        ("kafka-server-start.sh", "kafka.Kafka"),
    ):
        script = home / "bin" / name
        script.write_text(
            TOOL.format(
                name=name,
                java=java,
                logs=base,
                log4j=stack.KAFKA_LOG4J,
                libs=stack.KAFKA_LIBS,
                main=main,
            )
        )
        script.chmod(0o755)
    properties = base / "server.properties"
    properties.write_text(local_properties(data))
    log = base / "kafka.log"
    env = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(home),
        "SENTINEL_KAFKA_PROPERTIES": str(properties),
        "SENTINEL_KAFKA_WORK": str(work),
        **{security.password_var(p): pw for p, pw in PASSWORDS.items()},
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(compose.START_SCRIPT)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    broker = ComposeBroker(work, log)
    try:
        deadline = time.monotonic() + 120
        while not answers(broker):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the compose broker did not start:\n{stack.log_tail(log)}")
            time.sleep(0.5)
        yield broker
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # start.sh exec'd the broker: this is its pid
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def provision(broker: ComposeBroker) -> subprocess.CompletedProcess[str]:
    """What docker-compose's `topics` service runs, with its environment."""
    env = os.environ | {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "admin",
        "KAFKA_SASL_PASSWORD": PASSWORDS["admin"],
    }
    command = [sys.executable, "deploy/local/stack.py", "provision", "--bootstrap", broker.inside]
    return subprocess.run(
        [*command, "--acls"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_the_topics_provisioner_applies_topics_and_acls(compose_broker: ComposeBroker) -> None:
    run = provision(compose_broker)
    assert run.returncode == 0, run.stderr
    assert "acls: created" in run.stderr or "acls: all" in run.stderr
    again = provision(compose_broker)
    assert again.returncode == 0, again.stderr
    assert "acls: all" in again.stderr
    assert "topics: all" in again.stderr


def test_the_format_output_stays_out_of_the_log(compose_broker: ComposeBroker) -> None:
    text = compose_broker.log.read_text(errors="replace")
    assert "start.sh: formatted" in text
    assert "UserScramCredentialRecord(name=" not in text
    assert not [pw for pw in PASSWORDS.values() if pw in text]


def test_the_healthcheck_logs_in_with_admin_properties(compose_broker: ComposeBroker) -> None:
    java = stack.Kafka(stack.profiles()["test"])._java()
    command = stack.kafka_jvm_command(
        java,
        stack.KAFKA_LIBS,
        stack.KAFKA_LOG4J,
        compose_broker.work,
        [
            "org.apache.kafka.tools.BrokerApiVersionsCommand",
            "--bootstrap-server",
            compose_broker.inside,
            "--command-config",
            str(compose_broker.work / "admin.properties"),
        ],
        heap="256m",
    )
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Produce(0)" in run.stdout


async def test_both_listeners_take_scram_logins_limited_by_the_acls(
    compose_broker: ComposeBroker,
) -> None:
    assert provision(compose_broker).returncode == 0
    for bootstrap in (compose_broker.host, compose_broker.inside):
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            enable_idempotence=True,
            **security.client_options("terminals", PASSWORDS["terminals"]),
        )
        await asyncio.wait_for(producer.start(), 30)
        try:
            sent = await asyncio.wait_for(
                producer.send_and_wait(topics.TELEMETRY_READINGS.name, b"{}"), 30
            )
            assert sent.offset >= 0
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(
                    producer.send_and_wait(topics.TELEMETRY_RISKS.name, b"{}"), 30
                )
        finally:
            await producer.stop()
