"""The joint meetings' clock: an action item still open after its deadline day (city time) is
flagged late once — its `late_flagged_at` set and `campaign.action_item.late` published in the
same transaction. Runs periodically (`JointConfig.check_interval_s`), one replica at a time; a
run flags at most `batch_limit` items and the next takes the rest."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.campaign.domain.joint import city_day
from services.campaign.domain.meetings import flag_late
from services.campaign.joint import events
from services.campaign.joint.store import JointStore
from services.runtime.app import Service

if TYPE_CHECKING:
    from services.campaign.joint.commands import Joint

log = logging.getLogger(__name__)


class LateItems:
    def __init__(self, joint: Joint) -> None:
        self.joint = joint

    async def run(self, _: Service | None = None) -> int:
        """Flag what is late now; returns how many items were flagged."""
        joint = self.joint
        now = joint.now()
        flagged = 0
        async with joint.service.pool.acquire() as conn, conn.transaction():
            store = JointStore(conn)
            found = await store.items_to_flag(city_day(now, joint.tz), joint.config.batch_limit)
            outgoing = []
            for item, district in found:
                late = flag_late(item, now, joint.tz)
                if late is None:
                    continue
                await store.update_item(late)
                outgoing.append(events.item_late(district, late, now))
            await joint.service.enqueue_many(conn, outgoing)
            flagged = len(outgoing)
        if flagged:
            joint.metrics.items.labels("flagged_late").inc(flagged)
            log.info("action items flagged late", extra={"count": flagged})
        return flagged
