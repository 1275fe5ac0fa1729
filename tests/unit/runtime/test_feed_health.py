"""Whether a consumer's feed works, and since when (services/runtime/feed_health.py): what the
client says of its partitions at each observation, in, `since` out."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from services.runtime.feed_health import FeedHealth, FeedSeen, PartitionSeen
from services.runtime.messaging import Messaging
from services.runtime.metrics import Metrics
from tests.unit.runtime.conftest import FakeConsumer, FakeSubscriber

T = 1_800_000_000.0


def fetched(at: float, position: int = 10, end: int = 10, stopped: bool = False) -> PartitionSeen:
    return PartitionSeen(at, position, end, stopped)


def seen(*partitions: PartitionSeen) -> FeedSeen:
    return FeedSeen(dict(enumerate(partitions)))


def working_since(start: float = T) -> FeedHealth:
    feed = FeedHealth("t.v1")
    assert feed.observe(start, seen(fetched(start - 0.3), fetched(start - 0.1))) == start
    return feed


def test_a_consumer_fetching_and_caught_up_works_from_its_first_observation_on() -> None:
    feed = working_since(T)
    for later in (T + 5, T + 10, T + 3600):
        assert feed.observe(later, seen(fetched(later - 0.4), fetched(later - 0.2))) == T
    assert feed.working and feed.problem is None


def test_before_it_holds_a_partition_or_fetched_one_it_does_not_work() -> None:
    feed = FeedHealth("t.v1")
    assert feed.observe(T, FeedSeen()) is None
    assert feed.problem == "holds no partition"
    assert feed.observe(T + 1, seen(PartitionSeen(None, None, None))) is None
    assert feed.problem == "partition 0 not fetched yet"


def test_a_broker_that_stops_answering_breaks_it_and_the_feed_works_again_once_caught_up() -> None:
    feed = working_since(T)
    # Frozen at T + 1: the last fetches' stamps stay there.
    assert feed.observe(T + 11, seen(fetched(T + 1), fetched(T + 1))) == T
    assert feed.observe(T + 12, seen(fetched(T + 1), fetched(T + 1))) is None
    assert feed.problem == "partition 0 not fetched for 11 s"
    assert feed.observe(T + 360, seen(fetched(T + 1), fetched(T + 1))) is None
    # Thawed: fetching again, 40 messages piled up on partition 1, read through in a while.
    back = T + 365
    assert feed.observe(back, seen(fetched(back), fetched(back, 10, 50))) is None
    assert feed.problem == "catching up: 40 messages behind"
    # More keep arriving; what counts is reaching the end there was when it came back.
    assert feed.observe(back + 5, seen(fetched(back + 5), fetched(back + 5, 49, 60))) is None
    assert feed.observe(back + 10, seen(fetched(back + 10), fetched(back + 10, 50, 61))) == (
        back + 10
    )
    assert feed.observe(back + 15, seen(fetched(back + 15), fetched(back + 15, 55, 70))) == (
        back + 10
    )


def test_a_stopped_partition_breaks_it() -> None:
    feed = working_since(T)
    assert feed.observe(T + 5, seen(fetched(T + 5), fetched(T + 5, stopped=True))) is None
    assert feed.problem == "partition 1 stopped"
    assert feed.observe(T + 70, seen(fetched(T + 70), fetched(T + 70))) == T + 70


def test_losing_every_partition_breaks_it_and_losing_some_does_not() -> None:
    feed = working_since(T)
    assert feed.observe(T + 5, FeedSeen({1: fetched(T + 5)})) == T
    assert feed.observe(T + 10, FeedSeen()) is None


def test_a_partition_taken_over_in_a_rebalance_is_read_up_to_its_end_first() -> None:
    feed = FeedHealth("t.v1")
    assert feed.observe(T, FeedSeen({0: fetched(T)})) == T
    # Partition 3, another replica's until it died, comes with what piled up there.
    taken = FeedSeen({0: fetched(T + 5), 3: fetched(T + 5, 100, 180)})
    assert feed.observe(T + 5, taken) is None
    assert feed.problem == "catching up: 80 messages behind"
    assert feed.observe(T + 10, FeedSeen({0: fetched(T + 10), 3: fetched(T + 10, 180, 185)})) == (
        T + 10
    )


def test_the_time_a_fetch_may_be_stale_is_a_setting() -> None:
    feed = FeedHealth("t.v1", stale_after_s=60)
    assert feed.observe(T, seen(fetched(T))) == T
    assert feed.observe(T + 59, seen(fetched(T))) == T
    assert feed.observe(T + 61, seen(fetched(T))) is None


def test_each_partition_has_a_since_of_its_own() -> None:
    feed = working_since(T)
    assert feed.view().partitions == {0: T, 1: T}
    # Partition 1 stalls at a poison message: it alone stops working, and the whole with it.
    assert feed.observe(T + 5, seen(fetched(T + 5), fetched(T + 5, stopped=True))) is None
    assert feed.view().partitions == {0: T, 1: None}
    assert feed.view().working() == {0: T}
    # Partition 0 lags behind its fetches for a while: still working, it was caught up.
    assert feed.observe(T + 9, seen(fetched(T + 9, 10, 40), fetched(T + 9, stopped=True))) is None
    assert feed.view().partitions == {0: T, 1: None}
    # Moving again, partition 1 reads what piled up on it before it counts.
    assert feed.observe(T + 60, seen(fetched(T + 60), fetched(T + 60, 10, 30))) is None
    assert feed.view().partitions == {0: T, 1: None}
    assert feed.problem == "catching up: 20 messages behind"
    assert feed.observe(T + 65, seen(fetched(T + 65), fetched(T + 65, 30, 35))) == T + 65
    assert feed.view().partitions == {0: T, 1: T + 65}


def test_a_partition_not_fetched_lately_stops_working_alone() -> None:
    feed = working_since(T)
    assert feed.observe(T + 20, seen(fetched(T + 19.5), fetched(T + 2))) is None
    assert feed.problem == "partition 1 not fetched for 18 s"
    assert feed.view().partitions == {0: T, 1: None}


def test_a_partition_taken_over_starts_when_caught_up_and_one_given_away_is_forgotten() -> None:
    feed = FeedHealth("t.v1")
    assert feed.observe(T, FeedSeen({0: fetched(T)})) == T
    # Caught up at once: it works from now, and the whole starts anew with it.
    assert feed.observe(T + 5, FeedSeen({0: fetched(T + 5), 2: fetched(T + 5)})) == T + 5
    assert feed.view().partitions == {0: T, 2: T + 5}
    # Partition 3 comes with what piled up there while its last holder was stuck.
    taken = FeedSeen({0: fetched(T + 10), 3: fetched(T + 10, 100, 180)})
    assert feed.observe(T + 10, taken) is None
    assert feed.view().partitions == {0: T, 3: None}
    # Given away and back again: a new holding, read up to its end first again.
    assert feed.observe(T + 15, FeedSeen({0: fetched(T + 15)})) == T + 15
    assert feed.view().partitions == {0: T}
    again = FeedSeen({0: fetched(T + 20), 3: fetched(T + 20, 180, 190)})
    assert feed.observe(T + 20, again) is None
    assert feed.view().partitions == {0: T, 3: None}


def test_a_tracker_holding_nothing_has_no_partition_working() -> None:
    feed = FeedHealth("t.v1")
    assert feed.view().working() == {}
    assert feed.observe(T, FeedSeen()) is None
    assert feed.view().partitions == {}


class FetchingConsumer(FakeConsumer):
    """The fake consumer with the stamps of its last fetches (epoch ms, aiokafka's)."""

    def __init__(self, stamps: dict[Any, int | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stamps = stamps
        self.positions_asked: list[Any] = []

    def last_poll_timestamp(self, tp: Any) -> int | None:
        return self.stamps.get(tp)

    async def position(self, tp: Any) -> int:
        self.positions_asked.append(tp)
        return await super().position(tp)


P0, P1 = TopicPartition("t.v1", 0), TopicPartition("t.v1", 1)


def _bus(consumer: FakeConsumer, now: float) -> Messaging:
    bus = Messaging("unit", "127.0.0.1:1", Metrics("unit"), group_id="g", kafka_options={})
    bus._subscribers.append(("t.v1", "g", FakeSubscriber(consumer)))
    bus._consuming = True
    bus.clock = lambda: now
    return bus


def _working(bus: Messaging) -> float | None:
    return bus.metrics.registry.get_sample_value(
        "sentinel_unit_consumer_feed_working", {"topic": "t.v1"}
    )


async def test_messaging_reads_the_clients_fetches_into_the_tracker_and_the_gauge() -> None:
    consumer = FetchingConsumer(
        {P0: int((T - 0.2) * 1000), P1: int((T - 0.4) * 1000)},
        assigned={P0, P1},
        highwater={P0: 7, P1: 3},
        positions={P0: 7, P1: 3},
    )
    bus = _bus(consumer, T)
    feed = bus.track_feed("t.v1")
    assert _working(bus) == 0
    await bus.observe_feeds()
    assert feed.since == T and _working(bus) == 1
    assert (await bus.feed_view("t.v1")).since == T
    assert (await bus.feed_view("t.v1")).partitions == {0: T, 1: T}


async def test_messaging_sees_a_partition_never_fetched_without_asking_its_position() -> None:
    # A partition just assigned: its position would be looked up from the broker.
    consumer = FetchingConsumer(
        {P0: int(T * 1000), P1: None}, assigned={P0, P1}, highwater={P0: 7}, positions={P0: 7}
    )
    bus = _bus(consumer, T)
    bus.track_feed("t.v1")
    assert (await bus.feed_view("t.v1")).since is None
    assert consumer.positions_asked == [P0]


async def test_messaging_counts_a_stalled_partition_as_stopped() -> None:
    consumer = FetchingConsumer(
        {P0: int(T * 1000)}, assigned={P0}, highwater={P0: 7}, positions={P0: 7}
    )
    bus = _bus(consumer, T)
    feed = bus.track_feed("t.v1")
    bus.dispatcher.stalled.add(("g", "t.v1", 0))
    await bus.observe_feeds()
    assert feed.since is None and feed.problem == "partition 0 stopped"
    assert _working(bus) == 0


async def test_a_consumer_not_running_holds_nothing() -> None:
    bus = _bus(FetchingConsumer({}), T)
    bus._consuming = False
    bus.track_feed("t.v1")
    assert (await bus.feed_view("t.v1")).since is None


class RebalancedConsumer(FetchingConsumer):
    """Its partition goes to another member while its position is asked."""

    async def position(self, tp: Any) -> int:
        raise IllegalStateError(f"Partition {tp} is not assigned")


async def test_a_partition_lost_while_observed_fails_no_silence_check() -> None:
    consumer = RebalancedConsumer({P0: int(T * 1000)}, assigned={P0}, highwater={P0: 7})
    bus = _bus(consumer, T)
    feed = bus.track_feed("t.v1")
    assert (await bus.feed_view("t.v1")).since is None  # position unknown: not caught up yet
    assert feed.problem == "catching up: partition 0's position not known"
