"""Kept for scripts that call `python -m deploy.local.tail TOPIC [--from-beginning]`: the same as
`sentinel tail TOPIC --json` (sentinel_cli), which `make tail` now runs — every record decoded,
validated against its contract, and printed as one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from sentinel_cli import config, kafka, render
from sentinel_cli.events import Decoded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tail", description=__doc__)
    parser.add_argument("topic")
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args(argv)
    bootstrap = args.bootstrap or config.load().bootstrap

    def emit(decoded: Decoded) -> None:
        sys.stdout.write(render.json_line(decoded) + "\n")
        sys.stdout.flush()

    start: kafka.Start = "beginning" if args.from_beginning else "end"
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(kafka.tail(bootstrap, args.topic, start, emit, max_records=args.count))
    except kafka.CliError as exc:
        print(f"tail: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
