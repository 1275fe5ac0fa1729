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


Sample = dict[str, float]


class ReplicaProcess:
    """The parent's handle on one `python -m bench.replica`: its samples, its word to start."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.samples: list[Sample] = []
        self.ready = asyncio.Event()
        self.errors = b""
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def accepted(self) -> float:
        return self.samples[-1]["accepted"] if self.samples else 0.0

    @property
    def exited(self) -> bool:
        return self._process is not None and self._process.returncode is not None

    async def spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.replica",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._tasks = [asyncio.create_task(self._follow()), asyncio.create_task(self._errors())]

    async def _follow(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            if line.startswith(b"bench ready"):
                self.ready.set()
            elif line.startswith(b"bench "):
                self.samples.append(json.loads(line[6:]))

    async def _errors(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while chunk := await self._process.stderr.read(65536):
            self.errors = (self.errors + chunk)[-4000:]

    async def go(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(b"go\n")
        await self._process.stdin.drain()

    async def stop(self) -> None:
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 60)
        finally:
            for task in self._tasks:
                task.cancel()


async def start_together(replicas: list[ReplicaProcess], limit_s: float = 120) -> None:
    """Spawn the replicas, wait until each is built, then tell them all to start."""
    for r in replicas:
        await r.spawn()
    try:
        await asyncio.wait_for(asyncio.gather(*(r.ready.wait() for r in replicas)), limit_s)
    except TimeoutError:
        raise RuntimeError(f"a replica did not start: {[r.errors for r in replicas]}") from None
    for r in replicas:
        await r.go()
