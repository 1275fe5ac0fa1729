"""`python -m services.campaign` serves the API; one-off commands:

- `check-campaigns`: run the campaign clock once (flag and disclose late milestones);
- `seed-campaign`: seed the demo campaign through the running campaign service's API
  (`CAMPAIGN_URL`, default http://127.0.0.1:8106), for the city registered at `REGISTRY_URL`
  (default http://127.0.0.1:8101), with `SENTINEL_ADMIN_TOKEN`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
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
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "check-campaigns", "seed-campaign"]
    )
    args = parser.parse_args(argv)
    if args.command == "seed-campaign":
        from services.campaign.demo import seed_demo_campaign

        token = os.environ.get("SENTINEL_ADMIN_TOKEN", "")
        if not token:
            print("SENTINEL_ADMIN_TOKEN is not set (source .run/env first)", file=sys.stderr)
            return 2
        url = os.environ.get("CAMPAIGN_URL", "http://127.0.0.1:8106")
        registry = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8101")
        print(json.dumps(seed_demo_campaign(url, token, registry), ensure_ascii=False))
        return 0
    settings = CampaignSettings()
    if args.command == "check-campaigns":
        jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
        print(json.dumps(asyncio.run(_check(settings))))
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
