"""The telemetry use cases: a batch of readings in, risks and rejections out; the silence check;
acknowledging a risk. Each one is a unit of work (services/runtime/unit_of_work.py) taken from
the factory the service is given; `now` is the clock every judgement is given.

The Kafka batch subscription (app.py), the HTTP routes (api.py) and the silence job call these;
they never touch SQL or Kafka themselves. This is also the hot path: the work per reading is the
verification and the rules; everything else (the unit of work, the state locks and writes, the
metrics' labels) is paid once per batch.

A batch is one transaction: the offsets it covers, the terminals' new states, the risks table
and the outgoing events (through the outbox) commit together or not at all. So a crash at any
point either leaves no trace of the batch (Kafka redelivers it, the rules replay to the same
risk ids) or the whole of it (the stored offsets make a redelivery a no-op).

Quiet batches (no risk row changed, no event: the usual case) write nothing: their states and
offsets stay pending in memory and are written together, in the transaction of the next batch
that does change a risk or emit, or after `state_flush_batches` batches or
`state_flush_interval_s` seconds, before a silence check, and on stop. Pending batches had no
effect but their states, so losing them (a crash, a stop, a failed transaction) loses nothing
once they are read again from the stored offsets and judged again on the stored states: the
same states, the same risk ids. Kafka's committed offset has passed them, though, so every batch
compares where each partition's records start with where this process expects them (its
pending offset, else the stored one): a partition that starts further on is rewound to the
expected offset (`rewind`) and its records are left for then. Before anything pending is
written, the stored offsets and the states' revs are checked to be the ones it was judged on; if
another replica moved them (it took the partitions over and replayed from the stored offsets),
everything pending is dropped (`Superseded`) and the batch is judged again at once, as a
process that has just started would judge it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from contracts.people import Actor
from contracts.telemetry import (
    READING_REJECTED,
    RISK_ACKNOWLEDGED,
    ReadingRejected,
    RiskAcknowledged,
)
from services.runtime.clock import EpochClock, epoch_now
from services.runtime.errors import Conflict, NotFound
from services.runtime.feed_health import FeedView
from services.runtime.gauges import CountedGauges
from services.runtime.messaging import Delivery
from services.runtime.outbox import Item, outgoing
from services.runtime.unit_of_work import UnitOfWork, UowFactory
from services.telemetry.domain import (
    Decision,
    LastReport,
    TerminalContext,
    TerminalState,
    check_silence,
    evaluate_into,
    open_risks,
    retire,
    risk_event_data,
)
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.native import NativeVerifier, available
from services.telemetry.projections import Directory, TerminalInfo
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import Held, Partition, Stores
from services.telemetry.verification import Rejected, TerminalsAndClock, check, decode_typed

log = logging.getLogger(__name__)
SERVICE = "telemetry"
V = TypeVar("V")
Outgoing = Item
# Position a partition's consumer at an offset (at least the partition's first one still held by
# Kafka) and return the offset it was positioned at.
Rewind = Callable[[str, int, int], Awaitable[int]]
# Since when (epoch seconds) the readings' feed has worked without a break, as a whole and for
# each partition this process holds now (services/runtime/feed_health.py).
Feed = Callable[[], Awaitable[FeedView]]


class Superseded(Exception):
    """Another replica moved the stored offsets or states this process's pending work was judged
    on: the pending work is dropped, the batch in hand is retried."""


@dataclass
class Pending:
    """Quiet batches judged and not yet written: their terminals' states (the very `Held` objects
    of `Telemetry.held`, at the rev they were read at), the offset after them per partition, and
    the stored offset of each partition when its first pending batch was judged."""

    states: dict[str, Held] = field(default_factory=dict)
    offsets: dict[Partition, int] = field(default_factory=dict)
    stored: dict[Partition, int] = field(default_factory=dict)
    batches: int = 0
    since: float = 0.0


def _claimed_terminal(raw: bytes) -> str | None:
    """The terminal a reading that is not of a reading's typed shape says it is from, if any:
    its state is locked too, since check() may still accept it (the dict way takes spellings the
    typed decoder does not) or reject it on a check that reads the state (replay)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    tid = body.get("terminal_id") if isinstance(body, dict) else None
    return tid if isinstance(tid, str) else None


def _risk_item(event_type: str, risk_id: str, terminal_id: str, data: Any) -> Outgoing:
    """A risk's event: its own chain starting at the risk, keyed by its terminal so that the
    risk's events keep their order."""
    return outgoing(SERVICE, event_type, risk_id, data, key=terminal_id, correlation_id=risk_id)


class Telemetry:
    def __init__(
        self,
        uow: UowFactory[Stores],
        settings: TelemetrySettings,
        directory: Directory,
        metrics: TelemetryMetrics,
        now: EpochClock = epoch_now,
        *,
        ready: asyncio.Event | None = None,
        rewind: Rewind | None = None,
        feed: Feed | None = None,
    ) -> None:
        # The clock every judgement is given (seconds since the epoch: the hot path compares
        # reading timestamps as numbers); tests hand another to move time.
        self.now = now
        self.settings = settings
        # Each batch, silence check and acknowledgement is one unit of work: the states, the
        # risks, the offsets and the events commit together.
        self.uow = uow
        self.directory, self.metrics = directory, metrics
        # The Rust fast path when the settings want it and `make setup` built it; else None.
        self.native: NativeVerifier | None = None
        if settings.native_verification:
            if available():
                self.native = NativeVerifier(directory)
            else:
                log.warning("sentinel_native is not built (make setup): Python verification only")
        self.held: dict[str, Held] = {}
        self.pending = Pending()
        self.monotonic = time.monotonic  # when pending batches are due (tests hand another)
        # Without a consumer to rewind (tests), records past the expected offset are judged.
        self.rewind = rewind
        # Whose silence counts now, and from when; without a feed to watch (tests), every
        # terminal's, from its last reading.
        self.feed = feed
        # Since a batch failed: every batch is written at once, and the offsets of records that
        # failed alone (the dispatcher dead-letters them) do not count as a gap.
        self._recovering = False
        self._failed: dict[Partition, set[int]] = {}
        self._contexts: dict[str, tuple[TerminalInfo, Any, TerminalContext]] = {}
        # Open risks by rule and severity, counted from the database: at start, periodically
        # and after each batch or silence check that changed a risk.
        self.gauges = CountedGauges(
            "telemetry",
            self._count_open_risks,
            settings.gauge_refresh_interval_s,
        )
        # One batch or silence check at a time in this process: both mutate held states.
        self.lock = asyncio.Lock()
        # Readings wait until the registry views have caught up once, so a terminal
        # provisioned while this replica was away is not rejected as unknown. Without views to
        # wait for (tests), readings are judged at once.
        if ready is None:
            ready = asyncio.Event()
            ready.set()
        self.projections_ready = ready

    async def _count_open_risks(self) -> None:
        async with self.uow() as work:
            found = await work.stores.telemetry.open_risk_counts()
        self.metrics.count_open_risks(found)

    # --- context ------------------------------------------------------------------------------
    def context(self, terminal: TerminalInfo) -> TerminalContext:
        market = self.directory.markets.get(terminal.market_id)
        cached = self._contexts.get(terminal.id)
        if cached is not None and cached[0] is terminal and cached[1] is market:
            return cached[2]
        ctx = TerminalContext(
            kind=terminal.kind,
            profile=terminal.profile,
            interval_s=terminal.interval_s,
            capacity=market.capacity if market else None,
            opens=market.opens if market else "00:00",
            closes=market.closes if market else "00:00",
            timezone=self.settings.timezone,
        )
        self._contexts[terminal.id] = (terminal, market, ctx)
        return ctx

    # --- readings -----------------------------------------------------------------------------
    def _newer_held(
        self,
        terminal_ids: Sequence[str],
        stored: dict[str, V],
        seq: Callable[[V], int],
        of: Callable[[TerminalState], V],
    ) -> dict[str, V]:
        """What the stored states say of each terminal (`stored`), but `of` the state this
        replica holds in memory where that one is further on (a higher seq): pending batches
        are not stored yet (this module's docstring)."""
        for tid in terminal_ids:
            h = self.held.get(tid)
            if h is None:
                continue
            known = stored.get(tid)
            if h.state.last_seq > (-1 if known is None else seq(known)):
                stored[tid] = of(h.state)
        return stored

    async def last_seqs(self, terminal_ids: Sequence[str]) -> dict[str, int]:
        """The last accepted seq of each terminal with a state: the stored one, or the one this
        replica holds in memory if higher (pending batches are not stored yet)."""
        async with self.uow() as work:
            seqs = await work.stores.telemetry.last_seqs(terminal_ids)
        return self._newer_held(terminal_ids, seqs, lambda s: s, lambda state: state.last_seq)

    # --- what terminals last reported (staff) --------------------------------------------------
    def market_terminals(self, market_id: str, district: str | None) -> list[TerminalInfo]:
        """The market's terminals in the registry view, those of `district` only when given
        (None: every district), by id. Read from the view's index by market: the market's
        terminals only, not every terminal of the city."""
        return sorted(
            (
                t
                for t in self.directory.market_terminals(market_id)
                if district is None or t.district == district
            ),
            key=lambda t: t.id,
        )

    async def last_reports(self, terminal_ids: Sequence[str]) -> dict[str, LastReport]:
        """What each terminal with a state last reported: from its stored state, or from the
        state this replica holds if further on. Another replica's pending batches are not seen
        until it writes them, within `state_flush_interval_s` (docs/operations.md)."""
        async with self.uow() as work:
            reports = await work.stores.telemetry.last_reports(terminal_ids)
        return self._newer_held(terminal_ids, reports, lambda r: r.seq, LastReport.of)

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        await self.projections_ready.wait()
        started = time.perf_counter()
        async with self.lock:
            try:
                try:
                    await self._handle(deliveries)
                except Superseded as exc:
                    # What the pending batches were judged on moved (a rebalance gave their
                    # partitions to another replica, which wrote them): they are dropped and the
                    # batch is judged again at once, as by a process that has just started; with
                    # nothing pending it cannot be superseded again. Record by record instead,
                    # every record of a partition left behind paid a rewind and a transaction:
                    # 35 s for a batch of 5,000 after each rebalance (docs/operations.md).
                    self._forget(exc)
                    await self._handle(deliveries)
            except BaseException as exc:
                # States were mutated in place by a transaction that did not commit; pending
                # batches are read again from the stored offsets.
                self._forget(exc)
                # The dispatcher now goes record by record: each is written at once, and a
                # record failing alone (it may be dead-lettered, never stored) is no gap.
                self._recovering = True
                if len(deliveries) == 1:
                    d = deliveries[0]
                    self._failed.setdefault((d.topic, d.partition), set()).add(d.offset)
                raise
            if len(deliveries) > 1:
                self._recovering = False
        self.metrics.batch_size.observe(len(deliveries))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def _forget(self, exc: BaseException | None = None) -> None:
        if self.pending.batches:
            log.warning(
                "pending batches dropped, to be read again from the stored offsets",
                extra={"batches": self.pending.batches, "error": repr(exc)},
            )
        self.held.clear()
        self.pending = Pending()

    def _due(self) -> bool:
        p = self.pending
        return p.batches >= self.settings.state_flush_batches or (
            p.batches > 0 and self.monotonic() - p.since >= self.settings.state_flush_interval_s
        )

    async def _positions(
        self, work: UnitOfWork[Stores], deliveries: Sequence[Delivery]
    ) -> list[Delivery]:
        """Lock the stored offsets of the batch's and the pending partitions, check the pending
        ones are where they were, and return the deliveries to judge: those at or past the
        expected offset of their partition, none of a partition that had to be rewound."""
        first: dict[Partition, int] = {}
        for d in deliveries:
            key = (d.topic, d.partition)
            if d.offset < first.get(key, d.offset + 1):
                first[key] = d.offset
        pending = self.pending
        stored = await work.stores.offsets.positions(pending.stored | first)
        if any(stored[key] != at for key, at in pending.stored.items()):
            raise Superseded("the stored offsets moved under pending batches")
        expected: dict[Partition, int] = {}
        for key, start in first.items():
            at = pending.offsets.get(key, stored[key])
            if (failed := self._failed.get(key)) is not None:
                failed.difference_update([o for o in failed if o < stored[key]])
                while at < start and at in failed:
                    at += 1
                if not failed:
                    del self._failed[key]
            if start > at and self.rewind is not None:
                at = await self.rewind(key[0], key[1], at)
                log.info(
                    "records before the delivered ones not judged yet: partition rewound",
                    extra={"topic": key[0], "partition": key[1], "offset": at, "given": start},
                )
                if start > at:
                    continue  # they come again from there
            expected[key] = at
            pending.stored.setdefault(key, stored[key])
        skipped = 2**63  # a rewound partition's records are all left for later
        return [d for d in deliveries if d.offset >= expected.get((d.topic, d.partition), skipped)]

    async def _handle(self, deliveries: Sequence[Delivery]) -> None:
        now = self.now()
        received = datetime.fromtimestamp(now, UTC)
        pending = self.pending
        async with self.uow() as work:
            fresh = await self._positions(work, deliveries)
            # The native fast path judges the whole batch in one call (cheaper than a call a
            # reading: bench/README.md, issue 20), all but the seq, which is compared below as
            # the states move. What it leaves is decoded once, by msgspec into its typed shape:
            # the batch needs its terminal before judging it (to lock the state), and check()
            # takes the struct. A reading that does not decode to that shape (None) goes to
            # check() as its bytes, which names what is wrong with it; its terminal, if any, is
            # then still locked.
            tolerance = self.settings.future_tolerance_s
            fast = (
                self.native.judge_batch([d.value for d in fresh], now, tolerance)
                if self.native is not None
                else [None] * len(fresh)
            )
            typed = [
                decode_typed(d.value) if f is None else None
                for d, f in zip(fresh, fast, strict=True)
            ]
            terminals = self.directory.terminals
            claimed = {
                f[0].id
                if f is not None
                else r.terminal_id
                if r is not None
                else _claimed_terminal(d.value)
                for d, f, r in zip(fresh, fast, typed, strict=True)
            }
            ids = sorted(tid for tid in claimed if tid is not None and tid in terminals)
            store = work.stores.telemetry
            held = await store.lock_states(ids, self.held)
            if any(held[tid] is not pending.states.get(tid, held[tid]) for tid in ids):
                raise Superseded("a pending state was written elsewhere")
            decisions: list[tuple[Decision, TerminalInfo]] = []
            outgoing: list[Outgoing] = []

            def last_seq(tid: str) -> int:
                return held[tid].state.last_seq

            against = TerminalsAndClock(self.directory, last_seq, now, tolerance)
            accepted: dict[str, int] = {}
            oldest_ts = now
            found: list[Decision] = []  # one reading's decisions: empty but for a few
            # Per terminal with an accepted reading, its state and context, looked up once a
            # batch rather than once a reading (bench/README.md, issue 20, point 2); nothing
            # changes the directory while the loop runs, it does not await.
            judged: dict[str, tuple[Held, TerminalContext]] = {}

            for d, f, r in zip(fresh, fast, typed, strict=True):
                # The native verdict stands when the directory still holds the terminal it was
                # given (the locks were awaited) and the seq is above the one held now, which
                # earlier readings of this batch may have moved; else check() judges it.
                if (
                    f is not None
                    and terminals.get(f[0].id) is f[0]
                    and f[2].seq > held[f[0].id].state.last_seq
                ):
                    terminal, ts, sample = f
                    sample.received_at = now
                else:
                    verdict = check(d.value, against, typed=r)
                    if isinstance(verdict, Rejected):
                        outgoing.append(self.rejection(d.value, verdict, received, "kafka"))
                        continue
                    terminal, ts = verdict.terminal, verdict.ts
                    sample = verdict.sample(now)
                kind = sample.kind
                accepted[kind] = accepted.get(kind, 0) + 1
                if ts < oldest_ts:
                    oldest_ts = ts
                tid = terminal.id
                entry = judged.get(tid)
                if entry is None:
                    entry = judged[tid] = (held[tid], self.context(terminal))
                h, ctx = entry
                # Whose feed its silence is judged by (docs/rules.md, "monitoring gap").
                h.state.partition = d.partition
                evaluate_into(h.state, sample, ctx, found)
                if found:
                    decisions.extend((decision, terminal) for decision in found)
                    found.clear()

            touched = {tid: h for tid, (h, _) in judged.items()}
            for tid, (h, ctx) in judged.items():
                if h.state.risks:
                    terminal = terminals[tid]
                    decisions.extend((u, terminal) for u in open_risks(h.state, ctx))
            if not pending.batches:
                pending.since = self.monotonic()
            pending.batches += 1
            pending.states.update(touched)
            for d in fresh:
                key = (d.topic, d.partition)
                pending.offsets[key] = max(pending.offsets.get(key, 0), d.offset + 1)
            flush = bool(decisions or outgoing) or self._recovering or self._due()
            if flush:
                await self._write_pending(work, held, decisions, outgoing)
        self.held.update(touched)
        if flush:
            self.pending = Pending()
        if any(d.action != "update" for d, _ in decisions):
            self.gauges.poke()  # committed: a risk was raised, escalated or cleared
        # Counted once per batch: per-reading label lookups cost as much as the rules do.
        for kind_name, count in accepted.items():
            self.metrics.readings.labels(kind_name, "accepted").inc(count)
        if accepted:
            self.metrics.event_lag.observe(max(0.0, now - oldest_ts))

    async def _record(
        self,
        work: UnitOfWork[Stores],
        states: Any,
        decisions: list[tuple[Decision, TerminalInfo]],
        outgoing: list[Outgoing],
    ) -> None:
        store = work.stores.telemetry
        states = list(states)
        await store.save_states(states)
        self.metrics.state_writes.inc(len(states))
        await store.apply(decisions, datetime.fromtimestamp(self.now(), UTC))
        for decision, terminal in decisions:
            if decision.action == "update":
                continue
            self.metrics.risks.labels(decision.rule, decision.severity, decision.action).inc()
            outgoing.append(self._risk_event(decision, terminal))
        work.emit(*outgoing)

    async def _write_pending(
        self,
        work: UnitOfWork[Stores],
        locked: dict[str, Held],
        decisions: list[tuple[Decision, TerminalInfo]],
        outgoing: list[Outgoing],
    ) -> None:
        """Write every pending state and offset (with the batch's decisions and events) in
        `work`, after locking the pending states not in `locked` and checking they are ours."""
        pending = self.pending
        others = sorted(tid for tid in pending.states if tid not in locked)
        if others:
            found = await work.stores.telemetry.lock_states(others, self.held)
            if any(found[tid] is not pending.states[tid] for tid in others):
                raise Superseded("a pending state was written elsewhere")
        await self._record(work, pending.states.values(), decisions, outgoing)
        await work.stores.offsets.advance(
            [Delivery(t, p, at - 1, None, b"") for (t, p), at in pending.offsets.items()]
        )

    async def flush(self) -> None:
        """Write what is pending now, in a transaction of its own."""
        async with self.lock:
            await self._flush()

    async def _flush(self) -> None:
        if not self.pending.batches:
            return
        try:
            async with self.uow() as work:
                await self._positions(work, [])
                await self._write_pending(work, {}, [], [])
        except BaseException as exc:
            self._forget(exc)
            if isinstance(exc, Superseded):
                return
            raise
        self.pending = Pending()

    async def flush_when_due(self) -> None:
        """Flush pending batches when due although no batch comes (a background task); on
        cancellation (the service stops) flush what is pending."""
        interval = self.settings.state_flush_interval_s
        try:
            while True:
                await asyncio.sleep(interval / 2)
                if self._due():
                    try:
                        await self.flush()
                    except Exception:
                        log.warning("pending states not written", exc_info=True)
        except asyncio.CancelledError:
            try:
                await self.flush()
            except Exception:
                log.warning("pending states not written at stop", exc_info=True)
            raise

    def rejection(
        self, payload: bytes, verdict: Rejected, received: datetime, channel: str
    ) -> Outgoing:
        self.metrics.rejections.labels(verdict.reason).inc()
        self.metrics.readings.labels(verdict.kind or "unknown", "rejected").inc()
        data = ReadingRejected.of(
            payload=payload,
            reason=verdict.reason,  # type: ignore[arg-type]
            detail=verdict.detail,
            received_at=received,
            terminal_id=verdict.terminal_id,
            field=verdict.field,
            seq=verdict.seq,
            channel=channel,  # type: ignore[arg-type]
        )
        return outgoing(SERVICE, READING_REJECTED, verdict.terminal_id or "unidentified", data)

    def _risk_event(self, decision: Decision, terminal: TerminalInfo) -> Outgoing:
        assert decision.event_type is not None, "only raise, escalate and clear publish"
        data = risk_event_data(decision, terminal)
        return _risk_item(decision.event_type, decision.risk_id, terminal.id, data)

    # --- monitoring gap -----------------------------------------------------------------------
    async def check_silence(self, _: object = None) -> int:
        """Raise or escalate gap risks of silent cold-chain sensors; returns decisions taken.

        Each process judges the terminals whose readings come through a partition it holds now,
        while that partition's feed works, and their silence counts from when it last started
        to; a terminal whose state does not say its partition yet (stored before it was kept)
        is judged while the whole subscription works, from when it last started to
        (docs/rules.md, "monitoring gap"): readings that cannot reach the service are no
        silence of their terminals, and no process judges what another one is reading."""
        now = self.now()
        async with self.lock:
            # The states it reads and writes are the stored ones: pending states first.
            await self._flush()
            view = None if self.feed is None else await self.feed()
            working = None if view is None else view.working()
            if view is not None and not working and view.since is None:
                log.debug(
                    "silence not checked: no readings' partition held here works",
                    extra={"partitions": sorted(view.partitions)},
                )
                return 0
            try:
                async with self.uow() as work:
                    store = work.stores.telemetry
                    decisions: list[tuple[Decision, TerminalInfo]] = []
                    changed: list[Held] = []
                    # The partitions judged here, and whether states placed in none are.
                    asked = None if working is None else sorted(working)
                    unplaced = view is None or view.since is not None
                    silent = await store.silent_cold_chain(asked, unplaced=unplaced)
                    for tid, rev, state in silent:
                        terminal = self.directory.terminals.get(tid)
                        if terminal is None:
                            continue
                        feed_since = None if view is None else view.since_for(state.partition)
                        if view is not None and feed_since is None:
                            continue  # its feed does not work here (it was not asked for)
                        found = check_silence(state, now, self.context(terminal), feed_since)
                        if found:
                            decisions.extend((d, terminal) for d in found)
                            changed.append(Held(rev, state))
                    # A terminal retired with a risk open (its merchant left with the fridge
                    # warm or the sensor unplugged): cleared here, by whoever judges it.
                    retired = await store.retired_with_risks(asked, unplaced=unplaced)
                    for tid, rev, state in retired:
                        terminal = self.directory.terminals.get(tid)
                        if terminal is None:
                            continue
                        found = retire(state, now, self.context(terminal))
                        decisions.extend((d, terminal) for d in found)
                        changed.append(Held(rev, state))
                    if changed:
                        await self._record(work, changed, decisions, [])
            except BaseException:
                self.held.clear()
                raise
            for h in changed:
                self.held[h.state.terminal_id] = h
        if any(d.action != "update" for d, _ in decisions):
            self.gauges.poke()
        return len(decisions)

    # --- people -------------------------------------------------------------------------------
    async def acknowledge(
        self, risk_id: str, who: Actor, note: str | None, district: str | None
    ) -> dict[str, Any]:
        """A person has seen the risk: recorded with the risk (`acknowledged_actor`, the subject
        as `acknowledged_by`) and published as `telemetry.risk.acknowledged` with its `actor`."""
        at = datetime.fromtimestamp(self.now(), UTC)
        async with self.uow() as work:
            store = work.stores.telemetry
            risk = await store.risk(risk_id, for_update=True)
            if risk is None or (district is not None and risk["district"] != district):
                raise NotFound(f"no risk {risk_id!r}")
            if risk["acknowledged_by"] is not None:
                raise Conflict(f"risk was acknowledged by {risk['acknowledged_by']}")
            await store.acknowledge(risk_id, who, at)
            data = RiskAcknowledged.model_validate(
                {
                    "risk_id": risk_id,
                    "rule": risk["rule"],
                    "category": risk["category"],
                    "severity": risk["severity"],
                    "state": risk["state"],
                    "terminal_id": risk["terminal_id"],
                    "market_id": risk["market_id"],
                    "merchant_id": risk["merchant_id"],
                    "stall_no": risk["stall_no"],
                    "district": risk["district"],
                    "raised_at": risk["raised_at"],
                    "evidence": risk["evidence"],
                    "acknowledged_by": who.subject,
                    "acknowledged_at": at,
                    "note": note,
                    "actor": who,
                }
            )
            work.emit(_risk_item(RISK_ACKNOWLEDGED, risk_id, risk["terminal_id"], data))
            risk.update(
                acknowledged_by=who.subject, acknowledged_at=at, acknowledged_actor=who.to_dict()
            )
        return risk
