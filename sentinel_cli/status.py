"""`sentinel status`: one screen on the running stack, from the services' own endpoints.

- health: `GET /readyz` of every service (`*_URL`): ready, not ready (with the failing checks) or
  down (no answer);
- readings/s: `sentinel_telemetry_readings_total` (by outcome: accepted, rejected) over the last
  two minutes, from the stack's Prometheus (`PROMETHEUS_URL`) when it has them; else two scrapes
  of telemetry's `/metrics`, `interval_s` apart (a terminal reads once a minute, so a second's
  window of a small city says 0 or 1);
- open risks by severity: telemetry `GET /risks?state=open`; open and claimed tasks: inspection
  `GET /tasks?state=...`; complaints by state: complaints `GET /complaints` — all with the admin
  token (`SENTINEL_ADMIN_TOKEN`, or one the provider grants the `sentinel-ops` client);
- grade distribution: credit's `sentinel_credit_merchants_by_grade` gauge.

Whatever does not answer is shown as unavailable; nothing here raises.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sentinel_cli import identity
from sentinel_cli.config import SERVICES, Config

READINGS = "sentinel_telemetry_readings_total"
RATE_WINDOW = "2m"
PROMETHEUS_RATE = f"sum by (outcome) (rate({READINGS}[{RATE_WINDOW}]))"
GRADES = "sentinel_credit_merchants_by_grade"
PAGE = 1000
OPS_CLIENT = "sentinel-ops"
TIMEOUT_S = 3.0


@dataclass
class ServiceHealth:
    name: str
    url: str
    state: str  # ready | not_ready | down
    detail: str = ""


@dataclass
class Count:
    """A count from a list endpoint; `capped` when the list was cut at its page size."""

    total: int | None = None
    by: dict[str, int] = field(default_factory=dict)
    capped: bool = False
    error: str = ""


@dataclass
class Snapshot:
    at: str
    services: list[ServiceHealth]
    readings_per_s: dict[str, float] | None = None
    readings_over: str = ""  # the window the rate is of: "2m (Prometheus)", "1.0 s"
    readings_error: str = ""
    risks: Count = field(default_factory=Count)
    tasks: Count = field(default_factory=Count)
    complaints: Count = field(default_factory=Count)
    grades: dict[str, float] | None = None
    grades_error: str = ""

    @property
    def all_ready(self) -> bool:
        return all(s.state == "ready" for s in self.services)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"all_ready": self.all_ready}


def _why(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return "no answer"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return f"{type(exc).__name__}: {exc}"[:200]


async def health(client: httpx.AsyncClient, name: str, url: str) -> ServiceHealth:
    try:
        response = await client.get(f"{url}/readyz")
    except (httpx.HTTPError, OSError) as exc:
        return ServiceHealth(name, url, "down", _why(exc))
    if response.status_code == 200:
        return ServiceHealth(name, url, "ready")
    detail = f"HTTP {response.status_code}"
    with contextlib.suppress(ValueError, AttributeError):
        checks = response.json().get("checks", {})
        failing = [k for k, ok in checks.items() if not ok]
        if failing:
            detail = "failing: " + ", ".join(failing)
    return ServiceHealth(name, url, "not_ready", detail)


async def scrape(
    client: httpx.AsyncClient, url: str, metric: str
) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric from a `/metrics` page, by their labels."""
    response = await client.get(f"{url}/metrics")
    response.raise_for_status()
    samples: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == metric:
                samples[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def _by_label(samples: dict[tuple[tuple[str, str], ...], float], label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in samples.items():
        key = dict(labels).get(label, "")
        out[key] = out.get(key, 0.0) + value
    return out


async def readings_rate(client: httpx.AsyncClient, url: str, interval_s: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    first, t0 = await scrape(client, url, READINGS), loop.time()
    await asyncio.sleep(interval_s)
    second, t1 = await scrape(client, url, READINGS), loop.time()
    before, after = _by_label(first, "outcome"), _by_label(second, "outcome")
    elapsed = max(t1 - t0, 1e-6)
    rates = {k: max(0.0, v - before.get(k, 0.0)) / elapsed for k, v in after.items()}
    rates["total"] = sum(rates.values())
    return rates


async def prometheus_rate(client: httpx.AsyncClient, url: str) -> dict[str, float] | None:
    """Readings/s by outcome over RATE_WINDOW, as the stack's Prometheus has scraped them; None
    when it has no such series yet (started less than two scrapes ago)."""
    response = await client.get(f"{url}/api/v1/query", params={"query": PROMETHEUS_RATE})
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    rates = {str(r["metric"].get("outcome", "")): float(r["value"][1]) for r in result}
    rates["total"] = sum(rates.values())
    return rates


async def count(
    client: httpx.AsyncClient, url: str, params: dict[str, str], token: str, by: str | None
) -> Count:
    try:
        response = await client.get(
            url,
            params=params | {"limit": str(PAGE)},
            headers={"authorization": f"Bearer {token}"} if token else {},
        )
        response.raise_for_status()
        items = response.json()["items"]
    except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError) as exc:
        return Count(error=_why(exc))
    grouped = Counter(str(item.get(by, "?")) for item in items) if by else Counter()
    return Count(total=len(items), by=dict(sorted(grouped.items())), capped=len(items) >= PAGE)


def admin_token(config: Config) -> str:
    if config.admin_token:
        return config.admin_token
    secret, oidc = config.get(identity.client_secret_name(OPS_CLIENT)), config.get("OIDC_ISSUER")
    if secret and oidc:
        try:
            return identity.client_grant(oidc, OPS_CLIENT, secret)
        except (identity.IdentityError, httpx.HTTPError):
            return ""
    return ""


async def gather(
    config: Config, interval_s: float = 1.0, transport: httpx.AsyncBaseTransport | None = None
) -> Snapshot:
    token = admin_token(config)
    urls = {name: config.url(name) for name in SERVICES}
    prometheus = config.get("PROMETHEUS_URL").rstrip("/")
    async with httpx.AsyncClient(timeout=TIMEOUT_S, transport=transport) as client:
        services = await asyncio.gather(*(health(client, n, u) for n, u in urls.items()))
        up = {s.name for s in services if s.state != "down"}
        snapshot = Snapshot(
            at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            services=list(services),
        )

        async def rate() -> None:
            if "telemetry" not in up:
                snapshot.readings_error = "telemetry is down"
                return
            if prometheus:
                with contextlib.suppress(httpx.HTTPError, OSError, ValueError, KeyError):
                    snapshot.readings_per_s = await prometheus_rate(client, prometheus)
                    snapshot.readings_over = f"{RATE_WINDOW} (Prometheus)"
                if snapshot.readings_per_s is not None:
                    return
            try:
                snapshot.readings_per_s = await readings_rate(client, urls["telemetry"], interval_s)
                snapshot.readings_over = f"{interval_s:g} s"
            except (httpx.HTTPError, OSError, ValueError) as exc:
                snapshot.readings_error = _why(exc)

        async def grades() -> None:
            if "credit" not in up:
                snapshot.grades_error = "credit is down"
                return
            try:
                found = _by_label(await scrape(client, urls["credit"], GRADES), "grade")
                snapshot.grades = {g: found.get(g, 0.0) for g in sorted(set(found) | set("ABCD"))}
            except (httpx.HTTPError, OSError, ValueError) as exc:
                snapshot.grades_error = _why(exc)

        async def listing(service: str, path: str, params: dict[str, str], by: str | None) -> Count:
            if service not in up:
                return Count(error=f"{service} is down")
            return await count(client, f"{urls[service]}{path}", params, token, by)

        async def tasks() -> Count:
            open_, claimed = await asyncio.gather(
                listing("inspection", "/tasks", {"state": "open"}, None),
                listing("inspection", "/tasks", {"state": "claimed"}, None),
            )
            if open_.total is None or claimed.total is None:
                return Count(error=open_.error or claimed.error)
            return Count(
                total=open_.total + claimed.total,
                by={"open": open_.total, "claimed": claimed.total},
                capped=open_.capped or claimed.capped,
            )

        results = await asyncio.gather(
            rate(),
            grades(),
            listing("telemetry", "/risks", {"state": "open"}, "severity"),
            tasks(),
            listing("complaints", "/complaints", {}, "state"),
        )
        snapshot.risks, snapshot.tasks, snapshot.complaints = results[2], results[3], results[4]
    return snapshot


STATE_STYLE = {
    "ready": ("● ready", "green"),
    "not_ready": ("● not ready", "yellow"),
    "down": ("○ down", "red"),
}


def _count_text(c: Count) -> Text:
    if c.total is None:
        return Text(c.error or "unavailable", style="dim")
    text = Text(f"{c.total}{'+' if c.capped else ''}", style="bold")
    if c.by:
        text.append("   " + "  ".join(f"{k} {v}" for k, v in c.by.items()), style="dim")
    return text


def _per_s(rate: float) -> str:
    # A small city reads a few times a second or less: two decimals until that is noise.
    return f"{rate:.1f}" if rate >= 10 else f"{rate:.2f}"


def render(s: Snapshot) -> RenderableType:
    health_table = Table(show_header=True, header_style="bold", expand=False, box=None)
    for column in ("service", "url", "state", "detail"):
        health_table.add_column(column)
    for svc in s.services:
        label, style = STATE_STYLE.get(svc.state, (svc.state, ""))
        health_table.add_row(svc.name, svc.url, Text(label, style=style), Text(svc.detail))

    numbers = Table(show_header=False, box=None, expand=False)
    numbers.add_column(style="bold")
    numbers.add_column()
    if s.readings_per_s is not None:
        r = s.readings_per_s
        readings = Text(_per_s(r.get("total", 0.0)), style="bold")
        extra = "  ".join(f"{k} {_per_s(v)}" for k, v in sorted(r.items()) if k != "total")
        readings.append(f"   {extra}" if extra else "", style="dim")
        readings.append(f"   over {s.readings_over}" if s.readings_over else "", style="dim")
    else:
        readings = Text(s.readings_error or "unavailable", style="dim")
    numbers.add_row("readings/s", readings)
    numbers.add_row("open risks", _count_text(s.risks))
    numbers.add_row("open tasks", _count_text(s.tasks))
    numbers.add_row("complaints", _count_text(s.complaints))
    if s.grades is not None:
        total = sum(s.grades.values()) or 1.0
        grades = Text()
        for grade, n in s.grades.items():
            grades.append(f"{grade} ", style="bold")
            grades.append(f"{n:g} ({100 * n / total:.0f}%)   ")
    else:
        grades = Text(s.grades_error or "unavailable", style="dim")
    numbers.add_row("grades", grades)

    ready = sum(1 for x in s.services if x.state == "ready")
    title = f"Market Sentinel — {ready}/{len(s.services)} services ready — {s.at}"
    return Panel(Group(health_table, Text(""), numbers), title=title, expand=False)
