"""The duties' clock: periodically flag reporting periods that ended without a report and opening
days that ended without a self-inspection (each once), and republish `campaign.duties.updated`
for every market whose standing moved (the window slides a day at a time, certificates lapse).

One replica runs it at a time (the runtime's periodic jobs hold an advisory lock); each market is
its own transaction, under the market's row lock, so a filing and the clock never both flag one
period.
"""

from __future__ import annotations

from services.campaign.duties.commands import ClockRun, Duties
from services.runtime.app import Job, Service


def schedule(service: Service, duties: Duties) -> None:
    """Register the clock with the service; an interval of 0 leaves it off (run `check` from a
    scheduler instead)."""
    if duties.config.check_interval_s > 0:
        service.every(duties.config.check_interval_s, job(duties), "duties-clock")


def job(duties: Duties) -> Job:
    async def check_duties(_: Service) -> ClockRun | None:
        # Only once the registry view knows every market (and its task force).
        if not duties.directory.caught_up.is_set():
            return None
        return await duties.check()

    return check_duties
