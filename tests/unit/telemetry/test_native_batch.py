"""A batch judged with the native fast path decides exactly as one judged by Python alone: the
same readings accepted, the same rejections (reason, field, detail) in the same order, the same
states, when one terminal sends several readings in a batch (replays and seqs out of order
among them), and when the directory changes between batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from contracts.telemetry import sign
from services.runtime.fake_tables import snapshot
from services.runtime.messaging import Delivery
from services.runtime.metrics import Metrics
from services.runtime.unit_of_work import FakeUnitOfWork
from services.telemetry.fakes import FakeTelemetryStore, fake_stores
from services.telemetry.metrics import TelemetryMetrics
from services.telemetry.projections import Directory
from services.telemetry.service import Telemetry
from services.telemetry.settings import TelemetrySettings
from services.telemetry.store import Stores
from tests.support.readings import Terminal
from tests.support.telemetry_directory import MARKET, T0, TERMINAL

OTHER = replace(TERMINAL, id="trm_2")


class Run:
    """One service with its fakes, native verification on or off."""

    def __init__(self, native: bool) -> None:
        self.directory = Directory(b"m" * 32)
        for t in (TERMINAL, OTHER):
            self.directory.terminals[t.id] = t
        self.directory.markets[MARKET.id] = MARKET
        stores = fake_stores({t.id: t for t in (TERMINAL, OTHER)}, lambda: T0.timestamp())
        self.stores = stores
        self.uow: FakeUnitOfWork[Stores] = FakeUnitOfWork(stores, snapshot(stores))
        settings = TelemetrySettings(
            terminal_master_secret="m" * 32, native_verification=native, state_flush_batches=1
        )
        metrics = TelemetryMetrics(Metrics(f"telemetry_native_{native}"))
        self.telemetry = Telemetry(
            self.uow.factory(), settings, self.directory, metrics, lambda: T0.timestamp()
        )
        assert (self.telemetry.native is not None) is native
        self.offset = 0

    async def batch(self, raws: list[bytes]) -> None:
        deliveries = []
        for raw in raws:
            deliveries.append(Delivery("telemetry.readings.v1", 0, self.offset, b"k", raw))
            self.offset += 1
        await self.telemetry.handle_batch(deliveries)

    def outcome(self) -> tuple[list[Any], dict[str, Any]]:
        events = [
            (e.type, getattr(e.data, "reason", None), getattr(e.data, "detail", None))
            for _, e, _ in self.uow.published
        ]
        store = self.stores.telemetry
        assert isinstance(store, FakeTelemetryStore)
        states = {tid: row.state for tid, row in store.states.items()}
        return events, states


def _readings() -> list[list[bytes]]:
    one = Terminal(TERMINAL.id, Directory(b"m" * 32).key(TERMINAL).hex())
    two = Terminal(OTHER.id, Directory(b"m" * 32).key(OTHER).hex())
    at = T0 - timedelta(minutes=30)

    def r(t: Terminal, minute: int, temp: float = 3.0, seq: int | None = None) -> bytes:
        body = t.reading(at + timedelta(minutes=minute), temp_c=temp)
        if seq is not None:  # the terminal counts again from an older seq: a replay
            body = {k: v for k, v in body.items() if k != "sig"} | {"seq": seq}
            body["sig"] = sign(body, t.key)
        return orjson.dumps(body)

    first = [r(one, 0), r(one, 1), r(two, 1), r(one, 2, seq=1), r(one, 3), r(one, 3, seq=2)]
    first += [r(two, 2, temp=12.0), first[0], b"{", r(two, 3, temp=99.0), r(one, 4, temp=15.0)]
    second = [first[1], r(one, 5, temp=15.0), r(two, 4), r(one, 6, seq=10), r(one, 7)]
    return [first, second]


async def test_native_and_python_decide_a_batch_alike() -> None:
    batches = _readings()
    runs = {native: Run(native) for native in (True, False)}
    for run in runs.values():
        for raws in batches:
            await run.batch(raws)
    assert runs[True].outcome() == runs[False].outcome()
    events, _ = runs[True].outcome()
    assert [e[1] for e in events if e[0] == "telemetry.reading.rejected"] == [
        "replay",
        "replay",
        "replay",
        "malformed",
        "out_of_range",
        "replay",
        "replay",
    ]


@pytest.mark.parametrize("native", [True, False])
async def test_a_terminal_retired_between_batches_is_rejected(native: bool) -> None:
    run = Run(native)
    one = Terminal(TERMINAL.id, run.directory.key(TERMINAL).hex())
    at = datetime.fromtimestamp(T0.timestamp(), UTC) - timedelta(minutes=5)
    await run.batch([orjson.dumps(one.reading(at, temp_c=3.0))])
    run.directory.terminals[TERMINAL.id] = replace(TERMINAL, status="retired", version=2)
    await run.batch([orjson.dumps(one.reading(at + timedelta(minutes=1), temp_c=3.0))])
    events, _ = run.outcome()
    assert [e[:2] for e in events] == [("telemetry.reading.rejected", "unknown_terminal")]
