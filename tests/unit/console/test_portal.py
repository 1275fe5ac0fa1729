"""The citizens' portal in-process, its services answered by a stub: the market page's parts, a
service that does not answer, the rate limit per client, the signed double-submit token of the
public forms, and phone numbers kept out of free text shown publicly."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.console.app import build
from services.console.settings import ConsoleSettings
from services.console.views.public import no_phone
from tests.unit.console.portal_answers import ANSWERS


def stub(request: httpx.Request) -> httpx.Response:
    assert "authorization" not in request.headers, "public calls carry no token"
    if request.url.host == "down":
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})
    body = ANSWERS.get(request.url.path)
    if body is None:
        return httpx.Response(404, json={"detail": "Not Found"})
    return httpx.Response(200, content=json.dumps(body).encode())


def client(
    handler: Callable[[httpx.Request], httpx.Response] = stub, **settings: Any
) -> httpx.AsyncClient:
    app = build(
        ConsoleSettings(
            **{
                "oidc_issuer": "http://idp.invalid/realms/x",
                "session_secret": "s" * 32,
                "registry_url": "http://registry",
                "campaign_url": "http://campaign",
                "credit_url": "http://credit",
                "complaints_url": "http://complaints",
                **settings,
            }
        ),
        httpx.MockTransport(handler),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_the_market_page_shows_shares_rank_merchants_and_published_answers() -> None:
    async with client() as portal:
        r = await portal.get("/markets/mkt_1")
    assert r.status_code == 200
    page = text(r.text)
    assert "幸福农贸市场" in page and "06:00–19:00" in page and "改造中" in page
    assert "50%" in page and "25%" in page
    assert "在本区 7 个市场中排名第 2 位" in page and "截至 2026-12-01" in page
    assert "老王鲜肉" in page and 'class="grade grade-B"' in r.text
    assert "已整改" in page and "13912345678" not in r.text
    assert "/staff/" not in r.text


async def test_a_service_that_does_not_answer_leaves_its_part_saying_so() -> None:
    async with client(registry_url="http://down") as portal:
        r = await portal.get("/markets")
    assert r.status_code == 200 and "暂时无法获取" in text(r.text)


async def test_public_pages_are_rate_limited_per_client() -> None:
    async with client(public_rate_per_s=0.001, public_burst=2) as portal:
        answers = [await portal.get("/markets") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "请求过于频繁" in answers[2].text and int(answers[2].headers["retry-after"]) >= 1


async def test_the_services_are_told_which_citizen_each_call_is_for() -> None:
    # A service's public limit is per client: the console names the citizen (the address its
    # trusted proxy gave, else its peer's), not itself, so one citizen cannot exhaust it for all.
    seen: list[tuple[str, str | None]] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("x-forwarded-for")))
        return stub(request)

    settings = ConsoleSettings(
        oidc_issuer="http://idp.invalid/realms/x",
        session_secret="s" * 32,
        **{f"{s}_url": f"http://{s}" for s in ("registry", "campaign", "credit", "complaints")},
    )
    app = build(settings, httpx.MockTransport(recording))

    def portal(peer: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://portal")

    async with portal("127.0.0.1") as behind_proxy, portal("198.51.100.9") as direct:
        assert (
            await behind_proxy.get("/markets/mkt_1", headers={"X-Forwarded-For": "203.0.113.7"})
        ).status_code == 200
        proxied = {who for _, who in seen}
        seen.clear()
        # A stranger's header is not believed: the console names the stranger.
        assert (
            await direct.get("/markets/mkt_1", headers={"X-Forwarded-For": "203.0.113.8"})
        ).status_code == 200
    assert len(seen) > 1 and proxied == {"203.0.113.7"}
    assert {who for _, who in seen} == {"198.51.100.9"}


async def test_a_public_form_needs_its_signed_token_and_the_cookie_it_came_with() -> None:
    form = {"market_id": "mkt_1", "category": "price", "facts": "f", "request": "r", "name": "甲"}
    async with client() as portal:
        page = await portal.get("/complaints/new")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token and portal.cookies.get("sentinel_public_csrf")
        refused = await portal.post("/complaints/new", data={**form, "csrf": "forged"})
        assert refused.status_code == 403 and "表单已过期" in refused.text
        # The right token, but an empty phone: beside the field, and nothing sent.
        empty = await portal.post("/complaints/new", data={**form, "csrf": token.group(1)})
        assert empty.status_code == 422
        assert re.search(r'id="phone-error">必填<', empty.text)
        portal.cookies.clear()
        no_cookie = await portal.post("/complaints/new", data={**form, "csrf": token.group(1)})
        assert no_cookie.status_code == 403


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("请回电 13912345678。", "请回电 ***********。"),
        ("座机 0535-6612345", "座机 ***********"),
        ("座机 0535 6612345", "座机 ***********"),
        ("手机 139 1234 5678，或 139-1234-5678", "手机 ***********，或 ***********"),
        ("+86 13912345678 / 008613912345678", "*********** / ***********"),
        ("摊位 A-12，2026-12-01 整改", "摊位 A-12，2026-12-01 整改"),
        ("单号 2026120113912345678", "单号 2026120113912345678"),  # inside a longer number
        ("身份证 37060219900101123X 已核实", "身份证 ****************** 已核实"),
        ("证号 370602199001011234。", "证号 ******************。"),
        ("信用代码 91370602MA3C7EXX1K", "信用代码 91370602MA3C7EXX1K"),  # a business's, public
    ],
)
def test_phone_and_identity_numbers_never_show_in_public_free_text(typed: str, shown: str) -> None:
    assert no_phone(typed) == shown


PHONE = "13912345678"
REJECTED = {
    "tracking_code": "TRK-1", "state": "rejected", "category": "price", "channel": "web",
    "received_at": "2026-12-01T01:00:00Z", "acceptance_deadline": "2026-12-10T15:59:59Z",
    "accepted_at": None, "mediation_deadline": None, "rejected_at": "2026-12-02T02:00:00Z",
    "rejection_reason": f"不属于本部门职责，请联系王经理 {PHONE} 或 0535-6612345",
    "closed_at": None, "outcome": None, "overdue": False,
}  # fmt: skip


async def test_a_phone_typed_into_a_rejection_reason_never_reaches_the_tracking_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ANSWERS, "/complaints/track/TRK-1", REJECTED)
    async with client() as portal:
        r = await portal.get("/complaints/track/TRK-1")
    assert r.status_code == 200
    assert PHONE not in r.text and "6612345" not in r.text
    reason = re.search(r'id="rejection-reason">([^<]*)<', r.text)
    assert reason and reason[1] == "不属于本部门职责，请联系王经理 *********** 或 ***********"


async def test_phones_in_plan_and_disclosure_titles_never_reach_the_market_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What staff type that the market page shows: a renovation plan open for comment (its
    title, its scope) and a public disclosure (its title, its details)."""
    plan = {
        "project_id": "prj_1", "market_id": "mkt_1", "title": f"改造方案（联系人 {PHONE}）",
        "scope_items": [{"description": f"更换顶棚，施工电话 {PHONE}"}],
        "opens_on": "2026-12-01", "closes_on": "2026-12-31", "open": True, "comments": 0,
    }  # fmt: skip
    disclosure = {
        "id": "dis_1", "kind": "exposure", "title": f"占道经营（举报人 {PHONE}）",
        "details": [f"回访 {PHONE}"], "exposure_source": "media",
    }  # fmt: skip
    monkeypatch.setitem(ANSWERS, "/public/consultations", {"items": [plan]})
    monkeypatch.setitem(ANSWERS, "/public/consultations/prj_1", plan)
    monkeypatch.setitem(ANSWERS, "/public/disclosures", {"items": [disclosure]})
    async with client() as portal:
        market = await portal.get("/markets/mkt_1")
        suggest = await portal.get("/suggestions/new?market_id=mkt_1&project_id=prj_1")
    assert market.status_code == 200 and suggest.status_code == 200
    page = text(market.text)
    assert "改造方案（联系人 ***********）" in page and "更换顶棚，施工电话 ***********" in page
    assert "占道经营（举报人 ***********）" in page
    assert PHONE not in market.text
    assert "改造方案（联系人 ***********）" in text(suggest.text)
    assert PHONE not in suggest.text


@pytest.mark.parametrize("kind", ["complaint", "suggestion"])
async def test_the_tracking_page_says_the_received_time_is_beijing_time(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A time of day without its zone: the citizen could not tell 09:00 (UTC+8) from 01:00."""
    suggestion = {"status": "received", "about": "campaign", "received_at": "2026-12-01T01:00:00Z"}
    found = REJECTED if kind == "complaint" else suggestion
    monkeypatch.setitem(ANSWERS, f"/{kind}s/track/TRK-1", found)
    async with client() as portal:
        r = await portal.get(f"/{kind}s/track/TRK-1")
    received = re.search(r'id="received-at">([^<]*)<', r.text)
    assert received and received[1] == "2026-12-01 09:00（北京时间）"


@pytest.mark.parametrize("kind", ["complaint", "suggestion"])
async def test_a_receipt_is_shown_only_for_a_code_the_service_knows(kind: str) -> None:
    """/complaints/filed/<any text> said 投诉已提交 for a code nobody filed; an unknown code now
    gets the tracking form with it, to correct, and a known one its receipt."""

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/{kind}s/track/TRK-1":
            return httpx.Response(
                200, json={"status": "received", "received_at": "2026-12-01T01:00:00Z"}
            )
        if request.url.path == f"/{kind}s/track/NOPE-9":
            return httpx.Response(404, json={"error": "not_found", "message": "no such code"})
        return stub(request)

    async with client(service) as portal:
        known = await portal.get(f"/{kind}s/filed/TRK-1")
        unknown = await portal.get(f"/{kind}s/filed/NOPE-9")
    assert known.status_code == 200 and "已提交" in text(known.text)
    assert 'id="tracking-code">TRK-1<' in known.text
    assert unknown.status_code == 404 and "已提交" not in text(unknown.text)
    assert "找不到该查询码" in text(unknown.text) and 'value="NOPE-9"' in unknown.text


async def test_a_receipt_is_still_shown_while_the_complaints_service_does_not_answer() -> None:
    async with client(complaints_url="http://down") as portal:
        r = await portal.get("/complaints/filed/TRK-1")
    assert r.status_code == 200 and "投诉已提交" in text(r.text)


async def test_a_closed_market_s_page_says_so_and_offers_no_complaint() -> None:
    """停业: an old sticker's link still reaches the page, which says the market closed and sends
    a citizen with a problem from before to the hotline; no complaint or suggestion form."""
    closed = ANSWERS["/public/markets/mkt_1"] | {"status": "closed", "closed_on": "2026-05-01"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/public/markets/mkt_1":
            return httpx.Response(200, json=closed)
        return stub(request)

    async with client(answer) as portal:
        r = await portal.get("/markets/mkt_1")
    assert r.status_code == 200
    notice = re.search(r'<p class="notice warn" role="status" id="closed">([^<]*)<', r.text)
    assert notice is not None and notice.group(1).startswith("该市场已于 2026-05-01 停业")
    assert "/complaints/new?market_id" not in r.text and "/suggestions/new?market_id" not in r.text
    async with client() as portal:
        opened = await portal.get("/markets/mkt_1")
    assert 'id="closed"' not in opened.text and "/complaints/new?market_id=mkt_1" in opened.text
