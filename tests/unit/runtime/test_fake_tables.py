"""The snapshot of fake stores a FakeUnitOfWork rolls back to: every table of every fake as the
unit began, and nothing else touched."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.runtime.fake_tables import snapshot
from services.runtime.unit_of_work import FakeUnitOfWork


class FakeRows:
    def __init__(self) -> None:
        self.rows: dict[str, int] = {"kept": 1}
        self.log: list[str] = []
        self.seen: set[str] = set()


class FakeReader:
    """A fake that reads another one's rows, as a listing over a ledger does."""

    def __init__(self, source: FakeRows) -> None:
        self.source = source
        self.reads = 0


@dataclass(frozen=True)
class Stores:
    rows: FakeRows
    reader: FakeReader


def stores() -> Stores:
    rows = FakeRows()
    return Stores(rows, FakeReader(rows))


async def test_a_rollback_puts_every_table_of_every_fake_back() -> None:
    s = stores()
    work = FakeUnitOfWork(s, snapshot=snapshot(s))
    with pytest.raises(RuntimeError):
        async with work.factory()() as w:
            w.stores.rows.rows["lost"] = 2
            w.stores.rows.rows["kept"] = 5
            w.stores.rows.log.append("lost")
            w.stores.rows.seen.add("lost")
            raise RuntimeError("a later step failed")
    assert (s.rows.rows, s.rows.log, s.rows.seen) == ({"kept": 1}, [], set())


async def test_what_a_committed_unit_wrote_stays_and_a_later_rollback_goes_back_to_it() -> None:
    s = stores()
    work = FakeUnitOfWork(s, snapshot=snapshot(s))
    async with work.factory()() as w:
        w.stores.rows.rows["added"] = 3
    with pytest.raises(RuntimeError):
        async with work.factory()() as w:
            del w.stores.rows.rows["kept"]
            raise RuntimeError("a later step failed")
    assert s.rows.rows == {"kept": 1, "added": 3}


async def test_what_is_not_a_table_is_left_as_it_is() -> None:
    s = stores()
    work = FakeUnitOfWork(s, snapshot=snapshot(s))
    with pytest.raises(RuntimeError):
        async with work.factory()() as w:
            w.stores.reader.reads += 1
            raise RuntimeError("a later step failed")
    # The reader still reads the very fake the unit rolled back, not a copy of it.
    assert s.reader.source is s.rows and s.reader.reads == 1
