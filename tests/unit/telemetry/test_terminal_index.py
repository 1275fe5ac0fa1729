"""The registry view's index of terminals by market (projections.py), which the staff's list of a
market's terminals reads (`GET /terminals?market_id=`): fed by the terminals' snapshots as the
view takes them, it follows a terminal to another market, keeps a retired one in its market's
list as before, and lets no older snapshot move a terminal back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from contracts.registry import TerminalUpserted
from services.runtime.messaging import Delivery
from services.runtime.outbox import outgoing
from services.telemetry.projections import Directory, TerminalInfo

T0 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
TERMINAL = TerminalInfo(
    id="trm_1",
    kind="footfall",
    market_id="mkt_1",
    district="zhifu",
    merchant_id=None,
    stall_no=None,
    profile=None,
    interval_s=60,
    key_version=1,
    status="active",
    version=1,
)


class Pool:
    """Where the view stores its rows (the index is the memory's business only), and what a
    restarting replica loads from its tables."""

    def __init__(self, terminals: Sequence[TerminalInfo] = ()) -> None:
        self.rows: list[Sequence[Any]] = []
        self.terminals = terminals

    async def executemany(self, _sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.rows.extend(rows)

    async def fetch(self, sql: str) -> list[dict[str, Any]]:
        found = self.terminals if "terminals" in sql else ()
        return [asdict(t) for t in found]


def snapshot(info: TerminalInfo, offset: int) -> Delivery:
    """The registry's snapshot of `info`, as the terminals' topic delivers it."""
    data = TerminalUpserted(
        terminal_id=info.id,
        kind=info.kind,  # type: ignore[arg-type]
        market_id=info.market_id,
        district=info.district,
        interval_s=info.interval_s,
        key_version=info.key_version,
        status=info.status,  # type: ignore[arg-type]
        version=info.version,
        updated_at=T0,
    )
    topic, event, key = outgoing("registry", "registry.terminal.upserted", info.id, data)
    return Delivery(topic, 0, offset, key.encode(), event.to_json())


async def take(directory: Directory, *infos: TerminalInfo) -> None:
    await directory.on_terminals(Pool(), [snapshot(i, n) for n, i in enumerate(infos)])  # type: ignore[arg-type]


def ids(directory: Directory, market_id: str) -> list[str]:
    return sorted(t.id for t in directory.market_terminals(market_id))


async def test_a_registered_terminal_is_listed_in_its_market_only() -> None:
    directory = Directory(b"m" * 32)
    other = replace(TERMINAL, id="trm_2", market_id="mkt_2")
    await take(directory, TERMINAL, other)
    assert directory.market_terminals("mkt_1") == [TERMINAL]
    assert ids(directory, "mkt_2") == ["trm_2"]
    assert directory.market_terminals("mkt_9") == []


async def test_a_terminal_that_moves_market_is_listed_in_the_new_one_only() -> None:
    directory = Directory(b"m" * 32)
    stays = replace(TERMINAL, id="trm_0")
    await take(directory, stays, TERMINAL)
    moved = replace(TERMINAL, market_id="mkt_2", version=2)
    await take(directory, moved)
    assert directory.market_terminals("mkt_1") == [stays]
    assert directory.market_terminals("mkt_2") == [moved]
    # In one batch, moved on and back: where the newest snapshot says.
    await take(
        directory,
        replace(TERMINAL, market_id="mkt_3", version=3),
        replace(TERMINAL, market_id="mkt_1", version=4),
    )
    assert ids(directory, "mkt_1") == ["trm_0", "trm_1"]
    assert directory.market_terminals("mkt_2") == directory.market_terminals("mkt_3") == []
    # A market left empty keeps no entry.
    assert set(directory._by_market) == {"mkt_1"}


async def test_an_older_snapshot_moves_no_terminal() -> None:
    directory = Directory(b"m" * 32)
    newer = replace(TERMINAL, market_id="mkt_2", version=3)
    await take(directory, newer, replace(TERMINAL, version=2))
    assert directory.market_terminals("mkt_2") == [newer]
    assert directory.market_terminals("mkt_1") == []
    # A replay of the snapshot held changes nothing either.
    await take(directory, newer)
    assert directory.market_terminals("mkt_2") == [newer]


async def test_a_retired_terminal_stays_listed_in_its_market_as_retired() -> None:
    """The registry retires a terminal rather than deleting it: the list shows it retired."""
    directory = Directory(b"m" * 32)
    await take(directory, TERMINAL)
    retired = replace(TERMINAL, status="retired", version=2)
    await take(directory, retired)
    assert directory.market_terminals("mkt_1") == [retired]
    assert directory.terminals == {"trm_1": retired}


async def test_a_retired_terminal_that_moves_leaves_its_old_market() -> None:
    directory = Directory(b"m" * 32)
    await take(directory, TERMINAL)
    gone = replace(TERMINAL, market_id="mkt_2", status="retired", version=2)
    await take(directory, gone)
    assert directory.market_terminals("mkt_1") == []
    assert directory.market_terminals("mkt_2") == [gone]


async def test_a_restarting_replica_indexes_the_terminals_it_loads() -> None:
    directory = Directory(b"m" * 32)
    other = replace(TERMINAL, id="trm_2", market_id="mkt_2")
    await directory.load(Pool([TERMINAL, other]))  # type: ignore[arg-type]
    assert directory.market_terminals("mkt_1") == [TERMINAL]
    assert directory.market_terminals("mkt_2") == [other]
