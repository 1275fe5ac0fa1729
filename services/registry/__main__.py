"""`python -m services.registry` serves the API; one-off command:

- `expire-licences`: run the licence job once.

(The campaign's commands, `check-campaigns` and `seed-campaign`, moved with it:
`python -m services.campaign`.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime import logging as jsonlog
from services.runtime.app import run


async def _once(settings: RegistrySettings) -> dict[str, Any]:
    # Other services' events are the running service's to consume, not a one-off run's.
    app = build(settings, consume=False)
    service = app.state.service
    await service.start()
    try:
        expired = await app.state.registry.expire_licences()
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return {"expired": [m.id for m in expired]}
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-registry")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "expire-licences"])
    args = parser.parse_args(argv)
    settings = RegistrySettings()
    if args.command == "expire-licences":
        jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
        print(json.dumps(asyncio.run(_once(settings))))
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
