"""An integrator's consumer of Market Sentinel risks; it needs `contracts` and `aiokafka` (and,
from the same package, the Kafka login helper the services use).

    python examples/consumer.py --group my-department            # new risks from now on
    python examples/consumer.py --group my-department-2 --from-beginning

On a broker that requires SASL/SCRAM (docker-compose, the local `secure` profile) it logs in as
the `integrator` principal: `KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT` with
`INTEGRATOR_KAFKA_SASL_USERNAME` / `INTEGRATOR_KAFKA_SASL_PASSWORD` (`source .run/secure/env`
sets them), and its group must then be named `integrator-...`. A refused login ends it at once
with the reason (exit status 2).

It subscribes to `telemetry.risks.v1` in its own consumer group, validates every event with the
contract model for its `type`, prints each risk on one line, and commits only after handling:
delivery is at-least-once, so a redelivered event (same CloudEvent `id`) is dropped. An event
type it does not know is skipped, not an error: within a major version, new event types and
optional fields may arrive at any time (docs/integration.md, "Compatibility").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from contracts import events, topics
from services.runtime.kafka_login import (
    INTEGRATOR,
    KafkaLoginError,
    client_options,
    explain_failure,
)

TOPIC = topics.TELEMETRY_RISKS.name  # "telemetry.risks.v1"
START_TIMEOUT_S = 20.0  # a broker that drops a client without a login never answers


class CannotConnect(Exception):
    """Kafka is not there or refused the login; the message says which."""


def parse(value: bytes) -> Any:
    """The validated event (envelope + data model) or None for a type these contracts do not
    know. Raises ValueError (pydantic's ValidationError is one) when it breaks its contract."""
    head = json.loads(value)
    event_type = head.get("type") if isinstance(head, dict) else None
    try:
        spec = events.spec(str(event_type))
    except KeyError:
        return None
    return spec.envelope[spec.data].model_validate_json(value)


def describe(event: Any) -> str:
    """One line for a risk event."""
    risk = event.data
    change = event.type.rsplit(".", 1)[-1]
    where = f"market {risk.market_id}"
    if risk.merchant_id:
        where += f" merchant {risk.merchant_id} stall {risk.stall_no}"
    peak = "" if risk.evidence.peak is None else f" peak {risk.evidence.peak:g}"
    return (
        f"{event.time:%Y-%m-%d %H:%M:%S}Z {change:<12} {risk.severity:<8} {risk.rule:<22} "
        f"terminal {risk.terminal_id} {where}{peak} risk={risk.risk_id}"
    )


def skipped(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return f"skipped a record that is not JSON: {exc}"
    problems: list[dict[str, Any]] = errors()
    where = ".".join(str(part) for part in problems[0]["loc"])
    if all(p["type"] == "extra_forbidden" for p in problems):
        # A compatible addition (a new optional field) these models predate.
        return f"skipped an event with a field newer than these contracts ({where}): upgrade them"
    return f"skipped an event that breaks its contract: {where}: {problems[0]['msg']}"


class RiskPrinter:
    """What to print for each record: a line per new risk event, a warning for a broken one."""

    def __init__(self, remember: int = 100_000) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.remember = remember

    def handle(self, value: bytes | None) -> str | None:
        try:
            event = parse(value or b"")
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            return skipped(exc)
        if event is None or not event.type.startswith("telemetry.risk.") or event.id in self.seen:
            return None
        self.seen[event.id] = None
        if len(self.seen) > self.remember:
            self.seen.popitem(last=False)
        return describe(event)


async def consume(
    bootstrap: str,
    group: str,
    from_beginning: bool,
    login: Mapping[str, Any] | None = None,
    max_records: int | None = None,
) -> None:
    """Print risks until interrupted (or `max_records` records were read); `login` is
    aiokafka's SASL options ({} or None for PLAINTEXT)."""
    login = dict(login or {})
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        request_timeout_ms=15000,
        **login,
    )
    printer = RiskPrinter()
    try:
        await asyncio.wait_for(consumer.start(), START_TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as exc:
        await consumer.stop()
        why = await explain_failure(bootstrap, login, INTEGRATOR)
        raise CannotConnect(f"Kafka at {bootstrap} is not reachable: {why}") from exc
    read = 0
    try:
        async for record in consumer:
            line = printer.handle(record.value)
            if line:
                print(line, flush=True)
            await consumer.commit()  # after handling: a crash re-delivers, never loses
            read += 1
            if max_records is not None and read >= max_records:
                break
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print Market Sentinel risks as they happen.")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    )
    parser.add_argument("--group", default="example-risk-printer", help="your consumer group")
    parser.add_argument(
        "--from-beginning", action="store_true", help="a new group starts at the oldest risk"
    )
    parser.add_argument("--max", type=int, default=None, help="stop after this many records")
    args = parser.parse_args(argv)
    try:
        login = client_options(INTEGRATOR)  # KAFKA_SECURITY_PROTOCOL, INTEGRATOR_KAFKA_SASL_*
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(consume(args.bootstrap, args.group, args.from_beginning, login, args.max))
    except (KafkaLoginError, CannotConnect) as exc:
        print(f"consumer: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
