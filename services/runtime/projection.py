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
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import MutableMapping
from typing import Protocol, TypeVar

from services.runtime.messaging import Handler, Messaging


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

    def add(self, topic: str, handler: Handler, view: str) -> str:
        group = self.group(view)
        self.messaging.subscribe(topic, handler, group_id=group)
        self.views.append((topic, group))
        return group

    async def catch_up(self) -> None:
        for topic, group in self.views:
            await self.messaging.caught_up(topic, group)
        self.ready.set()
