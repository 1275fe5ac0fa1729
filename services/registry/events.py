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

SERVICE = "registry"
MARKET_UPSERTED = "registry.market.upserted"
MERCHANT_UPSERTED = "registry.merchant.upserted"
TERMINAL_UPSERTED = "registry.terminal.upserted"


def market_upserted(
    m: Market, actor: Actor | None = None, district_name: str | None = None
) -> c.MarketUpserted:
    return c.MarketUpserted(
        market_id=m.id,
        name=m.name,
        district=m.district,
        district_name=district_name,
        kind=m.kind,
        operator=m.operator,
        address=m.address,
        capacity=m.capacity,
        opening_hours=c.OpeningHours(open=m.opens, close=m.closes),
        renovation_status=m.renovation_status,
        task_force=(
            c.TaskForce(leader=m.task_force.leader, members=list(m.task_force.members))
            if m.task_force
            else None
        ),
        version=m.version,
        updated_at=m.updated_at,
        actor=actor,
    )


def merchant_upserted(m: Merchant, actor: Actor | None = None) -> c.MerchantUpserted:
    return c.MerchantUpserted(
        merchant_id=m.id,
        name=m.name,
        market_id=m.market_id,
        district=m.district,
        stall_no=m.stall_no,
        credit_code=m.credit_code,
        food_licence=m.food_licence,
        licence_valid_until=m.licence_valid_until,
        categories=list(m.categories),
        status=m.status,
        version=m.version,
        updated_at=m.updated_at,
        actor=actor,
    )


def terminal_upserted(t: Terminal, actor: Actor | None = None) -> c.TerminalUpserted:
    return c.TerminalUpserted(
        terminal_id=t.id,
        kind=t.kind,
        market_id=t.market_id,
        district=t.district,
        merchant_id=t.merchant_id,
        stall_no=t.stall_no,
        profile=t.profile,
        interval_s=t.interval_s,
        key_version=t.key_version,
        status=t.status,
        version=t.version,
        updated_at=t.updated_at,
        actor=actor,
    )
