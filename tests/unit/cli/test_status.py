"""`sentinel status` against services answering through a mock transport: the numbers it shows
come from the right endpoints and metrics; a service that fails shows as such."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from sentinel_cli import config, status

TELEMETRY_METRICS = """\
# HELP sentinel_telemetry_readings_total Readings by kind and outcome (accepted, rejected)
# TYPE sentinel_telemetry_readings_total counter
sentinel_telemetry_readings_total{{kind="cold_chain",outcome="accepted"}} {accepted}
sentinel_telemetry_readings_total{{kind="payment",outcome="accepted"}} 10.0
sentinel_telemetry_readings_total{{kind="cold_chain",outcome="rejected"}} {rejected}
"""
CREDIT_METRICS = """\
# HELP sentinel_credit_merchants_by_grade Merchants holding each grade
# TYPE sentinel_credit_merchants_by_grade gauge
sentinel_credit_merchants_by_grade{grade="A"} 7.0
sentinel_credit_merchants_by_grade{grade="B"} 2.0
sentinel_credit_merchants_by_grade{grade="D"} 1.0
"""
TOKEN = "admin-token"


def stack(
    *, down: tuple[str, ...] = (), not_ready: tuple[str, ...] = ()
) -> Callable[[httpx.Request], httpx.Response]:
    scrapes = itertools.count()

    def answer(request: httpx.Request) -> httpx.Response:
        service = {str(p): n for n, p in config.SERVICES.items()}[str(request.url.port)]
        path = request.url.path
        if service in down:
            raise httpx.ConnectError("connection refused", request=request)
        if path == "/readyz":
            if service in not_ready:
                return httpx.Response(503, json={"checks": {"database": True, "kafka": False}})
            return httpx.Response(200, json={"status": "ready"})
        if path == "/metrics" and service == "telemetry":
            n = next(scrapes)
            text = TELEMETRY_METRICS.format(accepted=100 + 50 * n, rejected=5 + 2 * n)
            return httpx.Response(200, text=text)
        if path == "/metrics" and service == "credit":
            return httpx.Response(200, text=CREDIT_METRICS)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": "unauthorized"})
        if path == "/risks":
            assert request.url.params["state"] == "open"
            items = [{"severity": "major"}, {"severity": "major"}, {"severity": "minor"}]
            return httpx.Response(200, json={"items": items})
        if path == "/tasks":
            n = {"open": 4, "claimed": 1}[request.url.params["state"]]
            return httpx.Response(200, json={"items": [{}] * n})
        if path == "/complaints":
            states = ["received", "accepted", "accepted", "closed"]
            return httpx.Response(200, json={"items": [{"state": s} for s in states]})
        return httpx.Response(404)

    return answer


@pytest.fixture
def conf(tmp_path: Path) -> config.Config:
    values = dict(config.DEFAULTS) | {"SENTINEL_ADMIN_TOKEN": TOKEN}
    return config.Config(values, tmp_path / "env")


async def test_a_healthy_stack_shows_every_number(conf: config.Config) -> None:
    snap = await status.gather(conf, 0.05, transport=httpx.MockTransport(stack()))
    assert snap.all_ready
    assert [s.state for s in snap.services] == ["ready"] * 6
    rates = snap.readings_per_s
    assert rates is not None
    # 50 accepted and 2 rejected more between the two scrapes, 0.05 s (or a little more) apart
    assert 0 < rates["accepted"] <= 1000 and 0 < rates["rejected"] <= 40
    assert rates["total"] == pytest.approx(rates["accepted"] + rates["rejected"])
    assert rates["accepted"] == pytest.approx(25 * rates["rejected"])
    assert (snap.risks.total, snap.risks.by) == (3, {"major": 2, "minor": 1})
    assert (snap.tasks.total, snap.tasks.by) == (5, {"open": 4, "claimed": 1})
    assert snap.complaints.by == {"accepted": 2, "closed": 1, "received": 1}
    assert snap.grades == {"A": 7.0, "B": 2.0, "C": 0.0, "D": 1.0}

    console = Console(record=True, width=120)
    console.print(status.render(snap))
    screen = console.export_text()
    assert "6/6 services ready" in screen
    assert "major 2" in screen and "claimed 1" in screen and "A 7 (70%)" in screen


async def test_services_down_or_not_ready_are_shown_and_their_numbers_left_out(
    conf: config.Config,
) -> None:
    transport = httpx.MockTransport(stack(down=("telemetry", "credit"), not_ready=("inspection",)))
    snap = await status.gather(conf, 0.05, transport=transport)
    states = {s.name: (s.state, s.detail) for s in snap.services}
    assert states["telemetry"] == ("down", "no answer")
    assert states["inspection"] == ("not_ready", "failing: kafka")
    assert states["registry"][0] == "ready"
    assert not snap.all_ready
    assert snap.readings_per_s is None and snap.readings_error == "telemetry is down"
    assert snap.grades is None and snap.risks.total is None
    assert snap.tasks.total == 5  # a service that is not ready may still answer
    console = Console(record=True, width=120)
    console.print(status.render(snap))
    assert "telemetry is down" in console.export_text()


async def test_without_an_admin_token_or_a_client_secret_the_counts_say_401() -> None:
    conf = config.Config(dict(config.DEFAULTS))
    assert status.admin_token(conf) == ""
    snap = await status.gather(conf, 0.05, transport=httpx.MockTransport(stack()))
    assert snap.risks.error == "HTTP 401"  # the mock only takes its own token


PROMETHEUS = "http://127.0.0.1:9999"


def with_prometheus(
    result: list[dict[str, object]] | None,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    """The stack, and a Prometheus answering the rate query with `result` (None: not running);
    the list records the paths telemetry was asked for."""
    services, telemetry = stack(), []

    def answer(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(PROMETHEUS):
            if result is None:
                raise httpx.ConnectError("connection refused", request=request)
            assert request.url.path == "/api/v1/query"
            assert request.url.params["query"] == status.PROMETHEUS_RATE
            body = {"status": "success", "data": {"resultType": "vector", "result": result}}
            return httpx.Response(200, json=body)
        if str(request.url.port) == str(config.SERVICES["telemetry"]):
            telemetry.append(request.url.path)
        return services(request)

    return answer, telemetry


async def test_with_the_stacks_prometheus_the_rate_is_over_two_minutes(tmp_path: Path) -> None:
    """A small city's terminals read once a minute: a second between two scrapes says 0 or 1
    readings/s, where Prometheus's two minutes say 0.25."""
    values = dict(config.DEFAULTS) | {"SENTINEL_ADMIN_TOKEN": TOKEN, "PROMETHEUS_URL": PROMETHEUS}
    conf = config.Config(values, tmp_path / "env")
    vector = [
        {"metric": {"outcome": "accepted"}, "value": [1.7e9, "0.2333"]},
        {"metric": {"outcome": "rejected"}, "value": [1.7e9, "0.0167"]},
    ]
    answer, telemetry = with_prometheus(vector)
    snap = await status.gather(conf, 0.05, transport=httpx.MockTransport(answer))
    assert snap.readings_per_s == {"accepted": 0.2333, "rejected": 0.0167, "total": 0.25}
    assert snap.readings_over == "2m (Prometheus)"
    assert "/metrics" not in telemetry  # no scrape pair: Prometheus answered
    console = Console(record=True, width=120)
    console.print(status.render(snap))
    assert "0.25   accepted 0.23  rejected 0.02   over 2m (Prometheus)" in console.export_text()


@pytest.mark.parametrize("result", [None, []], ids=["prometheus down", "no series yet"])
async def test_without_prometheus_figures_the_rate_is_two_scrapes(
    tmp_path: Path, result: list[dict[str, object]] | None
) -> None:
    values = dict(config.DEFAULTS) | {"SENTINEL_ADMIN_TOKEN": TOKEN, "PROMETHEUS_URL": PROMETHEUS}
    conf = config.Config(values, tmp_path / "env")
    answer, telemetry = with_prometheus(result)
    snap = await status.gather(conf, 0.05, transport=httpx.MockTransport(answer))
    rates = snap.readings_per_s
    assert rates is not None and rates["accepted"] == pytest.approx(25 * rates["rejected"])
    assert snap.readings_over == "0.05 s" and telemetry.count("/metrics") == 2
