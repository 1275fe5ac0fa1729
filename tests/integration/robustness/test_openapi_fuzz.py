"""schemathesis against every service's OpenAPI document: no request, valid or not, gets a 5xx.

The six services run in-process on the real Kafka and PostgreSQL, each behind a real HTTP
server (uvicorn) on a loopback port, in an event loop of their own on a background thread:
schemathesis calls them synchronously, as any client would. Each service is fuzzed twice, with
an admin token and with a token of one district in the role that service's people hold, on
every operation of its `/openapi.json`, with valid (positive) and invalid (negative) inputs.
The only check is `not_a_server_error`; a 4xx is a fine answer to fuzz.

The services have schemas and consumer groups of their own, the groups positioned at the ends
of the topics they consume (the compacted topics excepted: projections read them whole), so the
fuzz neither reads the shared topics' history nor leaves rows where other tests look.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from contracts import topics
from services.campaign.app import build as build_campaign
from services.campaign.settings import CampaignSettings
from services.complaints.app import build as build_complaints
from services.complaints.settings import ComplaintsSettings
from services.credit.app import build as build_credit
from services.credit.settings import CreditSettings
from services.inspection.app import build as build_inspection
from services.inspection.settings import InspectionSettings
from services.registry.app import build as build_registry
from services.registry.settings import RegistrySettings
from services.telemetry.app import build as build_telemetry
from services.telemetry.settings import TelemetrySettings
from tests.support.city import bearer, start_group_at_end
from tests.support.credit_codes import fresh_credit_code
from tests.support.process import free_port

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; not this test's doing.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
T = TypeVar("T")

# The role a district's people hold in each service.
DISTRICT_ROLE = {
    "registry": "clerk",
    "telemetry": "inspector",
    "inspection": "inspector",
    "complaints": "handler",
    "credit": "clerk",
    "campaign": "clerk",
}
SERVICES = tuple(DISTRICT_ROLE)
EXAMPLES = int(os.environ.get("ROBUSTNESS_FUZZ_EXAMPLES", "10"))
# Operations that do a whole city's work per call (every market assessed, ranked or published,
# every licence or campaign checked) and take little worth fuzzing but a period: a few calls.
EXPENSIVE = {
    ("credit", "POST /assessments"),
    ("credit", "GET /assessments"),
    ("registry", "POST /jobs/expire-licences"),
    ("campaign", "POST /jobs/check-campaigns"),
}
EXPENSIVE_CALLS = 6


def _settings(name: str, common: dict[str, Any], master: str) -> Any:
    suffix = uuid.uuid4().hex[:6]
    own: dict[str, Any] = {
        "consumer_group": f"fuzz-{name}-{suffix}",
        "db_schema": f"{name}_fuzz_{suffix}",
    }
    public: dict[str, Any] = {"public_rate_per_s": 10_000.0, "public_burst": 10_000}
    if name == "registry":
        return RegistrySettings(**common, **own, **public, terminal_master_secret=master)
    if name == "telemetry":
        return TelemetrySettings(**common, **own, **public, terminal_master_secret=master)
    if name == "inspection":
        return InspectionSettings(**common, **own, **public)
    if name == "complaints":
        return ComplaintsSettings(**common, **own, **public)
    if name == "campaign":
        return CampaignSettings(**common, **own, **public, campaign_check_interval_s=0)
    return CreditSettings(**common, **own, **public)


BUILDERS: dict[str, Callable[[Any], Any]] = {
    "registry": build_registry,
    "telemetry": build_telemetry,
    "inspection": build_inspection,
    "complaints": build_complaints,
    "credit": build_credit,
    "campaign": build_campaign,
}


class Background:
    """An event loop on a thread of its own: the services live there while the tests, on the
    main thread, call them over HTTP."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Running:
    name: str
    app: Any
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str


@dataclass
class City:
    services: dict[str, Running]
    district: str

    def headers(self, service: str, who: str) -> dict[str, str]:
        if who == "admin":
            return bearer("admin", "*")
        return bearer(DISTRICT_ROLE[service], self.district)


async def _start(name: str, common: dict[str, Any], master: str) -> Running:
    app = BUILDERS[name](_settings(name, common, master))
    kafka = common["kafka_bootstrap_servers"]
    service = app.state.service
    for topic, group, _ in service.messaging._subscribers:
        if topics.by_name(topic).cleanup_policy != "compact":
            await start_group_at_end(kafka, group, topic)
    await service.start()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return Running(name, app, server, task, f"http://127.0.0.1:{port}")


async def _start_all(common: dict[str, Any], master: str) -> dict[str, Running]:
    apps = await asyncio.gather(*(_start(name, common, master) for name in SERVICES))
    return {running.name: running for running in apps}


async def _stop(running: Running) -> None:
    running.server.should_exit = True
    await running.task
    await running.app.state.service.stop()


async def _provision(registry: str, headers: dict[str, str]) -> str:
    """A district with a market, a merchant and a terminal: something for the fuzz to find."""
    code = f"fz{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=registry, headers=headers) as http:
        r = await http.post("/districts", json={"code": code, "name": code})
        assert r.status_code == 201, r.text
        r = await http.post(
            "/markets",
            json={
                "name": "模糊市场",
                "district": code,
                "kind": "farmers",
                "operator": "o",
                "address": "a",
                "capacity": 300,
                "opening_hours": {"open": "06:00", "close": "19:00"},
            },
        )
        assert r.status_code == 201, r.text
        market = r.json()["id"]
        r = await http.post(
            "/merchants",
            json={
                "name": "商户",
                "market_id": market,
                "stall_no": "F-1",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "categories": [],
            },
        )
        assert r.status_code == 201, r.text
        r = await http.post("/terminals", json={"kind": "footfall", "market_id": market})
        assert r.status_code == 201, r.text
    return code


async def _ready(services: dict[str, Running]) -> None:
    deadline = asyncio.get_running_loop().time() + 120
    async with httpx.AsyncClient() as http:
        for running in services.values():
            while (await http.get(f"{running.url}/readyz")).status_code != 200:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{running.name} not ready")
                await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def city(kafka: str, database_url: str, secrets_env: dict[str, str]) -> Iterator[City]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka,
        "database_url": database_url,
        "oidc_issuer": secrets_env["OIDC_ISSUER"],
        "outbox_poll_interval_s": 0.1,
    }
    background = Background()
    started: dict[str, Running] = {}
    try:
        master = secrets_env["SENTINEL_TERMINAL_MASTER_SECRET"]
        started.update(background.run(_start_all(common, master)))
        district = background.run(_provision(started["registry"].url, bearer("admin", "*")))
        background.run(_ready(started))
        yield City(started, district)
        operations = len(CALLS)
        print(
            f"\nopenapi fuzz: {operations} operations, {CALLS.total()} requests "
            f"(up to {EXAMPLES} examples per operation, each with 2 tokens)"
        )
        slowest = sorted(SECONDS.items(), key=lambda item: -item[1])[:3]
        print("slowest operations (s):", [(f"{n} {op}", round(t, 1)) for (n, op), t in slowest])
    finally:
        for running in reversed(started.values()):
            background.run(_stop(running), timeout=60)
        background.close()


def _openapi(name: str) -> dict[str, Any]:
    """The service's OpenAPI document, as its app serves it at /openapi.json (checked below):
    schemathesis parametrizes at collection, before any service runs."""
    settings_ = _settings(name, {}, "y" * 32)
    document: dict[str, Any] = BUILDERS[name](settings_).openapi()
    return document


OPENAPI = {name: _openapi(name) for name in SERVICES}
CALLS: Counter[tuple[str, str]] = Counter()
SECONDS: defaultdict[tuple[str, str], float] = defaultdict(float)


def test_each_service_serves_the_document_fuzzed(city: City) -> None:
    for name, running in city.services.items():
        served = httpx.get(f"{running.url}/openapi.json", timeout=10)
        assert served.status_code == 200
        assert served.json() == OPENAPI[name]


def _fuzz(name: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_dict(OPENAPI[name])

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case[Any], city: City) -> None:
        """Each generated request, with an admin token and with a district's."""
        base_url = city.services[name].url
        for who in ("admin", "district"):
            label = (name, case.operation.label)
            if label in EXPENSIVE and CALLS[label] >= EXPENSIVE_CALLS:
                return
            CALLS[label] += 1
            started = time.perf_counter()
            case.call_and_validate(
                base_url=base_url,
                headers=city.headers(name, who),
                checks=[not_a_server_error],
                timeout=30,
            )
            SECONDS[label] += time.perf_counter() - started

    test: Callable[..., None] = fuzz
    return test


test_registry_no_server_error = _fuzz("registry")
test_telemetry_no_server_error = _fuzz("telemetry")
test_inspection_no_server_error = _fuzz("inspection")
test_complaints_no_server_error = _fuzz("complaints")
test_credit_no_server_error = _fuzz("credit")
test_campaign_no_server_error = _fuzz("campaign")
