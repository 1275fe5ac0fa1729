"""One service as several worker processes on one host (`--workers N`), to use every core.

A parent binds the HTTP port once and starts N workers (fresh interpreters: `spawn`). Each
worker builds the service's app and serves it on that shared socket, so the kernel hands each
connection to one of them; its lifespan starts the service as in a single process, so each
worker is its own member of the service's consumer groups and the group spreads the partitions
across the workers (and across the other hosts' workers). Each has its own replica name for the
view groups (`<replica>-w<i>`: every replica reads the registry's compacted topics whole), stable
across its restarts.

- Metrics: the parent gives the workers a fresh directory for prometheus_client's multiprocess
  mode (services/runtime/metrics.py); `/metrics`, whichever worker answers it, covers all of
  them, under the names a single process uses.
- `/healthz`: the worker that answers is alive. `/readyz`: that worker's own checks, and
  `workers`: every worker reported itself ready in the last few seconds (each writes its own
  readiness to the run's directory every second); a worker that died or is still starting makes
  the whole host not ready until it is back.
- Supervision: SIGTERM or SIGINT to the parent is passed to every worker, which stops as a
  single process does (HTTP first, then its consumers finish their batch and commit, then the
  relay and the pool); workers still running after `stop_grace_s` are killed. A worker that dies
  is started again, at once if it had run for a while, else after a backoff that doubles; after
  `give_up_after` quick deaths in a row (a broken configuration, a dependency that refuses it)
  the parent stops the others and exits 1, so that what runs the host sees the failure. A
  worker dies with its parent (SIGKILL included, on Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI

from services.runtime import logging as jsonlog
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

AUTO = "auto"
WORKERS_HELP = (
    "worker processes on this host, each a consumer in the service's group: a number, or 0 or "
    "'auto' for one per core, at most one per partition of the topic they share (default 1, "
    "or the environment's {env})"
)
READY_FRESH_S = 5.0  # a worker's readiness older than this is taken as not ready


def parse_workers(
    value: str, field_name: str, cores: int | None = None, partitions: int | None = None
) -> int:
    """The number of workers `value` asks for: a whole number ≥ 1, or 0 or 'auto' for one per
    core. ValueError naming `field_name` and the reason otherwise.

    `partitions`: of the topic the workers share. Each worker is a consumer in one group, and a
    consumer beyond the partitions holds none: it only idles, and its consumer_feed_working of 0
    would be the host's (the least of its workers'), so SentinelConsumerFeedBroken would fire
    for good. 'auto' stops at the partitions; a number above them is refused."""
    text = value.strip().lower()
    if text == AUTO:
        wanted = 0
    else:
        try:
            wanted = int(text)
        except ValueError:
            raise ValueError(
                f"{field_name}={value!r}: not a number of processes (a whole number, "
                f"or 0 or {AUTO!r} for one per core)"
            ) from None
        if wanted < 0:
            raise ValueError(
                f"{field_name}={value!r}: a number of processes cannot be negative "
                f"(0 or {AUTO!r} for one per core)"
            )
        if partitions is not None and wanted > partitions:
            raise ValueError(
                f"{field_name}={value!r}: more workers than the {partitions} partitions they "
                f"share; a worker beyond them would hold none (at most {partitions})"
            )
    if wanted:
        return wanted
    every_core = cores or os.cpu_count() or 1
    return every_core if partitions is None else min(every_core, partitions)


def worker_count(
    cli: str | None, environ: Mapping[str, str], env: str, *, partitions: int | None = None
) -> int:
    """From `--workers` if given, else from the environment variable `env`, else 1; at most
    `partitions` (parse_workers)."""
    if cli is not None:
        return parse_workers(cli, "--workers", partitions=partitions)
    if env in environ:
        return parse_workers(environ[env], env, partitions=partitions)
    return 1


# --- supervision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    quick_s: float = 30.0  # a worker that dies sooner than this after starting died quickly
    give_up_after: int = 5  # quick deaths in a row of one worker: the parent gives up
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0

    def after_exit(self, uptime_s: float, quick_deaths: int) -> tuple[int, float | None]:
        """A worker exited after `uptime_s`, having died quickly `quick_deaths` times in a row
        before: its quick deaths in a row now, and the seconds to wait before starting it again
        (None: give up)."""
        if uptime_s >= self.quick_s:
            return 0, 0.0
        deaths = quick_deaths + 1
        if deaths >= self.give_up_after:
            return deaths, None
        return deaths, min(self.backoff_s * 2 ** (deaths - 1), self.backoff_max_s)


class Child(Protocol):
    """What the supervisor needs of a worker process (multiprocessing's Process has it)."""

    @property
    def pid(self) -> int | None: ...
    @property
    def exitcode(self) -> int | None: ...
    @property
    def sentinel(self) -> int: ...

    def start(self) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


@dataclass
class Slot:
    index: int
    child: Child | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None


class GaveUp(Exception):
    """A worker kept dying right after its start."""


@dataclass
class Supervisor:
    """Keeps `count` workers running. `spawn(i)` makes worker i's process (not started);
    `on_exit(child, slot)` hears of each worker that ended (to clear what it left)."""

    count: int
    spawn: Callable[[int], Child]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    clock: Callable[[], float] = time.monotonic
    on_exit: Callable[[Child, Slot], None] = lambda child, slot: None
    slots: list[Slot] = field(init=False)
    restarts: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.slots = [Slot(i) for i in range(self.count)]

    def start(self) -> None:
        for slot in self.slots:
            self._start(slot)

    def _start(self, slot: Slot) -> None:
        slot.child = self.spawn(slot.index)
        slot.child.start()
        slot.started_at, slot.restart_at = self.clock(), None

    def check(self) -> None:
        """Notice the workers that exited and start those whose time came; GaveUp when one
        keeps dying."""
        now = self.clock()
        for slot in self.slots:
            child = slot.child
            if child is not None and child.exitcode is not None:
                slot.child = None
                self.on_exit(child, slot)
                slot.quick_deaths, delay = self.policy.after_exit(
                    now - slot.started_at, slot.quick_deaths
                )
                log.error(
                    "worker exited; %s",
                    "giving up" if delay is None else f"starting it again in {delay:.0f} s",
                    extra={"worker": slot.index, "pid": child.pid, "exitcode": child.exitcode},
                )
                if delay is None:
                    raise GaveUp(
                        f"worker {slot.index} died {slot.quick_deaths} times in a row within "
                        f"{self.policy.quick_s:.0f} s of its start (last exit code "
                        f"{child.exitcode})"
                    )
                slot.restart_at = now + delay
            if slot.child is None and slot.restart_at is not None and now >= slot.restart_at:
                self.restarts += 1
                self._start(slot)

    def running(self) -> list[Child]:
        return [s.child for s in self.slots if s.child is not None and s.child.exitcode is None]

    def stop(self, grace_s: float) -> None:
        """SIGTERM to every worker; those still running after `grace_s` are killed."""
        for child in self.running():
            child.terminate()
        deadline = self.clock() + grace_s
        for child in self.running():
            child.join(max(0.0, deadline - self.clock()))
        for child in self.running():
            log.error("worker did not stop in time; killing it", extra={"pid": child.pid})
            child.kill()
            child.join(5)
        for slot in self.slots:
            if slot.child is not None:
                self.on_exit(slot.child, slot)
                slot.child = None
            slot.restart_at = None


# --- readiness across the workers ----------------------------------------------------------


@dataclass
class Peers:
    """The workers' readiness, one file each in the run's directory."""

    directory: Path
    count: int
    index: int
    every_s: float = 1.0

    def path(self, index: int) -> Path:
        return self.directory / f"ready-{index}"

    def write(self, ready: bool) -> None:
        tmp = self.directory / f".ready-{self.index}.tmp"
        tmp.write_text("1" if ready else "0")
        os.replace(tmp, self.path(self.index))

    def all_ready(self) -> bool:
        """Every worker said it was ready within the last READY_FRESH_S seconds."""
        now = time.time()
        for i in range(self.count):
            try:
                path = self.path(i)
                if path.read_text() != "1" or now - path.stat().st_mtime > READY_FRESH_S:
                    return False
            except OSError:
                return False
        return True

    async def report(self, readiness: Callable[[], Any]) -> None:
        """Write this worker's own readiness (its checks but this one) every `every_s`."""
        import asyncio

        try:
            while True:
                checks = dict(await readiness())
                checks.pop("workers", None)
                self.write(all(checks.values()))
                await asyncio.sleep(self.every_s)
        finally:
            self.path(self.index).unlink(missing_ok=True)


# --- the processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a worker serves: `build(settings())`. Both module-level (a worker imports them)."""

    settings: Callable[[], ServiceSettings]
    build: Callable[[Any], FastAPI]


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when its parent dies, however it died."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _worker(target: Target, index: int, count: int, run_dir: str, sock: socket.socket) -> None:
    """A worker's life (in the spawned process): build the app, serve on the shared socket."""
    from services.runtime.app import serve, server_config
    from services.runtime.projection import replica_name

    _die_with_parent()
    if os.getppid() == 1:  # the parent died before the request above
        return
    settings = target.settings()
    replica = f"{replica_name(settings.replica_id, settings.port)}-w{index}"
    settings = settings.model_copy(update={"replica_id": replica})
    jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
    app = target.build(settings)
    service = app.state.service
    peers = Peers(Path(run_dir), count, index)
    service.ready_checks["workers"] = peers.all_ready

    async def report_readiness() -> None:
        await peers.report(service.readiness)

    service.after_start(report_readiness)
    log.info("worker starting", extra={"worker": index, "replica": replica})
    serve(server_config(app, settings), sockets=[sock])


def serve_workers(
    target: Target,
    count: int,
    *,
    policy: RestartPolicy | None = None,
    stop_grace_s: float = 60.0,
) -> int:
    """Run `count` workers of the service until SIGTERM or SIGINT (exit 0) or until one keeps
    dying (exit 1). One worker is served in this process instead, as `run` does."""
    from services.runtime.app import run

    settings = target.settings()
    app = target.build(settings)  # a configuration it cannot build fails here, once
    if count == 1:
        run(app, settings)
        return 0
    jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
    run_dir = Path(tempfile.mkdtemp(prefix=f"sentinel-{settings.service_name}-workers-"))
    metrics_dir = run_dir / "metrics"
    metrics_dir.mkdir()
    # Read by prometheus_client when a worker imports it (services/runtime/metrics.py).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    sock = uvicorn.Config(app, host=settings.http_host, port=settings.port).bind_socket()
    multiprocessing.allow_connection_pickling()
    context = multiprocessing.get_context("spawn")

    def spawn(index: int) -> Child:
        process: Child = context.Process(
            target=_worker,
            args=(target, index, count, str(run_dir), sock),
            name=f"{settings.service_name}-worker-{index}",
        )
        return process

    def ended(child: Child, slot: Slot) -> None:
        from prometheus_client import multiprocess

        if child.pid is not None:
            multiprocess.mark_process_dead(child.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
        Peers(run_dir, count, slot.index).path(slot.index).unlink(missing_ok=True)

    supervisor = Supervisor(count, spawn, policy or RestartPolicy(), on_exit=ended)
    stopping: list[int] = []

    def stop(signum: int, _: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("starting workers", extra={"workers": count, "port": settings.port})
    code = 0
    try:
        supervisor.start()
        while not stopping:
            if running := supervisor.running():
                multiprocessing.connection.wait([c.sentinel for c in running], 0.2)
            else:  # every worker waits for its restart
                time.sleep(0.2)
            supervisor.check()
        log.info("stopping workers", extra={"signal": signal.Signals(stopping[0]).name})
    except GaveUp as exc:
        log.error("stopping: %s", exc)
        code = 1
    finally:
        supervisor.stop(stop_grace_s)
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    return code
