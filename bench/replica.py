"""One telemetry replica as its own process, for the scaling benchmark (`bench.scaling`).

    python -m bench.replica --kafka K --database-url D --topic T --group G --schema S

Places the bench terminals, prints `bench ready`, starts the service when a line comes on its
standard input, then prints a line every 50 ms:
`bench {"t": <time.time()>, "accepted": <readings>, "cpu": <process CPU seconds>}`; stops when
its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time

from bench import loops
from bench.readings import accepted, prepare_replica, terminal_ids


async def serve(args: argparse.Namespace) -> None:
    app = await prepare_replica(
        args.kafka,
        args.database_url,
        args.topic,
        terminal_ids(args.terminals),
        schema=args.schema,
        group=args.group,
    )
    loop = asyncio.get_running_loop()
    # Built and imported: the replicas of one run start together on the parent's word.
    print("bench ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    await app.state.service.start()
    closed = loop.run_in_executor(None, sys.stdin.read)
    try:
        while not closed.done():
            line = {"t": time.time(), "accepted": accepted(app), "cpu": time.process_time()}
            print("bench", json.dumps(line), flush=True)
            await asyncio.wait([closed], timeout=0.05)
    finally:
        await app.state.service.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("--kafka", "--database-url", "--topic", "--group", "--schema"):
        parser.add_argument(name, required=True)
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--loop", choices=loops.LOOPS, default="asyncio")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    loops.run(serve(args), args.loop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
