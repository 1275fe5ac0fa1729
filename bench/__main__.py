"""`make bench`: run every benchmark against real Kafka and PostgreSQL, print ratios."""

from __future__ import annotations

import asyncio
import sys

from bench import outbox_relay, telemetry
from tests.support.infra import infrastructure


def main() -> int:
    with infrastructure() as endpoints:
        print(f"infrastructure: {endpoints.origin}, kafka {endpoints.kafka}", file=sys.stderr)
        asyncio.run(outbox_relay.run(endpoints.kafka, endpoints.database_url))
        asyncio.run(telemetry.run(endpoints.kafka, endpoints.database_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
