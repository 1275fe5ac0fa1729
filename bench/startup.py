"""A service's start: how long until every one of its consumers holds its partitions.

    python -m bench.startup [--repeat 3]

Each of credit, inspection and campaign (the services with the most subscriptions in their
shared group) is started and stopped in a fresh schema and groups of its own, once to set them
up, then in turn:
- "one by one": FastStream's own `broker.start()`, each consumer started after the one before
  holds its partitions (the baseline, measured in the same run);
- "together": the runtime's `Messaging._start_broker`, every consumer started at once.
The time is `Service.start()`'s, from the first connection to the last assignment, on a
restart (the group exists, its members left it when stopped). The order alternates between
runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench import loops
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.runtime.messaging import Messaging
from tests.support.infra import infrastructure

SERVICES: dict[str, tuple[Callable[[Any], Any], type[Any]]] = {
    "credit": (build_credit, CreditSettings),
    "inspection": (build_inspection, InspectionSettings),
    "campaign": (build_campaign, CampaignSettings),
}
MODES = ("one by one", "together")
TOGETHER = Messaging._start_broker


async def _one_by_one(self: Messaging) -> None:
    await self.broker.start()


async def start_once(name: str, kafka: str, database_url: str, tag: str, mode: str) -> float:
    build, settings = SERVICES[name]
    app = build(
        settings(
            kafka_bootstrap_servers=kafka,
            database_url=database_url,
            db_schema=f"bench_start_{name}_{tag}",
            consumer_group=f"bench-start-{name}-{tag}",
            replica_id=f"bench-{tag}",
        )
    )
    service = app.state.service
    Messaging._start_broker = _one_by_one if mode == MODES[0] else TOGETHER  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        await service.start(jobs=False)
        took = time.perf_counter() - started
    finally:
        Messaging._start_broker = TOGETHER  # type: ignore[method-assign]
        await service.stop()
    return took


async def run(kafka: str, database_url: str, repeat: int) -> None:
    tags = {name: uuid.uuid4().hex[:6] for name in SERVICES}
    subscriptions = {}
    for name, tag in tags.items():  # the schema, the groups and their offsets, once
        await start_once(name, kafka, database_url, tag, MODES[1])
        build, settings = SERVICES[name]
        subscriptions[name] = len(build(settings()).state.service.messaging._subscribers)
    for i in range(repeat):
        order = MODES if i % 2 == 0 else MODES[::-1]
        print(f"run {i + 1} of {repeat} (load {os.getloadavg()[0]:.1f}, {' then '.join(order)}):")
        for name, tag in tags.items():
            took = {mode: await start_once(name, kafka, database_url, tag, mode) for mode in order}
            print(
                f"  {name:10} {subscriptions[name]:2} consumers"
                + "".join(f"  {mode} {took[mode]:5.2f} s" for mode in MODES)
                + f"  ratio {took[MODES[0]] / took[MODES[1]]:4.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with infrastructure() as endpoints:
        loops.run(run(endpoints.kafka, endpoints.database_url, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
