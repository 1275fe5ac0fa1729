"""`python -m services.registry` serves the API; one-off commands:

- `expire-licences`: run the licence job once;
- `check-campaigns`: run the campaign clock once (flag and disclose late milestones);
- `seed-campaign`: seed the demo campaign through the running registry's API
  (`REGISTRY_URL`, default http://127.0.0.1:8101, and `SENTINEL_ADMIN_TOKEN`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime import logging as jsonlog
from services.runtime.app import run


async def _once(settings: RegistrySettings, command: str) -> dict[str, Any]:
    # Inspection's events are the running service's to consume, not a one-off run's.
    app = build(settings, consume=False)
    service = app.state.service
    await service.start()
    try:
        result: dict[str, Any]
        if command == "expire-licences":
            expired = await app.state.registry.expire_licences()
            result = {"expired": [m.id for m in expired]}
        else:
            result = {"flagged": await app.state.campaigns.check_clock()}
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return result
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-registry")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "expire-licences", "check-campaigns", "seed-campaign"],
    )
    args = parser.parse_args(argv)
    if args.command == "seed-campaign":
        from services.registry.campaign.demo import seed_demo_campaign

        token = os.environ.get("SENTINEL_ADMIN_TOKEN", "")
        if not token:
            print("SENTINEL_ADMIN_TOKEN is not set (source .run/env first)", file=sys.stderr)
            return 2
        url = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8101")
        print(json.dumps(seed_demo_campaign(url, token), ensure_ascii=False))
        return 0
    settings = RegistrySettings()
    if args.command in ("expire-licences", "check-campaigns"):
        jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
        print(json.dumps(asyncio.run(_once(settings, args.command))))
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
