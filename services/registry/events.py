"""Domain values to the data of the snapshots the registry publishes on its compacted topics;
`services.runtime.outbox.outgoing` makes them events (version and topic from the catalog).

`actor` is the person who made the change being published (registered the entity, or changed it
through the API); None when the clock or another event made it (a licence expiring, a suspension,
a renovation moving the market's status).

A market's snapshot carries its district's name, so services that know districts only through
the markets (the campaign) can name them.
"""

from __future__ import annotations

from contracts import registry as c
from contracts.people import Actor
from services.registry.domain.model import Market, Merchant, Terminal
from services.runtime import serial

SERVICE = "registry"


def market_upserted(
    m: Market, actor: Actor | None = None, district_name: str | None = None
) -> c.MarketUpserted:
    return serial.into(
        c.MarketUpserted,
        m,
        market_id=m.id,
        district_name=district_name,
        opening_hours=c.OpeningHours(open=m.opens, close=m.closes),
        task_force=serial.dump(m.task_force),
        actor=actor,
    )


def merchant_upserted(m: Merchant, actor: Actor | None = None) -> c.MerchantUpserted:
    return serial.into(c.MerchantUpserted, m, merchant_id=m.id, actor=actor)


def terminal_upserted(t: Terminal, actor: Actor | None = None) -> c.TerminalUpserted:
    return serial.into(c.TerminalUpserted, t, terminal_id=t.id, actor=actor)
