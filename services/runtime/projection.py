"""Views a replica keeps in memory of compacted topics (the registry's markets, merchants and
terminals), and the one way every service wires them.

A view must hold every key of its topic on every replica: a handler judges a reading, a
complaint or a patrol against it. Replicas that shared a consumer group would split the topic's
partitions between them, and each would know only part of the registry. So each view consumes
in a group of this replica's own (`<service group>-<view>-<replica>`), from the beginning the
first time and from where it stopped after a restart.

The durable copy of a view lives in the service's schema, which the replicas share. The first
replica to store a newer snapshot runs the view's once-only effects (a patrol plan started, a
task force recorded) in that transaction; every replica takes the snapshot into its memory,
whether or not it was the one that stored it (`keep_newer`).

    service.project(topic, handler, view="markets")
    await service.projections.ready.wait()   # every view read its topic to the end it had

A view consumes in batches and commits its position once a batch: a new replica reads every
snapshot of the registry before it is ready, and a Kafka commit per snapshot made that a round
trip to the group coordinator each (bench/README.md, "Registry views"). A view's handler takes
the snapshots one at a time, in order (`service.project`: the views of a few hundred markets);
or writes the batch in one statement (`service.project_batches`: the directory's merchants,
telemetry's terminals and markets, inspection's merchants, whose store names the merchants it
did not know so that their patrol plans start in the same transaction). A batch that fails is
handled again record by record (services/runtime/dispatcher.py), so snapshots before the
failing one come again: a view keeps only newer versions (`keep_newer`, and `WHERE version <`
in the stores), so they change nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import MutableMapping, Sequence
from typing import Protocol, TypeVar

from services.runtime.delivery import BatchHandler, Delivery
from services.runtime.messaging import Handler, Messaging

# Snapshots a view takes per batch, and how long a poll waits for them: at the registry's usual
# pace a change then reaches the view within a few tens of milliseconds.
VIEW_BATCH_RECORDS = 2000
VIEW_BATCH_TIMEOUT_MS = 20


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def keep_newer(view: MutableMapping[str, V], key: str, snapshot: V) -> bool:
    """Hold `snapshot` unless the view holds this key at its version or a newer one, so a replay
    or a redelivery leaves the view as it was. True when the view changed."""
    held = view.get(key)
    if held is not None and held.version >= snapshot.version:
        return False
    view[key] = snapshot
    return True


def in_order(handler: Handler) -> BatchHandler:
    """`handler` over each snapshot of a batch, in the order consumed."""

    async def handle(deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await handler(delivery)

    handle.__name__ = getattr(handler, "__name__", "handler")
    return handle


def replica_name(replica_id: str, port: int) -> str:
    """This replica's name in its view groups: the one configured (a pod's name), else the host's
    name and the HTTP port, unique on a host and stable across restarts (which then resume where
    they stopped instead of replaying the topics)."""
    return replica_id or f"{socket.gethostname()}-{port}"


class Projections:
    """The views of one service replica: their subscriptions and when they caught up."""

    def __init__(self, messaging: Messaging, group_id: str, replica: str) -> None:
        self.messaging, self.group_id, self.replica = messaging, group_id, replica
        self.views: list[tuple[str, str]] = []
        # Set once every view has handled what its topic held when consuming began: only then
        # does the replica know every key (a judgement before that would miss some).
        self.ready = asyncio.Event()

    def group(self, view: str) -> str:
        return f"{self.group_id}-{view}-{self.replica}"

    def add(self, topic: str, handler: BatchHandler, view: str) -> str:
        group = self.group(view)
        self.messaging.subscribe_batch(
            topic,
            handler,
            group_id=group,
            max_records=VIEW_BATCH_RECORDS,
            batch_timeout_ms=VIEW_BATCH_TIMEOUT_MS,
        )
        self.views.append((topic, group))
        return group

    async def catch_up(self) -> None:
        for topic, group in self.views:
            await self.messaging.caught_up(topic, group)
        self.ready.set()
