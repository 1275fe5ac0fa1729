"""Kafka wiring: FastStream consumers with at-least-once delivery (each handler wrapped by the
dispatcher, services/runtime/dispatcher.py, which decides what a failure means), a dead-letter
path, and an idempotent `acks=all` producer for the outbox relay.

Offsets are committed here, only after the handler returned: FastStream's default ACK_FIRST
would commit before handling and lose the message on a crash. A handler that raised rewinds its
partition to the message, and a stalled partition is paused at its message and rewound, so the
commit that follows does not pass it. A commit the group refuses after a rebalance is a warning
and a count (`_commit`), not FastStream's CRITICAL traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from services.runtime.delivery import (
    BatchHandler,
    Delivery,
    Handler,
    PartitionStalled,
    PoisonMessage,
    parse_lenient,
)
from services.runtime.dispatcher import POISON, TRANSIENT, Dispatcher, dlq_headers
from services.runtime.feed_health import (
    STALE_AFTER_S,
    FeedHealth,
    FeedSeen,
    FeedView,
    PartitionSeen,
)
from services.runtime.metrics import Metrics
from services.runtime.outbox import OutgoingMessage
from services.runtime.settings import kafka_client_options_from_env

# What handlers and adapters import from here since before the split.
__all__ = [
    "POISON",
    "TRANSIENT",
    "BatchHandler",
    "Delivery",
    "Dispatcher",
    "Handler",
    "Messaging",
    "PartitionStalled",
    "PoisonMessage",
    "dlq_headers",
    "faststream_security",
    "parse_lenient",
]

log = logging.getLogger(__name__)

# The logger FastStream logs through (consumer assignments, a subscriber task ending): outside
# the "faststream" tree, whose own handler prints colored text and does not propagate.
FASTSTREAM_LOGGER = "services.runtime.faststream"
# A member learns of a rebalance from a heartbeat's answer. A service subscribes several topics
# in one group, one consumer each: a newcomer's join waits until every member already in the
# group has heard of it and rejoined. At aiokafka's default of 3 s a service with six
# subscriptions took about 15 s to start when they started one after another (and as long to
# take partitions over from a replica that died); they now start together (`_start_broker`),
# and a replica's newcomers still rebalance its peers' groups. The session timeout, which
# decides when a silent member is dropped, is a setting (kafka_session_timeout_ms, default 10 s,
# at least 6 s): Kafka wants heartbeats at a third of it or more often.
HEARTBEAT_INTERVAL_MS = 500
# How long the consumers' stop may take (`stop_consuming`). A service's stop must end within
# 30 s, after which `make down` and `make demo` SIGKILL it (deploy/local/stack.py, `terminate`):
# in an outage, this, the outbox relay's last batch (5 s, services/runtime/app.py) and the
# producer's flush (10 s) each run out in turn.
CONSUMERS_STOP_S = 8.0


_new = object.__new__


def _delivery(record: Any) -> Delivery:
    """A record as a Delivery. The batch path runs this once per record: the frozen object's
    fields are set in one dict update instead of one `object.__setattr__` each (2.6 → 0.5 µs)."""
    delivery: Delivery = _new(Delivery)
    delivery.__dict__.update(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        headers=tuple(record.headers or ()),
        timestamp_ms=record.timestamp,
    )
    return delivery


async def _undecoded(message: Any) -> None:
    """The batch handler reads the raw records; FastStream need not decode each one's body."""
    return None


def faststream_security(options: dict[str, Any]) -> BaseSecurity | None:
    """FastStream's spelling of aiokafka's SASL options (it takes no `sasl_*` keywords)."""
    if options.get("security_protocol", "PLAINTEXT") == "PLAINTEXT":
        return None
    if options.get("security_protocol") != "SASL_PLAINTEXT":
        raise ValueError(f"unsupported Kafka security protocol {options['security_protocol']}")
    kinds: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    kind = kinds[options["sasl_mechanism"]]
    return kind(options["sasl_plain_username"], options["sasl_plain_password"])


def bootstrap_list(bootstrap_servers: str) -> list[str]:
    """`host:port,host:port` as a list: FastStream takes a string for one address (aiokafka
    splits it, FastStream does not), so a cluster's list must reach it as a list."""
    return [host.strip() for host in bootstrap_servers.split(",") if host.strip()]


class Messaging:
    """The service's Kafka side: a FastStream broker for consuming, a producer for publishing."""

    def __init__(
        self,
        service: str,
        bootstrap_servers: str,
        metrics: Metrics,
        *,
        group_id: str,
        max_attempts: int = 10,
        backoff_s: float = 0.2,
        backoff_max_s: float = 5.0,
        stalled_retry_s: float = 60.0,
        session_timeout_ms: int = 10_000,
        kafka_options: dict[str, Any] | None = None,
    ) -> None:
        self.service, self.bootstrap_servers, self.group_id = service, bootstrap_servers, group_id
        self.session_timeout_ms = session_timeout_ms
        self.metrics = metrics
        # How every client authenticates (ServiceSettings.kafka_client_options()); without it,
        # the service's environment says (`<SERVICE>_KAFKA_SASL_*`, default PLAINTEXT).
        if kafka_options is None:
            kafka_options = kafka_client_options_from_env(service)
        self.kafka_options = kafka_options
        self.broker = KafkaBroker(
            bootstrap_list(bootstrap_servers),
            client_id=f"sentinel-{service}",
            acks="all",
            enable_idempotence=True,
            # FastStream logs each message at INFO; our JSON logs say what was decided instead.
            log_level=logging.DEBUG,
            # Its own logger prints colored text lines to stdout, which broke the logs' one JSON
            # object a line; this one propagates to the root's JSON handler (logging.py).
            logger=logging.getLogger(FASTSTREAM_LOGGER),
            graceful_timeout=15.0,
            security=faststream_security(kafka_options),
        )
        # aiokafka binds a producer to the running loop, so it is made in `start`.
        self._producer: AIOKafkaProducer | None = None
        self.dispatcher = Dispatcher(
            metrics,
            self.dead_letter,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            backoff_max_s=backoff_max_s,
        )
        self.stalled_retry_s = stalled_retry_s
        # When each stalled partition (by consumer) is tried again.
        self._retries: dict[tuple[int, TopicPartition], asyncio.TimerHandle] = {}
        self._started = self._consuming = False
        self._subscribers: list[tuple[str, str, Any]] = []
        # Subscriptions whose feed is watched (`track_feed`), by (topic, group).
        self._feeds: dict[tuple[str, str], FeedHealth] = {}
        self.clock = time.time  # the fetch stamps are wall-clock times

    def subscribe(
        self,
        topic: str,
        handler: Handler,
        *,
        group_id: str | None = None,
        auto_offset_reset: Literal["latest", "earliest", "none"] = "earliest",
    ) -> None:
        """Consume `topic` in a consumer group; commit each offset only after `handler` returned."""
        group = group_id or self.group_id

        async def on_message(message: KafkaMessage) -> None:
            await self.dispatcher.dispatch(handler, _delivery(message.raw_message), group)

        on_message.__name__ = f"{getattr(handler, '__name__', 'handler')}_{topic}"
        self._consume(topic, group, on_message, auto_offset_reset=auto_offset_reset)

    def subscribe_batch(
        self,
        topic: str,
        handler: BatchHandler,
        *,
        group_id: str | None = None,
        max_records: int = 2000,
        batch_timeout_ms: int = 50,
        auto_offset_reset: Literal["latest", "earliest", "none"] = "earliest",
    ) -> None:
        """Consume `topic` in batches (one `getmany`); offsets commit after the whole batch."""
        group = group_id or self.group_id

        async def on_batch(message: KafkaMessage) -> None:
            records: Any = message.raw_message
            if not isinstance(records, tuple):
                records = (records,)
            deliveries = [_delivery(r) for r in records]
            await self.dispatcher.dispatch_batch(handler, deliveries, group)

        on_batch.__name__ = f"{getattr(handler, '__name__', 'handler')}_{topic}_batch"
        self._consume(
            topic,
            group,
            on_batch,
            decoder=_undecoded,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=batch_timeout_ms,
            auto_offset_reset=auto_offset_reset,
        )

    def _consume(
        self,
        topic: str,
        group: str,
        take: Callable[[KafkaMessage], Awaitable[None]],
        *,
        decoder: Any = None,
        **options: Any,
    ) -> None:
        """Subscribe `take` (named for the broker's logs by its `__name__`) to `topic` in
        `group`; a partition it stalls is held at its message."""
        on_message = self._committing(take, topic, group)
        # The topic's dead-letter count exists at 0 from the start, so that increase() sees the
        # first dead letter: the alert's other way to see it, the counter's `_created` series,
        # is not exported by a service run as workers (deploy/prometheus/alerts.yml).
        self.metrics.dead_lettered.labels(topic)
        subscriber = self.broker.subscriber(
            topic,
            group_id=group,
            ack_policy=AckPolicy.MANUAL,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            session_timeout_ms=self.session_timeout_ms,
            **options,
        )
        subscriber(on_message, decoder=decoder)
        self._subscribers.append((topic, group, subscriber))

    def _committing(
        self, take: Callable[[KafkaMessage], Awaitable[None]], topic: str, group: str
    ) -> Callable[[KafkaMessage], Awaitable[None]]:
        """`take`, then the commit of what it handled; a message it raised on is gone back to."""

        async def on_message(message: KafkaMessage) -> None:
            try:
                await take(message)
            except PartitionStalled as stalled:
                self._hold(message.consumer, stalled)
            except Exception:
                await message.nack()
                raise
            await self._commit(message, topic, group)

        on_message.__name__ = take.__name__
        return on_message

    async def _commit(self, message: KafkaMessage, topic: str, group: str) -> None:
        """Commit what the consumer has handled. A commit made after the group rebalanced is
        refused: the partitions may have moved to another member, which takes them up from the
        last committed offset, and its inbox skips what was handled here. Nothing is lost, so
        this is a warning and a count."""
        try:
            await message.ack()
        except CommitFailedError as refused:
            self.metrics.commits_refused.labels(topic).inc()
            log.warning(
                "offset commit refused after a rebalance; the partition's owner takes it up "
                "from the last commit and its inbox skips what was handled",
                extra={"topic": topic, "group": group, "error": str(refused)},
            )

    def _hold(self, consumer: Any, stalled: PartitionStalled) -> None:
        """Stop each stalled partition at its message: pause it and rewind to the message, so
        the commit that follows (of what was handled) does not pass it; try it again later."""
        loop = asyncio.get_running_loop()
        for delivery in stalled.deliveries:
            tp = TopicPartition(delivery.topic, delivery.partition)
            consumer.pause(tp)
            consumer.seek(tp, delivery.offset)
            key = (id(consumer), tp)
            if (previous := self._retries.pop(key, None)) is not None:
                previous.cancel()
            self._retries[key] = loop.call_later(
                self.stalled_retry_s, self._retry_stalled, consumer, tp
            )

    def _retry_stalled(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self._retries.pop((id(consumer), tp), None)
        try:
            if tp in consumer.paused():
                log.info(
                    "trying a stalled partition again",
                    extra={"topic": tp.topic, "partition": tp.partition},
                )
                consumer.resume(tp)
        except Exception:  # no longer assigned (a rebalance resumes it anyway), or stopped
            log.debug("stalled partition not resumed", exc_info=True)

    async def rewind(
        self, topic: str, partition: int, offset: int, *, group_id: str | None = None
    ) -> int:
        """Make this replica's consumer of `topic` (in `group_id`, default the service's group)
        read a partition again from `offset`, or from the first offset Kafka still holds if that
        is later, and return the offset it now reads from.

        For a batch handler that keeps work in memory past Kafka's committed offset
        (services/telemetry/service.py): after a restart or a rebalance it finds records missing
        before the ones it is given, and rewinds to them. The commit that follows the batch
        commits the new position, so nothing past it is skipped."""
        group = group_id or self.group_id
        for name, subscribed_group, subscriber in self._subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if name != topic or subscribed_group != group or consumer is None:
                continue
            tp = TopicPartition(topic, partition)
            if await consumer.position(tp) == offset:
                # Already there (a failed batch goes on record by record, and each record in
                # hand past the offset asks again): no request to Kafka for each of them.
                return offset
            offset = max(offset, (await consumer.beginning_offsets([tp]))[tp])
            consumer.seek(tp, offset)
            return offset
        raise KeyError(f"no running subscription to {topic} in group {group}")

    async def caught_up(self, topic: str, group_id: str | None = None) -> None:
        """Return once this replica has handled every message that was on `topic` when called.

        For projections of compacted topics: a service must know the registry's entities
        before it judges messages that refer to them. "Handled" is the committed offset, which
        moves only after the handler returned.
        """
        group = group_id or self.group_id
        for name, subscribed_group, subscriber in self._subscribers:
            if name != topic or subscribed_group != group:
                continue
            while (  # noqa: ASYNC110 - polling the consumer's state; it offers no event
                getattr(subscriber, "consumer", None) is None
                or not subscriber.consumer.assignment()
            ):
                await asyncio.sleep(0.05)
            consumer = subscriber.consumer
            assigned = list(consumer.assignment())
            ends = await consumer.end_offsets(assigned)
            for tp in assigned:
                while ends[tp] > 0 and ((await consumer.committed(tp)) or 0) < ends[tp]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            return
        raise KeyError(f"no subscription to {topic} in group {group}")

    async def measure_lag(self) -> None:
        """Set the lag gauge: per assigned partition, messages between our position and its end."""
        lags: dict[tuple[str, int], int] = {}
        for topic, group, subscriber in self._subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None:
                continue
            held = consumer.assignment()
            stopped = set(consumer.paused()) & held
            for stalled_group, stalled_topic, partition in list(self.dispatcher.stalled):
                tp = TopicPartition(topic, partition)
                if (stalled_group, stalled_topic) != (group, topic):
                    continue
                if tp not in held:
                    # A stalled partition that went to another replica is that replica's to
                    # report.
                    self.dispatcher.clear(group, topic, partition)
                else:
                    stopped.add(tp)
            # The high watermark comes with each fetch, and a paused or stalled partition is not
            # fetched: its end is asked of the broker, in one request for them all. The others,
            # the usual case, cost no request.
            ends: dict[TopicPartition, int] = {}
            if stopped:
                try:
                    ends = await consumer.end_offsets(list(stopped))
                except KafkaError:  # the broker away: the fetched ends, stale, are all there is
                    log.debug("end offsets of held partitions not read", exc_info=True)
            for tp in held:
                end = ends[tp] if tp in ends else consumer.highwater(tp)
                if end is not None:
                    # A held partition's position is its stalled message (`_hold` seeks there).
                    lags[(topic, tp.partition)] = max(0, end - await consumer.position(tp))
        self.metrics.report_lag(lags)

    def track_feed(
        self, topic: str, *, group_id: str | None = None, stale_after_s: float = STALE_AFTER_S
    ) -> FeedHealth:
        """Watch whether the subscription to `topic` (in `group_id`, default the service's group)
        works, and since when without a break (services/runtime/feed_health.py); observed with
        the lag, every 5 s, and whenever `feed_view` asks."""
        key = (topic, group_id or self.group_id)
        if key not in self._feeds:
            self._feeds[key] = FeedHealth(topic, stale_after_s=stale_after_s)
            self.metrics.feed_working.labels(topic).set(0)
        return self._feeds[key]

    async def feed_view(self, topic: str, group_id: str | None = None) -> FeedView:
        """Observe the tracked subscription to `topic` now; since when its feed has worked
        without a break, as a whole and for each partition this consumer holds now."""
        key = (topic, group_id or self.group_id)
        feed = self._feeds[key]
        feed.observe(self.clock(), await self._feed_seen(*key))
        return feed.view()

    async def observe_feeds(self) -> None:
        """Observe every tracked subscription (the lag watch, services/runtime/app.py)."""
        for (topic, group), feed in self._feeds.items():
            feed.observe(self.clock(), await self._feed_seen(topic, group))
            self.metrics.feed_working.labels(topic).set(1 if feed.working else 0)

    def consumer(self, topic: str, group_id: str | None = None) -> AIOKafkaConsumer | None:
        """The client of this replica's subscription to `topic` (in `group_id`, default the
        service's group), None before it runs: what the feed tracker reads, and what a test
        pauses a partition of as a stall does."""
        group = group_id or self.group_id
        for name, subscribed_group, subscriber in self._subscribers:
            if (name, subscribed_group) == (topic, group):
                found: AIOKafkaConsumer | None = getattr(subscriber, "consumer", None)
                return found
        return None

    async def _feed_seen(self, topic: str, group: str) -> FeedSeen:
        """What the subscription's client says of the partitions it holds, without asking the
        broker anything: all of it is the client's memory of its last fetches."""
        consumer = self.consumer(topic, group)
        if consumer is None or not self._consuming:
            return FeedSeen()
        held = consumer.assignment()
        stopped = set(consumer.paused())
        stopped.update(
            TopicPartition(topic, partition)
            for stalled_group, stalled_topic, partition in self.dispatcher.stalled
            if (stalled_group, stalled_topic) == (group, topic)
        )
        # Read at once, before any await lets a rebalance change the assignment under it.
        fetches = {
            tp: (consumer.last_poll_timestamp(tp), consumer.highwater(tp))
            for tp in held
            if tp.topic == topic
        }
        seen: dict[int, PartitionSeen] = {}
        for tp, (stamp, end) in fetches.items():
            position = None
            if stamp is not None:
                # A partition fetched has a valid position, which the client answers from
                # memory; one being reset would wait for the broker: not worth a check's time.
                try:
                    position = await asyncio.wait_for(consumer.position(tp), 1.0)
                except (TimeoutError, IllegalStateError):
                    position = None  # not caught up, as far as can be told
            seen[tp.partition] = PartitionSeen(
                None if stamp is None else stamp / 1000, position, end, tp in stopped
            )
        return FeedSeen(seen)

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("messaging is not started")
        return self._producer

    async def probe(self) -> None:
        """Raise unless the broker answers a metadata request."""
        client = AIOKafkaClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"sentinel-{self.service}-probe",
            **self.kafka_options,
        )
        try:
            await client.bootstrap()
        finally:
            await client.close()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"sentinel-{self.service}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            **self.kafka_options,
        )
        await self._producer.start()
        await self._start_broker()
        self._started = self._consuming = True

    async def _start_broker(self) -> None:
        """`broker.start()`, but the consumers all at once: aiokafka's `start` waits for its
        assignment, so consumers of one group started one after another cost the group a
        rebalance each (every member rejoining), where started together they join in the same
        few. FastStream 0.7's own start, otherwise: connect, the subscribers, the publishers."""
        broker = self.broker
        await broker.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))
        for publisher in broker.publishers:
            await publisher.start()
        broker.running = True

    async def stop_consuming(self, *, within_s: float = CONSUMERS_STOP_S) -> None:
        """Stop the consumers (each finishes the message in hand); the producer stays open.

        Bounded: each consumer's stop ends with a request to the group's coordinator (leave the
        group), which a broker that is away without closing the connection (frozen, or a
        network that drops packets) answers only with aiokafka's request timeout, 40 s, past a
        stop's 30 s before SIGKILL. What is abandoned loses nothing: offsets are committed only
        after a handler returned, so a message whose commit did not happen is read again, and
        the inbox drops what was already handled."""
        if not self._consuming:
            return
        self._consuming = False
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        try:
            await asyncio.wait_for(self.broker.stop(), within_s)
        except TimeoutError:
            left = sorted(
                f"{topic} ({group})"
                for topic, group, subscriber in self._subscribers
                if getattr(subscriber, "consumer", None) is not None
            )
            log.warning(
                "consumers not stopped in time; what they handled but did not commit is read "
                "again after the restart, and the inbox drops it",
                extra={"within_s": within_s, "not_stopped": left},
            )

    async def stop(
        self, *, flush_within_s: float = 10.0, consumers_within_s: float = CONSUMERS_STOP_S
    ) -> None:
        if not self._started:
            return
        await self.stop_consuming(within_s=consumers_within_s)
        self._started = False
        # The producer's stop waits for every batch in flight, and while Kafka is away its
        # idempotent sends never give up: a SIGTERM in an outage would hang until SIGKILL. What
        # is abandoned here loses nothing: an outbox row is marked published only once Kafka
        # acknowledged it, and a message whose dead letter was not acknowledged is not committed.
        try:
            await asyncio.wait_for(self.producer.stop(), flush_within_s)
        except TimeoutError:
            log.warning(
                "producer not flushed in time; unsent records stay in the outbox",
                extra={"within_s": flush_within_s},
            )
        self._producer = None

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send a batch and wait for every acknowledgement (acks=all) before returning."""
        futures = [
            await self.producer.send(m.topic, m.value, key=m.key, headers=m.headers)
            for m in messages
        ]
        await asyncio.gather(*futures)

    async def dead_letter(self, delivery: Delivery, exc: BaseException, group: str) -> None:
        await (
            await self.producer.send(
                f"{delivery.topic}.dlq",
                delivery.value,
                key=delivery.key,
                headers=dlq_headers(delivery, exc, group),
            )
        )

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether the cluster answers a metadata request now: any one of its brokers within
        `timeout_s`, asked all at once. A broker that is down refuses at once, but a frozen one
        (a stopped process, a hung host) takes the request and never answers: asked alone, as
        one metadata update does, it would make a service unready while the others serve."""
        if self._producer is None:
            return False
        client = self.producer.client
        nodes = [broker.nodeId for broker in client.cluster.brokers()]
        if not nodes:  # no metadata yet: only the bootstrap addresses are known
            try:
                return bool(await asyncio.wait_for(client.force_metadata_update(), timeout_s))
            except (TimeoutError, KafkaError, OSError):
                return False
        asks = {asyncio.ensure_future(client.send(node, MetadataRequest([]))) for node in nodes}
        try:
            async with asyncio.timeout(timeout_s):
                while asks:
                    done, asks = await asyncio.wait(asks, return_when=asyncio.FIRST_COMPLETED)
                    answered = [not ask.cancelled() and ask.exception() is None for ask in done]
                    if any(answered):
                        return True
        except TimeoutError:
            pass
        finally:
            for ask in asks:
                ask.cancel()
        return False
