"""What the browser tests share besides fixtures: how Chromium is launched, signing in through
the provider's own login page, and screenshots of every page a test visits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page

from tests.support.city_processes import City
from tests.support.process import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
# Debian's chromium (make setup: stack.py install-extras); never `playwright install`.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing may call out: this network is closed, and a test talks to loopback only.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".run" / "test" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# The console's pages after a sign-in (its path, with or without a query).
STAFF = re.compile(r"^https?://[^/]+/staff/")


@dataclass
class Console:
    """The console process in front of this package's city."""

    url: str
    process: ServiceProcess
    city: City
    # The provider people sign in at: its login page lies under it.
    issuer: str


@dataclass
class Shots:
    """`await shot(page, "tasks")` saves `<folder>/NN-tasks.png`, a full-page screenshot, NN
    counting up through the test."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    async def __call__(self, page: Page, name: str) -> Path:
        safe = re.sub(r"[^\w.-]+", "-", name).strip("-") or "page"
        path = self.folder / f"{len(self.taken) + 1:02d}-{safe}.png"
        self.folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


async def sign_in(page: Page, username: str, password: str, shot: Shots | None = None) -> None:
    """Start at the console's /login, sign in on the provider's own form and wait for /staff/.
    With `shot`, the provider's page is saved too."""
    await page.goto("/login")
    await page.wait_for_selector("#kc-login")
    if shot is not None:
        await shot(page, "provider-login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#kc-login")
    await page.wait_for_url(STAFF)
    await page.wait_for_load_state("load")
