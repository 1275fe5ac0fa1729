"""The citizens' portal in a real browser (issue 16), on a phone, with no sign-in: a citizen
finds a market by name, opens a merchant and reads its grade; prints its door sticker, whose QR
code decodes to the merchant's public page; files a complaint through the form (an empty phone is
shown beside the field and nothing is stored), gets a tracking code and follows it; a staff
answer to a suggestion shows on the market page only when its author agreed. Every public page
the browser loaded is then scanned for phone numbers and the complainant's name."""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import zxingcpp
from playwright.async_api import Page, Response

from tests.browser.support import (
    CITY_TZ,
    Console,
    Shots,
    register_market,
)
from tests.support.credit_codes import fresh_credit_code
from tests.support.poll import until

COMPLAINANT = "市民王五"
PHONE = "13905350123"
PHONE_NUMBER = re.compile(r"\b1[3-9]\d{9}\b")
# Every public response the browser received in this module: (method, url, body).
SEEN: list[tuple[str, str, str]] = []


@dataclass
class Place:
    district: str
    market_id: str
    merchant_id: str
    market_name: str
    merchant_name: str
    stall_no: str


_PLACE: list[Place] = []


async def place(console: Console) -> Place:
    """One district, market and merchant for the module's tests, through the registry's API;
    ready once the credit service shows the merchant publicly."""
    if _PLACE:
        return _PLACE[0]
    tag = uuid.uuid4().hex[:6]
    code, market_name, merchant_name = f"p{tag}", f"幸福路农贸市场{tag}", "老王鲜肉"
    async with console.city.client("registry") as registry:
        market_id = await register_market(
            registry,
            code,
            market_name,
            "幸福路市场管理公司",
            "幸福路1号",
            district_name=f"门户区{tag}",
            task_force=True,
        )
        r = await registry.post(
            "/merchants",
            json={
                "name": merchant_name,
                "market_id": market_id,
                "stall_no": "A-3",
                "credit_code": fresh_credit_code(),
                "food_licence": "JY13706020012345",
                "licence_valid_until": (date.today() + timedelta(days=200)).isoformat(),
                "categories": [],
            },
        )
        assert r.status_code == 201, r.text
        merchant_id = r.json()["id"]
    async with console.city.client("credit") as credit:

        async def public() -> bool:
            # The credit service's public view reads its own copy of the registry's directory.
            r = await credit.get(f"/public/merchants/{merchant_id}")
            return r.status_code == 200 and r.json().get("grade") is not None

        await until(public, within=90, every=0.5, what="credit shows the merchant publicly")
    _PLACE.append(Place(code, market_id, merchant_id, market_name, merchant_name, "A-3"))
    return _PLACE[0]


def record(page: Page, console: Console) -> None:
    """Keep the body of every response of the console's public pages (not /static, /vendor)."""

    async def keep(response: Response) -> None:
        url = response.url
        if not url.startswith(console.url) or re.search(r"/(static|vendor)/", url):
            return
        try:
            body = await response.text()
        except Exception:  # a redirect has no body to read
            body = ""
        SEEN.append((response.request.method, url, body))

    page.on("response", keep)


@pytest.fixture
def citizen(phone: Page, console: Console) -> Iterator[Page]:
    record(phone, console)
    yield phone


def png_gray(png: bytes) -> tuple[bytes, int, int]:
    """A PNG (8-bit RGB or RGBA, not interlaced: what Chromium's screenshots are) as grayscale
    pixels, enough for the QR decoder without an imaging library."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    prior = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prior[i]
            c = prior[i - channels] if i >= channels else 0
            if method == 1:
                line[i] = (line[i] + a) & 0xFF
            elif method == 2:
                line[i] = (line[i] + b) & 0xFF
            elif method == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif method == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prior = line
    gray = bytearray(width * height)
    for y, line in enumerate(rows):
        for x in range(width):
            r, g, b = line[x * channels : x * channels + 3]
            gray[y * width + x] = (r * 299 + g * 587 + b * 114) // 1000
    return bytes(gray), width, height


# The smallest touch target a phone page gives (docs/console.md: big touch targets), in CSS px.
TOUCH_PX = 44


async def touch_height(page: Page, selector: str) -> float:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return float(box["height"])


def decode_qr(png: bytes) -> list[str]:
    gray, width, height = png_gray(png)
    image = memoryview(gray).cast("B", (height, width))
    return [code.text for code in zxingcpp.read_barcodes(image)]


async def test_a_citizen_finds_a_market_opens_a_merchant_and_reads_its_grade(
    console: Console, citizen: Page, shot: Shots
) -> None:
    here = await place(console)
    await citizen.goto("/markets")
    await shot(citizen, "directory")
    await citizen.fill("#q", here.market_name)
    await citizen.click("form[role=search] button[type=submit]")
    await citizen.wait_for_url(re.compile(r"/markets\?q="))
    row = citizen.locator(f"li[data-market='{here.market_id}']")
    await row.wait_for()
    await shot(citizen, "search-result")
    assert "农贸市场" in await row.inner_text()
    assert "共 1 个市场" in await citizen.inner_text("#result-count")
    # A market's name is what a thumb taps to open it: as tall as any other touch target.
    opens = f"li[data-market='{here.market_id}'] a"
    assert await touch_height(citizen, opens) >= TOUCH_PX

    await row.locator("a").click()
    await citizen.wait_for_url(f"**/markets/{here.market_id}")
    await shot(citizen, "market")
    assert here.market_name in await citizen.inner_text("#market-name")
    facts = await citizen.inner_text("#market-facts")
    assert "幸福路1号" in facts and "06:00–19:00" in facts, facts
    assert f"门户区{here.district[1:]}" in facts, facts
    merchant = citizen.locator(f"li[data-merchant='{here.merchant_id}']")
    assert here.stall_no in await merchant.inner_text()
    opens = f"li[data-merchant='{here.merchant_id}'] a"
    assert await touch_height(citizen, opens) >= TOUCH_PX

    await merchant.locator("a").click()
    await citizen.wait_for_url(f"**/merchants/{here.merchant_id}")
    await shot(citizen, "merchant")
    assert here.merchant_name in await citizen.inner_text("#merchant-name")
    assert (await citizen.inner_text("#grade")).strip() in ("A", "B", "C", "D")
    assert here.stall_no in await citizen.inner_text("#stall")
    assert here.market_name in await citizen.inner_text("#market-link")
    main = await citizen.inner_text("main")
    assert "最近检查" in main and "整改通知" in main, main


async def test_a_merchant_door_sticker_qr_code_decodes_to_its_public_page(
    console: Console, citizen: Page, shot: Shots
) -> None:
    here = await place(console)
    await citizen.goto(f"/merchants/{here.merchant_id}")
    await citizen.click(f"a[href='/merchants/{here.merchant_id}/qr']")
    await citizen.wait_for_url(f"**/merchants/{here.merchant_id}/qr")
    await citizen.locator("#qr").wait_for()
    await shot(citizen, "sticker")
    sticker = await citizen.inner_text("#sticker")
    assert here.merchant_name in sticker and "信用等级" in sticker, sticker
    found = decode_qr(await citizen.locator("#qr").screenshot())
    assert found == [f"{console.url}/merchants/{here.merchant_id}"], found
    await citizen.goto(found[0])
    assert here.merchant_name in await citizen.inner_text("#merchant-name")

    await citizen.goto(f"/markets/{here.market_id}/qr")
    await shot(citizen, "market-sticker")
    found = decode_qr(await citizen.locator("#qr").screenshot())
    assert found == [f"{console.url}/markets/{here.market_id}"], found


async def stored_complaints(console: Console, here: Place, facts: str) -> int:
    async with console.city.client("complaints", "handler", here.district) as complaints:
        r = await complaints.get("/complaints", params={"market_id": here.market_id})
        assert r.status_code == 200, r.text
        return sum(1 for c in r.json()["items"] if c.get("facts") == facts)


async def test_a_citizen_files_a_complaint_through_the_form_and_follows_it(
    console: Console, citizen: Page, shot: Shots
) -> None:
    here = await place(console)
    facts = f"买的猪肉短了二两，摊主不认。{uuid.uuid4().hex[:6]}"
    await citizen.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await citizen.goto(f"/markets/{here.market_id}")
    await citizen.click("main a[href^='/complaints/new?market_id=']")
    await citizen.wait_for_url(re.compile(r"/complaints/new\?market_id="))
    assert await citizen.input_value("#market_id") == here.market_id
    # Choosing the market (again) loads its stalls by htmx.
    await citizen.select_option("#market_id", "")
    await citizen.locator("#stall-field", has_text="请先选择市场").wait_for()
    await citizen.select_option("#market_id", here.market_id)
    await citizen.locator(f"#merchant_id option[value='{here.merchant_id}']").wait_for(
        state="attached"
    )
    await citizen.select_option("#merchant_id", here.merchant_id)
    await citizen.select_option("#category", "short_weight")
    await citizen.fill("#facts", facts)
    # Typed with a stray space (the console trims it), so the page's value differs from it.
    await citizen.fill("#request", "退还差价 ")
    await citizen.fill("#name", COMPLAINANT)
    # 发生时间 from the phone's picker, in the city's time (the browser's own zone is UTC).
    happened = (datetime.now(CITY_TZ) - timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    await citizen.fill("#occurred_at", happened.strftime("%Y-%m-%dT%H:%M"))
    await shot(citizen, "complaint-form")

    # No phone: the error beside the field, what was typed kept, nothing stored.
    await citizen.click("#complaint-form button[type=submit]")
    error = citizen.locator("#phone-error")
    await error.wait_for()
    await shot(citizen, "complaint-no-phone")
    assert (await error.inner_text()).strip() == "必填"
    assert await citizen.get_attribute("#phone", "aria-invalid") == "true"
    assert await citizen.input_value("#facts") == facts
    assert await citizen.input_value("#merchant_id") == here.merchant_id
    # It arrived and was refused: not the weak network's 上次提交没有送达.
    assert await citizen.locator("[data-draft-restored]").count() == 0
    assert await stored_complaints(console, here, facts) == 0

    # With the phone: the tracking code, copyable, and its tracking page.
    await citizen.fill("#phone", PHONE)

    async def filed() -> bool:
        # The complaints service learns new markets from the registry's topic: until then it
        # refuses the market, and the form says so beside it (the test submits again).
        await citizen.click("#complaint-form button[type=submit]")
        await citizen.wait_for_load_state("load")
        return "/complaints/filed/" in citizen.url

    await until(filed, within=60, every=1, what="the complaint was filed")
    code = (await citizen.inner_text("#tracking-code")).strip()
    assert re.fullmatch(r"[2-9A-Z]{10}", code), code
    await shot(citizen, "complaint-filed")
    await citizen.click("#copy")
    assert (await citizen.inner_text("#copy")).strip() == "已复制"
    assert await citizen.evaluate("navigator.clipboard.readText()") == code
    assert await stored_complaints(console, here, facts) == 1

    await citizen.click("#track-link")
    await citizen.wait_for_url(f"**/complaints/track/{code}")
    await shot(citizen, "complaint-track")
    status = await citizen.inner_text("#status")
    assert "待受理" in status and "缺斤短两" in status, status
    assert "受理期限" in status and "收到后 7 个工作日" in status, status
    assert "调解期限" in status and "受理后 45 个工作日" in status, status
    assert re.search(r"\d{4}-\d{2}-\d{2}", await citizen.inner_text("#acceptance-deadline"))

    # The tracking page by its form too.
    await citizen.goto("/complaints/track")
    await citizen.fill("#code", code)
    await citizen.click("main form button[type=submit]")
    await citizen.wait_for_url(f"**/complaints/track/{code}")

    # Not accepted: the page no longer promises a mediation that will never start.
    async with console.city.client("complaints", "handler", here.district) as complaints:
        r = await complaints.get("/complaints", params={"market_id": here.market_id})
        [case] = [c for c in r.json()["items"] if c.get("facts") == facts]
        assert datetime.fromisoformat(case["occurred_at"]) == happened
        r = await complaints.post(f"/complaints/{case['id']}/reject", json={"reason": "非本市场"})
        assert r.status_code == 200, r.text
    await citizen.reload()
    await shot(citizen, "complaint-rejected")
    mediation = await citizen.inner_text("#mediation-deadline")
    assert "不予受理，无调解" in mediation and "受理后起算" not in mediation, mediation


async def test_the_other_public_pages_render_on_a_phone(
    console: Console, citizen: Page, shot: Shots
) -> None:
    here = await place(console)
    await citizen.goto(f"/suggestions/new?market_id={here.market_id}")
    await shot(citizen, "suggestion-form")
    assert await citizen.input_value("#market_id") == here.market_id
    await citizen.click("#suggestion-form button[type=submit]")
    await citizen.locator("#text-error").wait_for()
    await shot(citizen, "suggestion-empty")
    assert (await citizen.inner_text("#text-error")).strip() == "必填"
    await citizen.goto("/complaints/track/ZZZZZZZZZZ")
    await shot(citizen, "unknown-code")
    assert "找不到该查询码" in await citizen.inner_text("#code-error")
    # The code typed stands in the form, to correct and send again.
    assert await citizen.input_value("#code") == "ZZZZZZZZZZ"
    # The public side is not the staff's: no staff menu, no sign-in.
    assert await citizen.locator("a[href^='/staff/']").count() == 0


async def suggest(citizen: Page, here: Place, text: str, publish: bool) -> str:
    """A suggestion about the market through the form; returns its tracking code."""
    await citizen.goto(f"/suggestions/new?market_id={here.market_id}")
    await citizen.fill("#text", text)
    await citizen.fill("#name", COMPLAINANT)
    await citizen.fill("#phone", PHONE)
    if publish:
        await citizen.check("#publish_answer")

    async def sent() -> bool:
        # Until the complaints service has learnt the market it refuses it (the form keeps
        # what was typed and the test submits again).
        await citizen.click("#suggestion-form button[type=submit]")
        await citizen.wait_for_load_state("load")
        return "/suggestions/filed/" in citizen.url

    await until(sent, within=60, every=1, what="the suggestion was sent")
    return (await citizen.inner_text("#tracking-code")).strip()


async def test_a_staff_answer_shows_on_the_market_page_only_when_its_author_agreed(
    console: Console, citizen: Page, shot: Shots
) -> None:
    here = await place(console)
    tag = uuid.uuid4().hex[:6]
    public_text, private_text = f"建议增加公平秤。{tag}", f"建议延长营业时间。{tag}"
    public_code = await suggest(citizen, here, public_text, publish=True)
    await shot(citizen, "suggestion-filed")
    private_code = await suggest(citizen, here, private_text, publish=False)
    async with console.city.client("complaints", "handler", here.district) as staff:
        r = await staff.get("/suggestions")
        assert r.status_code == 200, r.text
        mine = {s["text"]: s for s in r.json()["items"] if tag in s["text"]}
        for text, answer in ((public_text, "已在入口设置公平秤。"), (private_text, "已研究。")):
            r = await staff.post(f"/suggestions/{mine[text]['id']}/answer", json={"answer": answer})
            assert r.status_code == 200, r.text

    await citizen.goto(f"/markets/{here.market_id}")
    await shot(citizen, "market-with-answer")
    answers = await citizen.inner_text("#suggestions")
    assert public_text in answers and "已在入口设置公平秤。" in answers, answers
    assert private_text not in answers and "已研究。" not in answers, answers

    # Both authors can read their own answer by their code.
    await citizen.goto(f"/suggestions/track/{private_code}")
    await shot(citizen, "suggestion-track")
    assert "已答复" in await citizen.inner_text("#state")
    assert "已研究。" in await citizen.inner_text("#answer")
    await citizen.goto(f"/suggestions/track/{public_code}")
    assert "已在入口设置公平秤。" in await citizen.inner_text("#answer")


async def test_no_public_response_carries_a_phone_number_or_the_complainant_name(
    console: Console, citizen: Page
) -> None:
    here = await place(console)
    for path in (
        "/markets",
        f"/markets?q={here.market_name}",
        f"/markets/{here.market_id}",
        f"/merchants/{here.merchant_id}",
        f"/merchants/{here.merchant_id}/qr",
        f"/complaints/stalls?market_id={here.market_id}",
    ):
        answer = await citizen.goto(path)
        assert answer is not None and answer.status == 200, path
        SEEN.append(("GET", answer.url, await answer.text()))
    # What the portal shows anyone: every GET. (A refused form's answer shows the person what
    # they typed themselves, so POST answers are left out.)
    shown = [(url, body) for method, url, body in SEEN if method == "GET"]
    assert len({url for url, _ in shown}) >= 6, [url for url, _ in shown]
    for url, body in shown:
        assert not PHONE_NUMBER.search(body), (url, PHONE_NUMBER.findall(body))
        assert COMPLAINANT not in body, url
