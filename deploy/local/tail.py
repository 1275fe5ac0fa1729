"""`make tail TOPIC=registry.markets.v1`: print a topic's records as JSON lines (key, headers,
value), from the beginning or from now, until interrupted or `--count` records."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

import orjson
from aiokafka import AIOKafkaConsumer


async def tail(bootstrap: str, topic: str, from_beginning: bool, count: int | None) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        seen = 0
        async for record in consumer:
            try:
                value = orjson.loads(record.value) if record.value else None
            except orjson.JSONDecodeError:
                value = (record.value or b"").decode("utf-8", "replace")
            line = {
                "partition": record.partition,
                "offset": record.offset,
                "key": record.key.decode("utf-8", "replace") if record.key else None,
                "headers": {k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
                "value": value,
            }
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
            sys.stdout.flush()
            seen += 1
            if count is not None and seen >= count:
                return
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tail", description=__doc__)
    parser.add_argument("topic")
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail(args.bootstrap, args.topic, args.from_beginning, args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
