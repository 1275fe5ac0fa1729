"""Inspection's merchants view catching up: how long a replica takes to read a city's merchants.

    python -m bench.inspection_view [--merchants 20000] [--repeat 2]

N merchant snapshots go to a fresh six-partition topic (bench/views.py's); then a replica of
inspection's view (`services/inspection/projections.py`, with the service's own patrol-plan
start) reads the whole topic, and the time until it caught up is taken, two ways in the same
run, the order alternating:
- "a snapshot at a time": each snapshot in a unit of work of its own, as the view took them
  through its router until 2026-12-05 (`Service.project`; the baseline);
- "a batch at a time": the batch's snapshots in one statement and one unit of work
  (`Service.project_batches`, `Directory.on_merchants`), as the view takes them now.
Each way runs twice: into a fresh schema (every merchant is new and its patrol plan starts: a
new deployment), then a second replica into the schema the first filled (nothing is new: the
usual case of a replica added or replaced).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

from bench.readings import PARTITIONS, new_topic
from bench.views import cli, publish
from services.inspection.app import MIGRATIONS
from services.inspection.domain import Policy
from services.inspection.handlers import Handlers
from services.inspection.policy_files import default_catalogue
from services.inspection.projections import Directory
from services.inspection.service import InspectionService
from services.inspection.settings import InspectionSettings
from services.inspection.store import Stores
from services.runtime.app import Service
from services.runtime.delivery import Delivery

MODES = ("a snapshot at a time", "a batch at a time")


async def catch_up(kafka: str, database_url: str, topic: str, mode: str, schema: str) -> float:
    """Seconds from consuming's start until a replica of the view in `schema` read `topic`."""
    tag = uuid.uuid4().hex[:6]
    settings = InspectionSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        db_schema=schema,
        consumer_group=f"bench-ins-{tag}",
        replica_id=tag,
    )
    service = Service(settings, MIGRATIONS)
    uow = service.units(Stores.postgres)
    directory = Directory(uow)
    inspection = InspectionService(uow, directory, Policy(), catalogue=default_catalogue())
    handlers = Handlers(inspection)

    async def one(delivery: Delivery) -> None:
        await handlers.on_merchants([delivery])

    if mode == MODES[0]:
        service.project(topic, one, view="merchants")
    else:
        service.project_batches(topic, handlers.on_merchants, view="merchants")
    await service.start()
    started = time.perf_counter()
    try:
        await asyncio.wait_for(service.projections.ready.wait(), 900)
        took = time.perf_counter() - started
    finally:
        await service.stop()
    if not directory.merchants:
        raise RuntimeError("the view caught up holding no merchant")
    return took


async def run(kafka: str, database_url: str, merchants: int, repeat: int) -> None:
    topic = await new_topic(kafka, PARTITIONS, "bench.inspection-view")
    await publish(kafka, topic, merchants)
    print(f"{merchants:,} merchant snapshots on {topic}", file=sys.stderr)
    for i in range(repeat):
        order = MODES if i % 2 == 0 else MODES[::-1]
        took: dict[tuple[str, str], float] = {}
        for mode in order:
            schema = f"bench_ins_{uuid.uuid4().hex[:6]}"
            took[mode, "new"] = await catch_up(kafka, database_url, topic, mode, schema)
            took[mode, "known"] = await catch_up(kafka, database_url, topic, mode, schema)
        print(f"run {i + 1} of {repeat} (load {os.getloadavg()[0]:.1f}, {' then '.join(order)}):")
        for case, label in (("new", "every merchant new"), ("known", "every merchant known")):
            base = took[MODES[0], case]
            for mode in MODES:
                t = took[mode, case]
                print(
                    f"  {label:21} {mode:21} {t:7.2f} s {merchants / t:8,.0f} snapshots/s"
                    f"  ratio to a snapshot at a time {base / t:5.1f}"
                )


def main() -> int:
    return cli(__doc__, run)


if __name__ == "__main__":
    sys.exit(main())
