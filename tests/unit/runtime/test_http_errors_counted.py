"""Every answer is counted in `sentinel_<service>_http_requests_total`, a crash too: a handler's
exception that nothing answered is Starlette's 500, made outside the service's middleware, and
SentinelHttpErrors (deploy/prometheus/alerts.yml) saw none of them (the alert rehearsal on the
demo: a registry answering 38 requests with 500, none counted)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.registry.app import build
from services.registry.settings import RegistrySettings
from tests.support.service_apps import COMMON


def counted(text: str, route: str) -> dict[str, float]:
    """The request counter's samples for `route`, by status."""
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "sentinel_registry_http_requests_total"
        and sample.labels.get("route") == route
    }


async def test_a_handler_that_raised_is_counted_as_a_500() -> None:
    app = build(RegistrySettings(**COMMON, terminal_master_secret="m" * 32))

    async def broken() -> None:
        raise RuntimeError("a table was renamed under the service")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        answers = [(await client.get("/broken")).status_code for _ in range(3)]
        alive = await client.get("/healthz")
    assert answers == [500, 500, 500] and alive.status_code == 200
    metrics = app.state.service.metrics.render().decode()
    assert counted(metrics, "/broken") == {"500": 3.0}
    assert counted(metrics, "/healthz") == {"200": 1.0}
