"""One place to wire a service: Postgres pool and migrations, Kafka, outbox relay, periodic jobs,
and the HTTP app with /healthz, /readyz, /metrics and the shared error format.

A service builds a `Service`, subscribes its handlers, adds its routers, and calls `run`.
Start and stop happen in the ASGI lifespan, so uvicorn's SIGTERM handling gives a graceful
shutdown: HTTP stops accepting, consumers finish the message in hand and commit, the relay
stops between batches, then the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import uvicorn
import yaml
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import Headers
from starlette.types import Scope

import contracts
from contracts.envelope import Envelope
from services.runtime import docs, errors
from services.runtime import logging as jsonlog
from services.runtime.auth import token_verifier
from services.runtime.body_limit import BodyLimit
from services.runtime.db import connect, create_pool
from services.runtime.dead_letters import (
    KafkaDeadLetterOffsets,
    UnresolvedDeadLetters,
    parked_on_by,
)
from services.runtime.delivery import BatchHandler
from services.runtime.failures import TooLarge
from services.runtime.forwarded import trust_forwarded
from services.runtime.gc_tuning import tune_gc
from services.runtime.messaging import Handler, Messaging
from services.runtime.metrics import Metrics
from services.runtime.migrations import RUNTIME_MIGRATIONS, migrate
from services.runtime.outbox import OutboxRelay, enqueue, enqueue_many, purge_published
from services.runtime.photo_uploads import MULTIPART_OVERHEAD
from services.runtime.photos import PhotoTooLarge
from services.runtime.projection import Projections, in_order, replica_name
from services.runtime.settings import ServiceSettings
from services.runtime.unit_of_work import UowFactory, postgres_units

T = TypeVar("T")
S = TypeVar("S")
log = logging.getLogger(__name__)
Job = Callable[["Service"], Awaitable[Any]]
ASYNCAPI = Path(contracts.__file__).resolve().parent / "asyncapi.yaml"


class Service:
    def __init__(self, settings: ServiceSettings, migrations: Path | None = None) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.schema = settings.pg_schema
        self.migrations = migrations
        self._components: dict[str, Path] = {}
        self.metrics = Metrics(self.name)
        self.messaging = Messaging(
            self.name,
            settings.kafka_bootstrap_servers,
            self.metrics,
            group_id=settings.group_id,
            max_attempts=settings.handler_max_attempts,
            backoff_s=settings.retry_backoff_s,
            backoff_max_s=settings.retry_backoff_max_s,
            stalled_retry_s=settings.stalled_retry_s,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            kafka_options=settings.kafka_client_options(),
        )
        self.projections = Projections(
            self.messaging, settings.group_id, replica_name(settings.replica_id, settings.port)
        )
        # The dead letters of the topics it parks on that no operator has worked off yet.
        self.dead_letters = UnresolvedDeadLetters(
            self.metrics,
            parked_on_by(self.name),
            KafkaDeadLetterOffsets(
                settings.kafka_bootstrap_servers,
                f"sentinel-{self.name}-dead-letters",
                settings.kafka_client_options(),
            ),
        )
        self._pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self._jobs: list[tuple[str, float, Job, bool]] = []
        self._on_start: list[Callable[[], Awaitable[Any]]] = []
        self._after_start: list[Callable[[], Coroutine[Any, Any, Any]]] = []
        self.ready_checks: dict[str, Callable[[], bool]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._pool

    def units(self, stores: Callable[[asyncpg.Connection], S]) -> UowFactory[S]:
        """The unit-of-work factory this service's use cases take: `stores` on a connection of
        its pool, in its schema (services/runtime/unit_of_work.py). The pool is taken when a
        unit begins, so the factory is made while wiring, before the service starts."""
        return postgres_units(lambda: self.pool, self.schema, stores)

    def subscribe(self, topic: str, handler: Handler, **kwargs: Any) -> None:
        self.messaging.subscribe(topic, handler, **kwargs)

    def project(self, topic: str, handler: Handler, *, view: str) -> None:
        """Keep a view of the compacted `topic` that this replica reads whole
        (services/runtime/projection.py); the service is ready once every view caught up.
        `handler` takes the snapshots one at a time."""
        self.project_batches(topic, in_order(handler), view=view)

    def project_batches(self, topic: str, handler: BatchHandler, *, view: str) -> None:
        """`project`, for a view that writes a whole batch of snapshots at once."""
        if not self.projections.views:
            self.ready_checks["projections"] = self.projections.ready.is_set
            self.after_start(self.projections.catch_up)
        self.projections.add(topic, handler, view)

    def with_pool(
        self, handler: Callable[[asyncpg.Pool, T], Awaitable[None]]
    ) -> Callable[[T], Awaitable[None]]:
        """`handler` called with this service's pool and each delivery, or each batch (a view's
        writer: the pool exists only once the service started)."""

        async def handle(taken: T) -> None:
            await handler(self.pool, taken)

        handle.__name__ = getattr(handler, "__name__", "handler")
        return handle

    def add_migrations(self, component: str, folder: Path) -> None:
        """Apply a shared component's migrations (e.g. the registry directory) before ours."""
        self._components[component] = folder

    def on_start(self, hook: Callable[[], Awaitable[Any]]) -> None:
        """Run `hook` once the database is ready and before any message is consumed."""
        self._on_start.append(hook)

    def after_start(self, task: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run `task` in the background once consuming has begun (cancelled on stop)."""
        self._after_start.append(task)

    def every(
        self, seconds: float, job: Job, name: str | None = None, *, each_replica: bool = False
    ) -> None:
        """Run `job` periodically; with several replicas only one runs it at a time, unless
        `each_replica`: then every replica (and worker) runs its own, for work that is its own
        (telemetry's silence check judges the terminals of the partitions it holds)."""
        self._jobs.append((name or job.__name__, seconds, job, each_replica))

    async def enqueue(self, conn: asyncpg.Connection, topic: str, event: Envelope[Any]) -> None:
        await enqueue(conn, topic, event, schema=self.schema)

    async def enqueue_many(
        self,
        conn: asyncpg.Connection,
        items: Sequence[tuple[str, Envelope[Any]] | tuple[str, Envelope[Any], str]],
    ) -> None:
        await enqueue_many(conn, items, schema=self.schema)

    async def _wait_for(self, what: str, probe: Callable[[], Awaitable[Any]]) -> None:
        """Wait for a dependency at start-up: a service started while the broker or the database
        is away (a host reboot, a rolling restart) waits for it instead of exiting."""
        deadline = asyncio.get_running_loop().time() + self.settings.startup_timeout_s
        delay = 0.5
        while True:
            try:
                await probe()
                return
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning(
                    "waiting for a dependency",
                    extra={"dependency": what, "error": f"{type(exc).__name__}: {exc}"},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _postgres_answers(self) -> None:
        async with connect(self.settings.database_url):
            pass

    async def start(self, *, jobs: bool = True) -> None:
        """Start everything; `jobs=False` (a one-off command) leaves the periodic jobs out."""
        s = self.settings
        folders = {"runtime": RUNTIME_MIGRATIONS, **self._components}
        if self.migrations:
            folders[self.name] = self.migrations
        await self._wait_for("postgres", self._postgres_answers)
        await self._wait_for("kafka", self.messaging.probe)
        await migrate(s.database_url, self.schema, folders)
        self._pool = await create_pool(
            s.database_url, self.schema, min_size=s.db_pool_min, max_size=s.db_pool_max
        )
        for hook in self._on_start:
            await hook()
        await self.messaging.start()
        self.relay = OutboxRelay(
            self._pool,
            s.database_url,
            self.schema,
            self.messaging.publish_batch,
            self.metrics,
            batch_size=s.outbox_batch_size,
            poll_interval_s=s.outbox_poll_interval_s,
            publish_timeout_s=s.outbox_publish_timeout_s,
        )
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox"))
        self.every(3600, lambda svc: purge_published(svc.pool), "outbox-purge")
        self._tasks.append(asyncio.create_task(self._watch_lag(), name="consumer-lag"))
        self._tasks.append(asyncio.create_task(self.dead_letters.run(), name="dead-letters"))
        for task in self._after_start:
            self._tasks.append(asyncio.create_task(task(), name=getattr(task, "__name__", "task")))
        for name, seconds, job, each_replica in self._jobs if jobs else ():
            periodic = self._periodic(name, seconds, job, each_replica)
            self._tasks.append(asyncio.create_task(periodic, name=name))
        self.started = True
        log.info("service started", extra={"schema": self.schema})

    async def stop(self) -> None:
        # Consumers first (they finish the message in hand and commit), then the relay gets to
        # finish its batch while the producer is still open, then the rest.
        others = [t for t in self._tasks if not t.get_name().endswith("-outbox")]
        for task in others:
            task.cancel()
        await self.messaging.stop_consuming()
        if self.relay:
            self.relay.stop()
        # 5 s: a batch takes milliseconds while Kafka answers, and in an outage it cannot be
        # sent at all; the stop must end within the 30 s before SIGKILL (deploy/local/stack.py),
        # which the consumers' 8 s and the producer's 10 s share with it.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 5)
        await self.messaging.stop()
        self._tasks.clear()
        if self._pool is not None:
            try:
                # close() waits for every connection to come back; a stuck one must not hang
                # the shutdown.
                await asyncio.wait_for(self._pool.close(), 10)
            except TimeoutError:
                log.warning("database pool did not close in time; terminating it")
                self._pool.terminate()
            self._pool = None
        self.started = False
        log.info("service stopped")

    async def _watch_lag(self, every_s: float = 5.0) -> None:
        # Per replica, not under a lock: each replica reports the partitions it holds.
        while True:
            try:
                await self.messaging.measure_lag()
                await self.messaging.observe_feeds()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("lag measurement failed", exc_info=True)
            await asyncio.sleep(every_s)

    async def _periodic(self, name: str, seconds: float, job: Job, each_replica: bool) -> None:
        lock_key = zlib.crc32(f"job:{self.schema}:{name}".encode())
        while True:
            try:
                if each_replica:
                    await job(self)
                else:
                    async with self.pool.acquire() as conn:
                        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
                            try:
                                await job(self)
                            finally:
                                await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job failed", extra={"job": name})
            await asyncio.sleep(seconds)

    async def drain_outbox(self, timeout_s: float = 30.0) -> None:
        """Wait until the relay has published everything written so far (CLI runs, tests)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while await self.pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.name}: outbox not drained within {timeout_s}s")
            await asyncio.sleep(0.05)

    async def readiness(self) -> dict[str, bool]:
        db = False
        if self._pool is not None:
            with contextlib.suppress(Exception):
                db = await asyncio.wait_for(self._pool.fetchval("SELECT true"), 2)
        kafka = self.started and await self.messaging.ping()
        checks = {"database": bool(db), "kafka": bool(kafka)}
        return checks | {name: bool(check()) for name, check in self.ready_checks.items()}


def create_app(
    service: Service,
    routers: Sequence[APIRouter] = (),
    *,
    title: str,
    description: str = "",
    version: str = "1.0.0",
    state: Mapping[str, Any] | None = None,
    max_upload_bytes: int | None = None,
) -> FastAPI:
    """The service's HTTP app; `state`: what its routes read through `state(name)`, by name (the
    use cases); `max_upload_bytes`: the largest file its multipart routes take (a photo), when it
    has any."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    # /docs and /redoc are served from local assets (services/runtime/docs.py), not a CDN.
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.verifier = token_verifier(service.settings)
    app.state.rate_limits = {}
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    errors.install(app)
    docs.install(app)
    limit = service.settings.http_max_body_bytes
    app.add_middleware(
        BodyLimit,
        max_bytes=limit,
        max_multipart_bytes=max_upload_bytes + MULTIPART_OVERHEAD if max_upload_bytes else limit,
        refuse=functools.partial(_too_large, max_upload_bytes),
    )

    def observed(request: Request, status: int, started: float) -> None:
        template = getattr(request.scope.get("route"), "path", "unmatched")
        service.metrics.http_requests.labels(request.method, template, str(status)).inc()
        service.metrics.http_seconds.labels(template).observe(time.perf_counter() - started)

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        try:
            response: Response = await call_next(request)
        except Exception:
            # A handler's exception that no handler answered becomes Starlette's 500 outside
            # this middleware: counted here, or SentinelHttpErrors never sees a crashing route
            # (the alert rehearsal: 38 answers of 500, none counted).
            observed(request, 500, started)
            raise
        observed(request, response.status_code, started)
        return response

    @app.get("/healthz", tags=["operations"], summary="alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service.name}

    @app.get("/readyz", tags=["operations"], summary="broker and database reachable")
    async def readyz() -> JSONResponse:
        checks = await service.readiness()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # The event contracts (contracts/README.md), as committed: the AsyncAPI document and the
    # JSON Schemas its `./schemas/...` references point at, resolvable relative to it.
    @app.get("/asyncapi.yaml", tags=["contracts"], summary="AsyncAPI document of every topic")
    async def asyncapi_yaml() -> Response:
        return Response(ASYNCAPI.read_bytes(), media_type="application/yaml")

    @app.get("/asyncapi.json", tags=["contracts"], summary="AsyncAPI document as JSON")
    async def asyncapi_json() -> Response:
        return Response(_asyncapi_json(), media_type="application/json")

    @app.get("/schemas/{name}", tags=["contracts"], summary="an event's JSON Schema")
    async def event_schema(name: str) -> Response:
        path = ASYNCAPI.parent / "schemas" / name
        if not name.endswith(".json") or "/" in name or name.startswith(".") or not path.is_file():
            raise errors.NotFound(f"no schema {name!r}")
        return Response(path.read_bytes(), media_type="application/schema+json")

    for router in routers:
        app.include_router(router)
    trust_forwarded(app, service.settings.forwarded_allow_ips)
    return app


def _too_large(max_upload_bytes: int | None, scope: Scope, cap: int) -> Response:
    """A body over its cap: a form's is its photo (the only file a service takes, as the
    route itself would say, services/runtime/photo_uploads.py), any other the body."""
    refused: TooLarge
    if max_upload_bytes and BodyLimit.is_form(Headers(scope=scope)):
        refused = PhotoTooLarge(max_upload_bytes)
    else:
        reason = f"at most {cap} bytes"
        refused = TooLarge(f"body: {reason}", field="body", reason=reason)
    return JSONResponse(refused.body(), status_code=errors.status_of(refused))


@functools.cache
def _asyncapi_json() -> bytes:
    """The AsyncAPI document as JSON, made once: it is the committed file, fixed while the
    process runs, and parsing its YAML takes about half a second of the event loop here, which
    an anonymous caller could otherwise ask for again and again."""
    return bytes(JSONResponse(yaml.safe_load(ASYNCAPI.read_bytes())).body)


def state(name: str) -> Callable[[Request], Any]:
    """A FastAPI dependency giving what app.py wired as the app's `state.<name>` (a service's use
    cases): `Annotated[Registry, Depends(state("registry"))]`."""

    def wired(request: Request) -> Any:
        return getattr(request.app.state, name)

    wired.__name__ = name
    return wired


def server_config(app: FastAPI, settings: ServiceSettings) -> uvicorn.Config:
    """How uvicorn serves the app, in one process or in each worker
    (services/runtime/workers.py). `SENTINEL_EVENT_LOOP` chooses the event loop: `asyncio`
    (default) or `uvloop` (installed with the `bench` extra, or `pip install uvloop`); chosen
    explicitly, so that installing uvloop does not change what runs (uvicorn's `auto` would take
    it)."""
    import importlib.util
    import os

    loop = os.environ.get("SENTINEL_EVENT_LOOP", "asyncio").strip().lower() or "asyncio"
    if loop not in ("asyncio", "uvloop"):
        raise SystemExit(f"SENTINEL_EVENT_LOOP={loop!r}: use asyncio or uvloop")
    if loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise SystemExit("SENTINEL_EVENT_LOOP=uvloop, but uvloop is not installed")
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        # The app reads X-Forwarded-For itself, from its own trusted peers (forwarded.py).
        proxy_headers=False,
        timeout_graceful_shutdown=15,
        loop=loop,
    )


def run(app: FastAPI, settings: ServiceSettings) -> None:
    """Serve the app in this process (several worker processes: services/runtime/workers.py)."""
    config = server_config(app, settings)
    jsonlog.configure(settings.service_name, settings.log_level, settings.log_json)
    serve(config)


def serve(config: uvicorn.Config, sockets: list[socket.socket] | None = None) -> None:
    """Serve until a signal stops the server; exit 3 (uvicorn's start-up failure) if the app
    never started (its lifespan failed: a dependency never answered, a migration failed)."""
    tune_gc()
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=sockets)
    if not server.started:
        raise SystemExit(3)
