"""`python -m services.registry` serves the API; `... expire-licences` runs the licence job once."""

from __future__ import annotations

import argparse
import asyncio
import json

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime import logging as jsonlog
from services.runtime.app import run


async def _expire_once(settings: RegistrySettings) -> list[str]:
    app = build(settings)
    service, registry = app.state.service, app.state.registry
    await service.start()
    try:
        expired = await registry.expire_licences()
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return [m.id for m in expired]
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-registry")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "expire-licences"])
    args = parser.parse_args(argv)
    settings = RegistrySettings()
    if args.command == "expire-licences":
        jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
        print(json.dumps({"expired": asyncio.run(_expire_once(settings))}))
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
