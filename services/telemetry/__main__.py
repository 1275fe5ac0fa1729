"""`python -m services.telemetry [--workers N]` serves the API and consumes readings, in one
process or in N worker processes sharing the port, each a consumer in the group
(services/runtime/workers.py)."""

from __future__ import annotations

import argparse
import os

from contracts.topics import TELEMETRY_READINGS
from services.runtime.workers import WORKERS_HELP, Target, serve_workers, worker_count
from services.telemetry.app import build
from services.telemetry.settings import TelemetrySettings

WORKERS_ENV = "TELEMETRY_WORKERS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.telemetry")
    parser.add_argument("--workers", help=WORKERS_HELP.format(env=WORKERS_ENV))
    args = parser.parse_args(argv)
    try:
        workers = worker_count(
            args.workers, os.environ, WORKERS_ENV, partitions=TELEMETRY_READINGS.partitions
        )
    except ValueError as exc:
        parser.error(str(exc))
    return serve_workers(Target(TelemetrySettings, build), workers)


if __name__ == "__main__":
    raise SystemExit(main())
