"""Real-browser tests: Debian's Chromium driven by Playwright, against the whole city as
processes (tests/support/city_processes.py) and the staff console in front of it, with an
Alertmanager posting to the console's webhook (tests/support/monitoring.py).

Everything here lives as long as the package's tests: one city and one console for every
browser test, stopped before the next package (whose cities would otherwise see this one's
telemetry judge their readings). Each test gets fresh browser contexts, so no session leaks from
one test to the next.

    async def test_x(console: Console, phone: Page, tokens: Tokens, shot: Shots) -> None:
        username, _ = tokens.person("inspector", "zhifu")
        await sign_in(phone, username, tokens.password, shot)
        await shot(phone, "staff")
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
)

from deploy.identity.keycloak import CONSOLE_CLIENT
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    Console,
    Shots,
)
from tests.support import monitoring
from tests.support.city_processes import City, running_city, start_processes
from tests.support.identity import Tokens
from tests.support.monitoring import Monitor
from tests.support.process import ServiceProcess, low_free_port, service_process

# A page waits this long (ms) for an element or a navigation before the test fails.
TIMEOUT_MS = 20_000


@pytest.fixture(scope="package")
def browser_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="package")
def browser_processes(
    service_env: dict[str, str], kafka: str, browser_run_dir: Path
) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    with start_processes(service_env, browser_run_dir) as started:
        yield started


@pytest.fixture(scope="package")
async def browser_city(
    browser_processes: tuple[dict[str, ServiceProcess], str], kafka: str
) -> AsyncIterator[City]:
    async with running_city(browser_processes, kafka) as city:
        yield city


@pytest.fixture(scope="package")
def console_port() -> int:
    return low_free_port()


@pytest.fixture(scope="package")
async def alertmanager(
    console_port: int, browser_run_dir: Path
) -> AsyncIterator[tuple[Monitor, str]]:
    """Alertmanager with the repository's routes (quick grouping), posting to the console's
    webhook with a credential of this run; (it, the credential)."""
    token = secrets.token_hex(16)
    webhook = f"http://127.0.0.1:{console_port}/hooks/alertmanager"
    with monitoring.alertmanager(browser_run_dir, webhook, token) as running:
        await running.ready()
        yield running, token


@pytest.fixture(scope="package")
async def console(
    browser_city: City,
    service_env: dict[str, str],
    tokens: Tokens,
    browser_run_dir: Path,
    console_port: int,
    alertmanager: tuple[Monitor, str],
) -> AsyncIterator[Console]:
    """`python -m services.console` on a free port below the ephemeral range, its redirect URI
    registered with the provider first, Alertmanager's webhook credential set; ready once
    /healthz answers."""
    port = console_port
    url = f"http://127.0.0.1:{port}"
    callback = f"{url}/auth/callback"
    tokens.admin.add_redirect_uri(CONSOLE_CLIENT, callback)
    env = {
        **service_env,
        **{f"{name.upper()}_URL": u for name, u in browser_city.urls.items()},
        "CONSOLE_PUBLIC_URL": url,
        "CONSOLE_CONSUMER_GROUP": f"{browser_city.groups('console')}",
        "CONSOLE_SESSION_SECRET": os.urandom(32).hex(),
        "CONSOLE_ALERTMANAGER_URL": alertmanager[0].url,
        "CONSOLE_ALERT_WEBHOOK_TOKEN": alertmanager[1],
    }
    with service_process("console", env, browser_run_dir, port=port) as process:
        await process.ready(within=60, path="/healthz")
        try:
            yield Console(url, process, browser_city, tokens.issuer)
        finally:
            tokens.admin.remove_redirect_uri(CONSOLE_CLIENT, callback)
        if process.proc.poll() is not None:
            raise RuntimeError(f"the console exited:\n{process.log.read_text()[-3000:]}")


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make setup` installs Debian's chromium "
            "(python deploy/local/stack.py install-extras, as root)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[Shots]:
    """Screenshots of this test: `.run/test/screenshots/<test>/NN-<page>.png`, emptied first."""
    folder = SCREENSHOTS / request.node.name.replace("/", "-")
    for old in folder.glob("*.png"):
        old.unlink()
    shots = Shots(folder)
    yield shots
    if shots.taken:
        request.config.stash.setdefault(_TAKEN, []).append(folder)


class Pages:
    """Fresh pages, each in a browser context of its own (a person, a device), all closed at the
    test's end: `await open_page(phone=True)`. Every page is watched: a script or style the
    Content-Security-Policy refused, or a script error, fails the test when it ends."""

    def __init__(self, browser: Browser, console: Console) -> None:
        self.browser, self.console = browser, console
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    async def __call__(self, phone: bool = False, at: tuple[float, float] | None = None) -> Page:
        """`at`: where the device stands (latitude, longitude), its location allowed to the
        console's pages; else a page that asks for it is refused it."""
        if phone:
            options: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        else:
            options = {"viewport": DESKTOP}
        if at is not None:
            options |= {
                "geolocation": {"latitude": at[0], "longitude": at[1]},
                "permissions": ["geolocation"],
            }
        context = await self.browser.new_context(
            base_url=self.console.url, locale="zh-CN", timezone_id="Asia/Shanghai", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.on("console", self._console_message)
        context.on("weberror", lambda error: self.problems.append(f"script error: {error.error}"))
        self.contexts.append(context)
        return await context.new_page()

    def _console_message(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"{message.location.get('url', '')}: {message.text}")

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
async def open_page(browser: Browser, console: Console) -> AsyncIterator[Pages]:
    """`await open_page()` (1280 px wide) or `await open_page(phone=True)` (375 × 812): for a
    test with more than one person or device."""
    pages = Pages(browser, console)
    try:
        yield pages
    finally:
        await pages.close()


@pytest.fixture
async def page(open_page: Pages) -> Page:
    """A desktop-sized page (1280 px) of a fresh context; `goto("/staff/")` is relative to the
    console."""
    return await open_page()


@pytest.fixture
async def phone(open_page: Pages) -> Page:
    """A 375 × 812 phone page (touch, mobile viewport) of a fresh context: the phone-first
    pages (inspector, handler) are tested on this."""
    return await open_page(phone=True)


_TAKEN = pytest.StashKey[list[Path]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    folders = config.stash.get(_TAKEN, [])
    if folders:
        terminalreporter.write_sep("-", "browser screenshots")
        for folder in folders:
            count = len(list(folder.glob("*.png")))
            terminalreporter.write_line(f"{folder} ({count})")
