"""An alert seen end to end (issue 21, point 3): a service process killed → Prometheus finds it
down → SentinelServiceDown fires → Alertmanager → the console → the admin's page 告警 shows it,
on a phone, from both Alertmanager's own list and the webhook's notification; the admin
acknowledges it (a silence in Alertmanager): under 已确认 it reads 仍在告警, 已恢复 once the service
is started again, and 仍在告警 again when it is killed again within the silence (Alertmanager
notifies nobody of that: only the page says it); lifting the silence brings it back under 正在告警.

Everything is real: the service (complaints, started here with its own schema and consumer
groups so the package's city is untouched), Prometheus and Alertmanager from Debian's packages,
the console, Keycloak's sign-in and Chromium. For the test to take seconds rather than minutes,
Prometheus scrapes and evaluates every second and the rules file is a rendered copy of the
repository's deploy/prometheus/alerts.yml in which only SentinelServiceDown's `for:` changes
(1m → 2s); Alertmanager groups with 1 s waits (tests/support/monitoring.py). Nothing else of the
rules or the routes differs from what `make up` runs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page

from tests.browser.support import Console, Shots, sign_in
from tests.support import monitoring
from tests.support.city import start_group_at_end
from tests.support.city_processes import INPUTS, city_env
from tests.support.identity import Tokens
from tests.support.monitoring import Monitor
from tests.support.poll import until
from tests.support.process import ServiceProcess, free_port, service_process

VICTIM = "complaints"
FIRING = f'#firing li[data-alert="SentinelServiceDown"][data-service="{VICTIM}"]'
NOTIFIED = f'#recent li[data-alert="SentinelServiceDown"][data-service="{VICTIM}"]'


@dataclass
class Victim:
    """A complaints service of its own, and how to start it again at the same address (the
    address Prometheus scrapes)."""

    process: ServiceProcess
    env: dict[str, str]
    port: int
    log_dir: Path

    @contextmanager
    def again(self) -> Iterator[ServiceProcess]:
        self.log_dir.mkdir(exist_ok=True)
        with service_process(VICTIM, self.env, self.log_dir, port=self.port) as process:
            yield process


@pytest.fixture
async def victim(service_env: dict[str, str], kafka: str, tmp_path: Path) -> AsyncIterator[Victim]:
    """A complaints service of its own (schema, consumer groups at the topics' end), ready."""
    tag = uuid.uuid4().hex[:6]
    for topic in INPUTS[VICTIM]:
        await start_group_at_end(kafka, f"loop-{VICTIM}-{tag}", topic)
    env, port = city_env(service_env, tag), free_port()
    with service_process(VICTIM, env, tmp_path, port=port) as process:
        await process.ready(within=120)
        yield Victim(process, env, port, tmp_path / "again")


async def scraped_up(prometheus: Monitor, value: str) -> bool:
    async with httpx.AsyncClient(trust_env=False) as http:
        r = await http.get(
            f"{prometheus.url}/api/v1/query", params={"query": f'up{{job="{VICTIM}"}}'}
        )
    result = r.json()["data"]["result"]
    return bool(result) and result[0]["value"][1] == value


async def test_a_killed_service_shows_up_firing_on_the_admins_alerts_page(
    console: Console,
    alertmanager: tuple[Monitor, str],
    victim: Victim,
    phone: Page,
    tokens: Tokens,
    shot: Shots,
    tmp_path: Path,
) -> None:
    jobs = {VICTIM: victim.process.url.removeprefix("http://")}
    pending = {"SentinelServiceDown": "2s"}
    with monitoring.prometheus(tmp_path, jobs, alertmanager[0].address, pending) as prometheus:
        await prometheus.ready()
        await until(lambda: scraped_up(prometheus, "1"), within=30, what=f"{VICTIM} scraped up")

        admin, _ = tokens.person("admin", "*", who="alerts")
        await sign_in(phone, admin, tokens.password)
        await phone.click('nav a[href="/staff/alerts"]')
        await phone.wait_for_url("**/staff/alerts")
        # Up and scraped: nothing about it fires, and Alertmanager is the page's source.
        assert await phone.locator(FIRING).count() == 0
        assert "来源：Alertmanager" in await phone.inner_text("#firing-source")
        await shot(phone, "alerts-all-well")

        victim.process.proc.kill()
        victim.process.proc.wait(10)
        await until(lambda: scraped_up(prometheus, "0"), within=30, what=f"{VICTIM} scraped down")

        async def shown() -> bool:
            await phone.goto("/staff/alerts")
            return await phone.locator(FIRING).count() == 1

        await until(shown, within=60, every=1.0, what="SentinelServiceDown on the page")

        item = phone.locator(FIRING)
        text = await item.inner_text()
        assert "服务不可用" in text and "严重" in text and "告警中" in text
        assert f"{VICTIM} 服务不可用" in text  # the rule's summary_zh
        assert "处置要点：用 make status" in text  # its runbook_zh
        assert "开始于" in text and "（北京时间）" in text
        # The webhook's notification (the same alert, as Alertmanager posted it) is listed too.
        await until(
            lambda: _reloaded_count(phone, NOTIFIED), within=30, every=1.0, what="webhook notice"
        )
        assert "通知于" in await phone.locator(NOTIFIED).first.inner_text()
        # A phone: the list fits the screen's width.
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        await shot(phone, "alerts-firing")

        # 确认: the admin acknowledges it (a silence in Alertmanager, 2 hours, with a note): it
        # leaves 正在告警 and is listed under 已确认 with who and why, still firing.
        await item.locator("summary").click()
        await item.locator('select[name="hours"]').select_option("2")
        await item.locator('input[name="note"]').fill("按处置手册重启 complaints")
        await item.get_by_role("button", name="确认").click()
        await phone.wait_for_url("**/staff/alerts?done=acknowledged")
        acknowledged = phone.locator(
            f'#acknowledged li[data-alert="SentinelServiceDown"][data-service="{VICTIM}"]'
        )
        text = await acknowledged.inner_text()
        assert "按处置手册重启 complaints" in text and "确认 · 静默至" in text
        assert "仍在告警" in text
        assert await phone.locator(FIRING).count() == 0
        await shot(phone, "alerts-acknowledged")

        # The runbook's fix: started again, the acknowledged alert reads 已恢复.
        with victim.again() as restarted:
            await restarted.ready(within=120)
            await until(lambda: scraped_up(prometheus, "1"), within=30, what="scraped up again")
            await until(
                lambda: _reloaded_status(phone, acknowledged, "resolved"),
                within=60,
                every=1.0,
                what="已确认 reads 已恢复",
            )
            assert "已恢复" in await acknowledged.inner_text()
            await shot(phone, "alerts-acknowledged-resolved")

            # Down again within the silence: notified to nobody, so the page must say it.
            restarted.proc.kill()
            restarted.proc.wait(10)
        await until(lambda: scraped_up(prometheus, "0"), within=30, what="scraped down again")
        await until(
            lambda: _reloaded_status(phone, acknowledged, "firing"),
            within=60,
            every=1.0,
            what="已确认 reads 仍在告警 again",
        )
        assert "仍在告警" in await acknowledged.inner_text()
        assert await phone.locator(FIRING).count() == 0
        assert "仍在告警" in await phone.inner_text("#no-firing")
        await shot(phone, "alerts-acknowledged-firing-again")

        # 取消静默 brings it back under 正在告警.
        await acknowledged.get_by_role("button", name="取消静默").click()
        await phone.wait_for_url("**/staff/alerts?done=lifted")
        await until(
            lambda: _reloaded_count(phone, FIRING), within=30, every=1.0, what="firing again"
        )
        assert await acknowledged.count() == 0


async def _reloaded_status(page: Page, entry: Locator, status: str) -> bool:
    await page.goto("/staff/alerts")
    return await entry.count() == 1 and await entry.get_attribute("data-status") == status


async def _reloaded_count(page: Page, selector: str | Locator) -> int:
    await page.goto("/staff/alerts")
    found = page.locator(selector) if isinstance(selector, str) else selector
    return await found.count()


async def test_a_note_typed_for_one_of_several_alerts_survives_the_lists_refresh(
    console: Console,
    alertmanager: tuple[Monitor, str],
    phone: Page,
    tokens: Tokens,
    shot: Shots,
) -> None:
    """Three stalled partitions of one service (posted to the real Alertmanager as Prometheus
    posts them): each 确认 form has an id of its own, so the note typed in the second one is
    still there, its form open, after the list's refresh by htmx (every 10 s)."""
    service = f"stall{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)

    def stalled(ends: datetime) -> list[dict[str, Any]]:
        return [
            {
                "labels": {
                    "alertname": "SentinelConsumerStalled",
                    "service": service,
                    "job": service,
                    "severity": "critical",
                    "topic": "telemetry.readings.v1",
                    "partition": str(partition),
                },
                "annotations": {"summary_zh": f"{service} 在 telemetry.readings.v1 停止消费"},
                "startsAt": now.isoformat(),
                "endsAt": ends.isoformat(),
            }
            for partition in range(3)
        ]

    async def post(alerts: list[dict[str, Any]]) -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            r = await http.post(f"{alertmanager[0].url}/api/v2/alerts", json=alerts)
            r.raise_for_status()

    items = phone.locator(
        f'#firing li[data-alert="SentinelConsumerStalled"][data-service="{service}"]'
    )
    await post(stalled(now + timedelta(minutes=10)))
    try:
        admin, _ = tokens.person("admin", "*", who="alerts-notes")
        await sign_in(phone, admin, tokens.password)
        await until(
            lambda: _reloaded_count(phone, items), within=30, every=1.0, what="three alerts"
        )
        assert await items.count() == 3
        second = items.nth(1)
        form_id = await second.locator("details").get_attribute("id")
        await second.locator("summary").click()
        assert "将同时确认" in await second.inner_text()
        await second.locator('input[name="note"]').fill("分区 1 正在修复")
        refreshed = """() => new Promise(done => document.body.addEventListener(
            'htmx:afterSwap', () => done(true), {once: true}))"""
        assert await asyncio.wait_for(phone.evaluate(refreshed), timeout=30)
        kept = phone.locator(f"#{form_id}")
        assert await kept.get_attribute("open") is not None
        assert await kept.locator('input[name="note"]').input_value() == "分区 1 正在修复"
        ids = await phone.evaluate("Array.from(document.querySelectorAll('[id]'), e => e.id)")
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        await shot(phone, "alerts-note-kept")
    finally:
        await post(stalled(datetime.now(UTC)))  # resolved
