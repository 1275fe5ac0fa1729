"""`python -m services.campaign` serves the API; one-off commands:

- `check-campaigns`: run the campaign clock once (flag and disclose late milestones).

The demo campaign is seeded by the demo (`python -m deploy.local.demo_campaign`), through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from services.campaign.app import build
from services.campaign.settings import CampaignSettings
from services.runtime import logging as jsonlog
from services.runtime.app import run


async def _check(settings: CampaignSettings) -> dict[str, Any]:
    # Inspection's events are the running service's to consume, not a one-off run's, and so is
    # the periodic clock; the registry view is read to its end first, so every market's
    # milestones are judged.
    app = build(settings.model_copy(update={"campaign_check_interval_s": 0}), consume=False)
    service = app.state.service
    await service.start()
    try:
        await app.state.directory.caught_up.wait()
        result = {"flagged": await app.state.campaigns.check_clock()}
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return result
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-campaign")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "check-campaigns"])
    args = parser.parse_args(argv)
    settings = CampaignSettings()
    if args.command == "check-campaigns":
        jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
        print(json.dumps(asyncio.run(_check(settings))))
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
