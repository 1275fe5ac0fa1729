"""What the browser tests share besides fixtures: how Chromium is launched, signing in through
the provider's own login page, screenshots of every page a test visits, a market registered
for a test, the campaign's answers and a form's submission."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
from openpyxl import load_workbook
from playwright.async_api import Page, Response

from contracts.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from tests.support.city import Place, provision
from tests.support.city_processes import City
from tests.support.poll import until
from tests.support.process import ServiceProcess
from tests.support.stalls import Stall, open_stall, send_readings

if TYPE_CHECKING:
    from tests.browser.conftest import Pages
    from tests.support.identity import Tokens

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
CITY_TZ = ZoneInfo("Asia/Shanghai")


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


@dataclass
class Market:
    district: str
    market_id: str
    name: str


async def register_market(
    registry: httpx.AsyncClient,
    district: str,
    name: str,
    operator: str,
    address: str,
    hours: tuple[str, str] = ("06:00", "19:00"),
    *,
    district_name: str | None = None,
    task_force: bool = False,
) -> str:
    """A farmers' market of `district` through the registry's API, its id: the district first
    when `district_name` is given, the market's task force after it when `task_force`."""
    if district_name is not None:
        r = await registry.post("/districts", json={"code": district, "name": district_name})
        assert r.status_code == 201, r.text
    r = await registry.post(
        "/markets",
        json={
            "name": name,
            "district": district,
            "kind": "farmers",
            "operator": operator,
            "address": address,
            "capacity": 300,
            "opening_hours": {"open": hours[0], "close": hours[1]},
        },
    )
    assert r.status_code == 201, r.text
    market_id: str = r.json()["id"]
    if task_force:
        r = await registry.put(
            f"/markets/{market_id}/task-force", json={"leader": "周队长", "members": ["吴"]}
        )
        assert r.status_code == 200, r.text
    return market_id


async def campaign_get(console: Console, path: str, **params: Any) -> Any:
    async with console.city.client("campaign") as campaign:
        r = await campaign.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()


async def new_market(console: Console) -> Market:
    """A district and a market, once the campaign and complaints services know the market."""
    tag = uuid.uuid4().hex[:6]
    code, name = f"e{tag}", f"曝光征询市场{tag}"
    async with console.city.client("registry") as registry:
        market_id = await register_market(
            registry, code, name, "征询市场管理公司", "征询路1号", district_name=f"征询区{tag}"
        )
    async with console.city.client("campaign") as campaign:

        async def known() -> bool:
            # The duties' report schedule answers once the campaign's registry view has it.
            r = await campaign.get(f"/markets/{market_id}/reports")
            return r.status_code == 200

        await until(known, within=60, every=0.2, what="the campaign knows the market")
    return Market(code, market_id, name)


async def planned_project(console: Console, market: Market) -> str:
    """A campaign the district takes part in and a planned renovation project of the market."""
    mob = datetime.now(CITY_TZ).date() - timedelta(days=3)
    async with console.city.client("campaign") as campaign:
        r = await campaign.post(
            "/campaigns",
            json={
                "name": "提升改造专项行动",
                "mobilisation_date": mob.isoformat(),
                "districts": [market.district],
                "deadlines": {"deployment_meeting_held": {"days_after_mobilisation": 30}},
            },
        )
        assert r.status_code == 201, r.text
        r = await campaign.post(
            "/renovations",
            json={
                "campaign_id": r.json()["id"],
                "market_id": market.market_id,
                "kind": "old_market_upgrade",
                "title": f"{market.name}提升改造方案",
                "scope_items": [{"area": "hygiene", "description": "改造排水沟，增设洗手池"}],
                "budget": [{"source": "fiscal", "amount_yuan": "500000.00"}],
            },
        )
        assert r.status_code == 201, r.text
        project_id: str = r.json()["id"]
    return project_id


async def submit(page: Page, form: str, path: str) -> Response:
    """Submit `form` and return the answer to the POST to `path`."""
    async with page.expect_response(
        lambda r: r.url.split("?")[0].split("#")[0].endswith(path) and r.request.method == "POST"
    ) as answer:
        await page.click(f"{form} button[type=submit]")
    response = await answer.value
    await page.wait_for_load_state("load")
    return response


async def door_left_open(console: Console) -> tuple[Stall, str]:
    """A stall whose freezer warmed to −5 °C (10 °C beyond the frozen limit): the task it made."""
    stall = await open_stall(console.city)
    return stall, await freezer_warmed(console, stall)


async def freezer_warmed(console: Console, stall: Stall) -> str:
    """The stall's freezer warms to −5 °C (10 °C beyond the frozen limit): the task it makes."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)
    await send_readings(console.city, stall.freezer.series(start, [-19.0, -18.5, -5.0, -4.5, -5.0]))
    return await opened_task(console, stall.market_id, "risk", "the door-open task")


async def opened_task(console: Console, market_id: str, reason_kind: str, what: str) -> str:
    """The id of the task inspection opens for the market for `reason_kind`, once it has."""
    async with console.city.client("inspection") as inspection:

        async def opened() -> str | None:
            r = await inspection.get("/tasks", params={"market_id": market_id})
            items: list[dict[str, Any]] = r.json()["items"]
            return next((t["task_id"] for t in items if t["reason_kind"] == reason_kind), None)

        return str(await until(opened, within=90, every=0.5, what=what))


# -- the registry's forms (a clerk's) ------------------------------------------------------
FIRST17 = "91370602MA0000123"
MARKET_FORM = 'form[action="/staff/registry/markets"]'


def wrong_credit_code() -> tuple[str, str, str]:
    """(the code with a wrong 18th character, the character typed, the one GB 32100 gives)."""
    right = credit_code_check_char(FIRST17)
    typed = next(c for c in CREDIT_CODE_ALPHABET if c != right)
    return FIRST17 + typed, typed, right


async def clerk_at_a_new_stall(
    console: Console, open_page: Pages, tokens: Tokens, shot: Shots
) -> tuple[Stall, Page]:
    """A new stall (its market, merchant and freezer) and its district's clerk signed in on a
    phone, on the market's page."""
    stall = await open_stall(console.city)
    clerk, _ = tokens.person("clerk", stall.district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password, shot)
    await phone.goto(f"/staff/registry/markets/{stall.market_id}")
    return stall, phone


async def a_new_districts_market_form(
    console: Console, open_page: Pages, tokens: Tokens, name: str, opens: str, closes: str
) -> tuple[str, Page]:
    """A clerk of a new district of its own on /staff/registry, the 登记市场 form open and filled
    in: a farmers' market `name` of 容量 `1e3` (a number the phone's keyboard allows, not a
    whole one), open from `opens` to `closes`."""
    district = f"c{uuid.uuid4().hex[:7]}"
    async with console.city.client("registry") as registry:
        r = await registry.post("/districts", json={"code": district, "name": district})
        assert r.status_code == 201, r.text
    clerk, _ = tokens.person("clerk", district, name="王登记", who="browser")
    phone: Page = await open_page(phone=True)
    await sign_in(phone, clerk, tokens.password)
    await phone.goto("/staff/registry")
    form = phone.locator(MARKET_FORM)
    await form.evaluate("f => { f.closest('details').open = true; }")
    await form.locator("#f-name").fill(name)
    await form.locator("#f-kind").select_option("farmers")
    await form.locator("#f-operator").fill(f"{name}管理公司")
    await form.locator("#f-address").fill("容量路1号")
    await form.locator("#f-capacity").fill("1e3")
    await form.locator("#f-open").fill(opens)
    await form.locator("#f-close").fill(closes)
    return district, phone


async def merchants_of(console: Console, market_id: str) -> list[dict[str, Any]]:
    async with console.city.client("registry") as registry:
        r = await registry.get("/merchants", params={"market_id": market_id})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


# Phone first (docs/console.md): what a finger presses is 44 × 44 CSS px at least. A radio or a
# checkbox is pressed through its label, so the label is measured in its stead.
SMALL_TARGETS_JS = """() => {
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, summary, select, textarea, input')) {
    if (el.type === 'hidden') continue;
    const target = (el.type === 'radio' || el.type === 'checkbox') ? el.closest('label') || el : el;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width < 44 || box.height < 44) {
      const text = (target.innerText || target.value || target.name || '').trim().slice(0, 20);
      small.push(`${target.tagName} ${text} ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""


async def small_targets(page: Page) -> list[str]:
    """What on the page a finger cannot press well: each as `TAG text width×height`."""
    found: list[str] = await page.evaluate(SMALL_TARGETS_JS)
    return found


# -- a citizen's complaint (a handler's) -------------------------------------------------------
FACTS = "在摊位买的两斤猪肉，回家一称只有一斤六两，缺斤短两。"


@dataclass
class Filed:
    place: Place
    complaint_id: str
    tracking_code: str


def complaint_body(place: Place, name: str, phone: str) -> dict[str, Any]:
    """A citizen's complaint of short weight (FACTS) at `place`'s stall, as POST /complaints
    takes it (channel web)."""
    return {
        "complainant": {"name": name, "phone": phone},
        "market_id": place.market_id,
        "stall_no": place.stall_no,
        "category": "short_weight",
        "facts": FACTS,
        "request": "退还差价并道歉",
        "channel": "web",
    }


async def file_complaint(console: Console) -> Filed:
    """A district with a market and a merchant (registry), then a citizen's complaint about
    the merchant's stall through the public POST /complaints, once the complaints service
    knows the market; returns when credit has scored the merchant too."""
    city = console.city
    async with city.client("registry") as registry:
        place = await provision(registry, stall_no="C-3")
    body = complaint_body(place, "市民甲", "13805350001") | {"channel": "hotline_12345"}
    key = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=city.urls["complaints"], timeout=10) as public:

        async def filed() -> dict[str, str] | None:
            r = await public.post("/complaints", json=body, headers={"Idempotency-Key": key})
            if r.status_code == 422:  # the registry's market has not reached complaints yet
                return None
            assert r.status_code == 201, r.text
            receipt: dict[str, str] = r.json()
            return receipt

        receipt = await until(filed, within=60, every=0.5, what="complaints knows the market")
    async with city.client("credit") as credit:

        async def scored() -> bool:
            r = await credit.get(f"/merchants/{place.merchant_id}/credit")
            return r.status_code == 200

        await until(scored, within=60, every=0.5, what="credit scored the new merchant")
    return Filed(place, receipt["id"], receipt["tracking_code"])


@dataclass(frozen=True)
class Inspected:
    """A complaint accepted and the task it made, completed with a minor finding (WGT-01)."""

    filed: Filed
    task_id: str
    received_at: str
    completed_at: str


async def inspected_minor(console: Console) -> Inspected:
    """A citizen's complaint, accepted by a handler; the inspection it makes, claimed and
    completed by an inspector with one minor finding: 电子秤未检定 (the merchant's −5)."""
    filed = await file_complaint(console)
    place, city = filed.place, console.city
    async with city.client("complaints", "handler", place.district) as complaints:
        r = await complaints.post(f"/complaints/{filed.complaint_id}/accept")
        assert r.status_code == 200, r.text
        received_at = str(r.json()["received_at"])
    task_id = await opened_task(console, place.market_id, "complaint", "the complaint's task")
    async with city.client("inspection", "inspector", place.district) as inspection:
        assert (await inspection.post(f"/tasks/{task_id}/claim")).status_code == 200
        r = await inspection.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "minor", "findings": [{"code": "WGT-01", "note": "电子秤未检定"}]},
        )
        assert r.status_code == 200, r.text
    return Inspected(filed, task_id, received_at, str(r.json()["completed_at"]))


async def found_minor_days_ago(console: Console, kafka: str, place: Place, days: int) -> None:
    """A minor finding (−5) of `days` ago at the place's merchant, as inspection announces one
    (a history the new city has not had time to make), once credit has it in the ledger."""
    from aiokafka import AIOKafkaProducer

    from contracts import topics
    from tests.integration.credit.conftest import completed

    old = completed(place, "minor", at=datetime.now(UTC) - timedelta(days=days))
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.INSPECTION_EVENTS.name, old.to_json(), key=old.subject.encode()
        )
    finally:
        await producer.stop()

    async def in_the_ledger() -> bool:
        async with console.city.client("credit", "clerk", place.district) as credit:
            r = await credit.get(f"/merchants/{place.merchant_id}/credit")
        return r.status_code == 200 and any(e["event_id"] == old.id for e in r.json()["ledger"])

    await until(in_the_ledger, within=60, every=0.5, what="credit has the old finding")


# -- joint work (联席会议): a department member's -------------------------------------------------
async def meeting_recorded(
    console: Console, held_on: str, decisions: list[dict[str, Any]]
) -> tuple[Place, dict[str, Any]]:
    """A district with a market and a merchant (provision), and a joint meeting of it held on
    `held_on` with `decisions` (decision, department, deadline), recorded by the district's
    clerk through the campaign's API once the campaign service knows the district: the meeting
    as the service answers it."""
    async with console.city.client("registry") as registry:
        place = await provision(registry, stall_no="D-1")
    body = {
        "district": place.district,
        "title": f"第{uuid.uuid4().hex[:4]}次联席会议",
        "held_on": held_on,
        "departments": sorted({d["department"] for d in decisions}),
        "minutes": "会议通报了冷链排查情况，议定各部门工作。",
        "decisions": decisions,
    }
    async with console.city.client("campaign", "clerk", place.district) as campaign:

        async def recorded() -> dict[str, Any] | None:
            r = await campaign.post("/meetings", json=body)
            if r.status_code == 422 and any(
                e.get("field") == "district" for e in r.json().get("errors", [])
            ):
                return None  # the registry's district has not reached the campaign service yet
            assert r.status_code == 201, r.text
            meeting: dict[str, Any] = r.json()
            return meeting

        meeting = await until(recorded, within=60, every=0.5, what="campaign knows the district")
    return place, meeting


# -- 台账导出 ---------------------------------------------------------------------------------
def month_of(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(CITY_TZ).strftime("%Y-%m")


async def download(
    phone: Page, ledger: str, month: str | None, shot: Shots
) -> tuple[str, list[Any]]:
    """The file name and the rows (header first) of `ledger`'s workbook for `month` (None: a
    ledger as it stands today)."""
    if month is not None:
        await phone.select_option(f"#f-{ledger}-period", month)
    async with phone.expect_download() as started:
        await phone.click(f"#form-{ledger} button[type=submit]")
    done = await started.value
    # The download is kept under a name of Playwright's, without the .xlsx openpyxl asks for.
    data = await asyncio.to_thread(Path(await done.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    await shot(phone, f"{ledger}-downloaded")
    return done.suggested_filename, [list(r) for r in sheet.iter_rows(values_only=True)]


def the_row(rows: list[Any], column: int, value: Any) -> dict[str, Any]:
    """The one row (header first in `rows`) whose `column` holds `value`, by its headers."""
    found = [r for r in rows[1:] if r[column] == value]
    assert len(found) == 1, rows
    return dict(zip(rows[0], found[0], strict=True))
