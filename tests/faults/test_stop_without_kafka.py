"""A service told to stop while Kafka is away stops (services/runtime/messaging.py): its
consumers' stop, each one's last offset commit and leave-group, is bounded like the producer's,
so a SIGTERM in an outage ends the process instead of waiting for the SIGKILL.

The broker is one of this test's own (a single KRaft node on free ports, the local stack's
`Kafka` with a private state folder): killing the test stack's broker would take it from every
other session on it. PostgreSQL and the identity provider are the test stack's.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import httpx

from deploy.local import stack
from tests.support.poll import until
from tests.support.process import service_process


async def _unready(url: str) -> bool:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/readyz", timeout=5)).status_code != 200


async def test_a_service_told_to_stop_while_kafka_is_away_exits(
    own_broker: stack.Kafka, service_env: dict[str, str], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    env = service_env | {
        "KAFKA_BOOTSTRAP_SERVERS": own_broker.address,
        # Six consumers (one a batch consumer), each with a commit and a group to leave.
        "CREDIT_DB_SCHEMA": f"credit_outage_{tag}",
        "CREDIT_CONSUMER_GROUP": f"credit-outage-{tag}",
    }
    with service_process("credit", env, tmp_path) as credit:
        await credit.ready()
        pid = own_broker.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # the outage: the broker is frozen
        # In the outage: the service itself says Kafka does not answer.
        await until(lambda: _unready(credit.url), within=60, what="credit unready without Kafka")
        credit.proc.send_signal(signal.SIGTERM)

        def exited() -> bool:
            return credit.proc.poll() is not None

        # A stop that hangs fails here, rather than hanging the suite.
        await until(exited, within=90, every=0.2, what="credit exited after SIGTERM")
        log = credit.log.read_text(errors="replace")
        assert credit.proc.returncode in (0, -signal.SIGTERM), log[-3000:]
        assert '"msg":"service stopped"' in log, log[-3000:]
        # Cut short and said so: the frozen broker never answers the consumers' leave-group.
        assert "consumers not stopped in time" in log, log[-3000:]
