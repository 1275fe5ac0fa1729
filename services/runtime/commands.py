"""A service's command line: `python -m services.<name>` serves the app, and
`python -m services.<name> <command>` runs one of its one-off commands instead (a job run once
by an operator or a cron, its answer printed as one JSON line)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI

from services.runtime import logging as jsonlog
from services.runtime.app import Service, run
from services.runtime.settings import ServiceSettings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)


async def once(service: Service, job: Callable[[], Awaitable[T]]) -> T:
    """Start `service` without its periodic jobs (the command is the job: the service's own
    copy of it would race it, and be cancelled mid-transaction at stop), run `job` once, and
    stop it again."""
    await service.start(jobs=False)
    try:
        result = await job()
        # The command's effect is on the topic when it returns.
        await service.drain_outbox()
        return result
    finally:
        await service.stop()


def serve_or_run(
    prog: str,
    settings: Callable[[], S],
    build: Callable[[S], FastAPI],
    commands: Mapping[str, Callable[[S], Coroutine[Any, Any, Any]]],
    argv: list[str] | None = None,
) -> int:
    """Serve `build(settings())`, or run the named command with the settings and print what it
    returns as JSON."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", *commands])
    args = parser.parse_args(argv)
    loaded = settings()
    if args.command == "serve":
        run(build(loaded), loaded)
        return 0
    jsonlog.configure(loaded.service_name, loaded.log_level, loaded.log_json, stream=sys.stderr)
    print(json.dumps(asyncio.run(commands[args.command](loaded))))
    return 0
