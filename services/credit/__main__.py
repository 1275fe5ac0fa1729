"""`python -m services.credit` serves the credit API and keeps the ledger;
`python -m services.credit rebuild` rebuilds every score from the topics and compares;
`python -m services.credit draw-honours --month YYYY-MM` draws a month's honour and warning list
(红黑榜) now, as the schedule does on the 1st (a month drawn before is not drawn again)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from services.credit.app import build, wire
from services.credit.settings import CreditSettings
from services.runtime import logging as jsonlog
from services.runtime.app import run
from services.runtime.errors import ServiceError


async def _draw(settings: CreditSettings, month: str) -> dict[str, Any]:
    # Other services' events are the running service's to consume, not a one-off run's.
    service, credit = wire(settings, consume=False)
    await service.start()
    try:
        view, drawn = await credit.draw_honours(credit.month(month))
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return view | {"drawn": drawn}
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-credit", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the API and consume (the default)")
    rebuild = sub.add_parser(
        "rebuild", help="rebuild ledgers and scores from the topics into fresh tables; compare"
    )
    rebuild.add_argument("--schema", default="credit_rebuild", help="the fresh schema")
    rebuild.add_argument("--keep", action="store_true", help="keep the rebuilt tables")
    draw = sub.add_parser(
        "draw-honours", help="draw a month's honour and warning list now and publish it"
    )
    draw.add_argument("--month", required=True, help="the month, YYYY-MM (city time)")
    args = parser.parse_args(argv)
    if args.command == "rebuild":
        from services.credit.rebuild import main as rebuild_main

        return rebuild_main(args.schema, args.keep)
    settings = CreditSettings()
    if args.command == "draw-honours":
        jsonlog.configure(
            settings.service_name, settings.log_level, settings.log_json, stream=sys.stderr
        )
        try:
            print(json.dumps(asyncio.run(_draw(settings, args.month)), ensure_ascii=False))
        except ServiceError as exc:
            print(json.dumps(exc.body(), ensure_ascii=False))
            return 1
        return 0
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
