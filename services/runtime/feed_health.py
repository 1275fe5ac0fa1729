"""Whether a consumer's feed of messages works, and since when without a break.

A consumer that receives nothing cannot tell on its own a quiet topic from a broker that is
away: aiokafka's `getmany` returns an empty batch in both cases. What tells them apart is the
client's own record of its fetches: each successful fetch response stamps its partitions with the
time (`AIOKafkaConsumer.last_poll_timestamp`), every `fetch_max_wait_ms` (500 ms) on a quiet
topic. A frozen or unreachable broker stops the stamps, so does a handler that holds on to its
records (the client fetches a partition again only once its records were taken).

The feed of a subscription counts as working at an observation when:
  - the consumer holds at least one partition of the topic, and none is paused or stalled (a
    partition stopped at a message its handler keeps failing on, services/runtime/dispatcher.py);
  - every partition held was fetched within `stale_after_s` (10 s by default);
  - and it has caught up since the last break: after a break, or once it holds a partition it did
    not hold before (a rebalance), its position in each partition has reached the end that the
    partition had at the first observation where the two conditions above held again. Until
    then the messages that piled up are still being read, so what they say is not known yet.

`since` is the observation at which the feed was last seen to start working, None while it is
not. Telemetry measures a terminal's silence from it (docs/rules.md, "monitoring gap"). The
observations come from the runtime's lag watch every 5 s and from whoever asks
(`Messaging.feed_since`), so a break is seen within `stale_after_s` and 5 s.

This module does no I/O: `Messaging` reads the client's state into a `FeedSeen`, and a tracker
takes it with the time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

STALE_AFTER_S = 10.0


@dataclass(frozen=True, slots=True)
class PartitionSeen:
    """One partition the consumer holds, as its client knows it.

    `fetched_at`: the last successful fetch (epoch seconds), None before the first since it was
    assigned; `position`: the next offset the consumer hands out; `end`: the partition's end
    offset as that fetch said (None before one); `stopped`: paused or stalled."""

    fetched_at: float | None
    position: int | None
    end: int | None
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class FeedSeen:
    """A subscription's partitions held at one instant, by partition number."""

    partitions: Mapping[int, PartitionSeen] = field(default_factory=dict)


class FeedHealth:
    """Since when one subscription's feed has worked without a break (module docstring).

    Calls for one tracker must not interleave: `Messaging` makes them from one event loop."""

    def __init__(self, topic: str, *, stale_after_s: float = STALE_AFTER_S) -> None:
        self.topic = topic
        self.stale_after_s = stale_after_s
        self.since: float | None = None
        # Why the feed does not count as working now, for the logs (None while it does).
        self.problem: str | None = "not observed yet"
        # The partitions held at the last observation, and while catching up after a break, the
        # end each must reach.
        self._held: frozenset[int] = frozenset()
        self._targets: dict[int, int] = {}

    @property
    def working(self) -> bool:
        return self.since is not None

    def observe(self, now: float, seen: FeedSeen) -> float | None:
        """Take what the client says at `now` (epoch seconds); return `since`."""
        held = frozenset(seen.partitions)
        problem = self._broken(now, seen)
        if problem is not None:
            self._targets.clear()
            self._change(now, None, problem)
        else:
            if self.since is not None and held - self._held:
                # Partitions taken over in a rebalance: what piled up on them is read first.
                self._targets.clear()
                self._change(now, None, "took over partitions; catching up")
            if self.since is None:
                behind = self._catching_up(seen)
                if behind is not None:
                    self._change(now, None, behind)
                else:
                    self._targets.clear()
                    self._change(now, now, None)
        self._held = held
        return self.since

    def _broken(self, now: float, seen: FeedSeen) -> str | None:
        if not seen.partitions:
            return "holds no partition"
        for number, p in sorted(seen.partitions.items()):
            if p.stopped:
                return f"partition {number} stopped"
            if p.fetched_at is None:
                return f"partition {number} not fetched yet"
            if now - p.fetched_at > self.stale_after_s:
                return f"partition {number} not fetched for {now - p.fetched_at:.0f} s"
        return None

    def _catching_up(self, seen: FeedSeen) -> str | None:
        """How far the partitions are from their target ends (None: caught up); a partition
        without a target gets its end now as one."""
        behind = 0
        for number, p in sorted(seen.partitions.items()):
            if p.end is None or p.position is None:
                return f"catching up: partition {number}'s position not known"
            target = self._targets.setdefault(number, p.end)
            behind += max(0, target - p.position)
        return f"catching up: {behind} messages behind" if behind else None

    def _change(self, now: float, since: float | None, problem: str | None) -> None:
        was = self.since
        self.since, self.problem = since, problem
        if was is not None and since is None:
            log.warning(
                "consumer feed broken: the messages of its topic may not reach the service",
                extra={"topic": self.topic, "problem": problem, "working_since": was},
            )
        elif was is None and since is not None:
            log.info("consumer feed working", extra={"topic": self.topic, "since": since})
