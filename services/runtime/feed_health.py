"""Whether a consumer's feed of messages works, and since when without a break.

A consumer that receives nothing cannot tell on its own a quiet topic from a broker that is
away: aiokafka's `getmany` returns an empty batch in both cases. What tells them apart is the
client's own record of its fetches: each successful fetch response stamps its partitions with the
time (`AIOKafkaConsumer.last_poll_timestamp`), every `fetch_max_wait_ms` (500 ms) on a quiet
topic. A frozen or unreachable broker stops the stamps, so does a handler that holds on to its
records (the client fetches a partition again only once its records were taken).

Each partition the consumer holds has a feed of its own, which counts as working at an
observation when:
  - it is not paused or stalled (stopped at a message its handler keeps failing on,
    services/runtime/dispatcher.py);
  - it was fetched within `stale_after_s` (10 s by default);
  - and it has caught up since its last break: after a break, or once the consumer holds it
    without having held it at the observation before (a rebalance gave it), its position has
    reached the end the partition had at the first observation where the two conditions above
    held again. Until then the messages that piled up are still being read, so what they say is
    not known yet.
A partition's `since` is the observation at which its feed was last seen to start working, None
while it does not. Telemetry measures the silence of a terminal whose readings come through a
partition from that partition's `since`, in the replica or worker that holds it (docs/rules.md,
"monitoring gap"): a partition stalled or lagging stops the judgement of its own terminals only.

The whole subscription works while it holds at least one partition of the topic and each works;
its `since` is the observation at which that last began (a partition taken over in a rebalance
restarts it). It is exported as sentinel_<service>_consumer_feed_working, and telemetry judges
by it the terminals whose state does not say their partition yet. The observations come from the
runtime's lag watch every 5 s and from whoever asks (`Messaging.feed_view`), so a break is seen
within `stale_after_s` and 5 s.

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


@dataclass(frozen=True, slots=True)
class FeedView:
    """What a tracker says at one observation: `since` of the whole subscription (None while
    any partition held does not work, or none is held) and `partitions`, each partition held
    now with its own `since` (None while that one does not work)."""

    since: float | None = None
    partitions: Mapping[int, float | None] = field(default_factory=dict)

    def working(self) -> dict[int, float]:
        """The partitions held whose feed works, with since when."""
        return {p: s for p, s in self.partitions.items() if s is not None}

    def since_for(self, partition: int | None) -> float | None:
        """Since when the feed of `partition` has worked here (None: it does not, or it is not
        held here); of the whole subscription for a partition not known."""
        return self.since if partition is None else self.partitions.get(partition)


class FeedHealth:
    """Since when one subscription's feed has worked without a break, as a whole and partition
    by partition (module docstring).

    Calls for one tracker must not interleave: `Messaging` makes them from one event loop."""

    def __init__(self, topic: str, *, stale_after_s: float = STALE_AFTER_S) -> None:
        self.topic = topic
        self.stale_after_s = stale_after_s
        self.since: float | None = None
        # Why the feed does not count as working now, for the logs (None while it does).
        self.problem: str | None = "not observed yet"
        # Each partition held at the last observation, with its own since (None: not working).
        self.partitions: dict[int, float | None] = {}
        # Per partition catching up after a break or a rebalance, the end it must reach.
        self._targets: dict[int, int] = {}

    @property
    def working(self) -> bool:
        return self.since is not None

    def view(self) -> FeedView:
        return FeedView(self.since, dict(self.partitions))

    def observe(self, now: float, seen: FeedSeen) -> float | None:
        """Take what the client says at `now` (epoch seconds); return `since`."""
        problems: list[str] = []
        behind = 0
        partitions: dict[int, float | None] = {}
        for number, p in sorted(seen.partitions.items()):
            # A partition not held at the last observation is new here (a rebalance gave it):
            # it has no since of its own yet, and what piled up on it is read first.
            since = self.partitions.get(number)
            broken = self._broken(now, number, p)
            if broken is not None:
                self._targets.pop(number, None)
                if since is not None:
                    log.warning(
                        "consumer feed broken on a partition",
                        extra={"topic": self.topic, "partition": number, "problem": broken},
                    )
                since = None
                problems.append(broken)
            elif since is None:
                if p.end is None or p.position is None:
                    problems.append(f"catching up: partition {number}'s position not known")
                else:
                    target = self._targets.setdefault(number, p.end)
                    if p.position >= target:
                        del self._targets[number]
                        since = now
                    else:
                        behind += target - p.position
            partitions[number] = since
        for number in set(self._targets) - set(partitions):
            del self._targets[number]
        taken_over = bool(set(partitions) - set(self.partitions))
        self.partitions = partitions
        if not partitions:
            self._change(now, None, "holds no partition")
        elif problems or behind:
            # A stopped or stale partition says more than one catching up.
            problems.sort(key=lambda text: text.startswith("catching up"))
            self._change(
                now, None, problems[0] if problems else f"catching up: {behind} messages behind"
            )
        elif self.since is None or taken_over:
            # The whole starts anew whenever it was broken or took over a partition.
            self._change(now, now, None)
        return self.since

    def _broken(self, now: float, number: int, p: PartitionSeen) -> str | None:
        if p.stopped:
            return f"partition {number} stopped"
        if p.fetched_at is None:
            return f"partition {number} not fetched yet"
        if now - p.fetched_at > self.stale_after_s:
            return f"partition {number} not fetched for {now - p.fetched_at:.0f} s"
        return None

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
